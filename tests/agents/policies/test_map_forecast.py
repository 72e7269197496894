"""MAP exposure forecast: the oracle path against the env's truth, the fit, value of levels."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.map_forecast import (
    exposure_grid_h,
    forecast_exposure,
    map_etas,
    map_forecast,
    map_log_clearance,
)
from agents.policies.registry import make_policy
from agents.policies.warfarin.map import genotype_log_effects
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.envs.vancomycin.views import true_profile
from pkgym.models.kidney import KidneyInjuryParams

VANCO, WARFARIN, WARFARIN_PGX = "pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/WarfarinPGx-v0"
NO_DRIFT = VancomycinScenario(creatinine_assay_cv=0.0, kidney=KidneyInjuryParams(
    baseline_aki_hazard_per_day=0.0, creatinine_cv=0.0))
"""Creatinine exact and constant: CL never changes and the measured CrCL is the true one."""
VANCO_PATIENTS = pd.DataFrame([
    {"age_years": 35.0 + 9 * i, "is_female": float(i % 2), "weight_kg": 55.0 + 8 * i,
     "height_cm": 170.0, "on_dialysis": float(i == 3), "serum_creatinine_mg_per_dl": 0.7 + 0.3 * i,
     "eta_CL": 0.0, "eta_V1": 0.0, "eta_V2": 0.0} for i in range(5)])
WARFARIN_PATIENTS = pd.DataFrame([
    {"age_years": age, "is_female": 0.0, "weight_kg": 80.0, "height_cm": 175.0, "race": race,
     "cyp2c9": cyp, "vkorc1": vk, "amiodarone": 0.0, "enzyme_inducer": 0.0, "eta_CL": e_cl,
     "eta_V": e_v, "eta_EC50": e_ec50}
    for age, race, cyp, vk, e_cl, e_v, e_ec50 in (
        (60.0, "white", "*1/*1", "G/G", 0.0, 0.0, 0.0),
        (75.0, "asian", "*1/*3", "A/A", 0.3, -0.2, 0.4),
        (45.0, "black", "*2/*3", "G/A", -0.3, 0.1, -0.5))])


def _vec(env_id: str, n: int, **kwargs: object) -> gymnasium.vector.VectorEnv:
    return gymnasium.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                              **kwargs)


def _run(env: gymnasium.vector.VectorEnv, regimen_mg: np.ndarray, obs: Mapping[str, np.ndarray],
         keep: tuple[int, ...] = ()) -> tuple[dict[int, dict[str, np.ndarray]], np.ndarray]:
    """Give the regimen step by step; the observations at steps ``keep`` and info["inr"]."""
    core, kept, inrs = env.unwrapped.core, {}, []
    for k in range(regimen_mg.shape[1]):
        if k in keep:
            kept[k] = {key: np.array(value) for key, value in obs.items()}
        obs, _, _, _, info = env.step(core.encode_decisions(regimen_mg[:, k], False))
        inrs.append(info.get("inr", np.zeros(regimen_mg.shape[0])))
    kept[regimen_mg.shape[1]] = dict(obs)
    return kept, np.array(inrs).T


def _true_concentrations(core: object) -> np.ndarray:
    """The env's true concentration at hours 1, 2, ..., horizon, from ``true_profile``."""
    records, settings = core.records, core.settings  # type: ignore[attr-defined]
    interval = round(settings.config.interval_h)
    return np.array([true_profile(records, settings, i, interval + 1)[1].reshape(
        -1, interval + 1)[:, 1:].ravel() for i in range(records.doses_mg.shape[0])])


def _oracle_observation(core: object, obs: Mapping[str, np.ndarray],
                        crcl_ml_per_min: np.ndarray) -> dict[str, np.ndarray]:
    """``obs`` with the true covariates and CrCL by day in float64 (what float32 rounds)."""
    p = core.records.patients  # type: ignore[attr-defined]
    return {**obs, "creatinine_clearance_ml_per_min": crcl_ml_per_min, "covariates": np.stack(
        [p.age_years, p.is_female, p.weight_kg, p.height_cm, p.on_dialysis], axis=1)}


