"""Baseline policies: CAMERA2 label dosing, trough-guided TDM and the hidden-state oracle."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers pkgym/Vancomycin-v0)
from agents.policies.vancomycin.baselines import (
    LabelDosingPolicy,
    TroughGuidedPolicy,
    camera2_regimen,
)
from agents.policies.vancomycin.map import MapBayesianPolicy
from agents.policies.vancomycin.oracle import OraclePolicy, predict_two_intervals
from pkgym.envs.base import doses_to_actions
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.evaluation.policy import Policy

ENV_ID = "pkgym/Vancomycin-v0"
POLICIES = (LabelDosingPolicy, TroughGuidedPolicy, OraclePolicy, MapBayesianPolicy)


def _observation(time_h: float, crcl_by_day: tuple[float, ...] = (100.0,),
                 weight_kg: float = 70.0, on_dialysis: float = 0.0,
                 levels: tuple[tuple[float, float, float], ...] = ()) -> dict[str, np.ndarray]:
    """A batched (n_envs = 1) ward observation; ``levels`` holds (time h, mg/L, mask)."""
    crcl = np.zeros(7)
    crcl[: len(crcl_by_day)] = crcl_by_day
    slots = np.zeros((2, 3))
    slots[: len(levels)] = np.reshape(levels, (-1, 3))
    single = {"covariates": np.array([60.0, 0.0, weight_kg, 175.0, on_dialysis]),
              "creatinine_mg_per_dl": np.where(crcl > 0, 1.0, 0.0),
              "creatinine_clearance_ml_per_min": crcl, "doses_mg": np.zeros(14),
              "level_times_h": slots[:, 0], "levels_mg_per_l": slots[:, 1],
              "level_mask": slots[:, 2], "time_h": np.array([time_h])}
    return {key: value[None].astype(np.float32) for key, value in single.items()}


def _doses_over_time(policy: LabelDosingPolicy, times_h: tuple[float, ...],
                     **kwargs: object) -> list[float]:
    """The dose ``policy`` gives at each time for the same hand-built patient."""
    return [float(policy.act(_observation(t, **kwargs))[0]) for t in times_h]


def _vector_env(num_envs: int) -> gymnasium.vector.VectorEnv:
    """``num_envs`` patients of the default ward in one native vector env (NEXT_STEP)."""
    return gymnasium.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point")


def _run(env: gymnasium.vector.VectorEnv, policy: Policy, n_steps: int,
         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Step ``env`` with ``policy``; return the doses and info AUC24s, each (n_steps, n_envs)."""
    observation, info = env.reset(seed=seed)
    policy.reset(env.num_envs)
    levels = env.unwrapped.core.dose_levels_mg
    doses, aucs = [], []
    for _ in range(n_steps):
        dose = policy.act(observation, info)
        observation, _, _, _, info = env.step(doses_to_actions(dose, levels, False))
        doses.append(dose)
        aucs.append(info["auc24_mg_h_per_l"].copy())
    return np.array(doses), np.array(aucs)


def test_camera2_regimen__band_edges_and_dialysis():
    """> 90 is 1500 q12h, 60-90 1000 q12h, 20-<60 q24h, < 20 or dialysis q48h."""
    crcl = np.array([90.1, 90.0, 60.0, 59.9, 20.0, 19.9, 120.0])
    dialysis = np.array([0, 0, 0, 0, 0, 0, 1])
    dose, interval = camera2_regimen(crcl, dialysis, np.full(7, 70.0))
    assert dose.tolist() == [1500.0] + [1000.0] * 6
    assert interval.tolist() == [12.0, 12.0, 12.0, 24.0, 24.0, 48.0, 48.0]


def test_label_policy__crcl_100_gives_1750_load_then_1500_q12h():
    """70 kg, CrCL 100: 25 mg/kg = 1750 mg at time 0, then 1500 mg every step."""
    doses = _doses_over_time(LabelDosingPolicy(), (0.0, 12.0, 24.0, 36.0, 48.0),
                             crcl_by_day=(100.0, 100.0, 100.0))
    assert doses == [1750.0, 1500.0, 1500.0, 1500.0, 1500.0]


def test_label_policy__crcl_40_doses_every_other_step():
    """CrCL 40 (q24h): 1000 mg at 24 and 48 h after the loading dose, 0 in between."""
    doses = _doses_over_time(LabelDosingPolicy(), (0.0, 12.0, 24.0, 36.0, 48.0),
                             crcl_by_day=(40.0, 40.0, 40.0))
    assert doses == [1750.0, 0.0, 1000.0, 0.0, 1000.0]


