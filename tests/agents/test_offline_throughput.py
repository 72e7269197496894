"""collect_dataset and Minari's DataCollector (the throughput reference) give the same episodes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("minari")
pytest.importorskip("jax")  # DataCollector's EpisodeBuffer.add_step_data needs it

from agents.offline.behaviour import BehaviourSpec  # noqa: E402
from agents.offline.dataset import collect_dataset, load_pkgym_dataset  # noqa: E402
from agents.offline.throughput import collect_with_data_collector  # noqa: E402


def test_data_collector_reference_writes_the_same_episodes(tmp_path) -> None:
    """Two patients through both writers: same observations, actions, rewards, env infos."""
    spec = BehaviourSpec(policies=("label", "trough"))
    ours, _ = load_pkgym_dataset(collect_dataset("pkgym/Vancomycin-v0", spec, 2, 9,
                                                 tmp_path / "a"))
    theirs = collect_with_data_collector("pkgym/Vancomycin-v0", spec, 2, 9, tmp_path / "b")
    for index in range(2):
        x, y = ours[index], theirs[index]
        np.testing.assert_array_equal(x.actions, y.actions)
        np.testing.assert_array_equal(x.rewards, y.rewards)
        for key in x.observations:
            np.testing.assert_array_equal(x.observations[key], y.observations[key])
        np.testing.assert_array_equal(x.infos["clearance_l_per_h"], y.infos["clearance_l_per_h"])