def _log_rmse(forecast: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-patient RMSE of log exposure, (n,)."""
    return np.sqrt(np.mean(np.log(forecast / truth) ** 2, axis=1))


@pytest.fixture(scope="module")
def regimen_vanco() -> np.ndarray:
    """Irregular doses from the action set (with drug-free intervals), 5 patients x 14."""
    return np.random.default_rng(0).choice(np.arange(0.0, 3001.0, 250.0), size=(5, 14))


def test_exposure_grid_h__hourly_vancomycin_and_daily_warfarin_mornings() -> None:
    """Hours 1..n_steps*interval for vancomycin; 24 d h, d = 1..n_days, for warfarin."""
    vanco = _vec(VANCO, 1, scenario=VancomycinScenario(interval_h=8.0, n_steps=6)).unwrapped.core
    np.testing.assert_array_equal(exposure_grid_h(vanco), np.arange(1.0, 49.0))
    np.testing.assert_array_equal(exposure_grid_h(_vec(WARFARIN, 1).unwrapped.core),
                                  24.0 * np.arange(1, 91))


def test_forecast_exposure__true_etas_reproduce_the_vancomycin_true_profile(
        regimen_vanco: np.ndarray) -> None:
    """Oracle path, no creatinine drift: the forecast at k = 0 is the env's true course."""
    env = _vec(VANCO, 5, scenario=NO_DRIFT)
    drawn_etas = VANCO_PATIENTS.drop(columns=["eta_CL", "eta_V1", "eta_V2"])
    obs, _ = env.reset(seed=1, options={"patients": drawn_etas})
    kept, _ = _run(env, regimen_vanco, obs, keep=(0,))
    core = env.unwrapped.core
    oracle = _oracle_observation(core, kept[0], core.records.creatinine_clearance_ml_per_min)
    forecast = forecast_exposure(core, oracle, core.records.patients.etas, regimen_vanco)
    truth = _true_concentrations(core)
    assert forecast.shape == (5, 168) and truth.max() > 20.0
    assert np.all(core.records.patients.etas != 0.0)  # drawn, not the typical patient
    np.testing.assert_allclose(forecast, truth, rtol=1e-9, atol=1e-9)


def test_forecast_exposure__follows_creatinine_drift_and_kidney_injury_day_by_day() -> None:
    """Default ward (drift, AKI): given each day's true CrCL, the forecast is the truth."""
    env = _vec(VANCO, 6, scenario=VancomycinScenario(kidney=KidneyInjuryParams(
        baseline_aki_hazard_per_day=0.5)))
    obs, _ = env.reset(seed=2)
    regimen = np.full((6, 14), 1500.0)
    kept, _ = _run(env, regimen, obs)
    core = env.unwrapped.core
    records, model = core.records, core.settings.model
    p = records.patients
    crcl = model.creatinine_clearance_ml_per_min(
        p.age_years[:, None], p.weight_kg[:, None], records.true_creatinine_mg_per_dl,
        p.is_female[:, None])
    assert np.ptp(records.clearance_by_step_l_per_h, axis=1).max() > 0.2  # CL did change
    forecast = forecast_exposure(core, _oracle_observation(core, kept[14], crcl), p.etas, regimen)
    np.testing.assert_allclose(forecast, _true_concentrations(core), rtol=1e-9, atol=1e-9)


def test_map_forecast__typical_vancomycin_patient_without_levels_is_the_truth(
        regimen_vanco: np.ndarray) -> None:
    """With eta = 0, no level and no drift the MAP fit is the patient (float32: ~1e-7)."""
    env = _vec(VANCO, 5, scenario=NO_DRIFT)
    obs, _ = env.reset(seed=1, options={"patients": VANCO_PATIENTS})
    kept, _ = _run(env, regimen_vanco, obs, keep=(0, 2))
    core = env.unwrapped.core
    truth = _true_concentrations(core)
    for k in (0, 2):  # before the first level, with past doses taken from the regimen
        np.testing.assert_allclose(map_forecast(core, kept[k], regimen_vanco), truth,
                                   rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(map_log_clearance(core, kept[2]),
                               np.log(core.records.clearance_by_step_l_per_h[:, 2]), atol=1e-6)


def test_map_etas__are_the_vancomycin_map_baselines_estimates() -> None:
    """After the trough and peak of dose 4, the etas are those the ``map`` policy acted on."""
    env = _vec(VANCO, 3)
    obs, info = env.reset(seed=3)
    core = env.unwrapped.core
    policy = make_policy("map", core)
    policy.reset(3)
    for _ in range(5):
        doses = policy.act(obs, info)
        last = obs
        obs, _, _, _, info = env.step(core.encode_decisions(doses, False))
    assert np.all(last["level_mask"].sum(axis=1) == 2)
    expected = np.array([estimate.etas for estimate in policy.estimates])  # type: ignore[attr-defined]
    np.testing.assert_array_equal(map_etas(core, last), expected)


def test_forecast_exposure__true_parameters_give_warfarin_info_inr_of_each_morning() -> None:
    """info["inr"] after step d - 1 is the INR at 24 d h: the oracle forecast's column d - 1."""
    env = _vec(WARFARIN, 3)
    obs, _ = env.reset(seed=4, options={"patients": WARFARIN_PATIENTS})
    regimen = np.random.default_rng(5).choice(np.arange(0.0, 10.5, 0.5), size=(3, 90))
    kept, info_inr = _run(env, regimen, obs, keep=(0,))
    core = env.unwrapped.core
    p = core.records.patients
    cyp_effect, vk_effect = genotype_log_effects(core.settings.scenario.hamberg)
    reference_etas = p.etas + np.stack(  # the genotype folded into the etas (as MAP has it)
        [cyp_effect[p.cyp2c9], np.zeros(3), vk_effect[p.vkorc1]], axis=1)
    forecast = forecast_exposure(core, kept[0], reference_etas, regimen)
    assert forecast.shape == (3, 90) and info_inr.max() > 2.0
    np.testing.assert_allclose(forecast, info_inr, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(info_inr, core.records.inr[:, 1:])


def test_map_forecast__pgx_warfarin_typical_patient_before_any_inr_is_the_truth() -> None:
    """WarfarinPGx, eta = 0, day 0: the genotype-centred prior mode is the patient."""
    env = _vec(WARFARIN_PGX, 3)
    typical = WARFARIN_PATIENTS.assign(eta_CL=0.0, eta_V=0.0, eta_EC50=0.0)
    obs, _ = env.reset(seed=6, options={"patients": typical})
    regimen = np.full((3, 90), 4.0)
    kept, info_inr = _run(env, regimen, obs, keep=(0,))
    core = env.unwrapped.core
    np.testing.assert_allclose(map_forecast(core, kept[0], regimen), info_inr, atol=1e-10)
    np.testing.assert_allclose(map_log_clearance(core, kept[0]),
                               np.log(core.records.params.clearance_l_per_h), atol=1e-12)


def test_map_etas__replay_the_warfarin_map_policys_estimates_inr_by_inr() -> None:
    """On day 11 (INRs on days 0, 3, 5, 8, 11) the etas equal the policy's warm-started ones."""
    env = _vec(WARFARIN, 4)
    obs, info = env.reset(seed=7)
    core = env.unwrapped.core
    policy = make_policy("map", core)
    policy.reset(4)
    for _ in range(11):
        obs, _, _, _, info = env.step(core.encode_decisions(policy.act(obs, info), False))
    policy.act(obs, info)
    assert np.all(obs["inr_mask"].sum(axis=1) == 5)
    np.testing.assert_array_equal(map_etas(core, obs), policy.eta)  # type: ignore[attr-defined]


def _without_measurements(obs: Mapping[str, np.ndarray], warfarin: bool) -> dict[str, np.ndarray]:
    """``obs`` with its levels (vancomycin) or post-baseline INRs (warfarin) removed."""
    out = {key: np.array(value) for key, value in obs.items()}
    if warfarin:
        out["inr_mask"] = out["inr_mask"] * (out["inr_days"] == 0)
    else:
        out["level_mask"] = np.zeros_like(out["level_mask"])
    return out


@pytest.mark.parametrize(("env_id", "step", "dose_mg"), [(VANCO, 4, 1000.0), (WARFARIN, 5, 5.0)])
def test_map_forecast__two_measurements_beat_the_population_typical_forecast(
        env_id: str, step: int, dose_mg: float) -> None:
    """50 drawn patients, paired: two levels (INRs) cut the future log error of the forecast."""
    env = _vec(env_id, 50)
    obs, _ = env.reset(seed=8)
    core, warfarin = env.unwrapped.core, env_id == WARFARIN
    regimen = np.full((50, 90 if warfarin else 14), dose_mg)
    kept, info_inr = _run(env, regimen, obs, keep=(step,))
    observed = kept[step]
    measured = (observed["inr_mask"] * (observed["inr_days"] > 0)).sum(1) if warfarin \
        else observed["level_mask"].sum(1)
    assert np.all(measured == 2)
    truth = info_inr if warfarin else _true_concentrations(core)
    future = exposure_grid_h(core) > step * (24.0 if warfarin else 12.0)
    fitted = _log_rmse(map_forecast(core, observed, regimen)[:, future], truth[:, future])
    typical = _log_rmse(map_forecast(core, _without_measurements(observed, warfarin), regimen
                                     )[:, future], truth[:, future])
    assert fitted.mean() < 0.85 * typical.mean() and np.mean(fitted < typical) > 0.55


def test_map_forecast__rejects_bad_regimens_observations_and_envs() -> None:
    """Wrong shape, negative or altered past doses, unbatched observation, other envs."""
    env = _vec(VANCO, 2)
    obs, _ = env.reset(seed=9)
    core = env.unwrapped.core
    obs, *_ = env.step(core.encode_decisions(np.array([1000.0, 500.0]), False))
    regimen = np.tile([[1000.0], [500.0]], (1, 14))
    assert map_forecast(core, obs, regimen).shape == (2, 168)
    with pytest.raises(ValueError, match=r"regimen_doses_mg must have shape \(n_patients=2, "):
        map_forecast(core, obs, regimen[:, :13])
    with pytest.raises(ValueError, match="finite and >= 0"):
        map_forecast(core, obs, np.where(np.arange(14) == 5, -1.0, regimen))
    with pytest.raises(ValueError, match="doses already given"):
        map_forecast(core, obs, regimen[::-1])
    with pytest.raises(ValueError, match="batched"):
        map_forecast(core, {key: value[0] for key, value in obs.items()}, regimen[:1])
    with pytest.raises(ValueError, match="etas must be finite with shape"):
        forecast_exposure(core, obs, np.zeros((2, 2)), regimen)
    other = _vec("pkgym/ChemoImmune-v0", 1).unwrapped.core
    for call in (lambda: map_forecast(other, obs, regimen), lambda: exposure_grid_h(other),
                 lambda: map_log_clearance(other, obs)):
        with pytest.raises(ValueError, match="Vancomycin-v0.*Warfarin-v0"):
            call()


def test_exposure_grid_h__matches_the_true_exposure_of_pkgym_wrappers(
        regimen_vanco: np.ndarray) -> None:
    """Same grid as ``pkgym.wrappers.exposure``; its true course is the oracle forecast."""
    exposure = pytest.importorskip("pkgym.wrappers.exposure")
    env = _vec(VANCO, 5, scenario=NO_DRIFT)
    obs, _ = env.reset(seed=1, options={"patients": VANCO_PATIENTS})
    kept, _ = _run(env, regimen_vanco, obs, keep=(0,))
    core = env.unwrapped.core
    np.testing.assert_array_equal(exposure_grid_h(core), exposure.exposure_grid(core)[0])
    oracle = _oracle_observation(core, kept[0], core.records.creatinine_clearance_ml_per_min)
    np.testing.assert_allclose(forecast_exposure(core, oracle, core.records.patients.etas,
                                                 regimen_vanco),
                               exposure.true_exposure(core), rtol=1e-9, atol=1e-9)
    warfarin = _vec(WARFARIN, 1).unwrapped.core
    np.testing.assert_array_equal(exposure_grid_h(warfarin), exposure.exposure_grid(warfarin)[0])
