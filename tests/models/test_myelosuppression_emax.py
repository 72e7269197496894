"""The Friberg model with an Emax drug effect (Friberg 2002's docetaxel estimates).

The reference is written here from the equations of the module docstring, not from the compiled
kernel: the docetaxel concentration is given as the central compartment of the three-compartment
PK (1-h infusion), and the Friberg chain with E = Emax C / (EC50 + C) is solved with
``scipy.integrate.solve_ivp`` (Radau, rtol 1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import (
    EC50,
    EMAX,
    N_PARAMS,
    N_PARAMS_EMAX,
    SLOPE,
    SolverTolerances,
)
from pkgym.models.docetaxel import Bruno1996
from pkgym.models.myelosuppression import Friberg2002DocetaxelEmax, FribergDocetaxel

TYPICAL = {"is_female": [0], "age_years": [60.0], "bsa_m2": [1.8], "aag_g_per_l": [1.34],
           "hepatic_impairment": [0], "baseline_sld_mm": [70.0]}
EMAX_MODEL = DocetaxelPatientModel(myelosuppression=Friberg2002DocetaxelEmax())
TIGHT = SolverTolerances(rtol=1e-10, atol=1e-12)


def _reference_anc(dose_mg: float, eta: tuple[float, float, float], days: int = 21) -> np.ndarray:
    """Daily ANC of the typical man (etas on Circ0, MTT, potency), from the written equations."""
    pk = Bruno1996().parameters([1.8], [1.34], [60.0], [0])
    cl, v1 = pk.clearance_l_per_h[0], pk.central_volume_l[0]
    q2, v2, q3, v3 = 7.84, 5.19, 9.32, 111.0
    circ0, mtt = 5.05 * np.exp(eta[0]), 89.3 * np.exp(eta[1])
    emax, ec50 = 83.9, 7.17 * 807.88 / 1000.0 * np.exp(-eta[2])  # umol/L -> mg/L
    ktr, gamma = 4.0 / mtt, 0.163

    def rhs(t: float, y: np.ndarray, rate: float) -> list[float]:
        a1, a2, a3, prol, t1, t2, t3, circ = y
        c = a1 / v1  # the given concentration profile, mg/L
        to2, to3 = q2 * (c - a2 / v2), q3 * (c - a3 / v3)
        effect = emax * c / (ec50 + c)
        return [rate - cl * c - to2 - to3, to2, to3,
                ktr * prol * (1 - effect) * (circ0 / circ) ** gamma - ktr * prol,
                ktr * (prol - t1), ktr * (t1 - t2), ktr * (t2 - t3), ktr * (t3 - circ)]

    y0 = np.array([0.0, 0.0, 0.0, *[circ0] * 5])
    solver = {"method": "Radau", "rtol": 1e-10, "atol": 1e-12}
    infused = solve_ivp(rhs, (0.0, 1.0), y0, args=(dose_mg / 1.0,), **solver)
    ends = 24.0 * np.arange(1, days + 1)
    rest = solve_ivp(rhs, (1.0, ends[-1]), infused.y[:, -1], args=(0.0,), t_eval=ends, **solver)
    assert infused.success and rest.success
    return rest.y[7]


@pytest.mark.parametrize("eta", [(0.0, 0.0, 0.0), (0.2, -0.15, 0.5)])
def test_friberg2002_emax__daily_anc_matches_solve_ivp_of_the_written_equations(
        eta: tuple[float, float, float]) -> None:
    """Typical man, 100 mg/m2: the compiled cycle (rtol 1e-10) equals Radau to 1e-8."""
    etas = np.zeros((1, 7))
    etas[0, 1:4] = eta
    rows = EMAX_MODEL.parameters(TYPICAL, etas)
    anc, _ = EMAX_MODEL.run_cycles(rows, np.array([70.0]), np.array([[180.0]]), solver=TIGHT)
    reference = _reference_anc(180.0, eta)
    np.testing.assert_allclose(anc[0], reference, rtol=1e-8, atol=0)
    assert reference.min() < 0.8 * reference[0]  # the drug effect is exercised


def test_friberg2002_emax__parameters_by_hand() -> None:
    """EC50 in mg/L from umol/L, slope Emax/EC50, the potency eta divides EC50, no covariates."""
    model = Friberg2002DocetaxelEmax()
    p = model.parameters(np.array([0, 1]), np.array([1.34, 2.5]),
                         np.array([[0.0, 0.0, 0.0], [0.1, -0.2, 0.3]]))
    ec50 = 7.17 * 807.88 / 1000.0
    np.testing.assert_allclose(p.ec50_mg_per_l, [ec50, ec50 * np.exp(-0.3)], rtol=1e-15)
    np.testing.assert_allclose(p.slope_l_per_mg, 83.9 / p.ec50_mg_per_l, rtol=1e-15)
    np.testing.assert_allclose(p.circ0_1e9_per_l, [5.05, 5.05 * np.exp(0.1)], rtol=1e-15)
    np.testing.assert_allclose(p.mtt_h, [89.3, 89.3 * np.exp(-0.2)], rtol=1e-15)
    assert p.emax.tolist() == [83.9, 83.9] and p.gamma.tolist() == [0.163, 0.163]
    assert model.variability.names == FribergDocetaxel().variability.names
    np.testing.assert_allclose(np.diag(model.variability.omega),
                               np.log1p(np.array([0.42, 0.16, 0.50]) ** 2))


def test_friberg2002_emax__typical_nadirs_of_the_env_card() -> None:
    """Typical man: nadir 1.31 (75 mg/m2) and 0.95 x10^9/L (100 mg/m2), as the card says."""
    rows = EMAX_MODEL.parameters(TYPICAL)
    anc, _ = EMAX_MODEL.run_cycles(np.repeat(rows, 2, axis=0), np.full(2, 70.0),
                                   np.array([[75 * 1.8], [100 * 1.8]]))
    assert anc.min(axis=1).round(2).tolist() == [1.31, 0.95]
    assert (anc.argmin(axis=1) + 1).tolist() == [7, 8]


def test_pack_parameters__linear_rows_keep_14_columns_emax_rows_add_two() -> None:
    """Kloft rows are v0's 14 columns; Emax rows carry EMAX and EC50 (mg/L) after them."""
    linear = DocetaxelPatientModel().parameters(TYPICAL)
    emax = EMAX_MODEL.parameters(TYPICAL)
    assert linear.shape == (1, N_PARAMS) and emax.shape == (1, N_PARAMS_EMAX)
    assert emax[0, EMAX] == 83.9
    assert emax[0, EC50] == pytest.approx(7.17 * 0.80788, rel=1e-12)


