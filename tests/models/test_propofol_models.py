"""Propofol models: Eleveld 2018 typical values, the exact step vs solve_ivp, Marsh, Schnider."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pkgym.models.propofol_eleveld import (
    ETA_NAMES,
    Eleveld2018,
    advance,
    bis_of_ce,
    ce_for_bis,
    eleveld_pd,
    eleveld_pk,
    rhs,
    step_propagator,
)
from pkgym.models.propofol_tci_models import Marsh1991, marsh_pk, schnider_pk

REF = [np.array([v], dtype=float) for v in (35.0, 70.0, 170.0, 0.0, 0.0)]


def _time_to_peak_min(pk: object, dt_min: float = 1.0 / 600.0, minutes: float = 10.0) -> float:
    """Time of the effect-site peak after a bolus (0.1-s exact steps)."""
    step = step_propagator(pk, dt_min)  # type: ignore[arg-type]
    state = np.array([[100.0, 0.0, 0.0, 0.0]])
    ce = []
    for _ in range(int(minutes / dt_min)):
        state = advance(state, np.zeros(1), step)
        ce.append(state[0, 3])
    return (int(np.argmax(ce)) + 1) * dt_min


def test_eleveld__reference_individual_has_the_published_typical_values() -> None:
    """35 y, 70 kg, 170 cm man: V1 6.28, V2 25.5, V3 273 L, CL 1.79, Q3 1.11 L/min, ke0 0.146."""
    pk = eleveld_pk(Eleveld2018(), *REF)
    assert pk.v1_l[0] == pytest.approx(6.28)
    assert pk.v2_l[0] == pytest.approx(25.5)
    assert pk.v3_l[0] == pytest.approx(273.0)
    assert pk.cl_l_per_min[0] == pytest.approx(1.79)
    assert pk.q3_l_per_min[0] == pytest.approx(1.11)
    assert pk.ke0_per_min[0] == pytest.approx(0.146)
    q3_maturation = (35 * 52 + 40) / (35 * 52 + 40 + 68.3)  # Q2's (1 + 1.30 (1 - fQ3mat))
    assert pk.q2_l_per_min[0] == pytest.approx(1.75 * (1 + 1.30 * (1 - q3_maturation)))


def test_eleveld__covariates_move_the_parameters_as_table_2_says() -> None:
    """Women clear faster (2.10 vs 1.79), opioids lower CL and V3 with age, ke0 ~ weight^-0.25."""
    model = Eleveld2018()
    woman = eleveld_pk(model, *REF[:3], np.array([1.0]), np.array([0.0]))
    assert woman.cl_l_per_min[0] == pytest.approx(2.10)
    opioid = eleveld_pk(model, *REF[:4], np.array([1.0]))
    assert opioid.cl_l_per_min[0] == pytest.approx(1.79 * np.exp(-0.00286 * 35))
    assert opioid.v3_l[0] == pytest.approx(273.0 * np.exp(-0.0138 * 35))
    heavy = eleveld_pk(model, REF[0], np.array([140.0]), *REF[2:])
    assert heavy.ke0_per_min[0] == pytest.approx(0.146 * 2.0**-0.25)


def test_eleveld__pd_at_the_reference_gives_ce50_and_half_the_baseline() -> None:
    """Ce50 3.08 ug/mL; BIS at Ce50 is 93/2 = 46.5 (BIS 50 needs 0.90 Ce50); delay 21 s."""
    pd = eleveld_pd(Eleveld2018(), np.array([35.0]))
    assert pd.ce50_ug_per_ml[0] == pytest.approx(3.08)
    assert bis_of_ce(np.array([0.0, 3.08]), pd).tolist() == pytest.approx([93.0, 46.5])
    assert ce_for_bis(50.0, pd)[0] == pytest.approx(3.08 * (43.0 / 50.0) ** (1 / 1.47))
    assert pd.delay_s[0] == pytest.approx(15.0 + np.exp(0.0517 * 35.0))
    older = eleveld_pd(Eleveld2018(), np.array([75.0]))
    assert older.ce50_ug_per_ml[0] == pytest.approx(3.08 * np.exp(-0.00635 * 40))
    deep = bis_of_ce(np.array([6.16]), pd)[0]
    assert deep == pytest.approx(93.0 * (1 - 2**1.89 / (1 + 2**1.89)))


@pytest.mark.parametrize("etas", [None, "drawn"])
def test_eleveld__exact_step_matches_solve_ivp_for_bolus_and_infusions(etas: str | None) -> None:
    """A 2 mg/kg bolus then changing 10-s rates: Cp and Ce within 1e-8 of solve_ivp(1e-10)."""
    model = Eleveld2018()
    n = 3
    covariates = [np.array([35.0, 62.0, 80.0]), np.array([70.0, 55.0, 120.0]),
                  np.array([170.0, 160.0, 185.0]), np.array([0.0, 1.0, 0.0]),
                  np.array([0.0, 1.0, 1.0])]
    eta = (None if etas is None else np.random.default_rng(4).standard_normal((n, len(ETA_NAMES)))
           * np.sqrt(model.omega_variances))
    pk = eleveld_pk(model, *covariates, etas=eta)
    step = step_propagator(pk, 10.0 / 60.0)
    rates = np.random.default_rng(1).choice([0.0, 5.0, 20.0, 140.0], size=(60, n))
    state = np.zeros((n, 4))
    state[:, 0] = 2.0 * covariates[1]
    y = state.reshape(-1).copy()
    for k in range(rates.shape[0]):
        state = advance(state, rates[k], step)
        y = solve_ivp(rhs, (0.0, 10.0 / 60.0), y, args=(pk, rates[k]), method="DOP853",
                      rtol=1e-10, atol=1e-14).y[:, -1]
        reference = y.reshape(n, 4)
        np.testing.assert_allclose(state[:, 0] / pk.v1_l, reference[:, 0] / pk.v1_l, rtol=1e-8)
        np.testing.assert_allclose(state[:, 3], reference[:, 3], rtol=1e-8, atol=1e-12)


def test_eleveld__reference_time_to_peak_effect_after_a_bolus() -> None:
    """The reference patient's effect-site peak after a bolus comes at 2.9 min (ke0 0.146)."""
    assert _time_to_peak_min(eleveld_pk(Eleveld2018(), *REF)) == pytest.approx(2.91, abs=0.02)


