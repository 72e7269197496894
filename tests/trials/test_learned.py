"""A DoseFinding-v0 policy scored as a trial design (pkgym.trials.learned)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from agents.policies.dose_finding.baselines import DesignPolicy, dose_finding_baseline
from agents.policies.registry import make_policy
from pkgym.trials.learned import PolicyDesign, env_scenario_for
from pkgym.trials.operating_characteristics import simulate_trials
from pkgym.trials.report import make_design
from pkgym.trials.scenarios import DoseFindingScenario

SCENARIO = DoseFindingScenario(true_dlt_probabilities=(0.05, 0.12, 0.3, 0.45, 0.6),
                               target_dlt_rate=0.3, max_sample_size=30)


@pytest.mark.parametrize(("name", "n_trials"), [("boin", 3000), ("crm", 400)])
def test_policy_design__a_design_through_the_env_policy_round_trip_is_the_same_design(
        name: str, n_trials: int) -> None:
    """Design -> env policy -> trial design reproduces the design's trials exactly.

    The env never names an untested level as the MTD, so a CRM selection above the highest
    level tried is lowered to it; BOIN never selects an untested level.
    """
    design = make_design(name, SCENARIO)
    policy = DesignPolicy(design, env_scenario_for(SCENARIO), name)
    direct = simulate_trials(design, SCENARIO, n_trials, seed=11)
    through = simulate_trials(PolicyDesign(policy, SCENARIO), SCENARIO, n_trials, seed=11)
    highest_tried = 4 - np.argmax(direct.patients[:, ::-1] > 0, axis=1)
    np.testing.assert_array_equal(through.selected, np.minimum(direct.selected, highest_tried))
    if name == "boin":
        np.testing.assert_array_equal(through.selected, direct.selected)
    np.testing.assert_array_equal(through.patients, direct.patients)
    np.testing.assert_array_equal(through.dlts, direct.dlts)


class _AlwaysTop:
    """Always asks for the top level: the adapter must forbid skipping untried levels."""

    name, reads_hidden_state = "top", False

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: dict, info: dict | None = None) -> np.ndarray:
        """Level n_doses - 1 for everyone."""
        return np.full(len(observation["patients"]), 4.0)


def test_policy_design__escalates_one_level_at_a_time_and_recommends_the_last() -> None:
    """Asking for the top level climbs one level per cohort, as in the env."""
    results = simulate_trials(PolicyDesign(_AlwaysTop(), SCENARIO), SCENARIO, 50, seed=1)
    assert np.all(results.patients == [3, 3, 3, 3, 18])
    assert np.all(results.selected == 4)
    skipping = simulate_trials(PolicyDesign(_AlwaysTop(), SCENARIO, allow_skipping=True),
                               SCENARIO, 5, seed=1)
    assert np.all(skipping.patients == [3, 0, 0, 0, 27])


def test_policy_design__levels_outside_the_action_set_are_an_error() -> None:
    """A policy answering level 7 of 5 gets a clear error naming the allowed range."""
    bad = make_policy("math:floor", gym.make("pkgym/DoseFinding-v0").unwrapped.core)
    bad.act = lambda observation, info=None: np.full(len(observation["patients"]), 7.0)
    with pytest.raises(ValueError, match=r"outside 0..5"):
        simulate_trials(PolicyDesign(bad, SCENARIO), SCENARIO, 3, seed=0)


def test_dose_finding_baselines__run_in_the_env_and_name_the_mtd_at_the_end() -> None:
    """BOIN as the env's policy ends every trial with a recommendation or a stop."""
    env = gym.make_vec("pkgym/DoseFinding-v0", num_envs=64,
                       vectorization_mode="vector_entry_point")
    policy = make_policy("boin", env.unwrapped.core)
    obs, info = env.reset(seed=3)
    done = np.zeros(64, dtype=bool)
    for _ in range(12):
        obs, _, terminated, _, info = env.step(policy.act(obs).astype(np.int64))
        done |= terminated
    assert done.all()
    with pytest.raises(ValueError, match="boin"):
        dose_finding_baseline("3+3", env.unwrapped.core.settings)


def test_optimal_benchmark__knows_every_outcome_and_beats_boin_on_random_curves() -> None:
    """The oracle's MTD is the level whose share of DLTs among all 36 patients is closest."""
    env = gym.make_vec("pkgym/DoseFinding-v0", num_envs=400,
                       vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    oracle, boin = make_policy("oracle", core), make_policy("boin", core)
    assert oracle.reads_hidden_state and not boin.reads_hidden_state
    correct = {}
    for policy in (oracle, boin):
        obs, info = env.reset(seed=5)
        done, hits = np.zeros(400, dtype=bool), np.zeros(400, dtype=bool)
        for _ in range(12):
            obs, _, terminated, _, info = env.step(policy.act(obs, info).astype(np.int64))
            hits |= terminated & ~done & info["correct_selection"]
            done |= terminated
        correct[policy.name] = hits.mean()
    shares = (info["dlt_uniforms"][:, :, None] < info["true_dlt_probabilities"][:, None, :])
    assert shares.shape == (400, 36, 5)
    assert correct["oracle"] > correct["boin"] + 0.04  # 0.63 vs 0.53 on 4 000 trials
    with pytest.raises(ValueError, match="needs the env's info"):
        oracle.act(obs)
