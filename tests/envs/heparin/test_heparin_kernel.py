"""``pkgym/Heparin-v0``'s compiled step and draws equal the numpy reference, bit for bit."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.base import draw_into, spawn_streams
from pkgym.envs.heparin import core as heparin_core
from pkgym.envs.heparin.clinic import HULL_EXCESS_RECURRENCE, PATIENT_HIGHS, HeparinScenario
from pkgym.envs.heparin.core import HeparinCore
from pkgym.envs.heparin.records import ClinicRecords, simulate_interval
from pkgym.sim.bitgen import NUMPY_NORMAL

ENV_ID = "pkgym/Heparin-v0"
SCENARIOS = [HeparinScenario(),
             HeparinScenario(target="control_ratio", interval_h=8.0, horizon_h=48.0,
                             grid_points=7, early_window_h=12.0, subtherapeutic_ratio=1.3)]


def _core(n: int, scenario: HeparinScenario) -> HeparinCore:
    """A vector env's core of ``n`` patients, every slot reset from seeds 0..n-1."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    vec.reset(seed=0)
    return vec.unwrapped.core


def _reference_step(core: HeparinCore, rows: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The numpy step the compiled kernels replaced (simulate_interval, then the sums)."""
    s, r, model = core.settings.scenario, core.records, core.settings.model
    amount, aptt_end, outcome = simulate_interval(r, rows, d, s)
    k, dt, weight = r.step[rows], s.interval_h, r.weight_kg[rows]
    r.bolus_u_per_kg[rows, k], r.hold_h[rows, k] = d[:, 0], d[:, 1]
    r.rate_u_per_kg_per_h[rows, k], r.current_rate[rows] = d[:, 2], d[:, 2]
    r.dose_iu[rows] += weight * (d[:, 0] + d[:, 2] * (dt - d[:, 1]))
    r.amount_iu[rows], r.step[rows] = amount, k + 1
    r.hours[rows] += dt
    r.in_range_h[rows] += dt * outcome.in_range
    r.below_h[rows] += dt * outcome.below
    r.above_h[rows] += dt * outcome.above
    r.bleeding_sum[rows] += outcome.bleeding
    r.thrombosis_risk[rows] += outcome.thrombosis_risk
    r.early_below_h[rows] += outcome.thrombosis_risk / HULL_EXCESS_RECURRENCE * s.early_window_h
    r.step_in_range[rows], r.step_bleeding[rows] = outcome.in_range, outcome.bleeding
    r.step_thrombosis[rows] = outcome.thrombosis_risk
    r.aptt_true_s[rows, k + 1] = aptt_end
    noisy = aptt_end * (1.0 + model.aptt_residual_cv * r.assay_normals[rows, k + 1])
    measured = np.clip(noisy, 10.0, model.aptt_assay_max_s)
    r.aptt_measured_s[rows, k + 1] = measured
    hit = (measured >= r.target_low_s[rows]) & (measured <= r.target_high_s[rows])
    first = hit & np.isnan(r.first_therapeutic_h[rows])
    r.first_therapeutic_h[rows[first]] = (k + 1)[first] * s.interval_h
    reward = np.asarray(core.reward_fn(outcome, d), dtype=np.float64)
    r.reward[rows] = reward
    return reward


def _assert_same_records(a: ClinicRecords, b: ClinicRecords) -> None:
    """Every field of two records: equal values (NaN where NaN), dtypes and shapes."""
    for field in dataclasses.fields(ClinicRecords):
        x, y = getattr(a, field.name), getattr(b, field.name)
        np.testing.assert_array_equal(x, y, err_msg=field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, field.name


@pytest.mark.parametrize("chunk", [1024, 7])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_heparin_core__compiled_step_equals_the_numpy_reference(
        scenario: HeparinScenario, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random boluses, holds and rates on random subsets of patients: the same records.

    ``chunk``: patients per compiled chunk (7: a step crosses several chunks).
    """
    monkeypatch.setattr(heparin_core, "STEP_CHUNK", chunk)
    n, rng = 40, np.random.default_rng(5)
    cores = [_core(n, scenario) for _ in range(2)]
    highs = np.array([scenario.max_bolus_u_per_kg, scenario.max_hold_h,
                      scenario.max_rate_u_per_kg_per_h])
    for _ in range(scenario.n_steps):
        rows = np.flatnonzero(rng.random(n) < 0.8)
        d = rng.random((rows.size, 3)) * highs
        d[rng.random(rows.size) < 0.3, 1] = 0.0  # no hold, the exp of a zero time
        reward, _, truncated = cores[0].step(rows, d)
        np.testing.assert_array_equal(reward, _reference_step(cores[1], rows, d))
        np.testing.assert_array_equal(truncated, cores[1].records.step[rows] >= scenario.n_steps)
        _assert_same_records(cores[0].records, cores[1].records)
    assert np.isfinite(cores[0].records.first_therapeutic_h).any()  # the first-hit branch ran
    with pytest.raises(RuntimeError, match="reset"):
        cores[0].step(np.arange(n), np.zeros((n, 3)))


def _plan(core: HeparinCore) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """The draws of one episode, as :func:`draw_into` takes them (the numpy reference)."""
    return [("covariates", "patient", "random", (core.settings.population.n_draws,)),
            ("eta", "patient", "standard_normal", (3,)),
            ("assay", "noise", "standard_normal", (core.settings.scenario.n_steps + 1,))]


def test_heparin_core__batched_resets_equal_the_numpy_template() -> None:
    """Seeded, pinned, masked and automatic resets: the records of draw_into's template."""
    n, pin = 7, {"weight_kg": 95.0, "height_cm": 170.0, "age_years": 50.0, "is_female": 1,
                 "baseline_aptt_s": 33.0, "id": 3}
    envs = [gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
            for _ in range(2)]
    slow = envs[1].unwrapped.core
    slow.draw_episodes = lambda streams: draw_into(streams, _plan(slow))
    pins = [pin if k % 3 == 0 else None for k in range(n)]
    for env in envs:
        env.reset(seed=4, options={"patients": pins})
    rng = np.random.default_rng(0)
    for _ in range(30):
        _assert_same_records(*(env.unwrapped.core.records for env in envs))
        actions = rng.integers(0, envs[0].single_action_space.n, n)
        for env in envs:
            env.step(actions)
    for env in envs:
        env.reset(options={"reset_mask": np.arange(n) % 2 == 1, "patients": pins[:3]})
    _assert_same_records(*(env.unwrapped.core.records for env in envs))


def test_heparin_kernel__compiled_draws_are_draw_intos() -> None:
    """Covariate uniforms, eta and assay normals: draw_into's numbers, streams left alike."""
    core = _core(1, HeparinScenario())
    plan = _plan(core)
    fast = [spawn_streams(np.random.default_rng(seed)) for seed in range(6)]
    slow = [spawn_streams(np.random.default_rng(seed)) for seed in range(6)]
    for _ in range(2):  # the second episode reads the cached bit-generator addresses
        got, want = core.draw_episodes(fast), draw_into(slow, plan)
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value, err_msg=key)
    for a, b in zip(fast, slow, strict=True):
        assert a.patient.random() == b.patient.random() and a.noise.random() == b.noise.random()
    assert NUMPY_NORMAL  # the compiled path is the one tested


