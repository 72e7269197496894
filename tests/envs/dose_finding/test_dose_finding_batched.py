"""``pkgym/DoseFinding-v0``'s batched paths equal the per-slot template and numpy references."""

from __future__ import annotations

import dataclasses
import functools

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.base import DosingCore
from pkgym.envs.dose_finding.clinic import CohortOutcome, DoseFindingEnvScenario
from pkgym.envs.dose_finding.core import DoseFindingCore, assign_levels
from pkgym.envs.dose_finding.records import TrialRecords, treat_cohort

ENV_ID = "pkgym/DoseFinding-v0"
TRUTH = (0.10, 0.25, 0.40, 0.55, 0.70)
SCENARIOS = [DoseFindingEnvScenario(), DoseFindingEnvScenario(true_dlt_probabilities=TRUTH),
             DoseFindingEnvScenario(max_sample_size=12, cohort_size=2, allow_skipping=True,
                                    start_level=1)]


def _vec(n: int, scenario: DoseFindingEnvScenario, template: bool = False) -> gym.vector.VectorEnv:
    """The native vector env; ``template``: its core runs the per-slot reset of DosingCore."""
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    if template:
        core = vec.unwrapped.core
        core.episode_draws = functools.partial(DoseFindingCore.episode_draws, core)
    return vec


def _assert_same_records(a: TrialRecords, b: TrialRecords) -> None:
    for field in dataclasses.fields(TrialRecords):
        x, y = getattr(a, field.name), getattr(b, field.name)
        np.testing.assert_array_equal(x, y, err_msg=field.name)
        assert x.dtype == y.dtype and x.shape == y.shape, field.name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_dose_finding_core__batched_resets_equal_the_per_slot_template(
        scenario: DoseFindingEnvScenario) -> None:
    """Mixed pinned and drawn trials, masked resets and autoresets: the same records."""
    n, pins = 9, [None, {"true_dlt_probabilities": TRUTH, "id": 4}, None] * 3
    envs = [_vec(n, scenario), _vec(n, scenario, template=True)]
    rng = np.random.default_rng(0)
    outs = [env.reset(seed=3, options={"patients": pins}) for env in envs]
    for _ in range(30):
        _assert_same_records(*(env.unwrapped.core.records for env in envs))
        for key, value in outs[0][0].items():
            np.testing.assert_array_equal(value, outs[1][0][key], err_msg=key)
        actions = rng.integers(0, scenario.n_doses + 1, n)
        outs = [env.step(actions) for env in envs]
    mask = np.arange(n) % 2 == 0
    for env in envs:
        env.reset(options={"reset_mask": mask, "patients": pins[:5]})
    _assert_same_records(*(env.unwrapped.core.records for env in envs))



def test_dose_finding_core__a_bad_pin_leaves_the_streams_where_the_template_does() -> None:
    """A reset failing on a bad pinned trial has drawn what the per-slot template draws."""
    n, pins = 3, [None, {"true_dlt_probabilities": (0.5, 0.4, 0.3, 0.2, 0.1)}, None]
    envs = [_vec(n, SCENARIOS[0]), _vec(n, SCENARIOS[0], template=True)]
    for env in envs:
        env.reset(seed=5)
        with pytest.raises(ValueError):
            env.reset(options={"patients": pins})
    states = [[(slot.patient.bit_generator.state, slot.events.bit_generator.state)
               for slot in env.unwrapped._streams] for env in envs]
    assert states[0] == states[1]
    outs = [env.reset()[1] for env in envs]
    np.testing.assert_array_equal(outs[0]["dlt_uniforms"], outs[1]["dlt_uniforms"])


def _reference_step(core: DoseFindingCore, rows: np.ndarray,
                    requested: np.ndarray) -> tuple[np.ndarray, ...]:
    """The numpy step the compiled kernel replaced (assign_levels, treat_cohort)."""
    r, s = core.records, core.settings
    assigned = assign_levels(r, rows, requested, s)
    stop = requested == s.n_doses
    full = r.patients[rows].sum(axis=1) >= s.max_sample_size
    treat = ~stop & ~full
    dlts, above = np.zeros(rows.size, np.int64), np.zeros(rows.size, np.int64)
    if treat.any():
        dlts[treat] = treat_cohort(r, rows[treat], assigned[treat])
        above[treat] = np.where(assigned[treat] > r.true_mtd[rows[treat]], s.cohort_size, 0)
    done = stop | full
    r.requested[rows], r.assigned[rows] = requested, assigned
    r.selected[rows] = np.where(full & ~stop, assigned, -1)
    r.finished[rows] = done
    correct = done & (r.selected[rows] == r.true_mtd[rows])
    reward = core.reward_fn(CohortOutcome(above, dlts, correct), assigned)
    return np.asarray(reward, dtype=np.float64), done


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_dose_finding_core__compiled_step_equals_the_numpy_reference(
        scenario: DoseFindingEnvScenario) -> None:
    """Random requests (stops, skips, full trials): the same rewards, ends and records."""
    n, rng = 64, np.random.default_rng(1)
    cores = [_vec(n, scenario).unwrapped.core for _ in range(2)]
    for core in cores:
        core.reset_patients(np.arange(n), [pkgym.envs.base.spawn_streams(
            np.random.default_rng(k)) for k in range(n)], [None] * n)
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
    with pytest.raises(RuntimeError, match="reset"):
        cores[0].step(np.array([0]), np.array([0]))


def _same_row(fast: dict, default: dict) -> None:
    assert list(fast) == list(default)
    for key, value in default.items():
        assert type(fast[key]) is type(value), key
        if isinstance(value, np.ndarray):
            assert fast[key].dtype == value.dtype and fast[key].shape == value.shape, key
        np.testing.assert_array_equal(fast[key], value, err_msg=key)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_dose_finding_core__one_row_info_and_observation_equal_the_batch_rows(
        scenario: DoseFindingEnvScenario) -> None:
    """The single env's row builders give the keys, types and values of the batch's row."""
    env = gym.make(ENV_ID, scenario=scenario).unwrapped
    env.action_space.seed(0)
    core = env.core
    for episode in range(6):
        env.reset(seed=episode)
        done = False
        while True:
            _same_row(core.info_row(0), DosingCore.info_row(core, 0))
            _same_row(core.observe_row(0), DosingCore.observe_row(core, 0))
            if done:
                break
            _, _, done, _, _ = env.step(env.action_space.sample())


def test_dose_finding_kernel__count_sums_equal_numpys() -> None:
    """Compiled row sums and patients above the MTD equal the numpy expressions they replace."""
    from pkgym.envs.dose_finding.kernel import patients_above, row_sums

    rng = np.random.default_rng(2)
    patients = rng.integers(0, 40, (300, 5))
    true_mtd = rng.integers(0, 5, 300)
    levels = np.arange(5)[None, :]
    np.testing.assert_array_equal(row_sums(patients), patients.sum(axis=1))
    np.testing.assert_array_equal(patients_above(true_mtd, patients), np.where(
        levels > true_mtd[:, None], patients, 0).sum(axis=1))
