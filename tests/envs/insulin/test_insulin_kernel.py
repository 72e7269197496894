"""The compiled Insulin-v0 step, observation and sums against the numpy code they replace."""

from __future__ import annotations

import copy
import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.base import _unbatch
from pkgym.envs.insulin import InsulinVectorEnv
from pkgym.envs.insulin.clinic import (
    CARBS_HIGH_G,
    CGM_HIGH_MG_PER_DL,
    IOB_HIGH_U,
    SETTINGS_HIGHS,
    InsulinScenario,
    StepOutcome,
    bg_risk,
)
from pkgym.envs.insulin.kernel import announced_minutes, numpy_sum
from pkgym.envs.insulin.records import announced_per_minute, pump_delivery_u, simulate_minutes
from pkgym.envs.insulin.seeding import seeded_draws, seeding_works
from pkgym.models.glucose_sensor import (
    insulin_pump,
    measure_cgm,
    quantise_basal_u_per_h,
    quantise_bolus_u,
)


def _numpy_measure(core, rec, rows: np.ndarray, sensor: np.ndarray, bg_now: np.ndarray) -> None:
    """The numpy ``_measure_now`` the compiled one replaced."""
    s, step = core.settings.scenario, rec.step[rows]
    rec.bg[rows, step] = bg_now
    rec.cgm[rows, step] = measure_cgm(sensor, rec.noise[rows, step], core._sensor)
    weights = core._iob_weights
    back = step[:, None] - 1 - np.arange(weights.size)[None, :]
    basal_step = rec.pump_settings[rows, 0] * s.step_minutes / 60.0
    given = rec.delivered_u[rows[:, None], np.maximum(back, 0)]
    given = np.where(back >= 0, given, basal_step[:, None])
    rec.iob_u[rows] = (given * weights[None, :]).sum(axis=1)
    if s.announce_meals:
        rec.announced_now_g[rows] = announced_per_minute(
            rec.meal_minutes[rows], rec.meal_grams[rows], step * s.step_minutes,
            s.step_minutes).sum(axis=1)


def _numpy_step(core, rec, rows: np.ndarray, doses: np.ndarray) -> tuple[np.ndarray, ...]:
    """The numpy ``InsulinCore.step`` (with ``_score_minutes``) the compiled one replaced."""
    s, m = core.settings.scenario, core.settings.scenario.step_minutes
    delivered = pump_delivery_u(doses, core._pump, m)
    announced = announced_per_minute(rec.meal_minutes[rows], rec.meal_grams[rows],
                                     rec.step[rows] * m, m)
    state, memory, pending, bg, sensor, eaten = simulate_minutes(
        s.model, rec.params[rows], rec.state[rows], rec.memory[rows], rec.pending_g[rows],
        np.repeat((delivered / m)[:, None], m, axis=1), announced)
    rec.state[rows], rec.memory[rows], rec.pending_g[rows] = state, memory, pending
    done_step = rec.step[rows]
    rec.delivered_u[rows, done_step], rec.eaten_g[rows, done_step] = delivered, eaten
    rec.step[rows] = done_step + 1
    low, high = bg_risk(bg)
    counts = {"in_range": (bg >= 70.0) & (bg <= 180.0), "below_70": bg < 70.0,
              "below_54": bg < 54.0, "above_180": bg > 180.0, "above_250": bg > 250.0}
    for name, hit in counts.items():
        getattr(rec, name)[rows] += hit.sum(axis=1)
    rec.minutes[rows] += bg.shape[1]
    rec.sum_low_risk[rows] += low.sum(axis=1)
    rec.sum_high_risk[rows] += high.sum(axis=1)
    rec.sum_bg[rows] += bg.sum(axis=1)
    rec.sum_bg2[rows] += (bg * bg).sum(axis=1)
    rec.step_low_risk[rows], rec.step_high_risk[rows] = low.mean(axis=1), high.mean(axis=1)
    rec.cost[rows] = np.any(bg < s.hypo_threshold_mg_per_dl, axis=1).astype(np.float64)
    terminated = np.any((bg < s.bg_low_mg_per_dl) | (bg > s.bg_high_mg_per_dl), axis=1)
    outcome = StepOutcome(rec.step_low_risk[rows], rec.step_high_risk[rows], terminated,
                          (s.n_steps - rec.step[rows]).astype(np.float64))
    _numpy_measure(core, rec, rows, sensor, bg[:, -1])
    reward = np.asarray(core.reward_fn(outcome, delivered), dtype=np.float64)
    rec.reward[rows], rec.terminated[rows] = reward, outcome.terminated
    return reward, terminated, (rec.step[rows] >= s.n_steps) & ~terminated


