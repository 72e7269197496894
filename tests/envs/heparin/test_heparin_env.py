"""pkgym/Heparin-v0: the interval physics, the action table, reward fixtures, targets, scenarios."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from scipy.integrate import solve_ivp

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.heparin.clinic import (
    HULL_EXCESS_RECURRENCE,
    HeparinReward,
    HeparinScenario,
    interval_amounts,
)
from pkgym.models.heparin_alsallami2016 import AlSallami2016, rhs

ENV_ID = "pkgym/Heparin-v0"
ROOT = Path(__file__).resolve().parents[3]
TYPICAL = {"weight_kg": 80.0, "height_cm": 176.0, "age_years": 60.0, "is_female": 0,
           "baseline_aptt_s": 30.0, "eta_CL": 0.0, "eta_V": 0.0, "eta_SLOPE": 0.0, "id": 7}
RASCHKE_START = 2 * 41 + 18  # 80 U/kg bolus, 18 U/kg/h


def test_interval_amounts__bolus_hold_then_infusion_match_solve_ivp() -> None:
    """Bolus, 1-h hold, then 20 U/kg/h: the exact amounts agree with solve_ivp(1e-10)."""
    params, weight = np.array([[2.4, 3.0, 0.1]]), np.array([80.0])
    decision = np.array([[40.0, 1.0, 20.0]])
    times = np.array([0.5, 1.0, 2.5, 6.0])
    exact = interval_amounts(np.array([500.0]), params, weight, decision, times)[0]

    def course(t: float, a: np.ndarray) -> np.ndarray:
        rate = np.array([0.0 if t < 1.0 else 20.0 * 80.0])
        return rhs(t, a, params[:, 0], params[:, 1], rate)

    ref = solve_ivp(course, (0.0, 6.0), np.array([500.0 + 40.0 * 80.0]), t_eval=times,
                    rtol=1e-10, atol=1e-10, method="DOP853", max_step=0.05).y[0]
    np.testing.assert_allclose(exact, ref, rtol=1e-7)


def test_actions__discrete_table_and_box_round_trip() -> None:
    """Action 100 is Raschke's start; a hold row and the Box map back to the same decisions."""
    core = gym.make(ENV_ID).unwrapped.core
    decisions = core.decode_actions(np.array([RASCHKE_START, 3 * 41 + 15, 0]), False, 3)
    assert decisions.tolist() == [[80.0, 0.0, 18.0], [0.0, 1.0, 15.0], [0.0, 0.0, 0.0]]
    assert core.encode_decisions(decisions, False).tolist() == [RASCHKE_START, 3 * 41 + 15, 0]
    box = core.encode_decisions(np.array([[80.0, 1.0, 10.0]]), True)
    np.testing.assert_allclose(core.decode_actions(box, True, 1), [[80.0, 1.0, 10.0]],
                               atol=1e-5)
    with pytest.raises(ValueError, match="outside"):
        core.encode_decisions(np.array([[0.0, 0.0, 41.0]]), False)


def test_reward__no_heparin_is_out_of_range_with_hull_risk_in_the_first_day() -> None:
    """No heparin: aPTT stays at control: reward -1 - 10 x 0.229 / 4 for 4 steps, then -1."""
    env = gym.make(ENV_ID)
    env.reset(seed=0, options={"patient": TYPICAL})
    rewards = [env.step(0)[1] for _ in range(12)]
    early = -1.0 - 10.0 * HULL_EXCESS_RECURRENCE * 6.0 / 24.0
    np.testing.assert_allclose(rewards, [early] * 4 + [-1.0] * 8)