def test_schnider__typical_time_to_peak_effect_is_the_published_1_6_min() -> None:
    """Schnider 1999: ke0 0.456 /min gives a time to peak effect of 1.6 min (53 y, 77 kg)."""
    pk = schnider_pk(np.array([53.0]), np.array([77.0]), np.array([177.0]), np.array([0.0]))
    assert pk.cl_l_per_min[0] == pytest.approx(1.89 - 0.0681 * (1.1 * 77 - 128 * (77 / 177) ** 2
                                                                  - 59.0))
    assert _time_to_peak_min(pk) == pytest.approx(1.6, abs=0.06)


def test_marsh__modified_ke0_peaks_at_1_6_min_and_volumes_scale_with_weight() -> None:
    """Struys 2000: ke0 1.2 /min gives Marsh a 1.6-min time to peak; V1 = 0.228 L/kg."""
    pk = marsh_pk(np.array([70.0, 140.0]))
    np.testing.assert_allclose(pk.v1_l, [15.96, 31.92])
    assert _time_to_peak_min(marsh_pk(np.array([70.0]))) == pytest.approx(1.6, abs=0.05)
    with pytest.raises(ValueError, match="ke0_per_min"):
        Marsh1991(ke0_per_min=0.0)


def test_step_propagator__refuses_a_negative_step() -> None:
    """A negative step length is refused with one line naming dt_min."""
    with pytest.raises(ValueError, match="dt_min"):
        step_propagator(eleveld_pk(Eleveld2018(), *REF), -1.0)
