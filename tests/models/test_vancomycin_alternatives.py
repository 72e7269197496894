"""Alternative vancomycin truths (Thomson 2009, Colin 2019) against values computed here."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pkgym.models.vancomycin import Goti2018, TwoCompartmentVancomycin, vancomycin_clearance
from pkgym.models.vancomycin_colin2019 import Colin2019
from pkgym.models.vancomycin_thomson2009 import Thomson2009
from pkgym.sim import regular_schedule, simulate_linear


def _thomson_cl(crcl: float) -> float:
    """Thomson 2009: CL = 2.99 (1 + 0.0154 (CrCL - 66)), written out independently."""
    return 2.99 * (1.0 + 0.0154 * (min(crcl, 150.0) - 66.0))


def _colin_cl(age: float, weight: float, scr: float, eta_cl: float = 0.0,
              eta_v1: float = 0.0) -> float:
    """Colin 2019 Table 3 (adults, no study terms), written out independently of pkgym."""
    pma, ref = age + 40.0 / 52.0, 35.0 + 40.0 / 52.0

    def hill(x: float, x50: float, h: float) -> float:
        return x**h / (x**h + x50**h)

    scr_ref = math.exp(-1.22839 + 0.67190 * math.log10(pma) + 6.27017 * math.exp(-3.10940 * pma))
    v1 = 42.52 * weight / 70.0 * math.exp(eta_v1)
    renal = max(math.exp(-0.64856 * (scr - scr_ref)), 0.05)
    return (5.312 * (v1 / 42.52) ** 0.75 * hill(pma, 0.8932, 2.8864) / hill(ref, 0.8932, 2.8864)
            * hill(pma, 61.559, -2.241) / hill(ref, 61.559, -2.241) * renal * math.exp(eta_cl))


# (model, covariates, clearance written out here) for the steady-state AUC test
CASES = [(Thomson2009, {"creatinine_clearance_ml_per_min": 80.0}, _thomson_cl(80.0)),
         (Colin2019, {"creatinine_clearance_ml_per_min": 80.0, "age_years": 70.0,
                      "serum_creatinine_mg_per_dl": 1.3}, _colin_cl(70.0, 70.0, 1.3))]


def _two_compartment_ode(cl: float, v1: float, q: float, v2: float, dose_mg: float,
                         every_h: float, n_doses: int, times_h: np.ndarray) -> np.ndarray:
    """Central concentration of 1-h infusions by solve_ivp, integrated dose by dose."""
    state, t0, levels = np.zeros(2), 0.0, {}
    edges = sorted({*(k * every_h for k in range(n_doses)),
                    *(k * every_h + 1.0 for k in range(n_doses)), *times_h.tolist()})
    for t1 in edges:
        if t1 <= t0:
            continue
        rate = dose_mg if any(k * every_h <= t0 < k * every_h + 1.0 for k in range(n_doses)) \
            else 0.0

        def rhs(_t: float, a: np.ndarray, rate: float = rate) -> list[float]:
            return [rate - cl / v1 * a[0] - q / v1 * a[0] + q / v2 * a[1],
                    q / v1 * a[0] - q / v2 * a[1]]

        state = solve_ivp(rhs, (t0, t1), state, rtol=1e-10, atol=1e-12).y[:, -1]
        t0 = t1
        levels[t1] = state[0] / v1
    return np.array([levels[t] for t in times_h])


def test_thomson2009__clearance_is_linear_in_creatinine_clearance() -> None:
    """CL follows 2.99 (1 + 0.0154 (CrCL - 66)) up to the cap, then stays flat."""
    crcl = np.array([10.0, 40.0, 66.0, 100.0, 150.0, 250.0])
    np.testing.assert_allclose(Thomson2009().clearance(crcl, np.zeros(6)),
                               [_thomson_cl(c) for c in crcl], rtol=1e-14)


def test_thomson2009__non_positive_clearance_is_floored() -> None:
    """Below CrCL 1.06 mL/min the linear law would give CL <= 0: it is floored at 0.05 * 2.99."""
    assert float(Thomson2009().clearance(0.5, 0)) == pytest.approx(0.05 * 2.99, rel=1e-14)


def test_thomson2009__volumes_scale_with_weight() -> None:
    """V1 = 0.675 L/kg and V2 = 0.732 L/kg of total weight; Q = 2.28 L/h; no dialysis effect."""
    weights = np.array([50.0, 70.0, 120.0])
    params = Thomson2009().linear_params(weight_kg=weights, on_dialysis=np.array([0, 1, 0]),
                                         creatinine_clearance_ml_per_min=np.full(3, 66.0))
    np.testing.assert_allclose(params.central_volume_l, 0.675 * weights, rtol=1e-14)
    np.testing.assert_allclose(params.peripheral_volume_l[:, 0], 0.732 * weights, rtol=1e-14)
    np.testing.assert_allclose(params.intercompartmental_clearance_l_per_h[:, 0], 2.28)
    np.testing.assert_allclose(params.clearance_l_per_h, 2.99, rtol=1e-14)


@pytest.mark.parametrize(("kind", "covariates", "clearance"), CASES)
def test_vancomycin_alternatives__steady_state_auc24_is_daily_dose_over_clearance(
        kind: type[TwoCompartmentVancomycin], covariates: dict, clearance: float) -> None:
    """1000 mg q12h to a 70-kg patient: AUC24 at steady state = 2000 / CL (CL written here)."""
    model = kind()
    params = model.linear_params(weight_kg=np.array([70.0]), on_dialysis=np.array([0]),
                                 **{k: np.array([v]) for k, v in covariates.items()})
    doses = regular_schedule(1, amount_mg=1000.0, every_h=12.0, n_doses=80, duration_h=1.0)
    sol = simulate_linear(params, doses, np.array([912.0, 936.0]))
    assert np.diff(sol.auc_mg_h_per_l[0])[0] == pytest.approx(2000.0 / clearance, rel=1e-6)


def test_thomson2009__exact_course_matches_solve_ivp() -> None:
    """A 1-h infusion course (1000 mg q12h, 80 kg, CrCL 90) agrees with an ODE solve to 1e-7."""
    model, weight, crcl = Thomson2009(), 80.0, 90.0
    params = model.linear_params(weight_kg=np.array([weight]), on_dialysis=np.array([0]),
                                 creatinine_clearance_ml_per_min=np.array([crcl]))
    times = np.array([0.5, 1.0, 6.0, 11.9, 13.0, 30.0, 47.5])
    doses = regular_schedule(1, amount_mg=1000.0, every_h=12.0, n_doses=4, duration_h=1.0)
    exact = simulate_linear(params, doses, times).concentration_mg_per_l[0]
    reference = _two_compartment_ode(_thomson_cl(crcl), 0.675 * weight, 2.28, 0.732 * weight,
                                     1000.0, 12.0, 4, times)
    np.testing.assert_allclose(exact, reference, rtol=1e-7)


def test_colin2019__typical_adult_has_the_published_clearance() -> None:
    """35 y, 70 kg, creatinine at Colin's reference for the age: CL = theta_CL = 5.312 L/h."""
    scr_ref = math.exp(-1.22839 + 0.67190 * math.log10(35 + 40 / 52)
                       + 6.27017 * math.exp(-3.10940 * (35 + 40 / 52)))
    cl = Colin2019().clearance(100.0, 0, age_years=35.0, serum_creatinine_mg_per_dl=scr_ref)
    assert float(cl) == pytest.approx(5.312, rel=1e-12)


