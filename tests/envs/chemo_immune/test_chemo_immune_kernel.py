"""The compiled day bookkeeping writes what numpy's fancy indexing wrote, value for value."""

from __future__ import annotations

import numpy as np

from pkgym.envs.chemo_immune.kernel import record_doses, record_measured, record_morning


def _arrays(n: int, n_days: int, seed: int) -> dict[str, np.ndarray]:
    """Random records of n patients (arrays as the records hold them)."""
    rng = np.random.default_rng(seed)
    return {"doses": rng.random((n, n_days)), "doses_f32": rng.random((n, n_days), np.float32),
            "last_dose": rng.random(n), "states": rng.random((n, 4)),
            "course": rng.random((n, n_days + 1, 4)),
            "normals": rng.standard_normal((n, n_days + 1, 3)),
            "day": rng.integers(0, n_days, n), "measured": rng.random((n, n_days + 1, 3),
                                                                     np.float32),
            "measured_now": rng.random((n, 3), np.float32),
            "below_floor": rng.random((n, n_days)) < 0.5,
            "days_below_floor": rng.integers(0, 9, n)}


def test_chemo_immune_kernel__records_equal_the_numpy_fancy_indexing() -> None:
    """Shuffled rows, mixed days: every array byte-identical to the numpy writes."""
    n, n_days = 57, 12
    rng = np.random.default_rng(0)
    rows = rng.permutation(n)[:40]
    doses = rng.random(rows.size) * 1.7
    measured = rng.random((rows.size, 3)).astype(np.float32)
    below = rng.random(rows.size) < 0.5
    expected, got = _arrays(n, n_days, 1), _arrays(n, n_days, 1)
    day = expected["day"][rows]
    e = expected
    e["doses"][rows, day], e["doses_f32"][rows, day], e["last_dose"][rows] = doses, doses, doses
    e["day"][rows] = day + 1
    e["course"][rows, day + 1] = e["states"][rows]
    e["measured"][rows, day + 1], e["measured_now"][rows] = measured, measured
    e["below_floor"][rows, day] = below
    e["days_below_floor"][rows] += below
    g = got
    record_doses(rows, day, doses, g["doses"], g["doses_f32"], g["last_dose"])
    after, noise = np.empty((rows.size, 4)), np.empty((rows.size, 3))
    record_morning(rows, day, g["states"], g["course"], g["normals"], g["day"], after, noise)
    record_measured(rows, day, measured, below, g["measured"], g["measured_now"],
                    g["below_floor"], g["days_below_floor"])
    for key, values in expected.items():
        assert got[key].dtype == values.dtype and got[key].tobytes() == values.tobytes(), key
    assert after.tobytes() == expected["states"][rows].tobytes()
    assert noise.tobytes() == expected["normals"][rows, day + 1].tobytes()
