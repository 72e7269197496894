"""The compiled week of escitalopram equals the numpy day loop it replaced, bit for bit."""

from __future__ import annotations

import numpy as np

from pkgym.models.depression_drug import (
    DAYS_PER_WEEK,
    Escitalopram,
    advance_week,
    adverse_probability,
)
from pkgym.units import HOURS_PER_DAY


def reference_week(amount_mg, effect, daily_dose_mg, clearance_l_per_h, drug):  # noqa: ANN001, ANN201
    """:func:`advance_week` as numpy, before its day loop was compiled."""
    k = np.asarray(clearance_l_per_h, dtype=np.float64) / drug.volume_l
    decay = np.exp(-k * HOURS_PER_DAY)
    mean_factor = -np.expm1(-k * HOURS_PER_DAY) / (k * HOURS_PER_DAY)
    relax = np.exp(-1.0 / (DAYS_PER_WEEK * drug.onset_time_constant_weeks))
    amount, e = np.asarray(amount_mg, np.float64).copy(), np.asarray(effect, np.float64).copy()
    daily, occupancy = np.empty((amount.size, DAYS_PER_WEEK)), np.zeros(amount.size)
    for day in range(DAYS_PER_WEEK):
        amount += daily_dose_mg
        daily[:, day] = amount / drug.volume_l * mean_factor
        occ = daily[:, day] / (drug.sert_ec50_mg_per_l + daily[:, day])
        e = occ + (e - occ) * relax
        occupancy += occ / DAYS_PER_WEEK
        amount *= decay
    conc = daily.mean(axis=1)
    return {"amount_mg": amount, "effect": e, "daily_mg_per_l": daily,
            "concentration_mg_per_l": conc, "occupancy": occupancy,
            "adverse_probability": adverse_probability(conc, drug)}


def test_advance_week__equals_the_numpy_day_loop() -> None:
    """Random patients, doses and states (n = 1 and 257): every output identical."""
    drug = Escitalopram(onset_time_constant_weeks=1.5)
    rng = np.random.default_rng(4)
    for n in (1, 257):
        args = (rng.random(n) * 40, rng.random(n), rng.choice([0.0, 5.0, 10.0, 20.0], n),
                rng.lognormal(np.log(36.0), 0.3, n))
        compiled, expected = advance_week(*args, drug), reference_week(*args, drug)
        assert compiled.keys() == expected.keys()
        for key, value in expected.items():
            assert np.array_equal(compiled[key], value), key