@pytest.mark.parametrize(("age", "weight", "scr", "eta_cl", "eta_v1"), [
    (20.0, 55.0, 0.6, 0.0, 0.0), (50.0, 90.0, 1.0, 0.2, -0.3), (85.0, 60.0, 2.5, -0.1, 0.4),
    (60.0, 80.0, 9.0, 0.0, 0.0)])  # the last: a dialysis creatinine, on the 0.05 floor
def test_colin2019__clearance_follows_age_size_and_creatinine(
        age: float, weight: float, scr: float, eta_cl: float, eta_v1: float) -> None:
    """CL from age (maturation and decline), V1 (size and eta_V1) and creatinine."""
    cl = Colin2019().clearance(50.0, 0, eta_cl, weight_kg=weight, age_years=age,
                               serum_creatinine_mg_per_dl=scr, eta_central_volume=eta_v1)
    assert float(cl) == pytest.approx(_colin_cl(age, weight, scr, eta_cl, eta_v1), rel=1e-12)


def test_colin2019__exact_course_matches_solve_ivp() -> None:
    """1000 mg q12h over 1 h, 85 kg, 62 y, SCr 1.1, etas (0.1, -0.2, 0.5): solve_ivp to 1e-7."""
    weight, age, scr, etas = 85.0, 62.0, 1.1, np.array([[0.1, -0.2, 0.5]])
    params = Colin2019().linear_params(
        weight_kg=np.array([weight]), on_dialysis=np.array([0]),
        creatinine_clearance_ml_per_min=np.array([70.0]), etas=etas, age_years=np.array([age]),
        serum_creatinine_mg_per_dl=np.array([scr]))
    v2 = 41.68 * weight / 70 * math.exp(0.5)
    times = np.array([0.5, 1.0, 6.0, 11.9, 13.0, 30.0, 47.5])
    doses = regular_schedule(1, amount_mg=1000.0, every_h=12.0, n_doses=4, duration_h=1.0)
    exact = simulate_linear(params, doses, times).concentration_mg_per_l[0]
    reference = _two_compartment_ode(_colin_cl(age, weight, scr, 0.1, -0.2),
                                     42.52 * weight / 70 * math.exp(-0.2),
                                     3.222 * (v2 / 41.68) ** 0.75, v2, 1000.0, 12.0, 4, times)
    np.testing.assert_allclose(exact, reference, rtol=1e-7)


