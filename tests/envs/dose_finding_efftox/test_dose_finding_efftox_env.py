"""``pkgym/DoseFindingEffTox-v0``: the phase I/II trial it runs (the contract: test_contract.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from contract import rollout_episode as rollout

import pkgym  # noqa: F401
from pkgym.envs.dose_finding_efftox.clinic import (
    DoseFindingEffToxScenario,
    EffToxReward,
    sample_trial_cohort,
)
from pkgym.envs.registry import env_spec
from pkgym.models.dose_efficacy import (
    RandomEfficacyToxicity,
    optimal_biological_doses,
    phase12_utilities,
)
from pkgym.models.dose_toxicity import closest_levels
from pkgym.trials.phase12_env import efftox_env_scenario
from pkgym.trials.phase12_simulation import Phase12Scenario

ENV_ID = "pkgym/DoseFindingEffTox-v0"
TABLE = Phase12Scenario(true_dlt_probabilities=(0.05, 0.10, 0.20, 0.35, 0.50),
                        true_efficacy_probabilities=(0.10, 0.30, 0.50, 0.50, 0.50),
                        true_joint_probabilities=(0.01, 0.04, 0.12, 0.20, 0.30))
"""A plateau truth chosen for these tests (our values): MTD level 3, OBD level 2."""
STOP = 5


def test_efftox_env__registered_with_its_baselines_and_reference() -> None:
    """The registry knows the env, its three baselines and the benchmark's 0 and 1."""
    spec = env_spec(ENV_ID)
    assert spec.baselines == ("boin12", "boin", "oracle")
    assert (spec.reference.label, spec.reference.oracle) == ("boin", "oracle")
    assert gym.make(ENV_ID).unwrapped.core.observation_space["responses"].shape == (5,)


def test_efftox_env__truth_utilities_mtd_and_obd_are_the_trial_simulators() -> None:
    """Info's utilities, MTD and OBD equal Phase12Scenario's for the same table."""
    env = gym.make(ENV_ID, scenario=efftox_env_scenario(TABLE))
    _, info = env.reset(seed=0)
    np.testing.assert_allclose(info["true_utilities"], TABLE.true_utilities, rtol=1e-12)
    assert (info["true_mtd"], info["true_obd"]) == (TABLE.true_mtd, TABLE.true_obd) == (3, 2)


def test_efftox_env__outcomes_follow_the_shared_uniform_rule() -> None:
    """Each patient's DLT and response are its uniform against p_T, p_TE and p_T + p_E - p_TE."""
    env = gym.make(ENV_ID, scenario=efftox_env_scenario(TABLE))
    trace = rollout(env, 5, [1, 2, 3, 2, 2])
    core = env.unwrapped.core
    r = core.records
    levels = r.cohort_levels[0, :6]
    u = r.uniforms[0, :6]
    p_t, p_e, p_te = (np.asarray(x)[levels][:, None] for x in (
        TABLE.true_dlt_probabilities, TABLE.true_efficacy_probabilities, TABLE.joint))
    np.testing.assert_array_equal(r.cohort_dlts[0, :6], u < p_t)
    np.testing.assert_array_equal(r.cohort_responses[0, :6],
                                  (u < p_te) | ((u >= p_t) & (u < p_t + p_e - p_te)))
    obs = trace[-1][0]
    assert obs["responses"].sum() == r.cohort_responses[0, :6].sum()
    assert obs["both"].sum() == (r.cohort_dlts & r.cohort_responses)[0, :6].sum()
    assert levels.tolist() == [0, 1, 2, 3, 2, 2]


def test_efftox_env__reward_is_relative_utility_minus_overdosing() -> None:
    """Naming the OBD earns 1, a lower level u/u(OBD), a level above the MTD 0; overdoses cost."""
    scenario = efftox_env_scenario(TABLE)
    utilities = TABLE.true_utilities
    short = DoseFindingEffToxScenario(**{**_fields(scenario), "max_sample_size": 15})
    for named, expected in ((2, 1.0), (1, utilities[1] / utilities[2]), (4, 0.0)):
        trace = rollout(gym.make(ENV_ID, scenario=short), 1, [1, 2, 3, 4, named])
        rewards = [step[1] for step in trace[1:]]
        assert rewards[:3] == [0.0, 0.0, 0.0] and rewards[3] == pytest.approx(-0.06)
        assert rewards[4] == pytest.approx(expected) and trace[-1][2]
        assert trace[-1][4]["correct_selection"] == (named == 2)
    stopped = rollout(gym.make(ENV_ID, scenario=short), 1, [STOP])
    assert stopped[-1][1] == 0.0 and stopped[-1][4]["selected"] == -1
    weighted = DoseFindingEffToxScenario(**{**_fields(short), "reward": EffToxReward(
        utility=10.0, overdose_per_patient=0.0)})
    trace = rollout(gym.make(ENV_ID, scenario=weighted), 1, [1, 2, 3, 4, 2])
    assert [step[1] for step in trace[1:]] == [0.0, 0.0, 0.0, 0.0, 10.0]


def _fields(scenario: DoseFindingEffToxScenario) -> dict:
    return {name: getattr(scenario, name) for name in scenario.__dataclass_fields__}


