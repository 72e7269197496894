"""Bayesian MAP MIPD: exact prediction, MAP recovery, dose choice and the batched policy."""

from __future__ import annotations

from dataclasses import replace

import gymnasium
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers pkgym/Vancomycin-v0)
from agents.policies.vancomycin.map import (
    DEFAULT_CANDIDATE_DOSES_MG,
    MapBayesianPolicy,
    choose_dose,
    map_estimate,
    next_day_regimens,
    posterior_objective,
)
from agents.policies.vancomycin.map_predict import (
    PatientHistory,
    predict_auc,
    predict_aucs,
    predict_concentrations,
)
from pkgym.envs.base import doses_to_actions
from pkgym.models.vancomycin import Goti2018
from pkgym.sim import DoseSchedule, simulate_linear

MODEL = Goti2018()
TRUE_ETAS = np.array([0.3, -0.25, 0.2])
# Irregular doses so that one infusion (2500 mg, 2.5 h from 23 h) runs across midnight.
DOSES = ((0.0, 2000.0), (12.0, 1000.0), (23.0, 2500.0), (36.0, 750.0), (47.5, 1500.0),
         (60.0, 1000.0))


def _history(crcl_by_day: tuple[float, ...] = (80.0, 60.0, 60.0, 45.0)) -> PatientHistory:
    """An 85-kg patient with the doses above and a falling CrCL, no levels yet."""
    admitted = PatientHistory.admission(weight_kg=85.0, creatinine_clearance_ml_per_min=80.0)
    return replace(admitted.with_doses(DOSES), time_h=72.0,
                   daily_creatinine_clearance_ml_per_min=np.array(crcl_by_day))


