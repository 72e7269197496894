"""Redish 2004's claims about the TD-learning patient (:mod:`pkgym.models.addiction`)."""

from __future__ import annotations

import numpy as np

from pkgym.models.addiction import (
    CHOICE,
    DRUG,
    NATURAL,
    Redish2004,
    choice_probabilities,
    td_day,
    td_error,
)

GAMMA, ALPHA, D = 0.8, 0.1, 0.1


def loop(option: int, days: int, reward: float = 1.0) -> np.ndarray:
    """Values after choosing ``option`` every day (one patient)."""
    values = np.zeros((1, 4))
    for _ in range(days):
        values = td_day(values, np.array([option]), np.array([reward]), np.array([D]),
                        np.zeros(1), np.array([ALPHA]), GAMMA)
    return values[0]


def test_td_day__drug_value_grows_without_bound_natural_converges() -> None:
    """V(drug) keeps rising by ~alpha D per use; V(natural) settles at r / (1 - gamma^2)."""
    drug = [loop(0, n)[DRUG] for n in (500, 1000, 1500)]
    assert drug[1] - drug[0] > 0.8 * ALPHA * D * 500 * (1 - GAMMA**2)
    assert drug[2] - drug[1] > 0.9 * (drug[1] - drug[0])
    natural = loop(1, 2000)
    np.testing.assert_allclose(natural[NATURAL], 1.0 / (1 - GAMMA**2), rtol=1e-6)
    np.testing.assert_allclose(natural[CHOICE], GAMMA / (1 - GAMMA**2), rtol=1e-6)


def test_choice_probabilities__drug_seeking_less_cost_sensitive() -> None:
    """After equal exposure, raising the cost lowers drug choice less than natural choice."""
    drug_v, natural_v = loop(0, 300), loop(1, 300)
    costs = np.linspace(0.0, 3.0, 7)
    beta = np.array([3.0])

    def share(values: np.ndarray, option: int, cost: float) -> float:
        both = values.copy()
        both[1 + (1 - option)] = 0.5  # the competing option: a modest fixed value
        both[3] = 0.0
        c = np.zeros(3)
        c[option] = cost
        return float(choice_probabilities(both[None], c, beta)[0, option])

    drug_curve = [share(drug_v, 0, c) for c in costs]
    natural_curve = [share(natural_v, 1, c) for c in costs]
    assert drug_curve[-1] > natural_curve[-1] + 0.3
    assert drug_curve[0] - drug_curve[-1] < natural_curve[0] - natural_curve[-1]


def test_td_error__kamin_blocking_fails_for_drug_holds_for_natural() -> None:
    """Pretrain cue A to predict the reward; then A+B: B learns ~0 for natural, > 0 for drug."""
    def blocking(dopamine: float) -> float:
        a, b = 0.0, 0.0
        for _ in range(500):  # cue A alone predicts reward 1
            a += ALPHA * float(td_error(np.array([1.0]), np.zeros(1), np.array([a]), GAMMA,
                                        np.array([dopamine]), np.array([dopamine > 0]))[0])
        for _ in range(200):  # compound A+B: prediction is the sum, both learn the error
            delta = float(td_error(np.array([1.0]), np.zeros(1), np.array([a + b]), GAMMA,
                                   np.array([dopamine]), np.array([dopamine > 0]))[0])
            a, b = a + ALPHA * delta, b + ALPHA * delta
        return b

    assert abs(blocking(0.0)) < 1e-6
    assert blocking(D) > 200 * ALPHA * D * 0.99


def test_redish2004__patients_vary_and_reject_bad_values() -> None:
    """Etas move the individual parameters; out-of-range values fail naming the field."""
    p = Redish2004().patients(np.array([[1.0, 0.5, 0.0, 0.0]]))
    assert 0.1 < p["learning_rate"][0] < 1 and p["dopamine_surge"][0] > 0.1
    try:
        Redish2004(learning_rate=1.5)
    except ValueError as error:
        assert "learning_rate" in str(error)
    else:
        raise AssertionError("no error")


def test_vouchers__escalate_with_consecutive_negatives_and_reset_on_a_positive() -> None:
    """Higgins-style schedule: base, base + increment, ...; a positive test pays 0 and resets."""
    from pkgym.models.addiction_treatment import TreatmentPharmacology, vouchers

    pharmacology = TreatmentPharmacology(voucher_reward=2.5, voucher_increment=1.25)
    streak, paid = np.zeros(1, dtype=np.int64), []
    for negative in (True, True, True, False, True):
        pay, streak = vouchers(np.array([negative]), streak, pharmacology)
        paid.append(float(pay[0]))
    assert paid == [2.5, 3.75, 5.0, 0.0, 2.5]


def test_treatment_pharmacology__half_life_beyond_the_bound_is_refused_by_name() -> None:
    """A half-life whose daily retention rounds to 1 (1e18 h) is refused, naming the field."""
    import pytest

    from pkgym.models.addiction_treatment import MAX_HALF_LIFE_H, TreatmentPharmacology

    with pytest.raises(ValueError, match=r"buprenorphine_half_life_h must be in \(0, 10000\] h"):
        TreatmentPharmacology(buprenorphine_half_life_h=1e18)
    kept = TreatmentPharmacology(naltrexone_half_life_h=MAX_HALF_LIFE_H)
    assert np.all(np.isfinite(kept.half_occupancy_amounts_mg))
