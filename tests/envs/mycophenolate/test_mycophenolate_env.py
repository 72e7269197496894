"""``pkgym/Mycophenolate-v0``: schedule, exposure bookkeeping, sampling, reward, pinning."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.mycophenolate.clinic import (
    MycophenolateScenario,
    RejectionRisk,
    SamplingPlan,
    TransplantReward,
    fit_rejection_logistic,
    resolve_scenario,
)
from pkgym.envs.mycophenolate.records import first_administrations
from pkgym.models.mycophenolate import ETA_NAMES, DeWinter2009, simulate_regimen
from pkgym.populations.mycophenolate import N_UNIFORMS, covariates_on_day, patients_from_uniforms

ENV_ID = "pkgym/Mycophenolate-v0"
ROOT = Path(__file__).resolve().parents[3]


def typical_patient(ciclosporin: float = 0.0) -> dict[str, float]:
    """The population's median patient with every eta 0."""
    drawn = patients_from_uniforms(np.full((1, N_UNIFORMS), 0.5))
    row = {key: float(value[0]) for key, value in drawn.items() if key != "etas"}
    row.update({f"eta_{name}": 0.0 for name in ETA_NAMES}, ciclosporin=ciclosporin, id=7)
    return row


def run(actions: list[int], seed: int = 0, patient: dict | None = None) -> list[tuple]:
    """(obs, reward, info) after reset and each action."""
    env = gym.make(ENV_ID).unwrapped
    obs, info = env.reset(seed=seed, options=None if patient is None else {"patient": patient})
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, _, truncated, info = env.step(action)
        trace.append((obs, reward, info))
    assert truncated
    return trace


def test_rejection_logistic__our_fit_reproduces_the_defaults_and_the_trial_arms() -> None:
    """The IRLS fit gives the default coefficients; its arm rates are near van Gelder's."""
    a, b = fit_rejection_logistic()
    risk = RejectionRisk()
    assert (a, b) == pytest.approx((risk.intercept, risk.slope_per_log_auc), abs=1e-6)
    fitted = risk(np.array([16.1, 32.2, 60.6]))
    np.testing.assert_allclose(fitted, [0.2660, 0.1683, 0.1062], atol=5e-4)
    observed = np.array([14 / 51, 7 / 47, 6 / 52])
    assert np.all(np.abs(fitted - observed) < 0.02)  # 3 points, 2 parameters: close, not exact
    assert np.all(np.diff(risk(np.array([10.0, 30.0, 45.0, 90.0]))) < 0)


def test_schedule__decisions_start_on_day_0_then_with_each_visit_evening_dose() -> None:
    """Administrations of each visit's decision: day 0 from the first dose, else 2 day + 1."""
    assert first_administrations(MycophenolateScenario()).tolist() == [0, 7, 15, 21, 29, 43, 56]
    trace = run([0, 1, 2, 3, 4, 5])
    doses = trace[-1][0]["doses_mg"]
    expected = np.repeat([250.0, 500.0, 750.0, 1000.0, 1250.0, 1500.0], [7, 8, 6, 8, 14, 13])
    np.testing.assert_array_equal(doses, expected)
    assert [t[2]["day"] for t in trace] == [0.0, 3.0, 7.0, 10.0, 14.0, 21.0, 28.0]
    assert [t[0]["time_h"][0] for t in trace] == [0.0, 84.0, 180.0, 252.0, 348.0, 516.0, 672.0]


