"""Huys 2013 reward-sensitivity learner in the PRT, and the escitalopram model behind it."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.depression import (
    LEAN_CORRECT,
    RICH_CORRECT,
    Huys2013,
    ProbabilisticRewardTask,
    response_bias,
    session_uniforms,
    simulate_prt,
)
from pkgym.models.depression_drug import (
    DepressionPatientModel,
    Escitalopram,
    advance_week,
    reward_sensitivity,
    symptom_score,
)

TASK = ProbabilisticRewardTask()
N = 4000


def sessions(rho: float, epsilon: float, gamma: float = 1.5, n_trials: int = 300,
             seed: int = 0) -> np.ndarray:
    """Answer counts of N simulated subjects sharing one parameter set."""
    u = session_uniforms(np.arange(N, dtype=np.uint64) + np.uint64(seed * N), n_trials)
    return simulate_prt(np.full(N, rho), np.full(N, epsilon), np.full(N, gamma), u)


def mean_field_counts(rho: float, epsilon: float, gamma: float, n_trials: int) -> np.ndarray:
    """Expected answer counts from the deterministic mean-field recursion, computed here.

    E[Q(s, a)] <- E[Q] + epsilon P(s) P(a | s; E[Q]) (rho p_reward(s, a) - E[Q]).
    """
    q = np.zeros((2, 2))
    p_reward = np.array([[TASK.p_reward_rich, 0.0], [0.0, TASK.p_reward_lean]])
    counts = np.zeros(4)
    for _ in range(n_trials):
        p_rich = 1 / (1 + np.exp(-(gamma * np.array([1.0, -1.0]) + q[:, 0] - q[:, 1])))
        choice = np.stack([p_rich, 1 - p_rich], axis=1)  # (stimulus, answer)
        counts += 0.5 * np.array([choice[0, 0], choice[0, 1], choice[1, 1], choice[1, 0]])
        q += epsilon * 0.5 * choice * (rho * p_reward - q)
    return counts


def test_simulate_prt__lower_reward_sensitivity_gives_a_lower_response_bias() -> None:
    """Halving rho (healthy -> MDD) lowers the pooled response bias, as mean-field predicts."""
    for rho in (1.0, 0.5):
        pooled = response_bias(sessions(rho, 0.1).sum(axis=0, keepdims=True) / N)[0]
        expected = response_bias(mean_field_counts(rho, 0.1, 1.5, 300)[None])[0]
        assert pooled == pytest.approx(expected, abs=0.01), rho
    healthy = response_bias(sessions(1.0, 0.1)).mean()
    mdd = response_bias(sessions(0.5, 0.1, seed=1)).mean()
    assert healthy - mdd > 0.07


def test_simulate_prt__lower_learning_rate_slows_the_development_of_the_bias() -> None:
    """After 60 trials the bias of epsilon 0.02 lags that of epsilon 0.1 by the mean-field gap."""
    fast = response_bias(sessions(1.0, 0.1, n_trials=60).sum(axis=0, keepdims=True) / N)[0]
    slow = response_bias(sessions(1.0, 0.02, n_trials=60).sum(axis=0, keepdims=True) / N)[0]
    assert fast == pytest.approx(response_bias(mean_field_counts(1.0, 0.1, 1.5, 60)[None])[0],
                                 abs=0.01)
    assert slow == pytest.approx(response_bias(mean_field_counts(1.0, 0.02, 1.5, 60)[None])[0],
                                 abs=0.01)
    assert fast - slow > 0.05


def test_simulate_prt__large_gamma_answers_as_instructed_and_stimuli_are_balanced() -> None:
    """With gamma >> rho every answer is correct and each stimulus comes half the time."""
    counts = sessions(1.0, 0.1, gamma=60.0, n_trials=100)
    assert counts[:, [1, 3]].sum() == 0.0
    assert counts[:, RICH_CORRECT].sum() / (100.0 * N) == pytest.approx(0.5, abs=0.01)
    assert counts[:, LEAN_CORRECT].sum() / (100.0 * N) == pytest.approx(0.5, abs=0.01)


def test_simulate_prt__closed_form_expected_q_gives_the_steady_state_accuracy() -> None:
    """Late-trial accuracies match sigma(gamma + rho p) for rich and lean stimuli (Q(wrong) = 0)."""
    gamma, rho = 1.5, 1.0
    early = sessions(rho, 0.2, gamma, n_trials=200)
    late = sessions(rho, 0.2, gamma, n_trials=400, seed=0) - early
    rich = late[:, 0].sum() / late[:, :2].sum()
    lean = late[:, 2].sum() / late[:, 2:].sum()
    assert rich == pytest.approx(1 / (1 + np.exp(-(gamma + rho * 0.75))), abs=0.01)
    assert lean == pytest.approx(1 / (1 + np.exp(-(gamma + rho * 0.30))), abs=0.01)


def test_simulate_prt__bad_input_raises() -> None:
    """Mismatched shapes and out-of-range parameters are errors."""
    u = session_uniforms(np.arange(2, dtype=np.uint64), 10)
    with pytest.raises(ValueError, match="uniforms"):
        simulate_prt(np.ones(3), np.full(3, 0.1), np.ones(3), u)
    with pytest.raises(ValueError, match="learning_rate"):
        simulate_prt(np.ones(2), np.array([0.1, 1.5]), np.ones(2), u)
    with pytest.raises(ValueError):
        ProbabilisticRewardTask(p_reward_rich=0.2, p_reward_lean=0.3)
    with pytest.raises(ValueError):
        Huys2013(reward_sensitivity_mdd=2.0)


def test_advance_week__matches_superposition_of_daily_doses() -> None:
    """Daily mean concentrations equal the closed-form integral of summed exponentials."""
    drug, cl = Escitalopram(), np.array([36.0, 20.0])
    amount, effect = np.zeros(2), np.zeros(2)
    doses = [10.0, 20.0, 5.0]
    daily = []
    for dose in doses:
        out = advance_week(amount, effect, np.full(2, dose), cl, drug)
        amount, effect = out["amount_mg"], out["effect"]
        daily.append(out["daily_mg_per_l"])
    got = np.concatenate(daily, axis=1)
    k = cl / drug.volume_l
    given = np.repeat(doses, 7)
    for day in range(21):
        t0, t1 = 24.0 * day, 24.0 * (day + 1)
        times = 24.0 * np.arange(day + 1)
        # integral over [t0, t1] of sum_i D_i / V exp(-k (t - t_i)), divided by 24 h
        integral = sum(given[i] / drug.volume_l * (np.exp(-k * (t0 - ti)) - np.exp(-k * (t1 - ti)))
                       / k for i, ti in enumerate(times))
        np.testing.assert_allclose(got[:, day], integral / 24.0, rtol=1e-12)
    assert drug.half_life_h == pytest.approx(30.04, abs=0.01)


def test_advance_week__effect_compartment_lags_occupancy_by_its_time_constant() -> None:
    """At constant occupancy E approaches it as 1 - exp(-t / 2 weeks)."""
    drug = Escitalopram(clearance_l_per_h=1e-9, volume_l=1.0)  # constant concentration
    amount, effect = np.array([0.003]), np.zeros(1)
    effects = []
    for _ in range(6):
        out = advance_week(amount, effect, np.zeros(1), np.array([1e-9]), drug)
        amount, effect = out["amount_mg"], out["effect"]
        effects.append(effect[0])
    weeks = np.arange(1, 7)
    np.testing.assert_allclose(effects, 0.5 * (1 - np.exp(-weeks / 2.0)), rtol=1e-6)


def test_symptom_score__is_linear_in_log_rho_and_drug_moves_rho_towards_healthy() -> None:
    """Healthy rho gives 4, MDD rho 30; full effect restores healthy rho; no effect keeps rho0."""
    model = DepressionPatientModel()
    np.testing.assert_allclose(symptom_score(np.array([1.0, 0.5, 0.25]), model), [4, 30, 56])
    rho = reward_sensitivity(np.array([0.5, 0.5]), np.array([1.0, 0.5]), np.array([1.0, 0.0]),
                             0.0, model)
    np.testing.assert_allclose(rho, [1.0, 0.5])
