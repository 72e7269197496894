"""Docetaxel baselines: nadir forecasts, oracle, label rules, MAP dosing, registry, evaluation."""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import gymnasium
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401  (registers pkgym/Chemotherapy-v0)
from agents.policies.chemotherapy.baselines import (
    PLANNING_SOLVER,
    ChemoOraclePolicy,
    FixedPercentPolicy,
    LabelRulesPolicy,
    forecast_nadir,
    highest_safe_percent,
)
from agents.policies.chemotherapy.map import ChemoMapPolicy
from agents.policies.registry import CHEMOTHERAPY_BASELINES, make_policy
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.envs.chemotherapy.records import PLACEHOLDER
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import CHEMOTHERAPY_OUTCOMES
from pkgym.evaluation.policy import Policy
from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import advance_cycles, initial_states
from pkgym.models.tumour import Claret2009

ENV_ID = "pkgym/Chemotherapy-v0"
MODEL = DocetaxelPatientModel()
SCENARIO = ChemotherapyScenario()
LEVELS = np.asarray(SCENARIO.dose_levels_percent)  # 0, 50, 75, 100, 125 % of 75 mg/m2
N_CYCLES, N_LABS = SCENARIO.n_cycles, len(SCENARIO.lab_days)  # labs on days 0, 7, 14
# Pinned patients' Friberg etas (CIRC0, MTT, SLOPE) for the MAP tests.
MAP_ETAS = np.array([[-0.3, 0.0, 0.5], [0.3, 0.1, -0.4], [-0.2, -0.2, 0.3], [0.2, 0.0, -0.5]])
# (CL, CIRC0, MTT, SLOPE) of the oracle's patients: typical, sensitive, tolerant, mixed.
ORACLE_ETAS = ((0.0, 0.0, 0.0, 0.0), (0.3, -0.2, 0.1, 0.4), (-0.3, 0.3, -0.2, -0.4),
               (0.0, -0.3, 0.0, 0.6), (0.2, 0.2, 0.2, -0.2))


def _covariates(n: int) -> dict[str, np.ndarray]:
    """``n`` 60-year-old men, BSA 1.8 m2, typical AAG, a 70 mm tumour."""
    return {"is_female": np.zeros(n), "age_years": np.full(n, 60.0), "bsa_m2": np.full(n, 1.8),
            "aag_g_per_l": np.full(n, 1.34), "hepatic_impairment": np.zeros(n),
            "baseline_sld_mm": np.full(n, 70.0)}


def _patients(etas: np.ndarray, **etas_by_name: float) -> pd.DataFrame:
    """Pinned placeholder patients with (CL, CIRC0, MTT, SLOPE) or (CIRC0, MTT, SLOPE) etas."""
    names = ("eta_CL", "eta_CIRC0", "eta_MTT", "eta_SLOPE")
    rows = []
    for i, row in enumerate(np.asarray(etas, dtype=np.float64)):
        given = dict(zip(names[len(names) - row.size:], row, strict=True))
        rows.append({**PLACEHOLDER, "id": i, **given, **etas_by_name})
    return pd.DataFrame(rows)


def _vector_env(n: int, **kwargs: object) -> gymnasium.vector.VectorEnv:
    """``n`` docetaxel patients in the native vector env."""
    return gymnasium.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                              **kwargs)


