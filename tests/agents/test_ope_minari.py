"""OPE end to end on a real Minari dataset: the behaviour as target, 200 replicates."""

from __future__ import annotations

import numpy as np
import pytest

from agents.offline.behaviour import BehaviourSpec
from agents.offline.dataset import collect_dataset, make_behaviour
from agents.offline.ope import estimate
from agents.offline.ope_run import (
    BehaviourTarget,
    LoggedEpisodes,
    load_episodes,
    ope_inputs,
    target_probabilities,
    true_returns,
)

ENV = "pkgym/Vancomycin-v0"
UNBIASED = ("is", "pdis", "dr")
REPLICATES, PATIENTS = 200, 5


def _part(episodes: LoggedEpisodes, rows: np.ndarray) -> LoggedEpisodes:
    """The episodes of ``rows`` (one replicate dataset)."""
    return LoggedEpisodes(
        env_id=episodes.env_id, seeds=episodes.seeds[rows], infos={},
        observations={k: v[rows] for k, v in episodes.observations.items()},
        actions=episodes.actions[rows], rewards=episodes.rewards[rows],
        mask=episodes.mask[rows], behaviour_probabilities=episodes.behaviour_probabilities[rows])


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_unbiased_estimators_of_the_behaviour_on_a_written_dataset(tmp_path) -> None:
    """Must-show, through the whole pipeline: pkgym's writer, Minari, load_episodes.

    A dataset of 1 000 patients (label and trough clinicians, default epsilon and SD) is cut
    into 200 replicate datasets of 5 patients. The target is the dataset's own behaviour
    (rebuilt from its metadata, as ``pkgym ope --policy behaviour`` does): its probabilities
    at the logged states must equal the logged ones, and each replicate's IS, PDIS and DR
    error against the truth (the behaviour run again on the same patients) must average to
    within 3 SE of 0.
    """
    spec = BehaviourSpec(policies=("label", "trough"))
    path = collect_dataset(ENV, spec, REPLICATES * PATIENTS, 5, tmp_path)
    episodes, meta = load_episodes(path)
    target = BehaviourTarget(make_behaviour(ENV, spec), episodes.seeds)
    probabilities = target_probabilities(target, episodes, None)
    logged = np.where(episodes.mask[..., None], episodes.behaviour_probabilities, 0.0)
    np.testing.assert_allclose(np.where(episodes.mask[..., None], probabilities, 0.0), logged,
                               atol=1e-12)
    truth = true_returns(target, episodes, rng=np.random.default_rng(1))
    rng = np.random.default_rng(2)
    errors: dict[str, list[float]] = {name: [] for name in UNBIASED}
    for r in range(REPLICATES):
        rows = np.arange(r * PATIENTS, (r + 1) * PATIENTS)
        inputs = ope_inputs(_part(episodes, rows), probabilities[rows], list(UNBIASED), rng=rng)
        for name in UNBIASED:
            errors[name].append(estimate(inputs[name], name) - truth[rows].mean())
    for name, values in errors.items():
        se = np.std(values, ddof=1) / np.sqrt(REPLICATES)
        assert se > 0 and abs(np.mean(values)) <= 3 * se, (name, np.mean(values), se)


@pytest.mark.parametrize("bad", [-1, 0])
def test_collect_refuses_a_bad_patient_count(tmp_path, bad) -> None:
    """n_patients < 1 is refused before anything is written."""
    with pytest.raises(ValueError, match="n_patients must be >= 1"):
        collect_dataset(ENV, BehaviourSpec(policies=("label",)), bad, 0, tmp_path / "d")
    assert not (tmp_path / "d").exists()
