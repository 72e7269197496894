"""``pkgym/DoseFindingEffTox-v0`` baselines: BOIN12 in the env is BOIN12 in the trial simulator.

The env draws each trial's outcome uniforms from its slot's events stream, the simulator from
child k of its root seed; given the same uniforms (the env's, handed to the simulator) and the
same truth, the two must give the same cohorts, outcomes and selected dose, trial by trial.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from agents.policies.dose_finding_efftox import make_baseline
from agents.policies.registry import make_policy
from pkgym.trials import phase12_simulation
from pkgym.trials.phase12_env import efftox_env_scenario
from pkgym.trials.phase12_simulation import Phase12Scenario, simulate_phase12_trials

ENV_ID = "pkgym/DoseFindingEffTox-v0"
TABLE = Phase12Scenario(true_dlt_probabilities=(0.05, 0.10, 0.20, 0.35, 0.50),
                        true_efficacy_probabilities=(0.10, 0.30, 0.50, 0.50, 0.50),
                        true_joint_probabilities=(0.01, 0.04, 0.12, 0.20, 0.30))
"""A plateau truth chosen for these tests (our values): MTD level 3, OBD level 2."""


def play(policy_name: str, n: int, seed: int, scenario: object = None
         ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """First episode of ``n`` vector slots: the reset info and, per slot, the final counts."""
    kwargs = {} if scenario is None else {"scenario": scenario}
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    core = vec.unwrapped.core
    policy = make_baseline(policy_name, core)
    obs, info = vec.reset(seed=seed)
    first = {key: np.asarray(value).copy() for key, value in info.items()}
    final: dict[str, np.ndarray] = {key: np.zeros((n, 5), np.int64)
                                    for key in ("patients", "dlts", "responses")}
    final["selected"] = np.full(n, -9)
    done = np.zeros(n, dtype=bool)
    while not done.all():
        actions = core.encode_decisions(policy.act(obs, info), False)
        obs, _, terminated, _, info = vec.step(actions)
        ending = terminated & ~done
        for key in ("patients", "dlts", "responses"):
            final[key][ending] = np.rint(obs[key][ending])
        final["selected"][ending] = info["selected"][ending]
        done |= terminated
    return first, final


def simulate_with(uniforms: np.ndarray, scenario: Phase12Scenario,
                  monkeypatch: pytest.MonkeyPatch) -> phase12_simulation.Phase12Results:
    """simulate_phase12_trials on ``scenario`` with the given per-trial outcome uniforms."""
    monkeypatch.setattr(phase12_simulation, "_uniforms", lambda s, n, seed, first: uniforms)
    return simulate_phase12_trials(scenario.design(), scenario, uniforms.shape[0], seed=0)


def test_boin12_in_the_env__equals_simulate_phase12_trials_on_a_fixed_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """300 trials of the fixed table: identical counts per dose and OBD selected."""
    n = 300
    first, final = play("boin12", n, 21, efftox_env_scenario(TABLE))
    uniforms = first["outcome_uniforms"].reshape(n, TABLE.max_cohorts, TABLE.cohort_size)
    results = simulate_with(uniforms, TABLE, monkeypatch)
    np.testing.assert_array_equal(final["patients"], results.patients)
    np.testing.assert_array_equal(final["dlts"], results.dlts)
    np.testing.assert_array_equal(final["responses"], results.responses)
    np.testing.assert_array_equal(final["selected"], results.selected)
    assert len(set(results.selected.tolist())) >= 3  # the trials did differ


def test_boin12_in_the_env__equals_simulate_phase12_trials_on_random_truths(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """40 random-truth trials, each simulated on its own truth table: identical trials."""
    n = 40
    first, final = play("boin12", n, 3)
    for k in range(n):
        table = Phase12Scenario(
            true_dlt_probabilities=tuple(first["true_dlt_probabilities"][k]),
            true_efficacy_probabilities=tuple(first["true_efficacy_probabilities"][k]),
            true_joint_probabilities=tuple(first["true_joint_probabilities"][k]))
        uniforms = first["outcome_uniforms"][k].reshape(1, table.max_cohorts, table.cohort_size)
        results = simulate_with(uniforms, table, monkeypatch)
        for key in ("patients", "dlts", "responses"):
            np.testing.assert_array_equal(final[key][k], results.__getattribute__(key)[0])
        assert final["selected"][k] == results.selected[0], k


def test_efftox_baselines__oracle_names_the_obd_and_never_overdoses() -> None:
    """The oracle's trials all end naming the true OBD, nobody treated above the MTD."""
    first, final = play("oracle", 50, 8)
    np.testing.assert_array_equal(final["selected"], first["true_obd"])
    levels = np.arange(5)[None, :]
    assert not (final["patients"] * (levels > first["true_mtd"][:, None])).any()


def test_efftox_baselines__by_name_through_the_policy_registry() -> None:
    """The registry builds the three baselines; boin aims at phi_T; n_earlystop is refused."""
    core = gym.make(ENV_ID).unwrapped.core
    names = [make_policy(name, core).name for name in ("boin12", "boin", "oracle")]
    assert names == ["boin12", "boin", "oracle"]
    assert make_policy("boin", core).design.target == 0.35
    from agents.policies.dose_finding_efftox.baselines import Boin12Policy

    with pytest.raises(ValueError, match="n_earlystop"):
        Boin12Policy(core.settings, "boin12:n_earlystop=12")
    tuned = make_policy("boin12:phi_e=0.3,u2=35", core)
    assert tuned.name == "boin12[phi_e=0.3,u2=35]" and tuned.design.min_efficacy == 0.3
    assert make_policy(tuned.name, core).design == tuned.design  # a result's name, given back
    with pytest.raises(ValueError, match="takes no option"):
        make_policy("boin:x=1", core)


@pytest.mark.slow
def test_boin12_in_the_env__on_the_docetaxel_mechanistic_truth(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The docetaxel truth (200 virtual patients) enters as a table; BOIN12 plays it exactly."""
    from pkgym.trials.efficacy_toxicity import EfficacyToxicityTruth, phase12_scenario

    table = phase12_scenario(EfficacyToxicityTruth(
        dose_levels_mg_per_m2=(60.0, 75.0, 90.0, 100.0, 120.0), n_patients=200))
    first, final = play("boin12", 100, 5, efftox_env_scenario(table))
    np.testing.assert_allclose(first["true_joint_probabilities"][0], table.joint)
    assert (first["true_obd"][0], first["true_mtd"][0]) == (table.true_obd, table.true_mtd)
    uniforms = first["outcome_uniforms"].reshape(100, table.max_cohorts, table.cohort_size)
    results = simulate_with(uniforms, table, monkeypatch)
    np.testing.assert_array_equal(final["selected"], results.selected)
    np.testing.assert_array_equal(final["responses"], results.responses)