def _numpy_observation(r: Any, s: Any) -> dict[str, np.ndarray]:
    """The numpy observation ``observe_rows`` replaced (the reference)."""
    top = s.model.aptt_assay_max_s
    mask = np.arange(s.n_steps + 1)[None, :] <= r.step[:, None]

    def f32(values: np.ndarray, high: float | np.ndarray) -> np.ndarray:
        return np.clip(values, 0.0, high).astype(np.float32)

    patient = np.column_stack([r.weight_kg, r.height_cm, r.age_years, r.is_female,
                               r.baseline_aptt_s])
    return {
        "aptt_s": f32(np.where(mask, r.aptt_measured_s, 0.0), top),
        "aptt_mask": mask.astype(np.float32),
        "bolus_u_per_kg": f32(r.bolus_u_per_kg, s.max_bolus_u_per_kg),
        "hold_h": f32(r.hold_h, s.max_hold_h),
        "rate_u_per_kg_per_h": f32(r.rate_u_per_kg_per_h, s.max_rate_u_per_kg_per_h),
        "current_rate_u_per_kg_per_h": f32(r.current_rate[:, None], s.max_rate_u_per_kg_per_h),
        "hours_since_start": f32((r.step * s.interval_h)[:, None], s.horizon_h),
        "patient": f32(patient, PATIENT_HIGHS),
        "target_aptt_s": f32(np.column_stack([r.target_low_s, r.target_high_s]), top)}


def test_observe_rows__equals_numpys_clip_and_cast_bit_for_bit() -> None:
    """Played and scrambled records (NaN, -0.0, beyond the highs): numpy's bytes and keys."""
    vec = gym.make_vec("pkgym/Heparin-v0", num_envs=64, vectorization_mode="vector_entry_point")
    vec.reset(seed=2)
    core, rng = vec.unwrapped.core, np.random.default_rng(0)
    for _ in range(5):
        vec.step(vec.action_space.sample())
    for _ in range(2):
        r, s = core.records, core.settings.scenario
        got, want = core.observation_model(r, core.settings), _numpy_observation(r, s)
        assert list(got) == list(want)
        for key, value in want.items():
            assert got[key].dtype == value.dtype and got[key].tobytes() == value.tobytes(), key
        for name in ("aptt_measured_s", "bolus_u_per_kg", "hold_h", "rate_u_per_kg_per_h",
                     "current_rate", "weight_kg", "is_female", "target_high_s"):
            values = getattr(r, name)
            values[...] = rng.choice([-0.0, np.nan, -5.0, 1e9, 0.5, 123.25], values.shape)
        r.step[:] = rng.integers(0, s.n_steps + 1, r.step.size)


def test_heparin_info__every_row_in_order_equals_the_gathered_rows() -> None:
    """The full batch's info (plain copies) equals the gather of reversed and repeated rows."""
    from pkgym.envs.heparin import views

    vec = gym.make_vec("pkgym/Heparin-v0", num_envs=6, vectorization_mode="vector_entry_point")
    vec.reset(seed=4)
    for _ in range(3):
        vec.step(vec.action_space.sample())
    core = vec.unwrapped.core
    every = views.info(core.records, core.settings, np.arange(6))
    for rows in (np.arange(6)[::-1], np.array([0, 0, 2, 3, 4, 5]), np.array([1, 2, 3])):
        some = views.info(core.records, core.settings, rows)
        assert list(some) == list(every)
        for key, value in every.items():
            assert some[key].dtype == value.dtype and some[key].flags.c_contiguous, key
            np.testing.assert_array_equal(some[key], value[rows], err_msg=key)