def test_label_policy__dialysis_doses_every_48_h():
    """On dialysis (whatever the CrCL): 1000 mg q48h after the load."""
    doses = _doses_over_time(LabelDosingPolicy(), tuple(12.0 * k for k in range(9)),
                             crcl_by_day=(100.0,), on_dialysis=1.0)
    assert doses == [1750.0, 0, 0, 0, 1000.0, 0, 0, 0, 1000.0]


def test_label_policy__scales_to_weight_rounds_and_caps():
    """105 kg: load 2625 -> 2750, 1500 x 1.5 = 2250; 150 kg: both capped at 3000 mg."""
    policy = LabelDosingPolicy()
    assert _doses_over_time(policy, (0.0, 12.0), weight_kg=105.0) == [2750.0, 2250.0]
    assert _doses_over_time(policy, (0.0, 12.0), weight_kg=150.0) == [3000.0, 3000.0]


def test_label_policy__rereads_the_band_when_a_day_starts():
    """A day-1 CrCL is not used before 24 h; from 24 h the q24h band applies."""
    doses = _doses_over_time(LabelDosingPolicy(), (12.0, 24.0, 36.0), crcl_by_day=(100.0, 40.0))
    assert doses == [1500.0, 1000.0, 0.0]


def test_trough_guided__scales_1000_to_750_after_a_trough_of_20():
    """1000 mg x 15 / 20 = 750 mg, kept until a new trough (10 mg/L: 1125 -> 1250 mg)."""
    policy, crcl = TroughGuidedPolicy(), (75.0, 75.0, 75.0)
    assert _doses_over_time(policy, (0.0, 24.0), crcl_by_day=crcl) == [1750.0, 1000.0]
    trough = ((35.5, 20.0, 1.0),)
    assert _doses_over_time(policy, (36.0, 48.0), crcl_by_day=crcl, levels=trough) == [750.0] * 2
    second = (*trough, (47.5, 10.0, 1.0))
    assert _doses_over_time(policy, (48.0, 60.0), crcl_by_day=crcl, levels=second) == [1250.0] * 2


def test_trough_guided__ignores_peaks_and_unmeasured_levels():
    """A peak (38 h) and a censored trough (mask 0) leave the label dose."""
    levels = ((35.5, 40.0, 0.0), (38.0, 40.0, 1.0))
    doses = _doses_over_time(TroughGuidedPolicy(), (0.0, 48.0), crcl_by_day=(75.0,), levels=levels)
    assert doses == [1750.0, 1000.0]


def test_trough_guided__keeps_the_label_interval_and_clips():
    """CrCL 40 (q24h): a trough of 2 gives 1000 x 7.5 -> 3000 mg, still every other step."""
    levels = ((47.5, 2.0, 1.0),)
    doses = _doses_over_time(TroughGuidedPolicy(), (48.0, 60.0, 72.0),
                             crcl_by_day=(40.0, 40.0, 40.0, 40.0), levels=levels)
    assert doses == [3000.0, 0.0, 3000.0]


def test_trough_guided__q48h_level_before_a_skipped_step_is_not_a_trough():
    """Dialysis (q48h): a level at 23.5 h (step 24 h is skipped) leaves 1000 mg; 47.5 h counts."""
    policy, times = TroughGuidedPolicy(), (0.0, 24.0, 36.0, 48.0)
    mid = ((23.5, 30.0, 1.0),)
    assert _doses_over_time(policy, times, on_dialysis=1.0, levels=mid) == [1750, 0, 0, 1000]
    q12h_view = _doses_over_time(TroughGuidedPolicy(), (0.0, 24.0, 36.0, 48.0), levels=mid)
    assert q12h_view[1:] == [750.0] * 3  # CrCL 100 (q12h): the same level is a trough
    both = (*mid, (47.5, 30.0, 1.0))
    assert _doses_over_time(policy, (48.0, 96.0), on_dialysis=1.0, levels=both) == [500.0] * 2


def test_trough_guided__new_patient_at_time_zero_forgets_the_adjustment():
    """After an adjustment, time 0 in the same env starts a label patient again."""
    policy = TroughGuidedPolicy()
    policy.act(_observation(36.0, (75.0, 75.0), levels=((35.5, 20.0, 1.0),)))
    assert _doses_over_time(policy, (0.0, 12.0), crcl_by_day=(75.0,)) == [1750.0, 1000.0]


