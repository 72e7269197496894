"""Docetaxel baselines: nadir forecasts, the oracle and the label's dose rules."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from chemotherapy_helpers import (
    ENV_ID,
    LEVELS,
    MODEL,
    N_CYCLES,
    ORACLE_ETAS,
    _covariates,
    _label_doses,
    _observation,
    _patients,
    _vector_env,
)

import pkgym  # noqa: F401  (registers pkgym/Chemotherapy-v0)
from agents.policies.chemotherapy.baselines import (
    PLANNING_SOLVER,
    ChemoOraclePolicy,
    LabelRulesPolicy,
    forecast_nadir,
    highest_safe_percent,
)
from agents.policies.registry import make_policy
from pkgym.evaluation.policy import Policy
from pkgym.models.chemotherapy_kernel import advance_cycles, initial_states

# ----- forecast_nadir and highest_safe_percent ---------------------------------------------

def _mid_course(etas_slope: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    """Typical patients with these Slope etas after one cycle at 75 mg/m2: params, states, t."""
    n = len(etas_slope)
    etas = np.zeros((n, 7))
    etas[:, 3] = etas_slope
    params = MODEL.parameters(_covariates(n), etas)
    states, times = initial_states(params, np.full(n, 70.0)), np.zeros(n)
    advance_cycles(np.arange(n), np.full(n, 75.0 * 1.8), np.zeros(n, np.int64), np.full(n, 21),
                   1.0, times, states, params.copy(), 1e-8, 1e-10, 100_000, np.empty((n, 21)))
    return params, states, times


def test_forecast_nadir__equals_the_lowest_daily_anc_of_run_cycles():
    """From the drug-free state the forecast is run_cycles' lowest daily ANC (looser solver)."""
    etas = np.zeros((3, 7))
    etas[1, 3], etas[2, 1] = 0.5, -0.3
    params = MODEL.parameters(_covariates(3), etas)
    doses = np.array([135.0, 100.0, 180.0])
    nadir = forecast_nadir(params, initial_states(params, np.full(3, 70.0)), np.zeros(3), doses,
                           1.0, 21)
    anc, _ = MODEL.run_cycles(params, np.full(3, 70.0), doses[:, None])
    np.testing.assert_allclose(nadir, anc.min(axis=1), rtol=1e-3)


@pytest.mark.parametrize("mid_course", [False, True])
def test_highest_safe_percent__chosen_level_is_safe_and_the_next_one_up_is_not(mid_course):
    """Each level forecast alone: the chosen one's nadir >= 0.5, the next level's < 0.5."""
    params, states, times = _mid_course((0.0, 0.5, -0.2))
    if not mid_course:
        states, times = initial_states(params, np.full(3, 70.0)), np.zeros(3)
    chosen = highest_safe_percent(params, states, times, np.full(3, 1.8), LEVELS, 75.0, 1.0, 21)
    assert np.all((chosen > 0) & (chosen < LEVELS[-1])), chosen  # interior: both checks bite
    for i in range(3):
        nadirs = [forecast_nadir(params[i:i + 1], states[i:i + 1], times[i:i + 1],
                                 np.array([level / 100 * 75.0 * 1.8]), 1.0, 21)[0]
                  for level in LEVELS]
        k = int(np.flatnonzero(LEVELS == chosen[i])[0])
        assert nadirs[k] >= 0.5 > nadirs[k + 1], (i, chosen[i], nadirs)


def test_highest_safe_percent__steeper_slope_gets_a_lower_level():
    """Slope eta -0.5, 0, +0.5 (same covariates): strictly falling dose levels."""
    params, _, _ = _mid_course((-0.5, 0.0, 0.5))
    chosen = highest_safe_percent(params, initial_states(params, np.full(3, 70.0)), np.zeros(3),
                                  np.full(3, 1.8), LEVELS, 75.0, 1.0, 21)
    assert chosen[0] > chosen[1] > chosen[2], chosen


def test_highest_safe_percent__no_safe_level_gives_the_lowest():
    """Above every level's nadir floor (ANC 50): the lowest level, not an error."""
    params, states, times = _mid_course((0.0,))
    chosen = highest_safe_percent(params, states, times, np.array([1.8]), LEVELS[1:], 75.0, 1.0,
                                  21, floor_anc=50.0)
    assert chosen.tolist() == [50.0]


