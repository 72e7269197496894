"""``pkgym/DoseFindingEffTox-v0``'s compiled paths equal the per-slot template and numpy's."""

from __future__ import annotations

import dataclasses
import functools

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.base import DosingCore, spawn_streams
from pkgym.envs.dose_finding.core import assign_levels
from pkgym.envs.dose_finding_efftox import kernel
from pkgym.envs.dose_finding_efftox.clinic import (
    DoseFindingEffToxScenario,
    EffToxCounts,
    EffToxOutcome,
)
from pkgym.envs.dose_finding_efftox.core import DoseFindingEffToxCore
from pkgym.envs.dose_finding_efftox.records import EffToxRecords, treat_cohort
from pkgym.envs.dose_finding_efftox.views import relative_utilities
from pkgym.models.dose_efficacy import RandomEfficacyToxicity, phase12_utilities
from pkgym.sim.bitgen import bitgen_addresses

ENV_ID = "pkgym/DoseFindingEffTox-v0"
TOX, EFF = (0.05, 0.10, 0.20, 0.35, 0.50), (0.10, 0.30, 0.50, 0.50, 0.50)
SCENARIOS = [
    DoseFindingEffToxScenario(),
    DoseFindingEffToxScenario(true_dlt_probabilities=TOX, true_efficacy_probabilities=EFF,
                              true_joint_probabilities=(0.01, 0.04, 0.12, 0.20, 0.30)),
    DoseFindingEffToxScenario(n_doses=7, target_dlt_rate=0.3, max_sample_size=12,
                              cohort_size=2, allow_skipping=True, start_level=1,
                              utility_neither=30.0, utility_both=70.0,
                              random_truth=RandomEfficacyToxicity(n_doses=7,
                                                                  target_dlt_rate=0.3))]