def test_exposure__daily_auc_and_trough_match_the_model_day_by_day() -> None:
    """Daily AUC0-12 and morning trough equal simulate_regimen run with each day's covariates."""
    patient = typical_patient()
    trace = run([3, 5, 2, 7, 4, 3], patient=patient)
    info = trace[-1][2]
    doses = trace[-1][0]["doses_mg"].astype(np.float64)
    drawn = {k: np.array([v]) for k, v in patient.items() if k not in {"id"}}
    state, aucs, troughs = None, [], []
    for day in range(28):
        params = DeWinter2009().typical_params(covariates_on_day(drawn, float(day)))
        state, conc, auc = simulate_regimen(params, doses[None, 2 * day:2 * day + 2], 12.0,
                                            np.array([24.0]), state)
        aucs.append(auc.mean())
        troughs.append(conc[0, 0])
    np.testing.assert_allclose(info["daily_auc0_12_mg_h_per_l"], aucs, rtol=1e-6)
    np.testing.assert_allclose(info["daily_trough_mg_per_l"], troughs, rtol=1e-6)
    assert 10.0 < aucs[0] < aucs[6] < 80.0  # accumulation over the first week (Vp 34 300 L)


def test_sampling__three_samples_per_visit_at_jittered_times_with_assay_error() -> None:
    """C0 within 30 min before the morning dose; C0.5, C2 within 15 min; HPLC error <= 5 SD."""
    core = gym.make(ENV_ID).unwrapped
    core.reset(seed=3)
    for action in range(5):
        obs, *_ = core.step(action + 2)
    rec = core.core.records
    times = obs["level_times_h"].astype(np.float64).reshape(5, 3)
    mornings = 24.0 * np.array([3, 7, 10, 14, 21])[:, None]
    offsets = times - mornings
    assert np.all((offsets[:, 0] >= -0.5 - 1e-4) & (offsets[:, 0] <= 1e-4))
    assert np.all(np.abs(offsets[:, 1:] - [0.5, 2.0]) <= 0.25 + 1e-4)
    assert obs["level_mask"].sum() == 15
    measured, true = rec.levels_mg_per_l[0], rec.levels_true[0]
    quantified = measured > 0
    assert np.all(np.abs(measured[quantified] / true[quantified] - 1.0) < 5 * 0.07)
    assert np.all(true[~quantified] < 0.25 * 1.4)


def test_reward__is_the_named_weights_over_the_days_each_step_completed() -> None:
    """Each reward is (days in target - rejection risk - 0.5 toxic days) / 28; info agrees."""
    trace = run([7, 7, 7, 7, 7, 7], seed=5)
    for _, reward, info in trace[1:]:
        days = info["days_done"]
        expected = (info["days_in_target"] - days * info["rejection_probability"]
                    - 0.5 * info["toxic_days"]) / 28.0
        assert reward == pytest.approx(expected, rel=1e-12, abs=1e-15)
    daily = trace[-1][2]["daily_auc0_12_mg_h_per_l"]
    troughs = trace[-1][2]["daily_trough_mg_per_l"]
    total = sum(r for _, r, _ in trace)
    expected = (((daily >= 30) & (daily <= 60)).sum() - RejectionRisk()(daily).sum()
                - 0.5 * (troughs > 2.75).sum()) / 28.0
    assert total == pytest.approx(expected, rel=1e-10)
    assert sum(t[2]["days_done"] for t in trace[1:]) == 28


def test_reward__weights_are_overridable_fields() -> None:
    """A reward of in-target days only gives the share of days in target as the return."""
    env = gym.make(ENV_ID, reward_fn=TransplantReward(rejection_weight=0.0,
                                                      toxicity_weight=0.0)).unwrapped
    env.reset(seed=1)
    total = sum(env.step(3)[1] for _ in range(6))
    daily = env.core.records.daily_auc[0]
    assert total == pytest.approx(((daily >= 30) & (daily <= 60)).mean())


def test_toxicity__a_high_dose_in_a_slow_patient_gives_toxic_days() -> None:
    """2 g bid with CL at -1 SD: days with AUC0-12 above 60 mg*h/L are counted as toxic."""
    patient = typical_patient()
    patient["eta_cl"] = -float(np.sqrt(DeWinter2009().omega[2, 2]))
    info = run([7] * 6, patient=patient)[-1][2]
    toxic = info["daily_auc0_12_mg_h_per_l"] > 60.0
    assert toxic.sum() > 10
    assert info["toxic_days"] == toxic[21:].sum()