def test_forecast_nadir__does_not_modify_its_inputs():
    """Params, states, times, doses and delays are the same after forecasting (copies used)."""
    params, states, times = _mid_course((0.0, 0.3))
    inputs = (params, states, times, np.array([135.0, 100.0]), np.array([0, 7]))
    before = [a.copy() for a in inputs]
    forecast_nadir(*inputs[:4], 1.0, 21, delay_days=inputs[4])
    highest_safe_percent(params, states, times, np.full(2, 1.8), LEVELS, 75.0, 1.0, 21)
    for after, original in zip(inputs, before, strict=True):
        np.testing.assert_array_equal(after, original)


def test_forecast_nadir__a_delay_lets_counts_recover_first():
    """Ten days after a dose (near the nadir), waiting 7 days gives a higher next nadir."""
    params = MODEL.parameters(_covariates(1))
    states, times = initial_states(params, np.array([70.0])), np.zeros(1)
    advance_cycles(np.arange(1), np.array([135.0]), np.zeros(1, np.int64), np.array([10]), 1.0,
                   times, states, params.copy(), 1e-8, 1e-10, 100_000, np.empty((1, 21)))
    now, delayed = (forecast_nadir(params, states, times, np.array([135.0]), 1.0, 21,
                                   delay_days=np.array([d]), solver=PLANNING_SOLVER)[0]
                    for d in (0, 7))
    assert delayed > now + 0.1, (now, delayed)


# ----- the oracle ---------------------------------------------------------------------------

def test_oracle__reads_hidden_state_and_needs_info():
    """Flagged as reading the truth; without info (or its parameters) a clear ValueError."""
    env = _vector_env(2)
    observation, info = env.reset(seed=0)
    oracle = make_policy("oracle", env.unwrapped.core)
    assert isinstance(oracle, ChemoOraclePolicy) and oracle.reads_hidden_state
    assert isinstance(oracle, Policy)
    with pytest.raises(ValueError, match="needs the env's info"):
        oracle.act(observation)
    with pytest.raises(ValueError, match="model_parameters"):
        oracle.act(observation, {k: v for k, v in info.items() if k != "model_parameters"})


def test_oracle__never_causes_grade4_neutropenia_in_the_env():
    """Five pinned patients, six cycles: no grade 4 (nor febrile) neutropenia, yet real doses."""
    patients = _patients(np.array(ORACLE_ETAS), eta_KL=-1.0)  # slow growth: few progressions
    env = _vector_env(len(patients))
    core = env.unwrapped.core
    oracle = make_policy("oracle", core)
    observation, info = env.reset(seed=3, options={"patients": patients})
    oracle.reset(len(patients))
    alive, doses = np.ones(len(patients), bool), []
    for _ in range(N_CYCLES):
        decision = oracle.act(observation, info)
        observation, _, terminated, truncated, info = env.step(core.encode_decisions(decision,
                                                                                     False))
        doses.append(np.where(alive, decision, np.nan))
        assert not np.any(info["grade4_neutropenia"][alive]), info["anc_nadir_1e9_per_l"]
        assert not np.any(info["febrile_neutropenia"][alive])
        assert np.all(info["anc_nadir_1e9_per_l"][alive] >= 0.5)
        alive &= ~(terminated | truncated)
    given = np.array(doses)
    assert np.nanmean(given) >= 60.0 and np.nanmax(given) >= 100.0  # not safe by withholding
    assert np.unique(given[~np.isnan(given)]).size >= 3  # individualised


def test_oracle__with_delays_returns_dose_and_no_delay_pairs():
    """allow_delay=True: (n, 2) decisions, the plain oracle's dose and a zero delay column."""
    env = _vector_env(3, allow_delay=True)
    observation, info = env.reset(seed=1)
    core = env.unwrapped.core
    pairs = make_policy("oracle", core).act(observation, info)
    plain = ChemoOraclePolicy(LEVELS, 75.0, 1.0, 21).act(observation, info)
    assert pairs.shape == (3, 2)
    np.testing.assert_array_equal(pairs[:, 0], plain)
    np.testing.assert_array_equal(pairs[:, 1], 0.0)
    env.step(core.encode_decisions(pairs, False))  # the env accepts them


# ----- label rules --------------------------------------------------------------------------

def test_label_rules__hand_built_observations_fit_the_env_space():
    """The hand-built observations below are valid clinic observations (same keys and bounds)."""
    space = gymnasium.make(ENV_ID).observation_space
    for observation in (_observation(0), _observation(3, {7: 0.3, 8: 0.2}, (2,))):
        assert space.contains({k: v[0] for k, v in observation.items()})


