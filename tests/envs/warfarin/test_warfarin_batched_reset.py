"""Batched resets and the fused compiled day give what slot-by-slot resets and steps give."""

from __future__ import annotations

from dataclasses import fields

import gymnasium as gym
import numba
import numpy as np
import pytest
from warfarin_helpers import ENV_ID, PGX_ID

import pkgym  # noqa: F401
import pkgym.envs.warfarin.kernel as warfarin_kernel
from pkgym.envs.base import spawn_streams
from pkgym.envs.warfarin.clinic import InrOutcome, InrRangeReward
from pkgym.populations.warfarin import IWPC_COHORT


def _core(env_id: str, n: int):  # noqa: ANN202
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point").unwrapped


def test_draw_episodes__same_numbers_as_episode_draws() -> None:
    """Each slot's preallocated rows hold exactly what ``episode_draws`` takes from its streams."""
    core = _core(ENV_ID, 1).core
    fast = core._draw_episodes([spawn_streams(np.random.default_rng(s)) for s in range(5)])
    for k in range(5):
        slow = core.episode_draws(spawn_streams(np.random.default_rng(k)))
        for key, values in slow.items():
            assert np.array_equal(fast[key][k], values), key


def test_draw_episodes__kept_addresses_follow_each_slot_and_its_copies() -> None:
    """Repeated slots, later calls and a deep copy's own generators draw numpy's numbers."""
    import copy

    core = _core(ENV_ID, 2).core
    slots = [spawn_streams(np.random.default_rng(s)) for s in (7, 8)]
    twins = [spawn_streams(np.random.default_rng(s)) for s in (7, 8)]
    for batch in ([0, 1, 0], [1, 1]):
        fast = core._draw_episodes([slots[i] for i in batch])
        for k, i in enumerate(batch):
            for key, values in core.episode_draws(twins[i]).items():
                assert np.array_equal(fast[key][k], values), key
    copied = copy.deepcopy((core, slots))
    fast = copied[0]._draw_episodes(copied[1])
    for k in range(2):
        for key, values in core.episode_draws(twins[k]).items():
            assert np.array_equal(fast[key][k], values), key
    again = spawn_streams(np.random.default_rng(7))  # slot 0 has drawn two episodes
    for _ in range(2):
        core.episode_draws(again)
    assert np.array_equal(core._draw_episodes(slots[:1])["eta"][0],
                          core.episode_draws(again)["eta"])  # the copy left it untouched


@pytest.mark.parametrize("env_id", [ENV_ID, PGX_ID])
def test_reset__mixed_pinned_and_drawn_batch_equals_single_envs(env_id: str) -> None:
    """A vector reset mixing pinned and drawn patients, then 5 steps, matches 6 single envs."""
    cohort = IWPC_COHORT.sample(3, seed=4)
    patients = [None, cohort.iloc[0], None, cohort.iloc[1], cohort.iloc[2], None]
    vec = gym.make_vec(env_id, num_envs=6, vectorization_mode="vector_entry_point")
    obs, info = vec.reset(seed=20, options={"patients": patients})
    actions = np.array([[3, 10, 0, 30, 12, 7]] * 5)
    vec_steps = [vec.step(a) for a in actions]
    for i, patient in enumerate(patients):
        env = gym.make(env_id).unwrapped
        options = None if patient is None else {"patient": patient}
        single_obs, single_info = env.reset(seed=20 + i, options=options)
        for key, value in single_obs.items():
            assert np.array_equal(obs[key][i], value), key
        assert single_info["clearance_l_per_h"] == info["clearance_l_per_h"][i]
        for step, action in zip(vec_steps, actions[:, i], strict=True):
            single = env.step(int(action))
            assert single[1] == step[1][i]
            assert single[4]["inr"] == step[4]["inr"][i]
            for key, value in single[0].items():
                assert np.array_equal(step[0][key][i], value), key


def test_day__parallel_chunks_equal_the_serial_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """PARALLEL_FROM lowered: 41 patients stepped in parallel chunks match the serial path."""
    if numba.get_num_threads() < 2:
        pytest.skip("needs two numba threads")
    runs = []
    for parallel_from in (10**9, 8):
        monkeypatch.setattr(warfarin_kernel, "PARALLEL_FROM", parallel_from)
        vec = _core(ENV_ID, 41)
        vec.action_space.seed(1)
        vec.reset(seed=9)
        runs.append([vec.step(vec.action_space.sample()) for _ in range(12)])
    for serial, parallel in zip(*runs, strict=True):
        for key in ("inr", "bleeding_events", "transit_amounts", "pk_amounts_mg"):
            assert np.array_equal(serial[4][key], parallel[4][key]), key
        assert np.array_equal(serial[1], parallel[1])


def test_score_rows__equals_numpy_outcome_and_inr_range_reward() -> None:
    """The compiled scores equal ``InrOutcome``'s numpy terms and ``InrRangeReward``, bit for bit.

    Random INRs plus the range edges, 0, the thresholds and NaN; random events and tests;
    default and unusual weights.
    """
    rng = np.random.default_rng(4)
    edges = [2.0, 3.0, 1.5, 4.0, 0.0, np.nan, np.inf]
    inr = np.concatenate([rng.uniform(0.5, 8.0, 500), edges])
    n = inr.size
    out = (inr, rng.random(n) < 0.2, rng.random(n) < 0.2, rng.random(n) < 0.5)
    for reward_fn in (InrRangeReward(), InrRangeReward(in_range_bonus=0.3, test_cost=2.5,
                                                       low_inr_penalty=-1.0)):
        weights = (True, *(float(getattr(reward_fn, f.name)) for f in fields(InrRangeReward)))
        scores = (np.empty(n), np.empty(n, bool), np.empty(n))
        warfarin_kernel.score_rows(0, n, (2.0, 3.0), weights, out, scores)
        distance = np.maximum(2.0 - inr, 0) + np.maximum(inr - 3.0, 0)
        in_range = (inr >= 2.0) & (inr <= 3.0)
        expected = reward_fn(InrOutcome(inr, distance, in_range, *out[1:]), np.zeros(n))
        assert np.array_equal(scores[0], distance, equal_nan=True)
        assert np.array_equal(scores[1], in_range)
        assert np.array_equal(scores[2], expected, equal_nan=True)
        assert np.array_equal(np.signbit(scores[2]), np.signbit(expected))


def test_step__injected_reward_sees_the_same_outcome() -> None:
    """A custom RewardFn gets the numpy outcome terms; a subclass is not short-cut."""

    class Half(InrRangeReward):
        def __call__(self, outcome, doses_mg):  # noqa: ANN001, ANN204, D102
            return 0.5 * super().__call__(outcome, doses_mg)

    plain = gym.make(ENV_ID).unwrapped
    half = gym.make(ENV_ID, reward_fn=Half()).unwrapped
    plain.reset(seed=3)
    half.reset(seed=3)
    for action in (10, 10, 20, 0, 5, 30):
        assert half.step(action)[1] == 0.5 * plain.step(action)[1]


def test_info_row__equals_the_batched_info_across_partial_resets() -> None:
    """``info_row`` (episode-fixed part kept between resets) equals ``info``'s row, in order."""
    vec = _core(PGX_ID, 4)
    core = vec.core
    vec.reset(seed=2)
    for step in range(6):
        if step == 3:
            vec.reset(options={"reset_mask": np.array([False, True, False, True])})
        else:
            vec.step(np.array([4, 9, 0, 20]))
        batched = core.info()
        for row in range(4):
            single = core.info_row(row)
            assert list(single) == list(batched)
            for key, value in single.items():
                assert np.array_equal(value, batched[key][row]), key