def _row(observation: Mapping[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Env ``i`` of a batched observation as a batch of one."""
    return {key: np.asarray(value)[i:i + 1] for key, value in observation.items()}


def _observation(cycle: int, counts: Mapping[int, float] | None = None,
                 febrile_cycles: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """A hand-built clinic observation of one patient (batch of 1).

    ``counts`` maps lab slots ``c * 3 + k`` (day 0/7/14 of cycle c) to ANC (x10^9/L); the
    other slots of past cycles hold a normal count of 4.0, later slots are unmeasured.
    """
    anc, mask = np.zeros(N_CYCLES * N_LABS), np.zeros(N_CYCLES * N_LABS)
    measured = min(cycle * N_LABS + 1, anc.size)  # up to and including this cycle's day 0
    anc[:measured], mask[:measured] = 4.0, 1.0
    for slot, value in (counts or {}).items():
        anc[slot], mask[slot] = value, 1.0
    febrile = np.zeros(N_CYCLES)
    febrile[list(febrile_cycles)] = 1.0
    dose = np.where(np.arange(N_CYCLES) < cycle, 100.0, 0.0)
    single = {"covariates": np.array([60.0, 0.0, 80.0, 175.0, 1.97, 1.34, 0.0]),
              "anc_1e9_per_l": anc, "anc_mask": mask, "sld_mm": np.array([70.0, 0, 0, 0]),
              "sld_mask": np.array([1.0, 0, 0, 0]), "dose_percent": dose,
              "delayed": np.zeros(N_CYCLES), "febrile_neutropenia": febrile,
              "cycle": np.array([float(cycle)])}
    return {key: value[None].astype(np.float32) for key, value in single.items()}


def _label_doses(policy: LabelRulesPolicy,
                 observations: list[dict[str, np.ndarray]]) -> list[list[float]]:
    """The policy's decisions (as lists) for a sequence of observations of one patient."""
    return [np.atleast_1d(np.asarray(policy.act(o))[0]).tolist() for o in observations]


# ----- forecast_nadir and highest_safe_percent ---------------------------------------------

def _mid_course(etas_slope: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Typical patients with these Slope etas after one cycle at 75 mg/m2: params, states, t."""
    n = len(etas_slope)
    etas = np.zeros((n, 7))
    etas[:, 3] = etas_slope
    params = MODEL.parameters(_covariates(n), etas)
    states, times = initial_states(params, np.full(n, 70.0)), np.zeros(n)
    advance_cycles(np.arange(n), np.full(n, 75.0 * 1.8), np.zeros(n, np.int64), np.full(n, 21),
                   1.0, times, states, params.copy(), 1e-8, 1e-10, 100_000, np.empty((n, 21)))
    return params, states, times


def test_forecast_nadir__equals_the_lowest_daily_anc_of_run_cycles():
    """From the drug-free state the forecast is run_cycles' lowest daily ANC (looser solver)."""
    etas = np.zeros((3, 7))
    etas[1, 3], etas[2, 1] = 0.5, -0.3
    params = MODEL.parameters(_covariates(3), etas)
    doses = np.array([135.0, 100.0, 180.0])
    nadir = forecast_nadir(params, initial_states(params, np.full(3, 70.0)), np.zeros(3), doses,
                           1.0, 21)
    anc, _ = MODEL.run_cycles(params, np.full(3, 70.0), doses[:, None])
    np.testing.assert_allclose(nadir, anc.min(axis=1), rtol=1e-3)


@pytest.mark.parametrize("mid_course", [False, True])
def test_highest_safe_percent__chosen_level_is_safe_and_the_next_one_up_is_not(mid_course):
    """Each level forecast alone: the chosen one's nadir >= 0.5, the next level's < 0.5."""
    params, states, times = _mid_course((0.0, 0.5, -0.2))
    if not mid_course:
        states, times = initial_states(params, np.full(3, 70.0)), np.zeros(3)
    chosen = highest_safe_percent(params, states, times, np.full(3, 1.8), LEVELS, 75.0, 1.0, 21)
    assert np.all((chosen > 0) & (chosen < LEVELS[-1])), chosen  # interior: both checks bite
    for i in range(3):
        nadirs = [forecast_nadir(params[i:i + 1], states[i:i + 1], times[i:i + 1],
                                 np.array([level / 100 * 75.0 * 1.8]), 1.0, 21)[0]
                  for level in LEVELS]
        k = int(np.flatnonzero(LEVELS == chosen[i])[0])
        assert nadirs[k] >= 0.5 > nadirs[k + 1], (i, chosen[i], nadirs)


def test_highest_safe_percent__steeper_slope_gets_a_lower_level():
    """Slope eta -0.5, 0, +0.5 (same covariates): strictly falling dose levels."""
    params, _, _ = _mid_course((-0.5, 0.0, 0.5))
    chosen = highest_safe_percent(params, initial_states(params, np.full(3, 70.0)), np.zeros(3),
                                  np.full(3, 1.8), LEVELS, 75.0, 1.0, 21)
    assert chosen[0] > chosen[1] > chosen[2], chosen


def test_highest_safe_percent__no_safe_level_gives_the_lowest():
    """Above every level's nadir floor (ANC 50): the lowest level, not an error."""
    params, states, times = _mid_course((0.0,))
    chosen = highest_safe_percent(params, states, times, np.array([1.8]), LEVELS[1:], 75.0, 1.0,
                                  21, floor_anc=50.0)
    assert chosen.tolist() == [50.0]


def test_forecast_nadir__does_not_modify_its_inputs():
    """Params, states, times, doses and delays are the same after forecasting (copies used)."""
    params, states, times = _mid_course((0.0, 0.3))
    inputs = (params, states, times, np.array([135.0, 100.0]), np.array([0, 7]))
    before = [a.copy() for a in inputs]
    forecast_nadir(*inputs[:4], 1.0, 21, delay_days=inputs[4])
    highest_safe_percent(params, states, times, np.full(2, 1.8), LEVELS, 75.0, 1.0, 21)
    for after, original in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(after, original)


def test_forecast_nadir__a_delay_lets_counts_recover_first():
    """Ten days after a dose (near the nadir), waiting 7 days gives a higher next nadir."""
    params = MODEL.parameters(_covariates(1))
    states, times = initial_states(params, np.array([70.0])), np.zeros(1)
    advance_cycles(np.arange(1), np.array([135.0]), np.zeros(1, np.int64), np.array([10]), 1.0,
                   times, states, params.copy(), 1e-8, 1e-10, 100_000, np.empty((1, 21)))
    now, delayed = (forecast_nadir(params, states, times, np.array([135.0]), 1.0, 21,
                                   delay_days=np.array([d]), solver=PLANNING_SOLVER)[0]
                    for d in (0, 7))
    assert delayed > now + 0.1, (now, delayed)


# ----- the oracle ---------------------------------------------------------------------------

def test_oracle__reads_hidden_state_and_needs_info():
    """Flagged as reading the truth; without info (or its parameters) a clear ValueError."""
    env = _vector_env(2)
    observation, info = env.reset(seed=0)
    oracle = make_policy("oracle", env.unwrapped.core)
    assert isinstance(oracle, ChemoOraclePolicy) and oracle.reads_hidden_state
    assert isinstance(oracle, Policy)
    with pytest.raises(ValueError, match="needs the env's info"):
        oracle.act(observation)
    with pytest.raises(ValueError, match="model_parameters"):
        oracle.act(observation, {k: v for k, v in info.items() if k != "model_parameters"})


def test_oracle__never_causes_grade4_neutropenia_in_the_env():
    """Five pinned patients, six cycles: no grade 4 (nor febrile) neutropenia, yet real doses."""
    patients = _patients(np.array(ORACLE_ETAS), eta_KL=-1.0)  # slow growth: few progressions
    env = _vector_env(len(patients))
    core = env.unwrapped.core
    oracle = make_policy("oracle", core)
    observation, info = env.reset(seed=3, options={"patients": patients})
    oracle.reset(len(patients))
    alive, doses = np.ones(len(patients), bool), []
    for _ in range(N_CYCLES):
        decision = oracle.act(observation, info)
        observation, _, terminated, truncated, info = env.step(core.encode_decisions(decision,
                                                                                     False))
        doses.append(np.where(alive, decision, np.nan))
        assert not np.any(info["grade4_neutropenia"][alive]), info["anc_nadir_1e9_per_l"]
        assert not np.any(info["febrile_neutropenia"][alive])
        assert np.all(info["anc_nadir_1e9_per_l"][alive] >= 0.5)
        alive &= ~(terminated | truncated)
    given = np.array(doses)
    assert np.nanmean(given) >= 60.0 and np.nanmax(given) >= 100.0  # not safe by withholding
    assert np.unique(given[~np.isnan(given)]).size >= 3  # individualised


def test_oracle__with_delays_returns_dose_and_no_delay_pairs():
    """allow_delay=True: (n, 2) decisions, the plain oracle's dose and a zero delay column."""
    env = _vector_env(3, allow_delay=True)
    observation, info = env.reset(seed=1)
    core = env.unwrapped.core
    pairs = make_policy("oracle", core).act(observation, info)
    plain = ChemoOraclePolicy(LEVELS, 75.0, 1.0, 21).act(observation, info)
    assert pairs.shape == (3, 2)
    np.testing.assert_array_equal(pairs[:, 0], plain)
    np.testing.assert_array_equal(pairs[:, 1], 0.0)
    env.step(core.encode_decisions(pairs, False))  # the env accepts them


# ----- label rules --------------------------------------------------------------------------

def test_label_rules__hand_built_observations_fit_the_env_space():
    """The hand-built observations below are valid clinic observations (same keys and bounds)."""
    space = gymnasium.make(ENV_ID).observation_space
    for observation in (_observation(0), _observation(3, {7: 0.3, 8: 0.2}, (2,))):
        assert space.contains({k: v[0] for k, v in observation.items()})


def test_label_rules__febrile_or_two_low_counts_lower_one_level_never_below_50():
    """100 -> 75 after febrile neutropenia, -> 50 after two counts < 0.5, then stays at 50."""
    policy = LabelRulesPolicy(LEVELS)
    policy.reset(1)
    course = [_observation(0), _observation(1, febrile_cycles=(0,)),
              _observation(2, {4: 0.3, 5: 0.45}), _observation(3, febrile_cycles=(2,)),
              _observation(4, {10: 0.2, 11: 0.1}, (3,)), _observation(5)]
    assert _label_doses(policy, course) == [[100.0], [75.0], [50.0], [50.0], [50.0], [50.0]]


def test_label_rules__one_low_count_or_an_older_cycle_does_not_reduce():
    """A single count < 0.5, counts of 0.5 exactly, or low counts two cycles ago: no change."""
    for observation in (_observation(2, {4: 0.3, 5: 0.8}), _observation(2, {4: 0.5, 5: 0.5}),
                        _observation(2, {1: 0.2, 2: 0.2}), _observation(2, febrile_cycles=(0,))):
        policy = LabelRulesPolicy(LEVELS)
        policy.reset(1)
        assert _label_doses(policy, [observation]) == [[100.0]]


def test_label_rules__low_day1_anc_delays_or_lowers_this_cycle_only():
    """Day-1 ANC < 1.5: a delay (dose kept) with delays, else one level lower this cycle only."""
    low = {0: 1.2}  # cycle 0's day-1 count
    delaying, lowering = LabelRulesPolicy(LEVELS, allow_delay=True), LabelRulesPolicy(LEVELS)
    delaying.reset(1)
    lowering.reset(1)
    course = [_observation(0, low), _observation(1), _observation(2, {6: 1.49}),
              _observation(3, {9: 1.5})]
    assert _label_doses(delaying, course) == [[100.0, 1.0], [100.0, 0.0], [100.0, 1.0],
                                              [100.0, 0.0]]
    assert _label_doses(lowering, course) == [[75.0], [100.0], [75.0], [100.0]]


def test_label_rules__febrile_and_low_start_together_lower_twice_without_delays():
    """Febrile last cycle and day-1 ANC 1.0: 50 now (75 - one), 75 next cycle; floor holds."""
    policy = LabelRulesPolicy(LEVELS)
    policy.reset(1)
    course = [_observation(0), _observation(1, {3: 1.0}, (0,)), _observation(2),
              _observation(3, {7: 0.2, 8: 0.2, 9: 1.0})]
    assert _label_doses(policy, course) == [[100.0], [50.0], [75.0], [50.0]]


def test_label_rules__unmeasured_day1_slot_is_not_a_low_count():
    """A day-1 slot with mask 0 (value 0) neither delays nor lowers the dose."""
    observation = _observation(1)
    observation["anc_mask"][0, 3] = observation["anc_1e9_per_l"][0, 3] = 0.0
    policy = LabelRulesPolicy(LEVELS, allow_delay=True)
    policy.reset(1)
    assert _label_doses(policy, [observation]) == [[100.0, 0.0]]


def test_label_rules__cycle_zero_starts_the_next_patient_afresh():
    """After reductions to 50%, an observation at cycle 0 (a new patient) gives 100% again."""
    policy = LabelRulesPolicy(LEVELS)
    policy.reset(1)
    course = [_observation(1, febrile_cycles=(0,)), _observation(2, febrile_cycles=(1,)),
              _observation(0), _observation(1)]
    assert _label_doses(policy, course) == [[75.0], [50.0], [100.0], [100.0]]


def test_label_rules__batched_equals_per_env():
    """Four patients' courses stacked into one batch: the same decisions as four policies."""
    courses = [
        [_observation(0), _observation(1, febrile_cycles=(0,)), _observation(2, {6: 1.0}),
         _observation(3, {7: 0.3, 8: 0.3})],
        [_observation(0, {0: 1.4}), _observation(1), _observation(2), _observation(3)],
        [_observation(0), _observation(1, {1: 0.2, 2: 0.1}), _observation(2, {4: 0.4, 5: 0.1}),
         _observation(0)],
        [_observation(0), _observation(1, {3: 0.9}), _observation(2, febrile_cycles=(1,)),
         _observation(3, febrile_cycles=(2,))]]
    for allow_delay in (False, True):
        batched = LabelRulesPolicy(LEVELS, allow_delay=allow_delay)
        batched.reset(4)
        together = [batched.act({k: np.concatenate([c[t][k] for c in courses])
                                 for k in courses[0][t]}) for t in range(4)]
        for i, course in enumerate(courses):
            alone = LabelRulesPolicy(LEVELS, allow_delay=allow_delay)
            alone.reset(1)
            assert _label_doses(alone, course) == [np.atleast_1d(d[i]).tolist() for d in together]
        assert len({tuple(np.ravel(d)) for d in together}) > 1  # the rules did fire


# ----- MAP ----------------------------------------------------------------------------------

@functools.cache
def _map_rollout() -> tuple[ChemoMapPolicy, list[dict[str, np.ndarray]], np.ndarray,
                            dict[str, np.ndarray]]:
    """Three cycles of MAP dosing of the MAP_ETAS patients (assay SD 0.05 of log)."""
    scenario = ChemotherapyScenario(anc_assay_log_sd=0.05)
    env = _vector_env(len(MAP_ETAS), scenario=scenario)
    core = env.unwrapped.core
    policy = ChemoMapPolicy(scenario)
    patients = _patients(MAP_ETAS, eta_CL=0.0, eta_KL=-1.0)  # CL typical, as the MAP assumes
    observation, info = env.reset(seed=0, options={"patients": patients})
    policy.reset(len(MAP_ETAS))
    seen, decisions = [], []
    for _ in range(3):
        seen.append({k: np.array(v) for k, v in observation.items()})
        decisions.append(policy.act(observation, info))
        observation, _, terminated, truncated, info = env.step(
            core.encode_decisions(decisions[-1], False))
        assert not np.any(terminated | truncated)
    seen.append({k: np.array(v) for k, v in observation.items()})
    return policy, seen, np.array(decisions).T, info


def test_map_policy__estimates_the_friberg_etas_better_than_the_prior():
    """After 3 cycles the MAP etas (CIRC0, MTT, Slope) lie far closer to the truth than 0 does."""
    policy, seen, _, _ = _map_rollout()
    last = seen[-1]
    cycle = last["cycle"][:, 0].astype(np.int64)
    estimate = policy._estimate(last, policy._covariates(last), cycle)
    assert estimate.shape == MAP_ETAS.shape
    errors = np.linalg.norm(estimate - MAP_ETAS, axis=1)
    assert np.all(errors < 0.5 * np.linalg.norm(MAP_ETAS, axis=1)), (estimate, errors)
    for j in (0, 2):  # CIRC0 and Slope: every patient's true eta is far from 0
        assert np.all(np.abs(estimate[:, j] - MAP_ETAS[:, j]) < np.abs(MAP_ETAS[:, j]) / 2)


def test_map_policy__forecasts_the_next_nadir_better_than_the_prior():
    """Next cycle at 100%: the MAP forecast nadir is nearer the true one than the prior's."""
    policy, seen, _, info = _map_rollout()
    last = seen[-1]
    cycle = last["cycle"][:, 0].astype(np.int64)
    covariates = policy._covariates(last)
    dose = 75.0 * covariates["bsa_m2"]
    truth = forecast_nadir(info["model_parameters"], info["state"], info["time_h"], dose, 1.0,
                           21)
    forecasts = []
    for estimated in (policy._estimate(last, covariates, cycle), np.zeros(MAP_ETAS.shape)):
        etas = np.zeros((cycle.size, 7))
        etas[:, 1:4] = estimated
        params = policy.model.parameters(covariates, etas)
        states, times, _ = policy._history(params, last, cycle)
        np.testing.assert_allclose(times, info["time_h"])  # the same clock as the env
        forecasts.append(forecast_nadir(params, states, times, dose, 1.0, 21))
    map_error, prior_error = (np.abs(np.log(f / truth)) for f in forecasts)
    assert np.all(map_error < prior_error / 3), (truth, forecasts)
    np.testing.assert_allclose(forecasts[0], truth, rtol=0, atol=0.05)  # x10^9/L
    np.testing.assert_array_equal(forecasts[0] < 0.5, truth < 0.5)  # grade 4 foreseen


def test_map_policy__batched_equals_per_env_decisions():
    """The rollout's observations split into single-env batches give the same doses."""
    _, seen, decisions, _ = _map_rollout()
    assert np.unique(decisions).size >= 3  # individualised doses
    for i in range(len(MAP_ETAS)):
        alone = ChemoMapPolicy(ChemotherapyScenario(anc_assay_log_sd=0.05))
        alone.reset(1)
        np.testing.assert_array_equal([alone.act(_row(o, i))[0] for o in seen[:3]], decisions[i])


# ----- paired evaluation --------------------------------------------------------------------

PROGRESSING = ChemotherapyScenario(tumour=Claret2009(growth_per_week=0.03), scan_every_cycles=1)
"""Fast-growing tumours scanned every cycle: most, not all, patients progress within 6 cycles."""
EVALUATION_SEED = 1


@functools.cache
def _evaluation() -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 held-out patients under oracle, fixed 100% and label rules (paired); and the cohort."""
    core = gymnasium.make(ENV_ID, scenario=PROGRESSING).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability, 30, seed=7)
    policies = [make_policy(name, core) for name in ("oracle", "fixed_100", "label")]
    results = evaluate(policies, ENV_ID, cohort, seed=EVALUATION_SEED,
                       env_kwargs={"scenario": PROGRESSING})
    return results, cohort


def test_evaluate__oracle_avoids_grade4_and_label_stays_within_the_label_dose():
    """Oracle: the lowest grade 4 share (below fixed 100%); label: RDI <= 1, no more febrile."""
    results, cohort = _evaluation()
    assert results.groupby("policy").size().to_dict() == {"fixed_100": 30, "label": 30,
                                                          "oracle": 30}
    means = results.groupby("policy")[list(CHEMOTHERAPY_OUTCOMES.scores)].mean()
    grade4 = means["grade4_neutropenia"]
    assert grade4["oracle"] < grade4.drop("oracle").min()
    assert grade4["oracle"] < grade4["fixed_100"] - 0.3
    label = results[results["policy"] == "label"]
    assert np.all(label["relative_dose_intensity"] <= 1.0 + 1e-12)
    assert label["relative_dose_intensity"].min() < 1.0  # the rules did reduce someone
    febrile = results.groupby("policy")["febrile_neutropenia_events"].sum()
    assert febrile["label"] <= febrile["fixed_100"]
    fixed = results[results["policy"] == "fixed_100"]
    np.testing.assert_array_equal(fixed["relative_dose_intensity"], 1.0)
    hidden = results.groupby("policy")["reads_hidden_state"].first()
    assert hidden.to_dict() == {"fixed_100": False, "label": False, "oracle": True}


def test_evaluate__progressed_patients_keep_their_own_results():
    """Progressed patients: NaN steps after progression; return = their episode replayed alone."""
    results, cohort = _evaluation()
    fixed = results[results["policy"] == "fixed_100"].reset_index(drop=True)
    np.testing.assert_array_equal(fixed["id"], cohort["id"])
    doses = fixed[[f"dose_percent_{k}" for k in range(N_CYCLES)]].to_numpy()
    progressed = fixed[[f"progressed_{k}" for k in range(N_CYCLES)]].to_numpy()
    n_given = (~np.isnan(doses)).sum(axis=1)
    assert 0 < (fixed["progressed"] == 1).sum() < 30  # some, not all, progressed
    for i in range(30):
        k = n_given[i]
        assert np.all(~np.isnan(doses[i, :k])) and np.all(np.isnan(doses[i, k:]))
        if k < N_CYCLES:  # an early end is a progression at the patient's last cycle
            assert progressed[i, k - 1] == 1 and fixed["progressed"][i] == 1
        assert fixed["final_sld_relative"][i] == fixed[f"sld_relative_{k - 1}"][i]
    for i in np.flatnonzero(n_given < N_CYCLES)[:3]:  # replay progressed patients alone
        env = gymnasium.make(ENV_ID, scenario=PROGRESSING)
        env.reset(seed=EVALUATION_SEED + int(i), options={"patient": dict(cohort.iloc[i])})
        total, terminated, steps = 0.0, False, 0
        while not terminated:
            _, reward, terminated, truncated, _ = env.step(3)  # 100% of the label dose
            total, steps = total + reward, steps + 1
            assert not truncated
        assert steps == n_given[i]
        assert fixed["return"][i] == pytest.approx(total, rel=1e-12, abs=1e-12)


# ----- registry and CLI ---------------------------------------------------------------------

def test_make_policy__builds_every_chemotherapy_baseline():
    """Each name gives a Policy whose first decisions are dose levels of the env."""
    env = _vector_env(3)
    core = env.unwrapped.core
    observation, info = env.reset(seed=2)
    names = {}
    for name in CHEMOTHERAPY_BASELINES:
        policy = make_policy(name, core)
        assert isinstance(policy, Policy)
        policy.reset(3)
        decisions = np.asarray(policy.act(observation, info))
        assert decisions.shape == (3,) and np.all(np.isin(decisions, LEVELS)), (name, decisions)
        names[name] = policy.name
    assert names == {"label": "label", "map": "map_bayesian", "oracle": "oracle",
                     "fixed_100": "fixed_100"}
    assert isinstance(make_policy("fixed_100", core), FixedPercentPolicy)


def test_make_policy__delay_env_gets_dose_and_delay_pairs():
    """allow_delay=True: every baseline returns (n, 2), a dose level and a 0/1 delay, twice."""
    env = _vector_env(3, allow_delay=True)
    core = env.unwrapped.core
    observation, info = env.reset(seed=2)
    policies = {name: make_policy(name, core) for name in CHEMOTHERAPY_BASELINES}
    for policy in policies.values():
        policy.reset(3)
    for _ in range(2):  # cycle 0, then after one cycle (the MAP estimates from counts)
        decided = {name: np.asarray(p.act(observation, info)) for name, p in policies.items()}
        for name, decisions in decided.items():
            assert decisions.shape == (3, 2), name
            assert np.all(np.isin(decisions[:, 0], LEVELS)), (name, decisions)
            assert np.all(np.isin(decisions[:, 1], (0.0, 1.0))), (name, decisions)
        observation, _, _, _, info = env.step(core.encode_decisions(decided["label"], False))


def test_cli_evaluate__label_and_oracle_write_chemotherapy_scores(tmp_path: Path):
    """``pkgym evaluate`` in a subprocess: summary.csv scores both policies on chemo outcomes."""
    result = subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", ENV_ID, "--policy", "label",
         "--policy", "oracle", "--n-patients", "4", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["policy"]) == {"label", "oracle"}
    for policy, group in summary.groupby("policy"):
        assert set(group["score"]) == set(CHEMOTHERAPY_OUTCOMES.scores), policy
    scores = summary.set_index(["policy", "score"])
    assert scores.loc[("oracle", "grade4_neutropenia"), "mean"] == 0.0
    assert bool(scores.loc[("oracle", "grade4_neutropenia"), "upper_bound"])
    assert scores.loc[("label", "relative_dose_intensity"), "mean"] <= 1.0
    assert len(pd.read_csv(tmp_path / "results.csv")) == 8


def test_label_rules__a_finished_episode_and_unmeasured_slots_are_handled():
    """A finished episode (cycle == n_cycles) gets a decision; unmeasured zeros are not low."""
    policy = LabelRulesPolicy(LEVELS)
    finished = _observation(N_CYCLES - 1)
    finished["cycle"][:] = N_CYCLES
    assert np.asarray(policy.act(finished)).shape == (1,)
    unmeasured = _observation(2)
    unmeasured["anc_mask"][0, 4:6], unmeasured["anc_1e9_per_l"][0, 4:6] = 0.0, 0.0
    assert _label_doses(LabelRulesPolicy(LEVELS), [unmeasured]) == [[100.0]]


def test_label_rules__reads_the_day_0_count_whatever_the_order_of_lab_days():
    """With lab_days (7, 14, 0) the pre-dose count is slot 2 of each cycle, not slot 0."""
    observation = _observation(1)
    observation["anc_1e9_per_l"][0, 3:6] = (4.0, 4.0, 1.0)  # day 7, day 14, day 0 of cycle 1
    observation["anc_mask"][0, 3:6] = 1.0
    policy = LabelRulesPolicy(LEVELS, (7, 14, 0), allow_delay=True)
    assert np.asarray(policy.act(observation))[0].tolist() == [100.0, 1.0]
    with pytest.raises(ValueError, match="day 0"):
        LabelRulesPolicy(LEVELS, (7, 14))
