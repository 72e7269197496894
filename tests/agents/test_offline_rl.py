"""Offline RL (BC, CQL, IQL) on a tiny vancomycin Minari dataset, evaluated through the harness."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import pkgym  # noqa: F401  (registers the envs)
from agents.offline.algorithms import ALGOS, DiscreteCQL, OfflineConfig
from agents.offline.behaviour import BehaviourSpec
from agents.offline.dataset import collect_dataset, load_pkgym_dataset
from agents.offline.features import ObservationFeatures
from agents.offline.offline_policy import OfflinePolicy
from agents.offline.offline_rl import (
    save_offline_model,
    train_learner,
    train_offline_run,
    transitions_from_episodes,
)
from agents.policies.registry import make_policy
from agents.rl.model_metadata import cohort_record
from pkgym.evaluation.cohorts import TRAINING, LeakageError, cohort_id, env_cohort
from pkgym.evaluation.evaluate import evaluate

ENV = "pkgym/Vancomycin-v0"
SMALL = OfflineConfig(hidden=64, batch_size=128, learning_rate=1e-3)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small networks on a shared 2-core machine: one thread (two spin against each other)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A 24-patient Minari dataset of the deterministic label clinician (epsilon 0, sd 0)."""
    spec = BehaviourSpec(policies=("label",), epsilon=0.0, sd_levels=0.0)
    path = collect_dataset(ENV, spec, 24, 0, tmp_path_factory.mktemp("datasets"))
    data, meta = load_pkgym_dataset(path)
    features = ObservationFeatures.from_space(data.recover_environment().observation_space)
    episodes = list(data.iterate_episodes())
    cohort = env_cohort(gym.make(ENV).unwrapped.core.settings, 24, 0, TRAINING)
    return episodes, features, cohort, transitions_from_episodes(episodes, features), path


def test_transitions__one_row_per_decision_done_at_the_end(dataset):
    """Every decision is one transition; only each episode's last is done."""
    episodes, _, _, transitions, _ = dataset
    assert len(transitions.actions) == sum(len(e.actions) for e in episodes)
    assert transitions.dones.sum() == len(episodes)
    np.testing.assert_array_equal(transitions.observations[1], transitions.next_observations[0])


def test_bc__reproduces_a_deterministic_behaviour(dataset):
    """BC on the deterministic label clinician picks its level on > 95% of training states."""
    _, features, _, transitions, _ = dataset
    config = OfflineConfig(hidden=128, batch_size=128, learning_rate=3e-3)
    learner, log = train_learner(transitions, "bc", 13, 600, seed=0, config=config)
    with torch.no_grad():
        chosen = learner.scores(torch.as_tensor(transitions.observations)).argmax(1).numpy()
    assert np.mean(chosen == transitions.actions) > 0.95
    assert log[-1]["loss"] < log[0]["loss"]


def test_cql__penalty_lowers_q_of_unseen_actions(dataset):
    """With alpha > 0 the Q of actions the data never took falls below alpha = 0's."""
    _, _, _, transitions, _ = dataset
    seen = np.zeros((len(transitions.actions), 13), dtype=bool)
    seen[np.arange(len(seen)), transitions.actions] = True
    gaps = {}
    for alpha in (0.0, 5.0):
        config = OfflineConfig(hidden=64, batch_size=128, learning_rate=1e-3, cql_alpha=alpha)
        learner, _ = train_learner(transitions, "cql", 13, 300, seed=0, config=config)
        assert isinstance(learner, DiscreteCQL)
        with torch.no_grad():
            q = learner.q(torch.as_tensor(transitions.observations)).numpy()
        gaps[alpha] = q[seen].mean() - q[~seen].mean()
    assert gaps[5.0] > gaps[0.0] + 0.5


@pytest.mark.parametrize("algo", ALGOS)
def test_offline_policy__runs_in_the_env_through_the_harness(dataset, tmp_path, algo):
    """A saved model loads by ``offline:DIR``, doses a held-out cohort and refuses its own."""
    _, features, cohort, transitions, _ = dataset
    learner, _ = train_learner(transitions, algo, 13, 200, seed=1, config=SMALL)
    metadata = {"algo": algo, "env_id": ENV, "n_actions": 13, "features": features.record(),
                "config": {k: getattr(SMALL, k) for k in SMALL.__slots__},
                "training_cohort": cohort_record(cohort_id(cohort))}
    save_offline_model(learner, tmp_path, metadata)
    assert json.loads((tmp_path / "model.json").read_text())["algo"] == algo
    core = gym.make(ENV).unwrapped.core
    policy = make_policy(f"offline:{tmp_path}", core, env_id=ENV)
    assert isinstance(policy, OfflinePolicy)
    held_out = env_cohort(core.settings, 4, 0)
    results = evaluate([policy], ENV, held_out, seed=3)
    assert len(results) == 4 and np.isfinite(results["return"]).all()
    assert set(results["dose_mg_0"]) <= set(core.dose_levels_mg)
    with pytest.raises(LeakageError):
        evaluate([policy], ENV, cohort.iloc[:3], seed=3)


def test_offline_policy__refuses_another_env(dataset, tmp_path):
    """A vancomycin model is not evaluated on warfarin."""
    _, features, _, transitions, _ = dataset
    learner, _ = train_learner(transitions, "bc", 13, 1, seed=0, config=SMALL)
    save_offline_model(learner, tmp_path, {
        "algo": "bc", "env_id": ENV, "n_actions": 13, "features": features.record(),
        "config": {k: getattr(SMALL, k) for k in SMALL.__slots__}, "training_cohort": None})
    core = gym.make("pkgym/Warfarin-v1").unwrapped.core
    with pytest.raises(ValueError, match="trained on pkgym/Vancomycin-v0"):
        OfflinePolicy(tmp_path, core, env_id="pkgym/Warfarin-v1")


def test_train_offline_run__saves_a_model_that_knows_its_dataset(dataset, tmp_path):
    """The library entry of pkgym train-offline records the dataset's cohort for the guard."""
    *_, cohort, _, path = dataset
    meta = train_offline_run(path, "iql", 50, 0, tmp_path / "run", OfflineConfig(hidden=32))
    assert meta["training_cohort"] == cohort_record(cohort_id(cohort))
    core = gym.make(ENV).unwrapped.core
    with pytest.raises(LeakageError):
        evaluate([OfflinePolicy(tmp_path / "run", core)], ENV, cohort.iloc[5:7], seed=0)
