"""Hamberg 2007/2010 warfarin PK/PD-INR: the compiled day step against solve_ivp and the tables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hamberg_helpers import MODEL_IDS, MODELS, random_patients

from pkgym.models.warfarin import Hamberg2007, Hamberg2010, HambergModel, WarfarinParameters
from pkgym.models.warfarin_kernel import (
    DayQuadrature,
    advance_days,
    day_constants,
    initial_state,
    simulate_inr,
)

REFERENCE_NAMES = ["Hamberg2010", "Hamberg2007"]
INR_TOLERANCE = {"Hamberg2010": 1e-6, "Hamberg2007": 5e-5}
"""Default quadrature vs solve_ivp; observed about 1.5e-7 (2010) and 9e-6 (2007)."""
ETA_TARGETS = {"CL": "clearance_l_per_h", "V": "central_volume_l", "V1": "central_volume_l",
               "V2": "peripheral_volume_l", "MTT1": "mtt1_h", "MTT2": "mtt2_h",
               "EC50": "ec50_mg_per_l"}
"""Which individual parameter each named eta scales."""
PARAMETER_FIELDS = ("clearance_l_per_h", "central_volume_l",
                    "intercompartmental_clearance_l_per_h", "peripheral_volume_l",
                    "ec50_mg_per_l", "hill", "mtt1_h", "mtt2_h")


def _typical(model: HambergModel, cyp2c9: list[int], vkorc1: list[int],
             age_years: float = 60.0) -> WarfarinParameters:
    """Patients without random effects, all of one age."""
    return model.parameters(np.array(cyp2c9), np.array(vkorc1), np.full(len(cyp2c9), age_years))


def _inr_error(course: Any, quadrature: DayQuadrature | None = None) -> float:
    """Largest |INR - reference INR| over the patients and mornings of a reference course."""
    inr, _ = simulate_inr(course.parameters, course.model.structure, course.doses_mg, quadrature)
    return float(np.abs(inr - course.inr).max())


# --- against the independent solve_ivp reference (tests/models/conftest.py) ---------------------


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_simulate_inr__matches_solve_ivp_for_typical_patients_on_5_mg_daily(
        name: str, warfarin_reference: dict[str, Any]) -> None:
    """Age 60, 21 days of 5 mg, *1/*1+G/G, *3/*3+A/A, *1/*3+G/A: INR and trough each morning."""
    course = warfarin_reference[name]
    inr, conc = simulate_inr(course.parameters, course.model.structure, course.doses_mg)
    np.testing.assert_allclose(inr[:3], course.inr[:3], rtol=0, atol=INR_TOLERANCE[name])
    np.testing.assert_allclose(conc[:3], course.concentrations_mg_per_l[:3], rtol=1e-9, atol=0)
    assert np.all(course.inr[:3, -1] > 1.5)  # the reference is not trivially near baseline


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_simulate_inr__matches_solve_ivp_for_irregular_doses(
        name: str, warfarin_reference: dict[str, Any]) -> None:
    """A 10 mg load, drug-free days, a 20 mg day and varying doses, one patient with etas."""
    course = warfarin_reference[name]
    inr, conc = simulate_inr(course.parameters, course.model.structure, course.doses_mg)
    np.testing.assert_allclose(inr[3:], course.inr[3:], rtol=0, atol=INR_TOLERANCE[name])
    np.testing.assert_allclose(conc[3:], course.concentrations_mg_per_l[3:], rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_day_quadrature__doubling_nodes_per_panel_reduces_the_error(
        name: str, warfarin_reference: dict[str, Any]) -> None:
    """5 -> 10 -> 20 Gauss nodes per panel cut the INR error at least fourfold each time."""
    course = warfarin_reference[name]
    errors = [_inr_error(course, DayQuadrature(nodes_per_panel=k)) for k in (5, 10, 20)]
    assert errors[1] < errors[0] / 4 and errors[2] < errors[1] / 4, errors


@pytest.mark.parametrize("name", REFERENCE_NAMES)
def test_day_quadrature__one_coarse_panel_is_measurably_worse(
        name: str, warfarin_reference: dict[str, Any]) -> None:
    """Two nodes over the whole day miss the effect integral by > 1e-3 INR, 100x the default."""
    course = warfarin_reference[name]
    coarse = _inr_error(course, DayQuadrature(breakpoints_h=(0.0, 24.0), nodes_per_panel=2))
    assert coarse > 1e-3 and coarse > 100 * _inr_error(course)


# --- S-warfarin PK in closed form ----------------------------------------------------------------


def _oral_trough_mg_per_l(dose_mg: float, cl: float, v: float, n_doses: int | None) -> float:
    """Trough 24 h after the n-th of n daily S-doses (1-cmt, ka 2/h); ``None``: steady state."""
    ka, tau, s_dose = 2.0, 24.0, 0.5 * dose_mg
    k = cl / v

    def accumulation(rate: float) -> float:
        decay = np.exp(-rate * tau)
        remaining = 0.0 if n_doses is None else np.exp(-n_doses * rate * tau)
        return decay * (1.0 - remaining) / (1.0 - decay)

    return s_dose * ka / (v * (ka - k)) * (accumulation(k) - accumulation(ka))


@pytest.mark.parametrize(("cyp2c9", "per_allele_sum"), [(0, 0.348), (1, 0.2619), (5, 0.0844)])
@pytest.mark.parametrize("age_years", [35.0, 60.0, 85.0])
def test_simulate_inr__2010_troughs_equal_oral_one_compartment_superposition(
        cyp2c9: int, per_allele_sum: float, age_years: float) -> None:
    """Each morning's S-warfarin equals the closed-form sum of the previous doses (rtol 1e-10)."""
    cl = per_allele_sum * (1 - 0.00571 * (age_years - 71))
    doses = np.array([[7.5] * 12])
    _, conc = simulate_inr(_typical(Hamberg2010(), [cyp2c9], [0], age_years),
                           Hamberg2010().structure, doses)
    expected = [_oral_trough_mg_per_l(7.5, cl, 14.3, n) for n in range(1, 13)]
    np.testing.assert_allclose(conc[0, 1:], expected, rtol=1e-10)


def test_simulate_inr__2010_trough_reaches_the_analytic_steady_state() -> None:
    """*1/*1 age 60 (t1/2 27 h): after 30 days of 5 mg the trough is the steady state (1e-7)."""
    cl = 0.348 * (1 - 0.00571 * (60 - 71))
    _, conc = simulate_inr(_typical(Hamberg2010(), [0], [0]), Hamberg2010().structure,
                           np.full((1, 30), 5.0))
    steady = _oral_trough_mg_per_l(5.0, cl, 14.3, None)
    assert conc[0, -1] == pytest.approx(steady, rel=1e-7)
    assert conc[0, 3] < 0.9 * steady  # not there yet after 3 doses


# --- behaviour the papers describe ---------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_simulate_inr__drug_free_patients_stay_exactly_at_baseline(model: HambergModel) -> None:
    """Ten years without warfarin: INR is exactly BASE and S-warfarin exactly 0 every morning."""
    params = random_patients(model, 20, np.random.default_rng(3))
    inr, conc = simulate_inr(params, model.structure, np.zeros((20, 3650)))
    assert np.all(inr == model.baseline_inr) and np.all(conc == 0.0)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_advance_days__drug_free_chains_do_not_drift_from_one(model: HambergModel) -> None:
    """Ten years of empty days leave every transit compartment within 2 ulp of 1, no growth."""
    params = random_patients(model, 20, np.random.default_rng(4))
    constants = day_constants(params, model.structure)
    pk, chains = initial_state(20)
    decades = []
    for _ in range(2):
        advance_days(np.arange(20), np.zeros((20, 3650)), pk, chains, constants,
                     np.zeros((20, 3650)))
        decades.append(chains.copy())
    assert np.all(pk == 0.0) and np.abs(chains - 1.0).max() <= 2 * np.finfo(float).eps
    np.testing.assert_array_equal(decades[1], decades[0])  # a fixed point, no accumulation


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_simulate_inr__inr_rises_every_morning_of_the_first_week(model: HambergModel) -> None:
    """5 mg daily from drug-naive: INR increases strictly each morning for all 18 genotypes."""
    cyp2c9, vkorc1 = np.meshgrid(np.arange(6), np.arange(3))
    params = _typical(model, cyp2c9.ravel().tolist(), vkorc1.ravel().tolist())
    inr, _ = simulate_inr(params, model.structure, np.full((18, 7), 5.0))
    assert np.all(inr[:, 0] == model.baseline_inr)
    assert np.all(np.diff(inr, axis=1) > 0)


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_simulate_inr__higher_daily_dose_gives_higher_inr_every_morning(
        model: HambergModel) -> None:
    """2.5-10 mg daily to one *1/*3 + G/A patient: INR ordered every day, S-warfarin linear."""
    params = _typical(model, [2] * 4, [1] * 4)
    doses = np.repeat([[2.5], [5.0], [7.5], [10.0]], 28, axis=1)
    inr, conc = simulate_inr(params, model.structure, doses)
    assert np.all(np.diff(inr[:, 1:], axis=0) > 0)
    np.testing.assert_allclose(conc / conc[:1].clip(1e-300), doses[:, :1] / 2.5 * (conc > 0))


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_simulate_inr__cyp2c9_star3_star3_accumulates_more_s_warfarin(model: HambergModel) -> None:
    """*3/*3 clears S-warfarin slower than *1/*1: higher trough and INR after two weeks."""
    params = _typical(model, [0, 5], [0, 0])
    inr, conc = simulate_inr(params, model.structure, np.full((2, 14), 5.0))
    assert params.clearance_l_per_h[1] < params.clearance_l_per_h[0] / 4
    assert conc[1, -1] > 2 * conc[0, -1] and inr[1, -1] > inr[0, -1]


@pytest.mark.parametrize(("model", "expected"), [
    (Hamberg2010(), [0.348, 0.2619, 0.2162, 0.1758, 0.1301, 0.0844]),
    (Hamberg2007(), [0.314 * (1 - r) for r in (0.0, 0.315, 0.453, 0.722, 0.690, 0.852)]),
], ids=MODEL_IDS)
def test_parameters__cyp2c9_clearance_at_age_71_matches_table_2(
        model: HambergModel, expected: list[float]) -> None:
    """2010: per-allele sums (*1 0.174, *2 0.0879, *3 0.0422 L/h); 2007: *1/*1 0.314 L/h less %."""
    params = _typical(model, list(range(6)), [0] * 6, age_years=71.0)
    np.testing.assert_allclose(params.clearance_l_per_h, expected, rtol=1e-12)


@pytest.mark.parametrize(("model", "expected"), [
    (Hamberg2010(), [4.10, 3.01, 1.92]), (Hamberg2007(), [4.61, 3.02, 2.20])], ids=MODEL_IDS)
def test_parameters__ec50_by_vkorc1_matches_table_4(
        model: HambergModel, expected: list[float]) -> None:
    """EC50 of G/G, G/A, A/A in mg/L (2010: G 2.05 + A 0.96 per allele; 2007 tabulated)."""
    params = _typical(model, [0] * 3, [0, 1, 2])
    np.testing.assert_allclose(params.ec50_mg_per_l, expected, rtol=1e-12)


@pytest.mark.parametrize(("model", "per_year"), [(Hamberg2010(), 0.00571),
                                                 (Hamberg2007(), 0.0091)], ids=MODEL_IDS)
def test_parameters__older_patients_clear_less_s_warfarin(
        model: HambergModel, per_year: float) -> None:
    """CL(age) = CL(71) (1 - a (age - 71)): falls with age, and nothing else depends on age."""
    ages = np.array([30.0, 50.0, 71.0, 90.0])
    params = model.parameters(np.zeros(4, int), np.zeros(4, int), ages)
    cl = params.clearance_l_per_h
    np.testing.assert_allclose(cl / cl[2], 1 - per_year * (ages - 71), rtol=1e-12)
    assert np.all(np.diff(cl) < 0)
    for name in PARAMETER_FIELDS[1:]:
        assert np.all(getattr(params, name) == getattr(params, name)[0]), name


@pytest.mark.parametrize(("model", "names", "omegas"), [
    (Hamberg2010(), ("CL", "V", "EC50"), [0.089, 0.054, 0.34]),
    (Hamberg2007(), ("CL", "V1", "V2", "MTT1", "MTT2", "EC50"),
     np.log1p(np.array([0.310, 0.262, 0.991, 0.141, 1.02, 0.409]) ** 2)),
], ids=MODEL_IDS)
def test_parameters__each_eta_scales_its_named_parameter_by_exp_eta(
        model: HambergModel, names: tuple[str, ...], omegas: list[float]) -> None:
    """Eta j (named by ``variability.names[j]``) multiplies that parameter only, by exp(eta)."""
    assert model.variability.names == names
    np.testing.assert_allclose(np.diag(model.variability.omega), omegas, rtol=1e-12)
    typical = _typical(model, [2], [1])
    for j, name in enumerate(names):
        etas = np.zeros((1, len(names)))
        etas[0, j] = 0.4
        params = model.parameters(np.array([2]), np.array([1]), np.array([60.0]), etas)
        for field in PARAMETER_FIELDS:
            factor = np.exp(0.4) if field == ETA_TARGETS[name] else 1.0
            np.testing.assert_allclose(getattr(params, field), getattr(typical, field) * factor,
                                       rtol=1e-14, err_msg=f"eta {name} on {field}")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("doses", [
    np.array([[5.0, -1.0]]), np.array([[5.0, np.nan]]), np.array([[np.inf, 5.0]]),
    np.array([5.0, 5.0]), np.full((2, 3), 5.0)], ids=["negative", "nan", "inf", "1d", "2_rows"])
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_simulate_inr__rejects_bad_doses_naming_doses_mg(
        model: HambergModel, doses: np.ndarray) -> None:
    """Negative, non-finite or mis-shaped doses (for one patient) raise a ValueError."""
    with pytest.raises(ValueError, match="doses_mg"):
        simulate_inr(_typical(model, [0], [0]), model.structure, doses)


@pytest.mark.parametrize(("cyp2c9", "vkorc1", "field"), [
    ([6], [0], "cyp2c9"), ([-1], [0], "cyp2c9"), ([0.5], [0], "cyp2c9"),
    ([0], [3], "vkorc1"), ([0], [-1], "vkorc1"), ([0], [1.0], "vkorc1")])
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_parameters__rejects_bad_genotype_codes_naming_the_gene(
        model: HambergModel, cyp2c9: list[float], vkorc1: list[float], field: str) -> None:
    """Codes must be integers indexing the diplotype labels (6 CYP2C9, 3 VKORC1)."""
    with pytest.raises(ValueError, match=field):
        model.parameters(np.array(cyp2c9), np.array(vkorc1), np.array([60.0]))


@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_parameters__rejects_bad_etas_and_ages_naming_the_field(model: HambergModel) -> None:
    """Etas of the wrong shape or non-finite, and ages outside 0-130 y, raise ValueError."""
    k = len(model.variability.names)
    codes = np.array([0, 1]), np.array([0, 1])
    for etas in (np.zeros((2, k + 1)), np.zeros((1, k)), np.zeros(2 * k),
                 np.full((2, k), np.nan)):
        with pytest.raises(ValueError, match="etas"):
            model.parameters(*codes, np.array([60.0, 60.0]), etas)
    for ages in ([60.0, -1.0], [60.0, 131.0], [60.0, np.nan]):
        with pytest.raises(ValueError, match="age_years"):
            model.parameters(*codes, np.array(ages))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"breakpoints_h": (1.0, 24.0)}, "breakpoints_h"),
    ({"breakpoints_h": (0.0, 12.0)}, "breakpoints_h"),
    ({"breakpoints_h": (0.0, 6.0, 6.0, 24.0)}, "breakpoints_h"),
    ({"breakpoints_h": (0.0, 12.0, 6.0, 24.0)}, "breakpoints_h"),
    ({"breakpoints_h": (24.0,)}, "breakpoints_h"),
    ({"nodes_per_panel": 0}, "nodes_per_panel"),
    ({"nodes_per_panel": 51}, "nodes_per_panel")])
def test_day_quadrature__rejects_invalid_rules_naming_the_field(
        kwargs: dict[str, Any], field: str) -> None:
    """Panel edges must rise strictly from 0 to 24 h; 1 to 50 nodes per panel."""
    with pytest.raises(ValueError, match=field):
        DayQuadrature(**kwargs)


@pytest.mark.parametrize(("make", "field"), [
    (lambda: Hamberg2010(volume_l=0.0), "volume_l"),
    (lambda: Hamberg2010(hill=np.nan), "hill"),
    (lambda: Hamberg2010(omega_ec50=-0.1), "omega_ec50"),
    (lambda: Hamberg2007(clearance_reduction=(0.0, 0.3)), "clearance_reduction"),
    (lambda: Hamberg2007(clearance_reduction=(0.0, 0.3, 0.4, 0.7, 0.6, 1.0)),
     "clearance_reduction"),
    (lambda: Hamberg2007(ec50_mg_per_l=(4.6, 3.0)), "ec50_mg_per_l"),
    (lambda: Hamberg2007(mtt2_h=-120.0), "mtt2_h")])
def test_hamberg__rejects_invalid_parameter_sets_naming_the_field(
        make: Callable[[], object], field: str) -> None:
    """Non-positive, non-finite or wrongly sized published values raise ValueError."""
    with pytest.raises(ValueError, match=field):
        make()