def test_typical_patient__raschke_start_reaches_range_as_the_model_says() -> None:
    """The typical man on Raschke's start: true aPTT at 6 h as the closed form, in range."""
    env = gym.make(ENV_ID, scenario=HeparinScenario(
        model=AlSallami2016(aptt_residual_cv=0.0)))
    env.reset(seed=0, options={"patient": TYPICAL})
    _, _, _, _, info = env.step(RASCHKE_START)
    cl, v = info["model_params"][:2]
    k = cl / v
    amount = 6400.0 * np.exp(-6 * k) + 1440.0 / k * (1 - np.exp(-6 * k))
    assert np.isclose(info["aptt_s"], 30.0 + 0.1 * amount / v)
    assert info["measured_aptt_s"] == info["aptt_s"] and 60.0 <= info["aptt_s"] <= 100.0
    # the 80 U/kg bolus overshoots (6400 IU in 3 L: 243 s): above 100 s for 13 of 24 points
    grid = (np.arange(24) + 0.5) / 4.0
    level = (6400.0 * np.exp(-k * grid) + 1440.0 / k * (1 - np.exp(-k * grid))) / v
    assert info["time_above_range_fraction"] == np.mean(30.0 + 0.1 * level > 100.0) == 13 / 24
    assert info["time_in_range_fraction"] == 11 / 24
    assert info["hours_to_first_therapeutic_aptt"] == 6
    assert np.isclose(info["cumulative_dose_u_per_kg"], 80.0 + 18.0 * 6.0)


def test_bleeding__supratherapeutic_course_is_charged_relative_to_the_upper_limit() -> None:
    """A 40 U/kg/h infusion: above range most of the interval and bleeding > 0 in info."""
    env = gym.make(ENV_ID)
    env.reset(seed=0, options={"patient": TYPICAL})
    for _ in range(3):
        _, reward, _, _, info = env.step(40)
    assert info["time_above_range_fraction"] > 0.5 and info["step_bleeding"] > 0.3
    expected = HeparinReward()(_outcome(info), np.zeros((1, 3)))
    assert np.isclose(reward, expected[0])


def _outcome(info: dict) -> object:
    from pkgym.envs.heparin.clinic import StepOutcome

    one = np.array
    return StepOutcome(in_range=one([info["step_time_in_range_fraction"]]), below=one([0.0]),
                       above=one([0.0]), bleeding=one([info["step_bleeding"]]),
                       thrombosis_risk=one([info["step_thrombosis_risk"]]))


def test_target__control_ratio_scales_with_the_patients_control() -> None:
    """``target: control_ratio``: the range is 1.5-2.5 x the control aPTT (36 s -> 54-90 s)."""
    env = gym.make(ENV_ID, scenario=HeparinScenario(target="control_ratio"))
    obs, info = env.reset(seed=0, options={"patient": {**TYPICAL, "baseline_aptt_s": 36.0}})
    np.testing.assert_allclose(obs["target_aptt_s"], [54.0, 90.0])
    assert obs["patient"][-1] == 36.0 and obs["aptt_s"][0] == 36.0


def test_noise__assay_cv_zero_keeps_the_patient_and_removes_the_error() -> None:
    """Without assay error the same seed gives the same patient, and measured == true."""
    noisy, exact = gym.make(ENV_ID), gym.make(ENV_ID, scenario=HeparinScenario(
        model=AlSallami2016(aptt_residual_cv=0.0)))
    _, info_noisy = noisy.reset(seed=3)
    _, info_exact = exact.reset(seed=3)
    np.testing.assert_array_equal(info_noisy["model_params"], info_exact["model_params"])
    a, b = noisy.step(RASCHKE_START)[-1], exact.step(RASCHKE_START)[-1]
    assert a["aptt_s"] == b["aptt_s"] and b["measured_aptt_s"] == b["aptt_s"]
    assert a["measured_aptt_s"] != a["aptt_s"]


def test_scenario__yaml_loads_and_bad_fields_are_named() -> None:
    """scenarios/heparin.yaml builds the env; bad fields fail naming the field."""
    env = gym.make(ENV_ID, scenario=str(ROOT / "scenarios" / "heparin.yaml"))
    assert env.unwrapped.core.settings.scenario.n_steps == 12
    for kwargs, name in (({"horizon_h": 7.0}, "horizon_h"), ({"target": "ratio"}, "target"),
                         ({"target_aptt_s": (100.0, 60.0)}, "target_aptt_s"),
                         ({"bolus_levels_u_per_kg": (10.0, 40.0)}, "bolus_levels_u_per_kg")):
        with pytest.raises(ValueError, match=name):
            HeparinScenario(**kwargs)  # type: ignore[arg-type]
