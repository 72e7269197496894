"""Offline datasets (agents.offline): Minari loading, exact replay, behaviour probabilities."""

from __future__ import annotations

import numpy as np
import pytest

minari = pytest.importorskip("minari")

from agents.offline.behaviour import BehaviourSpec, level_distribution  # noqa: E402
from agents.offline.dataset import (  # noqa: E402
    collect_dataset,
    dataset_id_for,
    load_pkgym_dataset,
    replay_arguments,
)
from pkgym.cli import main  # noqa: E402

ENV = "pkgym/Vancomycin-v0"
SPEC = BehaviourSpec(policies=("label", "trough"), epsilon=0.2, sd_levels=0.7)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory):
    """A 7-patient dataset written by the CLI into a Minari datasets root."""
    root = tmp_path_factory.mktemp("minari") / "root"
    assert main(["dataset", "--format", "minari", "--env", ENV, "--policy", "label,trough",
                 "--n-patients", "7", "--seed", "4", "--out", str(root),
                 "--behaviour-epsilon", "0.2", "--behaviour-sd-levels", "0.7"]) == 0
    return root


def test_loads_with_minari_and_recovers_the_env(written, monkeypatch) -> None:
    """minari.load_dataset finds it under MINARI_DATASETS_PATH; the env and metadata come back."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(written))
    data = minari.load_dataset(dataset_id_for(ENV, SPEC))
    assert data.total_episodes == 7
    env = data.recover_environment()
    assert env.spec.id == ENV and env.action_space.n == 13
    _, meta = load_pkgym_dataset(written / dataset_id_for(ENV, SPEC))
    assert meta["behaviour"]["policies"] == ["label", "trough"]
    assert meta["cohort"] == {"seed_entropy": 4, "spawn_key": [0], "start": 0, "stop": 7}
    assert len(meta["patient_ids"]) == 7


def test_episodes_replay_exactly_in_the_recovered_env(written) -> None:
    """The recovered env, reset with the episode's seed and options, replays it exactly."""
    data, _ = load_pkgym_dataset(written / dataset_id_for(ENV, SPEC))
    env = data.recover_environment()
    for index in (0, 5):
        episode = data[index]
        seed, options = replay_arguments(data, index)
        obs, _ = env.reset(seed=seed, options=options)
        for t, action in enumerate(episode.actions):
            for key, value in obs.items():
                np.testing.assert_array_equal(value, episode.observations[key][t], key)
            obs, reward, *_ = env.step(int(action))
            assert reward == episode.rewards[t]
        for key, value in obs.items():
            np.testing.assert_array_equal(value, episode.observations[key][-1], key)


def test_behaviour_probabilities_sum_to_one_and_log_the_taken_action(written) -> None:
    """Each decision's distribution sums to 1; the logged probability is the taken action's."""
    data, _ = load_pkgym_dataset(written / dataset_id_for(ENV, SPEC))
    for episode in data:
        p = episode.infos["behaviour_probabilities"][:-1]
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(p >= SPEC.epsilon / 13 - 1e-15)
        taken = p[np.arange(len(episode.actions)), episode.actions]
        np.testing.assert_array_equal(taken, episode.infos["behaviour_probability"][:-1])
        levels = episode.infos["clinician_level"][:-1]
        np.testing.assert_allclose(p, level_distribution(levels, 13, 0.2, 0.7))
        assert np.isnan(episode.infos["behaviour_probability"][-1])
        assert "clearance_l_per_h" in episode.infos  # the hidden truth


def test_a_patient_does_not_depend_on_the_batch(written, tmp_path) -> None:
    """Patients 0..2 are the same with 3 patients (batches of 2) as with 7."""
    small = collect_dataset(ENV, SPEC, 3, 4, tmp_path / "small", batch_size=2)
    a, _ = load_pkgym_dataset(small)
    b, _ = load_pkgym_dataset(written / dataset_id_for(ENV, SPEC))
    for index in range(3):
        x, y = a[index], b[index]
        np.testing.assert_array_equal(x.actions, y.actions)
        np.testing.assert_array_equal(x.rewards, y.rewards)
        for key in x.observations:
            np.testing.assert_array_equal(x.observations[key], y.observations[key])
        np.testing.assert_array_equal(x.infos["behaviour_probabilities"],
                                      y.infos["behaviour_probabilities"])


def test_behaviour_varies_around_the_clinician() -> None:
    """The discretised normal is centred on the clinician's level with the given SD."""
    rng = np.random.default_rng(0)
    p = level_distribution(np.array([6]), 13, 0.0, 0.5)[0]
    draws = rng.choice(13, size=20000, p=p)
    assert abs(draws.mean() - 6.0) < 0.02 and 0.4 < draws.std() < 0.6
    assert level_distribution(np.array([3]), 13, 0.0, 0.0)[0, 3] == 1.0


@pytest.mark.parametrize(("flags", "message"), [
    (["--behaviour-epsilon", "1.5"], "--behaviour-epsilon must be in [0, 1]"),
    (["--behaviour-sd-levels", "-1"], "--behaviour-sd-levels must be"),
    (["--n-patients", "0"], "--n-patients must be >= 1"),
    (["--seed", "-2"], "--seed must be >= 0"),
    (["--policy", "label,"], "--policy: an empty name"),
    (["--policy", "label,nonsense"], "nonsense"),
])
def test_bad_input_is_refused_before_any_output(tmp_path, capsys, flags, message) -> None:
    """A bad flag: one line, exit 2, nothing written."""
    argv = ["dataset", "--format", "minari", "--env", ENV, "--policy", "label",
            "--out", str(tmp_path / "out"), *flags]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []


def test_an_existing_dataset_is_never_overwritten(written, capsys) -> None:
    """Minari's rule: an existing dataset id is refused."""
    argv = ["dataset", "--format", "minari", "--env", ENV, "--policy", "label,trough",
            "--n-patients", "2", "--out", str(written), "--behaviour-epsilon", "0.2",
            "--behaviour-sd-levels", "0.7"]
    assert main(argv) == 2
    assert "exists already" in capsys.readouterr().err


def test_behaviour_flags_need_the_minari_format(tmp_path, capsys) -> None:
    """The behaviour flags are refused with the NONMEM format."""
    assert main(["dataset", "--env", ENV, "--policy", "label", "--out", str(tmp_path / "o"),
                 "--behaviour-epsilon", "0.1"]) == 2
    assert "applies only with --format minari" in capsys.readouterr().err