def _vec(n: int, scenario: DoseFindingEffToxScenario,
         template: bool = False) -> gym.vector.VectorEnv:
    """The native vector env; ``template``: its core runs the per-slot reset of DosingCore."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    if template:
        core = vec.unwrapped.core
        core.episode_draws = functools.partial(DoseFindingEffToxCore.episode_draws, core)
    return vec


def _assert_same_records(a: EffToxRecords, b: EffToxRecords) -> None:
    """Every field of two records: equal values, dtypes and shapes."""
    for field in dataclasses.fields(EffToxRecords):
        x, y = getattr(a, field.name), getattr(b, field.name)
        np.testing.assert_array_equal(x, y, err_msg=field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, field.name


def _pins(scenario: DoseFindingEffToxScenario, n: int) -> list[dict | None]:
    """Every third trial pinned (a truth of the scenario's n_doses)."""
    d = scenario.n_doses
    pin = {"true_dlt_probabilities": np.linspace(0.05, 0.6, d),
           "true_efficacy_probabilities": np.linspace(0.1, 0.5, d), "id": 4}
    return [pin if k % 3 == 1 else None for k in range(n)]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_efftox_core__batched_resets_equal_the_per_slot_template(
        scenario: DoseFindingEffToxScenario) -> None:
    """Mixed pinned and drawn trials, masked resets and autoresets: the same records."""
    n, pins = 9, _pins(scenario, 9)
    envs = [_vec(n, scenario), _vec(n, scenario, template=True)]
    rng = np.random.default_rng(0)
    outs = [env.reset(seed=3, options={"patients": pins}) for env in envs]
    for _ in range(30):
        _assert_same_records(*(env.unwrapped.core.records for env in envs))
        for key, value in outs[0][0].items():
            np.testing.assert_array_equal(value, outs[1][0][key], err_msg=key)
        for key, value in outs[0][-1].items():
            np.testing.assert_array_equal(value, outs[1][-1][key], err_msg=key)
        actions = rng.integers(0, scenario.n_doses + 1, n)
        outs = [env.step(actions) for env in envs]
    mask = np.arange(n) % 2 == 0
    for env in envs:
        env.reset(options={"reset_mask": mask, "patients": pins[:5]})
    _assert_same_records(*(env.unwrapped.core.records for env in envs))



def test_efftox_core__a_bad_pin_leaves_the_streams_where_the_template_does() -> None:
    """A reset failing on a bad pinned trial has drawn what the per-slot template draws."""
    bad = {"true_dlt_probabilities": (0.5, 0.4, 0.3, 0.2, 0.1),
           "true_efficacy_probabilities": EFF}
    envs = [_vec(3, SCENARIOS[0]), _vec(3, SCENARIOS[0], template=True)]
    for env in envs:
        env.reset(seed=5)
        with pytest.raises(ValueError):
            env.reset(options={"patients": [None, bad, None]})
    states = [[(slot.patient.bit_generator.state, slot.events.bit_generator.state)
               for slot in env.unwrapped._streams] for env in envs]
    assert states[0] == states[1]
    _assert_same_records(*(env.unwrapped.core.records for env in envs))


def _reference_step(core: DoseFindingEffToxCore, rows: np.ndarray,
                    requested: np.ndarray) -> tuple[np.ndarray, ...]:
    """The numpy step the compiled kernel replaced (assign_levels, treat_cohort)."""
    s, r = core.settings, core.records
    assigned = assign_levels(r, rows, requested, s)  # type: ignore[arg-type]
    stop = requested == s.n_doses
    full = r.patients[rows].sum(axis=1) >= s.max_sample_size
    treat = ~stop & ~full
    dlts = np.zeros(rows.size, dtype=np.int64)
    dlts[treat] = treat_cohort(r, rows[treat], assigned[treat])
    above = np.where(treat & (assigned > r.true_mtd[rows]), s.cohort_size, 0)
    done = stop | full
    r.requested[rows], r.assigned[rows] = requested, assigned
    r.selected[rows] = np.where(full & ~stop, assigned, -1)
    r.finished[rows] = done
    relative = relative_utilities(r, s)[rows]
    reward = core.reward_fn(EffToxOutcome(above, dlts, relative), assigned)
    return np.asarray(reward, dtype=np.float64), done


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_efftox_core__compiled_step_equals_the_numpy_reference(
        scenario: DoseFindingEffToxScenario) -> None:
    """Random requests (stops, skips, full trials): the same rewards, ends and records."""
    n, rng = 64, np.random.default_rng(1)
    cores = [_vec(n, scenario).unwrapped.core for _ in range(2)]
    for core in cores:
        core.reset_patients(np.arange(n), [spawn_streams(np.random.default_rng(k))
                                           for k in range(n)], [None] * n)
    for _ in range(40):
        rows = np.flatnonzero(~cores[0].records.finished)
        if rows.size == 0:
            break
        weights = np.r_[np.ones(scenario.n_doses), 0.3]
        requested = rng.choice(scenario.n_doses + 1, rows.size, p=weights / weights.sum())
        reward, done, _ = cores[0].step(rows, requested)
        expected_reward, expected_done = _reference_step(cores[1], rows, requested)
        np.testing.assert_array_equal(reward, expected_reward)
        np.testing.assert_array_equal(done, expected_done)
        _assert_same_records(cores[0].records, cores[1].records)
    assert cores[0].records.finished.all()
    assert np.any(cores[0].records.selected >= 0)  # some trials ended with a recommendation
    with pytest.raises(RuntimeError, match="reset"):
        cores[0].step(np.array([0]), np.array([0]))


def _same_row(fast: dict, default: dict) -> None:
    """The same keys in order, types and values."""
    assert list(fast) == list(default)
    for key, value in default.items():
        assert type(fast[key]) is type(value), key
        if isinstance(value, np.ndarray):
            assert fast[key].dtype == value.dtype and fast[key].shape == value.shape, key
        np.testing.assert_array_equal(fast[key], value, err_msg=key)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_efftox_core__one_row_info_equals_the_batch_row(
        scenario: DoseFindingEffToxScenario) -> None:
    """The single env's info row builder gives the keys, types and values of the batch's row."""
    env = gym.make(ENV_ID, scenario=scenario).unwrapped
    env.action_space.seed(0)
    core, ended = env.core, 0
    for episode in range(8):
        env.reset(seed=episode)
        done = False
        while True:
            _same_row(core.info_row(0), DosingCore.info_row(core, 0))
            _same_row(core.observe_row(0), DosingCore.observe_row(core, 0))
            if done:
                ended += core.records.selected[0] >= 0
                break
            _, _, done, _, _ = env.step(env.action_space.sample())
    env.reset(seed=0)
    for _ in range(scenario.max_cohorts):  # a full trial: a recommendation, relative utility
        env.step(scenario.start_level)
    _same_row(core.info_row(0), DosingCore.info_row(core, 0))
    assert core.records.selected[0] >= 0


@pytest.mark.parametrize("n_doses, target", [(5, 0.35), (3, 0.25), (8, 0.3)])
def test_efftox_kernel__drawn_truths_are_the_generators(n_doses: int, target: float) -> None:
    """Compiled truths equal ``RandomEfficacyToxicity.sample`` per generator, state included."""
    model = RandomEfficacyToxicity(n_doses=n_doses, target_dlt_rate=target)
    scenario = DoseFindingEffToxScenario(n_doses=n_doses, target_dlt_rate=target,
                                         random_truth=model)
    core = DoseFindingEffToxCore(1, scenario, scenario.reward, EffToxCounts())
    rngs = [np.random.default_rng(seed) for seed in range(200)]
    tox, eff, both = core._draw_truths(bitgen_addresses(rngs))
    for k, seed in enumerate(range(200)):
        reference = np.random.default_rng(seed)
        expected = model.sample(reference)
        for got, want in zip((tox[k], eff[k], both[k]), expected, strict=True):
            np.testing.assert_array_equal(got, want)
        assert rngs[k].random() == reference.random()  # the same numbers consumed


def test_efftox_kernel__utility_table_equals_phase12_utilities() -> None:
    """The compiled utilities are numpy's, bit for bit."""
    rng = np.random.default_rng(2)
    tox, eff = rng.uniform(0.01, 0.9, (50, 6)), rng.uniform(0.01, 0.9, (50, 6))
    both = tox * eff
    np.testing.assert_array_equal(kernel.utility_table(tox, eff, both, 35.0, 65.0),
                                  phase12_utilities(tox, eff, both, 35.0, 65.0))
