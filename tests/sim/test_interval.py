"""One dosing interval in closed form, against the general exact simulator."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.sim import DoseSchedule, compartment_params, modal_basis, simulate_linear
from pkgym.sim.interval import infuse_interval


def test_infuse_interval__matches_simulate_linear_for_patients_with_drug_on_board() -> None:
    """Levels at arbitrary offsets, the end state and the AUC equal the general solver's."""
    rng = np.random.default_rng(4)
    n = 6
    params = compartment_params(rng.uniform(1, 8, n), rng.uniform(20, 80, n),
                                intercompartmental_clearance_l_per_h=(rng.uniform(2, 10, n),),
                                peripheral_volume_l=(rng.uniform(20, 80, n),))
    previous = DoseSchedule(time_h=np.zeros((n, 1)), amount_mg=rng.uniform(500, 2000, (n, 1)),
                            duration_h=np.ones((n, 1)), route=np.zeros((n, 1), dtype=np.int8))
    start = simulate_linear(params, previous, np.array([12.0])).final_state
    doses, durations = rng.uniform(0, 3000, n), rng.uniform(0.5, 3.0, n)
    offsets = np.stack([rng.uniform(0, 12, n), np.full(n, 11.5)], axis=1)
    basis = modal_basis(params)
    modes = np.einsum("nij,nj->ni", basis.to_modal, start.amounts_mg)
    result = infuse_interval(basis, modes, params.clearance_l_per_h, doses, durations, 12.0,
                             offsets)
    schedule = DoseSchedule(time_h=np.full((n, 1), 12.0), amount_mg=doses[:, None],
                            duration_h=durations[:, None], route=np.zeros((n, 1), dtype=np.int8))
    for k in range(n):
        times = np.sort(np.append(12.0 + offsets[k], 24.0))
        one = slice(k, k + 1)
        exact = simulate_linear(
            compartment_params(params.clearance_l_per_h[one], params.central_volume_l[one],
                               intercompartmental_clearance_l_per_h=(
                                   params.intercompartmental_clearance_l_per_h[one, 0],),
                               peripheral_volume_l=(params.peripheral_volume_l[one, 0],)),
            DoseSchedule(time_h=schedule.time_h[one], amount_mg=schedule.amount_mg[one],
                         duration_h=schedule.duration_h[one], route=schedule.route[one]),
            times, initial_state=type(start)(start.amounts_mg[one], start.depot_mg[one]),
            start_h=12.0)
        expected = dict(zip(times.tolist(), exact.concentration_mg_per_l[0], strict=True))
        got = [expected[12.0 + o] for o in offsets[k]]
        np.testing.assert_allclose(result.concentrations_mg_per_l[k], got, rtol=1e-10)
        assert result.auc_mg_h_per_l[k] == pytest.approx(exact.auc_mg_h_per_l[0, -1], rel=1e-9)
    amounts = np.einsum("nij,nj->ni", basis.from_modal, result.modes)
    assert np.all(amounts > 0)


def test_infuse_interval__rejects_bad_durations_and_doses() -> None:
    """An infusion longer than the interval, or a negative dose, is a ValueError."""
    basis = modal_basis(compartment_params(5.0, 50.0))
    args = (basis, np.zeros((1, 1)), np.array([5.0]))
    with pytest.raises(ValueError, match="duration_h"):
        infuse_interval(*args, np.array([100.0]), np.array([13.0]), 12.0, np.zeros((1, 0)))
    with pytest.raises(ValueError, match="dose_mg"):
        infuse_interval(*args, np.array([-1.0]), np.array([1.0]), 12.0, np.zeros((1, 0)))