def test_colin2019__variability_and_error_as_recorded() -> None:
    """Diagonal omega (0.0746, 0.0716, 0.684); error 21.45 % + 1.23 mg/L."""
    model = Colin2019()
    np.testing.assert_allclose(model.variability.omega, np.diag([0.0746, 0.0716, 0.684]))
    assert model.residual_error.sd(np.array([20.0]))[0] == pytest.approx(np.hypot(1.23, 4.29))


def test_colin2019__clearance_without_creatinine_is_refused() -> None:
    """Colin's CL reads creatinine: without it the call fails in one line naming the field."""
    with pytest.raises(ValueError, match=r"^serum_creatinine_mg_per_dl: Colin2019's clearance"):
        Colin2019().clearance(80.0, 0, age_years=50.0)
    with pytest.raises(ValueError, match="serum_creatinine_mg_per_dl"):
        Colin2019().linear_params(weight_kg=np.array([70.0]), on_dialysis=np.array([0]),
                                  creatinine_clearance_ml_per_min=np.array([80.0]))


def test_thomson2009__variability_and_error_as_recorded() -> None:
    """Omega (CL, V1, V2) with the CL-V1 covariance; error 15 % + 1.6 mg/L."""
    model = Thomson2009()
    np.testing.assert_allclose(model.variability.omega, [[0.0729, 0.01, 0.0],
                                                         [0.01, 0.0225, 0.0],
                                                         [0.0, 0.0, 1.69]])
    assert model.residual_error.sd(np.array([20.0]))[0] == pytest.approx(np.hypot(1.6, 3.0))


def test_vancomycin_law__goti_clearance_is_bit_identical_to_its_own_formula() -> None:
    """Goti's neutral linear, weight, age, creatinine and V1 terms multiply by exactly 1.0."""
    crcl = np.linspace(4.0, 200.0, 97)
    dial, eta = (np.arange(97) % 2).astype(float), np.linspace(-1.0, 1.0, 97)
    age, scr = np.linspace(18.0, 95.0, 97), np.linspace(0.3, 9.0, 97)
    old = 4.5 * (np.minimum(crcl, 150.0) / 120.0) ** 0.8 * 0.7 ** dial * np.exp(eta)
    new = vancomycin_clearance(Goti2018().constants, crcl, np.full(97, 93.0), dial, eta, age,
                               scr, -eta)
    assert np.array_equal(new, old)


def test_vancomycin_law__weight_exponent_on_clearance() -> None:
    """A law with (WT/70)^0.75 on CL scales it so; Goti's law ignores weight."""
    allometric = dataclasses.replace(Thomson2009(), clearance_weight_exponent=0.75)
    ratio = allometric.clearance(66.0, 0, weight_kg=140.0) / allometric.clearance(66.0, 0)
    assert float(ratio) == pytest.approx(2.0**0.75, rel=1e-14)


@pytest.mark.parametrize(("field", "value", "match"), [
    ("clearance_l_per_h", 0.0, "clearance_l_per_h"),
    ("omega_peripheral_volume", -0.1, "omega_peripheral_volume"),
    ("creatinine_clearance_slope_per_ml_per_min", float("nan"), "slope"),
    ("renal_factor_floor", 1.5, "renal_factor_floor"),
    ("omega_clearance_central_volume", 1.0, "omega"),
])
def test_thomson2009__bad_parameters_are_refused(field: str, value: float, match: str) -> None:
    """Non-positive thetas, negative omegas, NaN slopes, floors > 1, non-PSD omega: errors."""
    with pytest.raises(ValueError, match=match):
        Thomson2009(**{field: value})


def test_vancomycin_models__every_parameter_has_unit_and_source() -> None:
    """Each numeric field of each model carries its unit and source in field metadata."""
    for kind in (Goti2018, Thomson2009, Colin2019):
        for f in dataclasses.fields(kind):
            if f.type in ("float", float):
                assert {"unit", "source"} <= set(f.metadata), (kind.__name__, f.name)