def _reference_levels(history: PatientHistory, etas: np.ndarray, times_h: np.ndarray) -> np.ndarray:
    """``simulate_linear`` chained day by day, each day with its own CrCL (sorted times)."""
    n_doses = history.dose_times_h.size
    schedule = DoseSchedule(time_h=history.dose_times_h[None], amount_mg=history.dose_amounts_mg[
        None], duration_h=history.dose_durations_h[None], route=np.zeros((1, n_doses), int))
    crcl, state, levels = history.daily_creatinine_clearance_ml_per_min, None, []
    for day in range(int(times_h.max() // 24) + 1):
        start, end = 24.0 * day, 24.0 * (day + 1)
        params = MODEL.linear_params(
            weight_kg=np.array([history.weight_kg]), on_dialysis=np.array([history.on_dialysis]),
            creatinine_clearance_ml_per_min=crcl[[min(day, crcl.size - 1)]], etas=etas[None])
        inside = times_h[(times_h >= start) & (times_h < end)]
        solution = simulate_linear(params, schedule, np.append(inside, end), initial_state=state,
                                   start_h=start)
        levels.append(solution.concentration_mg_per_l[0, :-1])
        state = solution.final_state
    return np.concatenate(levels)


def _with_levels(history: PatientHistory, times_h: np.ndarray, noise_seed: int | None = None,
                 etas: np.ndarray = TRUE_ETAS) -> PatientHistory:
    """Add levels of the patient with ``etas`` (noise-free, or with Goti's assay error)."""
    levels = _reference_levels(history, etas, times_h)
    if noise_seed is not None:
        levels = MODEL.residual_error.measure(levels, np.random.default_rng(noise_seed)).values
    return replace(history, level_times_h=times_h, levels_mg_per_l=levels)


def _observation(history: PatientHistory, n_envs: int = 1, n_steps: int = 8,
                 max_levels: int = 4) -> dict[str, np.ndarray]:
    """The env's batched float32 observation for ``n_envs`` copies of a q12h history."""
    step, days = int(history.time_h // 12), history.daily_creatinine_clearance_ml_per_min
    doses = np.zeros(n_steps)
    doses[(history.dose_times_h // 12).astype(int)] = history.dose_amounts_mg
    crcl = np.zeros(4)
    crcl[: days.size] = days
    level_times, levels, mask = (np.zeros(max_levels) for _ in range(3))
    n_levels = history.levels_mg_per_l.size
    level_times[:n_levels], levels[:n_levels], mask[:n_levels] = (
        history.level_times_h, history.levels_mg_per_l, 1.0)
    single = {"covariates": np.array([history.age_years, history.is_female, history.weight_kg,
                                      history.height_cm, history.on_dialysis]),
              "creatinine_mg_per_dl": np.where(crcl > 0, 1.0, 0.0),
              "creatinine_clearance_ml_per_min": crcl, "doses_mg": np.where(
                  np.arange(n_steps) < step, doses, 0.0), "level_times_h": level_times,
              "levels_mg_per_l": levels, "level_mask": mask, "time_h": np.array([history.time_h])}
    return {key: np.repeat(value[None], n_envs, 0).astype(np.float32)
            for key, value in single.items()}


def _q12h_history(time_h: float, dose_mg: float = 1000.0) -> PatientHistory:
    """Loading 2000 mg then ``dose_mg`` q12h up to ``time_h``; CrCL 80 then 60 mL/min."""
    doses = [(0.0, 2000.0)] + [(t, dose_mg) for t in np.arange(12.0, time_h, 12.0)]
    admitted = PatientHistory.admission(weight_kg=85.0, creatinine_clearance_ml_per_min=80.0)
    n_days = int(time_h // 24) + 1
    return replace(admitted.with_doses(doses), time_h=time_h,
                   daily_creatinine_clearance_ml_per_min=np.array([80.0] + [60.0] * (n_days - 1)))


def test_predict_concentrations__matches_chained_simulate_linear():
    """Exact prediction across a CrCL change and an infusion running over midnight."""
    history = _history()
    times = np.sort(np.concatenate([np.linspace(0.0, 90.0, 181), [23.5, 24.0, 25.0, 48.0]]))
    expected = _reference_levels(history, TRUE_ETAS, times)
    np.testing.assert_allclose(predict_concentrations(history, TRUE_ETAS, times, MODEL),
                               expected, rtol=1e-9, atol=1e-9)
    batch = predict_concentrations(history, np.stack([np.zeros(3), TRUE_ETAS]), times, MODEL)
    np.testing.assert_allclose(batch[1], expected, rtol=1e-9, atol=1e-9)
    assert batch.shape == (2, times.size)


def test_predict_auc__equals_integral_and_mass_balance():
    """AUC matches the integral of the concentration, and dose / CL over a long horizon."""
    history = _history()
    fine = np.linspace(20.0, 50.0, 30001)
    levels = predict_concentrations(history, TRUE_ETAS, fine, MODEL)
    trapezoid = np.sum(np.diff(fine) * (levels[1:] + levels[:-1]) / 2)
    auc = predict_auc(history, TRUE_ETAS, 20.0, 50.0, MODEL)
    assert auc == pytest.approx(trapezoid, rel=1e-6)
    one_day = replace(_history((60.0,)), dose_times_h=np.zeros(0), dose_amounts_mg=np.zeros(0),
                      dose_durations_h=np.zeros(0))
    clearance = MODEL.clearance(60.0, 0.0, TRUE_ETAS[0])
    total = predict_auc(one_day, TRUE_ETAS, 0.0, 5000.0, MODEL, extra_doses=[(3.0, 1500.0)])
    assert total == pytest.approx(1500.0 / clearance, rel=1e-9)


def test_map_estimate__recovers_etas_from_many_noise_free_levels():
    """35 noise-free levels over three days pin the etas (to 0.005 with a precise assay)."""
    history = _with_levels(_history(), np.arange(2.0, 72.0, 2.0))
    precise = Goti2018(proportional_error_sd=0.02, additive_error_sd_mg_per_l=0.1)
    fit = map_estimate(history, precise)
    assert fit.converged
    np.testing.assert_allclose(fit.etas, TRUE_ETAS, atol=0.005)
    # Goti's 22.7 % error: the ln(variance) term biases noise-free fits by ~prop^2 (0.047 here).
    assert abs(map_estimate(history, MODEL).etas[0] - TRUE_ETAS[0]) < 0.06


def test_map_estimate__noisy_levels_beat_the_prior():
    """Eight noisy levels cut the eta_CL error well below the prior's over 60 patients."""
    rng = np.random.default_rng(7)
    true_etas = rng.multivariate_normal(np.zeros(3), MODEL.variability.omega, size=60)
    times = np.array([14.0, 23.5, 26.0, 35.5, 38.0, 47.5, 50.0, 59.5])  # peaks and troughs
    errors = [map_estimate(_with_levels(_history(), times, noise_seed=i, etas=etas),
                           MODEL).etas[0] - etas[0] for i, etas in enumerate(true_etas)]
    rmse = float(np.sqrt(np.mean(np.square(errors))))
    assert rmse < 0.8 * np.sqrt(np.mean(true_etas[:, 0] ** 2))  # 0.22 vs 0.35 with seed 7


def test_map_estimate__no_levels_gives_prior_mode():
    """Without levels MAP returns etas = 0 (the a-priori population dose)."""
    fit = map_estimate(_history(), MODEL)
    np.testing.assert_array_equal(fit.etas, np.zeros(3))
    assert fit.converged and fit.objective == 0.0


def test_map_estimate__is_a_minimum_of_the_posterior_objective():
    """The objective is lowest at the MAP, below the truth, with a numerically zero gradient."""
    history = _with_levels(_history(), np.array([25.0, 35.5, 49.0, 59.5]), noise_seed=3)
    fit = map_estimate(history, MODEL)
    at_map = posterior_objective(history, fit.etas, MODEL)
    assert at_map == pytest.approx(fit.objective, rel=1e-9)
    assert at_map < posterior_objective(history, TRUE_ETAS, MODEL)
    step = 1e-4 * np.eye(3)
    gradient = (posterior_objective(history, fit.etas + step, MODEL)
                - posterior_objective(history, fit.etas - step, MODEL)) / 2e-4
    assert np.max(np.abs(gradient)) < 1e-3
    perturbed = fit.etas + 0.05 * np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, 0, -1],
                                            [1, 1, 1], [-1, 1, -1]])
    assert np.all(posterior_objective(history, perturbed, MODEL) > at_map)


def _steady_history(dose_mg: float, crcl: float, weight_kg: float = 70.0,
                    days: int = 20) -> PatientHistory:
    """``dose_mg`` q12h for ``days`` days at a constant CrCL; now is the next dose time."""
    admitted = PatientHistory.admission(weight_kg=weight_kg, creatinine_clearance_ml_per_min=crcl)
    doses = [(t, dose_mg) for t in np.arange(0.0, 24.0 * days, 12.0)]
    return replace(admitted.with_doses(doses), time_h=24.0 * days)


def _nearest_candidate(dose_mg: float) -> float:
    return float(DEFAULT_CANDIDATE_DOSES_MG[np.argmin(np.abs(DEFAULT_CANDIDATE_DOSES_MG
                                                             - dose_mg))])


def test_predict_aucs__batch_matches_each_regimen_alone():
    """Batched candidates (1-3 h infusions, across midnight) equal one prediction each."""
    history = _history()
    regimens = next_day_regimens(70.0, DEFAULT_CANDIDATE_DOSES_MG, 12.0)
    batch = predict_aucs(history, TRUE_ETAS, 70.0, 94.0, MODEL, regimens)
    alone = [predict_auc(history.with_doses(plan), TRUE_ETAS, 70.0, 94.0, MODEL)
             for plan in regimens]
    np.testing.assert_allclose(batch, alone, rtol=1e-12)
    assert batch[0] == pytest.approx(predict_auc(history, TRUE_ETAS, 70.0, 94.0, MODEL))
    assert np.all(np.diff(batch) > 0)


def test_choose_dose__typical_patient_at_steady_state_keeps_dose_nearest_target():
    """70 kg, CrCL 100, etas 0: after 20 days of the dose nearest 500 * CL / 2, that dose again."""
    expected = _nearest_candidate(500.0 * MODEL.clearance(100.0, 0.0) / 2.0)  # 1000 mg
    history = _steady_history(expected, 100.0)
    assert choose_dose(history, np.zeros(3), MODEL, interval_h=12.0) == expected
    continued = predict_auc(history, np.zeros(3), 480.0, 504.0, MODEL,
                            [(480.0, expected), (492.0, expected)])
    assert continued == pytest.approx(2.0 * expected / MODEL.clearance(100.0, 0.0), rel=1e-6)
    assert choose_dose(history, np.array([0.5, 0.0, 0.0]), MODEL, interval_h=12.0) > expected


def test_choose_dose__closed_loop_settles_on_dose_nearest_target():
    """CrCL 80 (500 * CL / 2 = 813 mg): the rule's own course mostly gives 750 mg, AUC ~500."""
    history = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
    doses = []
    for step in range(28):
        history = replace(history, time_h=12.0 * step)
        doses.append(choose_dose(history, np.zeros(3), MODEL))
        history = history.with_doses([(12.0 * step, doses[-1])])
    expected = _nearest_candidate(500.0 * MODEL.clearance(80.0, 0.0) / 2.0)
    values, counts = np.unique(doses[6:], return_counts=True)
    assert values[np.argmax(counts)] == expected == 750.0
    aucs = [predict_auc(history, np.zeros(3), 24.0 * day, 24.0 * day + 24, MODEL)
            for day in range(3, 14)]
    assert 450.0 < min(aucs) and max(aucs) < 550.0


def test_choose_dose__drug_in_the_body_lowers_the_dose():
    """At 12 h, a patient loaded with 3000 mg gets less than the same patient drug-free."""
    admitted = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
    drug_free = replace(admitted, time_h=12.0)
    loaded = replace(admitted.with_doses([(0.0, 3000.0)]), time_h=12.0)
    assert choose_dose(loaded, np.zeros(3), MODEL) < choose_dose(drug_free, np.zeros(3), MODEL)


def test_policy__keeps_dosing_a_dialysis_patient_with_crcl_5():
    """CrCL 5 on dialysis (CL 0.25 L/h): some maintenance doses > 0, day-7 AUC24 in 300-700."""
    age, weight = 60.0, 70.0
    row = {"age_years": age, "is_female": 0.0, "weight_kg": weight, "height_cm": 175.0,
           "on_dialysis": 1.0, "serum_creatinine_mg_per_dl": (140 - age) * weight / (72 * 5.0),
           "eta_CL": 0.0, "eta_V1": 0.0, "eta_V2": 0.0}
    env = gymnasium.make_vec("pkgym/Vancomycin-v0", num_envs=1,
                             vectorization_mode="vector_entry_point")
    observation, info = env.reset(seed=0, options={"patients": [row]})
    policy, levels, doses = MapBayesianPolicy(), env.unwrapped.core.dose_levels_mg, []
    for _ in range(14):
        doses.append(float(policy.act(observation, info)[0]))
        observation, _, _, _, info = env.step(doses_to_actions(np.array(doses[-1:]), levels,
                                                               False))
    assert np.count_nonzero(doses[1:]) >= 1
    assert 300.0 <= float(info["auc24_mg_h_per_l"][0]) <= 700.0


def test_patient_history__from_observation_uses_the_infusion_limits():
    """At 500 mg/h over >= 2 h, 2000 and 500 mg take 4 and 2 h, and so do future doses."""
    history = replace(_q12h_history(24.0, dose_mg=500.0), levels_mg_per_l=np.zeros(0),
                      level_times_h=np.zeros(0))
    single = {key: value[0] for key, value in _observation(history).items()}
    assert PatientHistory.from_observation(single, 12.0).dose_durations_h.tolist() == [2.0, 1.0]
    slow = PatientHistory.from_observation(single, 12.0, max_infusion_rate_mg_per_h=500.0,
                                           min_infusion_h=2.0)
    assert slow.dose_durations_h.tolist() == [4.0, 2.0]
    assert slow.with_doses([(24.0, 1500.0)]).dose_durations_h[-1] == 3.0
    with pytest.raises(ValueError, match="min_infusion_h"):
        PatientHistory.from_observation(single, 12.0, min_infusion_h=0.0)


def test_policy__slow_infusions_raise_the_dose():
    """At 250 mg/h over >= 4 h less of a dose falls in the next 24 h: 1750 instead of 1500 mg."""
    admitted = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=100.0)
    observation = _observation(replace(admitted.with_doses([(0.0, 1000.0)]), time_h=12.0))
    assert MapBayesianPolicy().act(observation).tolist() == [1500.0]
    slow = MapBayesianPolicy(max_infusion_rate_mg_per_h=250.0, min_infusion_h=4.0)
    assert slow.act(observation).tolist() == [1750.0]
    with pytest.raises(ValueError, match="max_infusion_rate_mg_per_h"):
        MapBayesianPolicy(max_infusion_rate_mg_per_h=-1.0)


def test_policy__loading_then_maintenance_doses_in_candidate_set():
    """Batched act: shape (n,), candidate doses, 25 mg/kg loading at time 0."""
    policy = MapBayesianPolicy()
    start = _observation(PatientHistory.admission(weight_kg=85.0,
                                                  creatinine_clearance_ml_per_min=80.0), n_envs=3)
    np.testing.assert_array_equal(policy.act(start), np.full(3, 2250.0))  # 25 * 85 = 2125
    later = _observation(_with_levels(_q12h_history(48.0), np.array([35.5, 47.5]), 1), n_envs=3)
    doses = policy.act(later)
    assert doses.shape == (3,) and np.all(np.isin(doses, DEFAULT_CANDIDATE_DOSES_MG))
    first_fit = policy.estimates[0]
    policy.act(later)
    assert policy.estimates[0] is first_fit  # nothing new: no re-estimation


def test_policy__raises_dose_for_a_fast_clearer():
    """Levels from a patient with a high CL (eta 0.6) raise the dose above the a-priori one."""
    history = _q12h_history(48.0)
    policy = MapBayesianPolicy()
    a_priori = policy.act(_observation(history))[0]
    fast = _with_levels(history, np.array([36.0 + 1.5, 47.5]), etas=np.array([0.6, 0.0, 0.0]))
    assert policy.act(_observation(fast))[0] > a_priori


@pytest.mark.parametrize(("field", "value"), [
    ("levels_mg_per_l", np.array([[np.nan, 0, 0, 0]])),
    ("doses_mg", np.array([[2000.0, -500.0, 0, 0, 0, 0, 0, 0]])),
    ("covariates", np.array([[60.0, 0.0, 85.0, 175.0]])),
])
def test_policy__bad_observation_raises_naming_the_field(field: str, value: np.ndarray):
    """NaN levels, negative doses and wrong covariate shapes raise ValueError naming the field."""
    observation = _observation(_with_levels(_q12h_history(24.0), np.array([11.5])))
    observation[field] = value.astype(np.float32)
    with pytest.raises(ValueError, match=field):
        MapBayesianPolicy().act(observation)


@pytest.mark.parametrize("patient", [
    {"age_years": 50.0, "is_female": 0.0, "weight_kg": 85.0, "height_cm": 180.0,
     "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 0.9, "eta_CL": 0.3, "eta_V1": -0.25,
     "eta_V2": 0.2},
    {"age_years": 78.0, "is_female": 1.0, "weight_kg": 55.0, "height_cm": 160.0,
     "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 0.7, "eta_CL": -0.4, "eta_V1": 0.5,
     "eta_V2": -0.3},
    {"age_years": 64.0, "is_female": 0.0, "weight_kg": 95.0, "height_cm": 175.0,
     "on_dialysis": 1.0, "serum_creatinine_mg_per_dl": 6.5, "eta_CL": 0.1, "eta_V1": 0.0,
     "eta_V2": 0.4},
])
def test_predict__reproduces_the_compiled_ward_given_true_etas_and_daily_crcl(patient: dict):
    """Given the true etas and daily CrCL, MAP predictions equal the env's levels and AUCs.

    The MAP prediction (an exact march over segments) and the env's compiled ward are two
    forms of one interval: the end-of-interval levels and interval AUCs of a random 7-day
    course agree to 1e-12.
    """
    env = gymnasium.make("pkgym/Vancomycin-v0")
    core = env.unwrapped.core
    env.reset(seed=5, options={"patient": patient})
    actions = np.random.default_rng(1).integers(0, core.dose_levels_mg.size, 14)
    infos = [env.step(int(action))[-1] for action in actions]
    records, interval_h = core.records, core.settings.config.interval_h
    crcl_by_day = MODEL.creatinine_clearance_ml_per_min(
        patient["age_years"], patient["weight_kg"], records.true_creatinine_mg_per_dl[0],
        patient["is_female"])
    history = PatientHistory(
        weight_kg=patient["weight_kg"], on_dialysis=patient["on_dialysis"],
        age_years=patient["age_years"], is_female=patient["is_female"],
        height_cm=patient["height_cm"], daily_creatinine_clearance_ml_per_min=crcl_by_day,
        dose_times_h=interval_h * np.arange(14), dose_amounts_mg=records.doses_mg[0],
        dose_durations_h=records.infusion_h[0], level_times_h=[], levels_mg_per_l=[],
        time_h=14 * interval_h)
    etas = np.array([patient["eta_CL"], patient["eta_V1"], patient["eta_V2"]])
    ends_h = interval_h * np.arange(1, 15)
    np.testing.assert_allclose(predict_concentrations(history, etas, ends_h, MODEL),
                               [info["concentration_mg_per_l"] for info in infos], rtol=1e-12)
    aucs = [predict_auc(history, etas, end - interval_h, end, MODEL) for end in ends_h]
    np.testing.assert_allclose(aucs, [info["auc_interval_mg_h_per_l"] for info in infos],
                               rtol=1e-12)
    assert np.ptp(crcl_by_day) > 0  # the creatinine moved: CL changed from day to day