def test_efftox_env__no_skipping_and_recommendation_lowered_to_highest_tried() -> None:
    """A jump is lowered to highest tried + 1; a full trial's named level to highest tried."""
    short = DoseFindingEffToxScenario(**{**_fields(efftox_env_scenario(TABLE)),
                                         "max_sample_size": 6})
    trace = rollout(gym.make(ENV_ID, scenario=short), 2, [4, 4])
    assert (trace[1][4]["requested_level"], trace[1][4]["assigned_level"]) == (4, 1)
    assert trace[2][4]["selected"] == 1 and trace[2][2]


def test_efftox_env__random_truths_are_pseudo_uniform_tox_and_plateau_efficacy() -> None:
    """Drawn truths: increasing toxicity, non-decreasing efficacy with a plateau, independence."""
    cohort = sample_trial_cohort(DoseFindingEffToxScenario(), 200, np.random.SeedSequence(4))
    tox, eff, both = (cohort.filter(like=prefix).to_numpy()
                      for prefix in ("p_dlt_", "p_eff_", "p_both_"))
    assert np.all(np.diff(tox, axis=1) > 0) and np.all(np.diff(eff, axis=1) >= 0)
    np.testing.assert_allclose(both, tox * eff)
    top = eff[:, -1]
    assert np.all((top >= 0.3) & (top <= 0.8)) and np.all(eff[:, 0] >= 0.02)
    plateau = (eff == top[:, None]).argmax(axis=1)
    assert 0.6 < (plateau <= 3).mean() < 0.9  # plateau level uniform: 4 of 5 levels
    assert np.all(closest_levels(tox, 0.35) >= plateau)  # reachable at a tolerable dose
    obd = optimal_biological_doses(phase12_utilities(tox, eff, both, 40, 60),
                                   closest_levels(tox, 0.35))
    assert np.bincount(obd, minlength=5).max() < 0.35 * 200  # not piled on one level
    part = sample_trial_cohort(DoseFindingEffToxScenario(), 3, np.random.SeedSequence(4),
                               start=10)
    np.testing.assert_array_equal(part.iloc[:, :-1].to_numpy(), cohort.iloc[10:13, :-1])


@pytest.mark.parametrize(("fields", "message"), [
    ({"true_dlt_probabilities": (0.1, 0.2, 0.3, 0.4, 0.5)}, "given together"),
    ({"true_dlt_probabilities": (0.1, 0.2, 0.3, 0.4, 0.5),
      "true_efficacy_probabilities": (0.1, 0.2, 1.2, 0.4, 0.5)}, "true_efficacy_probabilities"),
    ({"true_dlt_probabilities": (0.1, 0.2, 0.3, 0.4, 0.5),
      "true_efficacy_probabilities": (0.5,) * 5,
      "true_joint_probabilities": (0.3,) * 5}, "true_joint_probabilities"),
    ({"min_efficacy_rate": 1.0}, "min_efficacy_rate"),
    ({"utility_both": 101.0}, "utility_both"),
    ({"n_doses": 4}, "random_truth.n_doses"),
])
def test_efftox_scenario__bad_fields_name_themselves(fields: dict, message: str) -> None:
    """A bad scenario field is a one-line ValueError naming it."""
    with pytest.raises(ValueError, match=message) as error:
        DoseFindingEffToxScenario(**fields)
    assert "\n" not in str(error.value)


def test_efftox_env__pinned_truth_and_bad_pins() -> None:
    """A pinned truth is used as given; unknown or missing fields are refused by name."""
    env = gym.make(ENV_ID)
    pin = {"true_dlt_probabilities": TABLE.true_dlt_probabilities,
           "true_efficacy_probabilities": TABLE.true_efficacy_probabilities, "id": 9}
    _, info = env.reset(seed=0, options={"patient": pin})
    assert info["trial_id"] == 9 and info["true_obd"] == 2
    np.testing.assert_allclose(info["true_joint_probabilities"], np.multiply(
        TABLE.true_dlt_probabilities, TABLE.true_efficacy_probabilities))
    with pytest.raises(ValueError, match="unknown patient field"):
        env.reset(seed=0, options={"patient": {**pin, "weight_kg": 70}})
    with pytest.raises(ValueError, match="true_efficacy_probabilities"):
        env.reset(seed=0, options={"patient": {"true_dlt_probabilities": (0.1,) * 5}})


def test_random_efficacy_toxicity__refuses_bad_ranges() -> None:
    """The generator's ranges are checked, naming the fields."""
    with pytest.raises(ValueError, match="efficacy_low"):
        RandomEfficacyToxicity(efficacy_low=0.9, efficacy_high=0.5)


def test_efftox_scenarios__the_yaml_files_load() -> None:
    """The annotated defaults file is the default scenario; the plateau file is TABLE."""
    from pkgym.scenarios import load_scenario

    assert load_scenario("scenarios/dose_finding_efftox_env.yaml") == DoseFindingEffToxScenario()
    plateau = load_scenario("scenarios/dose_finding_efftox_plateau.yaml")
    assert plateau == efftox_env_scenario(TABLE)