def test_label_rules__febrile_or_two_low_counts_lower_one_level_never_below_50():
    """100 -> 75 after febrile neutropenia, -> 50 after two counts < 0.5, then stays at 50."""
    policy = LabelRulesPolicy(LEVELS)
    policy.reset(1)
    course = [_observation(0), _observation(1, febrile_cycles=(0,)),
              _observation(2, {4: 0.3, 5: 0.45}), _observation(3, febrile_cycles=(2,)),
              _observation(4, {10: 0.2, 11: 0.1}, (3,)), _observation(5)]
    assert _label_doses(policy, course) == [[100.0], [75.0], [50.0], [50.0], [50.0], [50.0]]


def test_label_rules__one_low_count_or_an_older_cycle_does_not_reduce():
    """A single count < 0.5, counts of 0.5 exactly, or low counts two cycles ago: no change."""
    for observation in (_observation(2, {4: 0.3, 5: 0.8}), _observation(2, {4: 0.5, 5: 0.5}),
                        _observation(2, {1: 0.2, 2: 0.2}), _observation(2, febrile_cycles=(0,))):
        policy = LabelRulesPolicy(LEVELS)
        policy.reset(1)
        assert _label_doses(policy, [observation]) == [[100.0]]


def test_label_rules__low_day1_anc_delays_or_lowers_this_cycle_only():
    """Day-1 ANC < 1.5: a delay (dose kept) with delays, else one level lower this cycle only."""
    low = {0: 1.2}  # cycle 0's day-1 count
    delaying, lowering = LabelRulesPolicy(LEVELS, allow_delay=True), LabelRulesPolicy(LEVELS)
    delaying.reset(1)
    lowering.reset(1)
    course = [_observation(0, low), _observation(1), _observation(2, {6: 1.49}),
              _observation(3, {9: 1.5})]
    assert _label_doses(delaying, course) == [[100.0, 1.0], [100.0, 0.0], [100.0, 1.0],
                                              [100.0, 0.0]]
    assert _label_doses(lowering, course) == [[75.0], [100.0], [75.0], [100.0]]


def test_label_rules__febrile_and_low_start_together_lower_twice_without_delays():
    """Febrile last cycle and day-1 ANC 1.0: 50 now (75 - one), 75 next cycle; floor holds."""
    policy = LabelRulesPolicy(LEVELS)
    policy.reset(1)
    course = [_observation(0), _observation(1, {3: 1.0}, (0,)), _observation(2),
              _observation(3, {7: 0.2, 8: 0.2, 9: 1.0})]
    assert _label_doses(policy, course) == [[100.0], [50.0], [75.0], [50.0]]


def test_label_rules__unmeasured_day1_slot_is_not_a_low_count():
    """A day-1 slot with mask 0 (value 0) neither delays nor lowers the dose."""
    observation = _observation(1)
    observation["anc_mask"][0, 3] = observation["anc_1e9_per_l"][0, 3] = 0.0
    policy = LabelRulesPolicy(LEVELS, allow_delay=True)
    policy.reset(1)
    assert _label_doses(policy, [observation]) == [[100.0, 0.0]]


def test_label_rules__cycle_zero_starts_the_next_patient_afresh():
    """After reductions to 50%, an observation at cycle 0 (a new patient) gives 100% again."""
    policy = LabelRulesPolicy(LEVELS)
    policy.reset(1)
    course = [_observation(1, febrile_cycles=(0,)), _observation(2, febrile_cycles=(1,)),
              _observation(0), _observation(1)]
    assert _label_doses(policy, course) == [[75.0], [50.0], [100.0], [100.0]]


def test_label_rules__batched_equals_per_env():
    """Four patients' courses stacked into one batch: the same decisions as four policies."""
    courses = [
        [_observation(0), _observation(1, febrile_cycles=(0,)), _observation(2, {6: 1.0}),
         _observation(3, {7: 0.3, 8: 0.3})],
        [_observation(0, {0: 1.4}), _observation(1), _observation(2), _observation(3)],
        [_observation(0), _observation(1, {1: 0.2, 2: 0.1}), _observation(2, {4: 0.4, 5: 0.1}),
         _observation(0)],
        [_observation(0), _observation(1, {3: 0.9}), _observation(2, febrile_cycles=(1,)),
         _observation(3, febrile_cycles=(2,))]]
    for allow_delay in (False, True):
        batched = LabelRulesPolicy(LEVELS, allow_delay=allow_delay)
        batched.reset(4)
        together = [batched.act({k: np.concatenate([c[t][k] for c in courses])
                                 for k in courses[0][t]}) for t in range(4)]
        for i, course in enumerate(courses):
            alone = LabelRulesPolicy(LEVELS, allow_delay=allow_delay)
            alone.reset(1)
            assert _label_doses(alone, course) == [np.atleast_1d(d[i]).tolist() for d in together]
        assert len({tuple(np.ravel(d)) for d in together}) > 1  # the rules did fire