def test_run_cycles__a_linear_row_padded_with_zero_emax_columns_is_bit_identical() -> None:
    """EC50 = 0 selects the linear effect: the same arithmetic as an unpadded row."""
    model = DocetaxelPatientModel()
    rows = model.parameters(TYPICAL, np.array([[0.1, 0.2, -0.1, 0.3, 0.0, 0.0, 0.0]]))
    padded = np.zeros((1, N_PARAMS_EMAX))
    padded[:, :N_PARAMS] = rows
    doses = np.array([[180.0, 135.0]])
    plain, _ = model.run_cycles(rows, np.array([70.0]), doses)
    again, _ = model.run_cycles(padded, np.array([70.0]), doses)
    assert np.array_equal(plain, again)


def test_run_cycles__emax_far_above_the_concentrations_is_the_linear_effect() -> None:
    """Emax C / (EC50 + C) -> (Emax / EC50) C as EC50 grows: the Kloft nadir to 1e-6."""
    model = DocetaxelPatientModel()
    rows = model.parameters(TYPICAL)
    slope = rows[0, SLOPE]  # L/mg
    near = np.zeros((1, N_PARAMS_EMAX))
    near[:, :N_PARAMS] = rows
    near[0, EC50] = 1e7
    near[0, EMAX] = slope * near[0, EC50]
    linear, _ = model.run_cycles(rows, np.array([70.0]), np.array([[180.0]]), solver=TIGHT)
    saturable, _ = model.run_cycles(near, np.array([70.0]), np.array([[180.0]]), solver=TIGHT)
    np.testing.assert_allclose(saturable, linear, rtol=1e-6)


@pytest.mark.parametrize(("field", "value"), [("emax", 0.0), ("ec50_umol_per_l", -1.0),
                                              ("omega_ec50", -0.1), ("mtt_h", float("nan"))])
def test_friberg2002_emax__bad_fields_raise_naming_the_field(field: str, value: float) -> None:
    """Non-positive system or drug parameters and negative omegas are refused by name."""
    with pytest.raises(ValueError, match=field):
        Friberg2002DocetaxelEmax(**{field: value})