def test_predict_two_intervals__matches_the_env_auc_of_the_dose_given():
    """The oracle's predicted AUC of this interval equals the env's for the chosen dose."""
    env, policy = _vector_env(6), OraclePolicy()
    observation, info = env.reset(seed=3)
    levels = env.unwrapped.core.dose_levels_mg
    for _ in range(5):
        doses = policy.act(observation, info)
        this, _ = predict_two_intervals(info, doses, 12.0)
        observation, _, _, _, info = env.step(doses_to_actions(doses, levels, False))
        np.testing.assert_allclose(np.diag(this), info["auc_interval_mg_h_per_l"], rtol=1e-9)


def test_predict_two_intervals__uses_the_scenario_infusion_limits():
    """With 500 mg/h over >= 2 h the oracle matches the env only when given those limits."""
    scenario = VancomycinScenario(max_infusion_rate_mg_per_h=500.0, min_infusion_h=2.0)
    env = gymnasium.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                             scenario=scenario)
    limits = {"max_infusion_rate_mg_per_h": 500.0, "min_infusion_h": 2.0}
    policy = OraclePolicy(**limits)
    observation, info = env.reset(seed=4)
    levels = env.unwrapped.core.dose_levels_mg
    for _ in range(3):
        doses = policy.act(observation, info)
        this, _ = predict_two_intervals(info, doses, 12.0, **limits)
        default, _ = predict_two_intervals(info, doses, 12.0)
        observation, _, _, _, info = env.step(doses_to_actions(doses, levels, False))
        np.testing.assert_allclose(np.diag(this), info["auc_interval_mg_h_per_l"], rtol=1e-9)
        assert not np.allclose(np.diag(default), info["auc_interval_mg_h_per_l"], rtol=1e-6)


def test_oracle__keeps_auc24_in_range_for_most_steps_after_day_1():
    """20 patients: AUC24 in 400-600 on >= 80 % of steps 3..13."""
    _, aucs = _run(_vector_env(20), OraclePolicy(), 14)
    in_range = (aucs[3:14] >= 400.0) & (aucs[3:14] <= 600.0)
    assert in_range.mean() >= 0.8


def test_oracle__without_info_raises():
    """The oracle reads hidden state: no info is a ValueError naming info."""
    with pytest.raises(ValueError, match="info"):
        OraclePolicy().act(_observation(0.0))


@pytest.mark.parametrize("policy_class", POLICIES)
def test_policies__batched_vector_observation_gives_nonnegative_doses(policy_class: type):
    """Each policy satisfies the Policy protocol and returns (n,) doses >= 0."""
    env, policy = _vector_env(4), policy_class()
    assert isinstance(policy, Policy)
    observation, info = env.reset(seed=1)
    doses = policy.act(observation, info)
    assert doses.shape == (4,) and np.all(doses >= 0)


@pytest.mark.parametrize("policy_class", POLICIES)
def test_policies__run_full_episodes_across_autoreset(policy_class: type):
    """Two episodes of 5 patients (NEXT_STEP autoreset): valid doses, a new load at time 0."""
    doses, _ = _run(_vector_env(5), policy_class(), 30)
    assert doses.shape == (30, 5) and np.all(doses >= 0) and np.all(doses <= 3000)
    assert np.all(doses[15] > 0)  # step 15 is time 0 of the second patients: a loading dose


@pytest.mark.parametrize("policy_class", POLICIES[:3])
def test_policies__reset_rejects_no_envs_and_act_adapts_to_n(policy_class: type):
    """reset(0) raises naming n_envs; act on another batch size re-sizes the state."""
    policy = policy_class()
    with pytest.raises(ValueError, match="n_envs"):
        policy.reset(0)
    policy.reset(3)
    env = _vector_env(2)
    observation, info = env.reset(seed=0)
    assert policy.act(observation, info).shape == (2,)


@pytest.mark.parametrize("policy_class", POLICIES[:3])
def test_policies__bad_interval_raises_naming_it(policy_class: type):
    """An interval that does not divide a day is a ValueError naming interval_h."""
    with pytest.raises(ValueError, match="interval_h"):
        policy_class(interval_h=7.0)


def test_label_policy__bad_covariates_raise_naming_them():
    """Covariates without the env axis are a ValueError naming covariates."""
    observation = _observation(0.0)
    observation["covariates"] = observation["covariates"][0]
    with pytest.raises(ValueError, match="covariates"):
        LabelDosingPolicy().act(observation)