def test_pinning__the_patient_and_etas_are_the_pinned_ones() -> None:
    """A pinned row fixes covariates, etas and id; unknown fields are refused by name."""
    patient = typical_patient(ciclosporin=1.0)
    info = run([3] * 6, patient=patient)[0][2]
    assert info["patient_id"] == 7 and info["ciclosporin"] == 1.0
    assert all(info[f"eta_{name}"] == 0.0 for name in ETA_NAMES)
    env = gym.make(ENV_ID).unwrapped
    with pytest.raises(ValueError, match="unknown patient field"):
        env.reset(seed=0, options={"patient": {**patient, "dose": 1}})
    with pytest.raises(ValueError, match="albumin_g_per_l"):
        env.reset(seed=0, options={"patient": {**patient, "albumin_g_per_l": -3.0}})


def test_ciclosporin__abolishes_recirculation_and_lowers_exposure() -> None:
    """The same typical patient has a lower AUC with ciclosporin (k57 x 0.002)."""
    tac = run([3] * 6, patient=typical_patient(0.0))[-1][2]["daily_auc0_12_mg_h_per_l"]
    csa = run([3] * 6, patient=typical_patient(1.0))[-1][2]["daily_auc0_12_mg_h_per_l"]
    assert np.all(csa < tac)


def test_continuous__actions_give_the_scaled_dose() -> None:
    """``continuous=True``: action a gives (a + 1) / 2 * 2000 mg."""
    env = gym.make(ENV_ID, continuous=True).unwrapped
    env.reset(seed=0)
    obs, *_ = env.step(np.array([0.0], dtype=np.float32))
    assert obs["doses_mg"][0] == pytest.approx(1000.0)


def test_scenario__yaml_file_shows_the_defaults_and_bad_fields_fail() -> None:
    """scenarios/mycophenolate.yaml is the default scenario; bad fields name themselves."""
    assert resolve_scenario(str(ROOT / "scenarios" / "mycophenolate.yaml"), ENV_ID) == \
        MycophenolateScenario()
    with pytest.raises(ValueError, match="visit_days"):
        MycophenolateScenario(visit_days=(3, 7))
    with pytest.raises(ValueError, match="post_dose_h"):
        SamplingPlan(post_dose_h=(2.0, 0.5))
    short = MycophenolateScenario(visit_days=(0, 7), end_day=14)
    assert short.reward.n_days == 14 and short.n_levels == 3


def test_views__hourly_exposure_meets_the_troughs_and_history_reads_the_levels() -> None:
    """The hourly course equals the stored interval-end troughs; NaN beyond the episode so far."""
    from pkgym.envs.mycophenolate.views import HISTORY, true_exposure

    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=2)
    obs, *_ = env.step(4)
    course = true_exposure(env.core)[0]
    rec = env.core.records
    np.testing.assert_allclose(course[11:84:12], rec.interval_trough[0, :7], rtol=1e-6)
    assert np.isnan(course[84:]).all() and np.isfinite(course[:84]).all()
    levels = HISTORY.read_levels(env.core, {k: v[None] for k, v in obs.items()})
    assert levels.time_h[0, 0] == 84.0 and levels.mask.sum() == 3
    assert HISTORY.interval_h(env.core) == 12.0


def test_mycophenolate_env__loq_of_zero_quantifies_every_level() -> None:
    """``assay_loq_mg_per_l: 0`` means no limit: every sampled level is reported (> 0)."""
    def sampled_levels(loq: float) -> np.ndarray:
        env = gym.make("pkgym/Mycophenolate-v0",
                       scenario=MycophenolateScenario(assay_loq_mg_per_l=loq))
        env.reset(seed=1)
        obs, *_ = env.step(0)
        env.close()
        return np.asarray(obs["levels_mg_per_l"])[np.asarray(obs["level_mask"], dtype=bool)]

    assert sampled_levels(0.0).size > 0 and np.all(sampled_levels(0.0) > 0)
    assert np.any(sampled_levels(3.0) == 0)  # a high LOQ does censor: the check can fail
