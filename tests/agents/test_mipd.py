"""Bayesian MAP MIPD: exact prediction, MAP recovery, dose choice and the batched policy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from agents.mipd import (
    DEFAULT_CANDIDATE_DOSES_MG,
    MapBayesianPolicy,
    PatientHistory,
    choose_dose,
    map_estimate,
    posterior_objective,
    predict_auc,
    predict_concentrations,
)
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


def test_choose_dose__typical_patient_gets_dose_nearest_auc_target():
    """Etas 0, CrCL 80, q12h: the candidate nearest 500 * CL / 2."""
    history = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
    wanted = 500.0 * MODEL.clearance(80.0, 0.0) / 2.0
    expected = DEFAULT_CANDIDATE_DOSES_MG[np.argmin(np.abs(DEFAULT_CANDIDATE_DOSES_MG - wanted))]
    assert choose_dose(history, np.zeros(3), MODEL, interval_h=12.0) == expected
    high_cl = choose_dose(history, np.array([0.7, 0.0, 0.0]), MODEL, interval_h=12.0)
    assert high_cl > expected


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