def _same_records(a, b) -> None:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), field.name


@pytest.mark.parametrize(("n", "model"), [(80, "uva_padova"), (5, "uva_padova"),
                                          (6, "hovorka2004")])
def test_step__is_the_numpy_step_bit_for_bit(n: int, model: str) -> None:
    """Every record, reward and flag of the compiled step equals the numpy step's bytes.

    80 patients take the threaded pass, 5 the serial one; some rows skip steps, doses run
    from suspension to boluses that end episodes.
    """
    scenario = InsulinScenario(model=model, n_days=1 if model == "uva_padova" else 2)
    env = InsulinVectorEnv(num_envs=n, scenario=scenario)
    env.reset(seed=4)
    core, rng = env.core, np.random.default_rng(0)
    reference = copy.deepcopy(core.records)
    for _ in range(120):
        live = np.flatnonzero(~core.records.terminated & (core.records.step < 288))
        rows = live[rng.random(live.size) < 0.8]
        if rows.size == 0:
            break
        doses = rng.choice(np.asarray(scenario.insulin_levels_u), rows.size)
        got = core.step(rows, doses.copy())
        want = _numpy_step(core, reference, rows, doses.copy())
        for x, y in zip(got, want, strict=True):
            assert x.tobytes() == y.tobytes()
        _same_records(core.records, reference)
    assert core.records.terminated.any() and core.records.eaten_g.any()


def test_observation__is_the_numpy_observation_bit_for_bit() -> None:
    """The compiled observation equals the clipped float32 arrays of the numpy code."""
    env = InsulinVectorEnv(num_envs=70)
    env.reset(seed=1)
    env.action_space.seed(2)
    for _ in range(30):
        env.step(env.action_space.sample())
    rec, s = env.core.records, env.core.settings.scenario
    cols = rec.step[:, None] + 1 - s.history_samples + np.arange(s.history_samples)[None, :]
    cgm = np.take_along_axis(rec.cgm, np.maximum(cols, 0), axis=1)
    clock = (s.start_hour + rec.step * s.step_minutes / 60.0) % 24.0
    want = {"cgm_mg_per_dl": np.clip(np.where(cols >= 0, cgm, 0.0), 0, CGM_HIGH_MG_PER_DL),
            "cgm_mask": cols >= 0,
            "insulin_on_board_u": np.clip(rec.iob_u, 0, IOB_HIGH_U)[:, None],
            "announced_carbs_g": np.clip(rec.announced_now_g, 0, CARBS_HIGH_G)[:, None],
            "time_of_day_h": np.minimum(clock, 24.0)[:, None],
            "pump_settings": np.clip(rec.pump_settings, 0, SETTINGS_HIGHS)}
    got = env.core.observe()
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key].tobytes() == value.astype(np.float32).tobytes(), key


def test_numpy_sum__is_numpys_pairwise_sum() -> None:
    """``numpy_sum`` gives ``np.sum``'s bits for every length, leaves and splits alike."""
    rng = np.random.default_rng(3)
    for n in [*range(0, 140), 255, 256, 257, 383, 720, 1029, 4099]:
        rows = rng.standard_normal((3, n)) * 10.0 ** rng.integers(-6, 6, (3, n))
        for i, want in enumerate(rows.sum(axis=1)):
            assert numpy_sum(rows.ravel(), i * n, n) == want, n


def test_announced_minutes__meals_sharing_a_minute_sum_as_numpy() -> None:
    """Meals that start in the same minute (and none, and one) give numpy's sums."""
    minutes = np.array([[7.0, 7.0, 9.0, -1.0, 7.0, 5.0, 9.0, 30.0]])
    grams = np.array([[0.1, 0.2, 50.0, 0.0, 0.3, 1e-17, 3.0, 8.0]])
    out, hits, scratch = np.empty(5), np.empty(5, np.int64), np.empty(8)
    announced_minutes(minutes, grams, 0, 5, out, hits, scratch)
    want = announced_per_minute(minutes, grams, np.array([5]), 5)[0]
    assert out.tobytes() == want.tobytes() and out[2] == (0.0 + (0.1 + 0.2)) + 0.3


def test_seeded_draws__are_default_rngs_numbers() -> None:
    """The compiled seeding gives ``default_rng(seed)``'s uniforms then normals, any seed.

    Seeds across the 32-bit range (and 0), plus a seed the compiled path does not take.
    """
    assert seeding_works()
    seeds = np.concatenate([[0, 1, 2**32 - 1, 2**32], np.random.default_rng(5).integers(
        0, 2**32, 300)])
    uniforms, normals = seeded_draws(seeds, 30, 300)
    for k, seed in enumerate(seeds.tolist()):
        rng = np.random.default_rng(seed)
        assert uniforms[k].tobytes() == rng.random(30).tobytes()
        assert normals[k].tobytes() == rng.standard_normal(300).tobytes()


def test_draw_episodes__are_each_slots_integers() -> None:
    """Each slot's row is its streams' ``integers`` calls, and leaves them where those do."""
    env = InsulinVectorEnv(num_envs=40)
    env.reset(seed=8)
    slots = env._streams
    twins = copy.deepcopy(slots)
    for _ in range(3):
        got = env.core.draw_episodes(slots)
        for k, twin in enumerate(twins):
            want = (twin.patient.integers(30), twin.patient.integers(2**32 - 1),
                    twin.events.integers(2**32 - 1), twin.noise.integers(2**32 - 1))
            assert (got["profile"][k], got["patient_seed"][k], got["meal_seed"][k],
                    got["noise_seed"][k]) == want


def test_pump_delivery__compiled_is_the_numpy_quantisation() -> None:
    """``pump_delivery_u`` (compiled) equals the numpy quantisation for any amount, any pump."""
    amounts = np.concatenate([[0.0, -0.0, 0.025, 0.0125, 2.5, 2.5000001, 8.0, 40.0, 1e9],
                              np.random.default_rng(6).uniform(0, 12, 5000)])
    for name, minutes in (("Insulet", 5), ("Cozmo", 3), ("Insulet", 1)):
        pump = insulin_pump(name)
        per_hour = 60.0 / minutes
        rate = quantise_basal_u_per_h(np.minimum(amounts * per_hour, pump.max_basal_u_per_h),
                                      pump)
        want = rate / per_hour + quantise_bolus_u(np.maximum(amounts - rate / per_hour, 0.0),
                                                  pump)
        assert pump_delivery_u(amounts, pump, minutes).tobytes() == want.tobytes()
    with pytest.raises(ValueError, match="must be >= 0"):
        pump_delivery_u(np.array([0.1, -1.0]), insulin_pump("Insulet"), 5)


def test_info_row__is_the_row_of_info() -> None:
    """The single env's info equals the row of the batched info, value, type and key order."""
    env = gym.make("pkgym/Insulin-v0").unwrapped
    env.action_space.seed(0)
    env.reset(seed=3)
    core, steps = env.core, 0
    while steps < 400:
        want, got = _unbatch(core.info(), 0), core.info_row(0)
        assert list(got) == list(want)
        for key, value in want.items():
            assert type(got[key]) is type(value), key
            assert np.asarray(got[key]).tobytes() == np.asarray(value).tobytes(), key
        *_, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            env.reset()
