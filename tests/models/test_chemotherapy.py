# lines: one model chain (PK, neutrophils, tumour, compiled cycles) and its solve_ivp references
"""Docetaxel PK (Bruno 1996), Friberg/Kloft neutrophils, Claret tumour and the compiled cycles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.linalg import expm

from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import (
    CACHED_T,
    CIRC0,
    GAMMA,
    INV_V1,
    K10,
    K12,
    K13,
    K21,
    K31,
    KD,
    KL,
    KTR,
    LAMBDA,
    MODE_RATES,
    MODE_START,
    MODE_WEIGHTS,
    N_PARAMS,
    RATE,
    SEGMENT_T0,
    SLD,
    SLOPE,
    TO_MODES,
    SolverTolerances,
    advance_cycles,
    concentration,
    initial_states,
    pack_parameters,
    pk_modes,
)
from pkgym.models.docetaxel import Bruno1996
from pkgym.models.myelosuppression import FribergDocetaxel, neutropenia_grade
from pkgym.models.tumour import Claret2009

MODEL = DocetaxelPatientModel()
TYPICAL = {"is_female": [0], "age_years": [60.0], "bsa_m2": [1.8], "aag_g_per_l": [1.34],
           "hepatic_impairment": [0], "baseline_sld_mm": [70.0]}
"""The typical docetaxel patient: a 60-year-old man, BSA 1.8 m2, AAG 1.34 g/L."""
TYPICAL_CL_L_PER_H = 1.8 * (36.8 - 4.6 * 1.34 - 0.14 * 60.0)
"""Bruno's CL by hand: 40.02 L/h."""
HOURS_PER_CYCLE = 21 * 24.0
ETA_COLUMNS = {"CL": (K10, 1), "CIRC0": (CIRC0, 1), "MTT": (KTR, -1), "SLOPE": (SLOPE, 1),
               "KL": (KL, 1), "KD": (KD, 1), "LAMBDA": (LAMBDA, 1)}
"""Packed column each eta scales, and the sign of its exponent (KTR = 4 / MTT)."""


def typical_rows(n: int = 1) -> np.ndarray:
    """Packed parameters of n typical patients (zero etas)."""
    return MODEL.parameters({key: value * n for key, value in TYPICAL.items()})


def typical_run(dose_mg_per_m2: float, n_cycles: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Daily ANC and end-of-cycle SLD of the typical patient on a dose every 21 days."""
    return MODEL.run_cycles(typical_rows(), np.array([70.0]),
                            np.full((1, n_cycles), dose_mg_per_m2 * 1.8))


def pk_matrix(row: np.ndarray) -> np.ndarray:
    """dA/dt = M A of the three docetaxel amounts (central, peripheral 2, peripheral 3)."""
    return np.array([[-(row[K10] + row[K12] + row[K13]), row[K21], row[K31]],
                     [row[K12], -row[K21], 0.0],
                     [row[K13], 0.0, -row[K31]]])


def advance(rows: np.ndarray, doses_mg: np.ndarray, n_days: int, sld_mm: np.ndarray,
            solver: SolverTolerances | None = None) -> tuple[np.ndarray, ...]:
    """One kernel cycle from the drug-free state: (daily ANC, final states, final times)."""
    n, solver = rows.shape[0], solver or SolverTolerances()
    states, times = initial_states(rows, sld_mm), np.zeros(n)
    daily = np.empty((n, n_days))
    advance_cycles(np.arange(n), doses_mg, np.zeros(n, np.int64), np.full(n, n_days), 1.0,
                   times, states, rows.copy(), solver.rtol, solver.atol, solver.max_steps, daily)
    return daily, states, times


# ----- the compiled cycles against an independent solve_ivp (tests/models/conftest.py) ------------
@pytest.mark.parametrize(("solver", "anc_rtol", "sld_rtol"), [
    (SolverTolerances(), 5e-8, 1e-8), (SolverTolerances(rtol=1e-7), 5e-7, 1e-7),
    (SolverTolerances(rtol=1e-10, atol=1e-12), 1e-9, 2e-10),
    (SolverTolerances(rtol=1e-5), 5e-5, 5e-6), (SolverTolerances(rtol=1e-4), 5e-4, 5e-5)])
def test_run_cycles__matches_solve_ivp_of_the_docstring_equations(
        docetaxel_reference, solver: SolverTolerances, anc_rtol: float,  # noqa: ANN001
        sld_rtol: float) -> None:
    """Daily ANC and cycle-end SLD of two patients over 3 cycles (one skipped) vs Radau 1e-10."""
    ref = docetaxel_reference
    rows = MODEL.parameters(ref.covariates, ref.etas)
    anc, sld = MODEL.run_cycles(rows, np.array(ref.covariates["baseline_sld_mm"]), ref.doses_mg,
                                solver=solver)
    np.testing.assert_allclose(anc, ref.daily_anc, rtol=anc_rtol, atol=0)
    np.testing.assert_allclose(sld, ref.sld_mm, rtol=sld_rtol, atol=0)
    assert ref.daily_anc.min() < 1.0 and np.ptp(ref.sld_mm / ref.sld_mm[:, :1]) > 0.05


def test_run_cycles__daily_nadir_day_and_depth_equal_the_reference(docetaxel_reference) -> None:  # noqa: ANN001
    """Each patient's cycle-1 nadir falls on the reference's day, as deep to 1e-7 relative."""
    ref = docetaxel_reference
    anc, _ = MODEL.run_cycles(MODEL.parameters(ref.covariates, ref.etas),
                              np.array(ref.covariates["baseline_sld_mm"]), ref.doses_mg)
    first, ref_first = anc[:, :21], ref.daily_anc[:, :21]
    assert first.argmin(axis=1).tolist() == ref_first.argmin(axis=1).tolist()
    np.testing.assert_allclose(first.min(axis=1), ref_first.min(axis=1), rtol=1e-7)
    # the continuous nadir lies within a day of the daily one (days end at 24 (d + 1) h)
    assert np.all(np.abs(ref.first_nadir_h / 24.0 - (first.argmin(axis=1) + 1)) < 1.0)


# ----- Friberg: steady state and the typical patient's nadir --------------------------------------
def test_advance_cycles__without_drug_every_neutrophil_compartment_stays_exactly_at_circ0() -> None:
    """Four 28-day zero-dose cycles of varied patients: Prol, T1-T3, Circ == Circ0, bit-exact."""
    rng = np.random.default_rng(5)
    covariates = {"is_female": [0, 1, 1], "age_years": [35.0, 60.0, 82.0],
                  "bsa_m2": [1.5, 1.8, 2.3], "aag_g_per_l": [0.7, 1.34, 2.6],
                  "hepatic_impairment": [1, 0, 0], "baseline_sld_mm": [20.0, 70.0, 150.0]}
    rows = MODEL.parameters(covariates, rng.normal(0.0, 0.4, (3, 7)))
    states, times = initial_states(rows, np.array(covariates["baseline_sld_mm"])), np.zeros(3)
    daily = np.empty((3, 28))
    for _ in range(4):
        advance_cycles(np.arange(3), np.zeros(3), np.zeros(3, np.int64), np.full(3, 28), 1.0,
                       times, states, rows.copy(), 1e-8, 1e-10, 100_000, daily)
        np.testing.assert_array_equal(daily, np.repeat(rows[:, CIRC0:CIRC0 + 1], 28, axis=1))
    np.testing.assert_array_equal(states[:, 3:8], np.repeat(rows[:, CIRC0:CIRC0 + 1], 5, axis=1))
    assert np.all(states[:, :3] == 0.0) and times.tolist() == [4 * 28 * 24.0] * 3
    anc, _ = MODEL.run_cycles(rows, np.array(covariates["baseline_sld_mm"]), np.zeros((3, 6)))
    np.testing.assert_array_equal(anc, np.repeat(rows[:, CIRC0:CIRC0 + 1], 6 * 21, axis=1))


def test_run_cycles__typical_patient_nadir_on_day_8_below_05_and_recovered_by_day_21(
        docetaxel_reference) -> None:  # noqa: ANN001
    """100 mg/m2: nadir 7-9 days after the dose (label: median day 7), < 0.5, back by day 21."""
    anc, _ = typical_run(100.0)
    circ0 = typical_rows()[0, CIRC0]
    nadir_day = int(anc[0].argmin()) + 1  # daily_anc[d] is 24 (d + 1) h after the dose
    assert 7 <= nadir_day <= 9 and 7.0 <= docetaxel_reference.first_nadir_h[0] / 24.0 <= 9.0
    assert anc[0].min() < 0.5 and neutropenia_grade(anc[0].min()) == 4
    assert circ0 <= anc[0, 20] < 1.5 * circ0  # recovered (with the Friberg rebound) by day 21
    assert np.all(anc[0, :nadir_day - 1] > anc[0, nadir_day - 1])


def test_run_cycles__lower_doses_give_shallower_nadirs() -> None:
    """Nadirs rise strictly from 125 to 100, 75 and 50 mg/m2; 75 mg/m2 stays near 0.5."""
    nadirs = [typical_run(dose)[0].min() for dose in (125.0, 100.0, 75.0, 50.0)]
    assert nadirs == sorted(nadirs) and len(set(nadirs)) == 4, nadirs
    assert 0.35 < nadirs[2] < 0.65 and nadirs[3] > 1.0


# ----- docetaxel PK -------------------------------------------------------------------------------
def test_bruno1996__typical_half_lives_match_the_label_4_min_36_min_11_h() -> None:
    """Eigenvalues of the typical 3-cmt system: t1/2 4-6 min, 30-40 min and 10-12 h."""
    rates = -np.linalg.eigvals(pk_matrix(typical_rows()[0])).real
    half_lives_h = np.sort(np.log(2.0) / rates)
    assert 4 / 60 <= half_lives_h[0] <= 6 / 60
    assert 30 / 60 <= half_lives_h[1] <= 40 / 60
    assert 10.0 <= half_lives_h[2] <= 12.0


def test_advance_cycles__auc_after_100_mg_per_m2_is_dose_over_cl_and_mass_balances() -> None:
    """A pure-kill tumour (KL 0, lambda 0, KD 1) reads the AUC: 180 / CL; mass balance at 24 h."""
    rows = typical_rows()
    rows[0, KL], rows[0, LAMBDA], rows[0, KD] = 0.0, 0.0, 1.0
    assert rows[0, K10] / rows[0, INV_V1] == pytest.approx(TYPICAL_CL_L_PER_H, rel=1e-12)
    _, states, _ = advance(rows, np.array([180.0]), 21, np.array([70.0]))
    auc = -np.log(states[0, SLD] / 70.0)
    assert auc == pytest.approx(180.0 / TYPICAL_CL_L_PER_H, rel=1e-8)
    assert 4.3 < auc < 4.9  # label: 4.6 mg h/L at 100 mg/m2
    _, early, _ = advance(rows, np.array([180.0]), 1, np.array([70.0]))
    eliminated = TYPICAL_CL_L_PER_H * -np.log(early[0, SLD] / 70.0)
    assert early[0, :3].sum() > 5.0  # drug still in the body: the balance is not trivial
    assert eliminated + early[0, :3].sum() == pytest.approx(180.0, rel=1e-8)  # observed 2e-9


def test_concentration__cmax_at_the_end_of_a_1_h_infusion_is_the_closed_form_near_the_label(
        ) -> None:
    """The kernel's modal PK gives expm's Cmax (1e-9), within 10% of 3.7 mg/L."""
    row = typical_rows()[0].copy()
    segment = pk_modes(row)
    segment[RATE] = 180.0  # drug-free start: the modal amounts and segment start stay 0
    matrix = pk_matrix(row)
    amounts = np.linalg.solve(matrix, (expm(matrix) - np.eye(3)) @ np.array([180.0, 0.0, 0.0]))
    cmax = amounts[0] * row[INV_V1]
    assert concentration(1.0, segment) == pytest.approx(cmax, rel=1e-9)
    assert cmax == pytest.approx(3.7, rel=0.10)  # observed 3.48 mg/L



def test_concentration__after_the_infusion_is_the_modes_decay_and_kept_per_time() -> None:
    """No infusion: sum W S exp(-r tau) (1e-14); the kept value is cleared with CACHED_T."""
    segment = pk_modes(typical_rows()[0].copy())
    to_modes = segment[TO_MODES:TO_MODES + 9].reshape(3, 3)
    segment[MODE_START:MODE_START + 3], segment[SEGMENT_T0] = to_modes @ [30.0, 4.0, 2.0], 5.0
    rates, weights = segment[MODE_RATES:MODE_RATES + 3], segment[MODE_WEIGHTS:MODE_WEIGHTS + 3]
    for t in (5.0, 5.5, 29.0, 5.5):
        expected = np.sum(weights * segment[MODE_START:MODE_START + 3] * np.exp(-rates * (t - 5)))
        assert concentration(t, segment) == pytest.approx(expected, rel=1e-14)
    segment[RATE], segment[CACHED_T] = 50.0, np.nan
    assert concentration(5.5, segment) > expected + 0.5  # 25 mg more in the body


# ----- Claret tumour ------------------------------------------------------------------------------
def test_run_cycles__untreated_tumour_grows_as_y0_exp_kl_t() -> None:
    """No drug: SLD after cycle c is y0 exp(KL 504 c) h, to 1e-10, for two KL etas."""
    covariates = {key: value * 2 for key, value in TYPICAL.items()}
    etas = np.zeros((2, 7))
    etas[1, 4] = 1.2
    rows = MODEL.parameters(covariates, etas)
    _, sld = MODEL.run_cycles(rows, np.array([70.0, 70.0]), np.zeros((2, 4)))
    hours = HOURS_PER_CYCLE * np.arange(1, 5)
    np.testing.assert_allclose(sld, 70.0 * np.exp(rows[:, KL:KL + 1] * hours), rtol=1e-10)
    assert sld[1, -1] > 1.2 * 70.0  # the faster tumour grew visibly


def _concentrations(row: np.ndarray, doses_mg: np.ndarray):  # noqa: ANN202
    """Closed-form C(t) (mg/L) and the piece boundaries of 21-day cycles with 1-h infusions."""
    values, vectors = np.linalg.eig(pk_matrix(row))
    values, vectors = values.real, vectors.real
    inverse = np.linalg.inv(vectors)
    starts, pieces = [], []
    amounts = np.zeros(3)
    for k, dose in enumerate(doses_mg):
        t0 = k * HOURS_PER_CYCLE
        inflow = inverse @ np.array([dose, 0.0, 0.0])
        start = inverse @ amounts
        pieces.append((t0, t0 + 1.0, start, inflow))
        after = vectors @ (np.exp(values) * start + np.expm1(values) / values * inflow)
        pieces.append((t0 + 1.0, t0 + HOURS_PER_CYCLE, inverse @ after, np.zeros(3)))
        amounts = vectors @ (np.exp(values * (HOURS_PER_CYCLE - 1.0)) * (inverse @ after))
        starts.append(t0)

    def concentration(t: float, piece: tuple) -> float:
        a, _, start, inflow = piece
        modal = np.exp(values * (t - a)) * start + np.expm1(values * (t - a)) / values * inflow
        return float((vectors @ modal)[0] * row[INV_V1])

    return concentration, pieces


def test_run_cycles__treated_log_size_is_kl_t_minus_kd_integral_of_exposure() -> None:
    """log(y / y0) = KL t - KD int exp(-lambda s) C(s) ds, the integral by quad, to 1e-8."""
    covariates = {key: value * 1 for key, value in TYPICAL.items()}
    etas = np.array([[0.2, 0.0, 0.0, 0.0, 0.3, 1.0, 1.0]])  # strong kill, fast resistance
    rows = MODEL.parameters(covariates, etas)
    doses = np.array([180.0, 90.0, 0.0])
    _, sld = MODEL.run_cycles(rows, np.array([70.0]), doses[None, :])
    concentration, pieces = _concentrations(rows[0], doses)
    lam, kd, kl = rows[0, LAMBDA], rows[0, KD], rows[0, KL]
    exposure = 0.0
    for k, piece in enumerate(pieces):
        exposure += quad(lambda s, p=piece: np.exp(-lam * s) * concentration(s, p), piece[0],
                         piece[1], epsabs=0.0, epsrel=1e-13, limit=500)[0]
        if k % 2:
            expected = 70.0 * np.exp(kl * piece[1] - kd * exposure)
            assert sld[0, k // 2] == pytest.approx(expected, rel=1e-8), k // 2
    assert sld[0, 1] < 0.8 * 70.0 and sld[0, 2] > sld[0, 1]  # shrank, then regrew untreated


# ----- parameters by hand -------------------------------------------------------------------------
def test_bruno1996__clearance_is_the_covariate_equation_by_hand() -> None:
    """CL = BSA (36.8 - 4.6 AAG - 0.14 AGE) 0.58^HEP e^eta; volumes and Q as the docstring."""
    pk = Bruno1996().parameters(np.array([1.8, 2.0, 1.6]), np.array([1.34, 0.8, 2.27]),
                                np.array([60.0, 40.0, 75.0]), np.array([0, 1, 0]),
                                np.array([0.0, 0.1, -0.25]))
    expected = [1.8 * (36.8 - 4.6 * 1.34 - 0.14 * 60.0),
                2.0 * (36.8 - 4.6 * 0.8 - 0.14 * 40.0) * 0.58 * np.exp(0.1),
                1.6 * (36.8 - 4.6 * 2.27 - 0.14 * 75.0) * np.exp(-0.25)]
    np.testing.assert_allclose(pk.clearance_l_per_h, expected, rtol=1e-14)
    assert pk.clearance_l_per_h[0] == pytest.approx(40.0248, abs=1e-10)
    assert pk.central_volume_l.tolist() == [7.4] * 3 and pk.peripheral3_volume_l[0] == 111.0
    rates = {"k12": 7.84 / 7.4, "k21": 7.84 / 5.19, "k13": 9.32 / 7.4, "k31": 9.32 / 111.0}
    friberg_2002 = {"k12": 1.06, "k21": 1.51, "k13": 1.26, "k31": 0.084}  # radivot/myelo
    for key, value in rates.items():
        assert value == pytest.approx(friberg_2002[key], rel=5e-3), key


def test_bruno1996__hepatic_impairment_multiplies_cl_by_058_and_cl_has_a_floor() -> None:
    """HEP 1 gives 0.58 x CL exactly; an extreme AAG and age floor CL at 1 L/h before eta."""
    model = Bruno1996()
    args = (np.array([1.9, 1.9]), np.array([1.1, 1.1]), np.array([55.0, 55.0]))
    cl = model.parameters(*args, np.array([0, 1])).clearance_l_per_h
    assert cl[1] == pytest.approx(0.58 * cl[0], rel=1e-14)
    floored = model.parameters(np.array([1.0]), np.array([5.0]), np.array([120.0]),
                               np.array([0]), np.array([0.5])).clearance_l_per_h
    assert floored[0] == pytest.approx(np.exp(0.5), rel=1e-14)  # 36.8 - 23 - 16.8 < 0


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"bsa_m2": 0.3}, r"bsa_m2 must be in \[0.5, 3.5\], got \[0.3\]"),
    ({"aag_g_per_l": np.nan}, r"aag_g_per_l must be in \[0.1, 5\]"),
    ({"age_years": 130.0}, r"age_years must be in \[0, 120\]"),
    ({"hepatic_impairment": 2.0}, r"hepatic_impairment must be in \[0, 1\]")])
def test_bruno1996__bad_covariates_raise_naming_the_field(kwargs: dict, match: str) -> None:
    """Covariates out of range or NaN raise a ValueError naming the covariate and its range."""
    given = {"bsa_m2": 1.8, "aag_g_per_l": 1.34, "age_years": 60.0, "hepatic_impairment": 0.0}
    given.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Bruno1996().parameters(*(np.array([value]) for value in given.values()))


def test_model_dataclasses__bad_fields_raise_naming_the_field() -> None:
    """Zero volumes, negative rates, bad etas, missing covariates and tolerances are refused."""
    cases = [(lambda: Bruno1996(central_volume_l=0.0), r"Bruno1996\.central_volume_l"),
             (lambda: FribergDocetaxel(mtt_h=-1.0), r"FribergDocetaxel\.mtt_h must be > 0"),
             (lambda: FribergDocetaxel(omega_slope=-0.1), r"FribergDocetaxel\.omega_slope"),
             (lambda: Claret2009(growth_per_week=0.0), r"Claret2009\.growth_per_week.*> 0"),
             (lambda: Claret2009(measurement_cv=-0.1), r"Claret2009\.measurement_cv.*>= 0"),
             (lambda: Claret2009().parameters(np.zeros((1, 2))), r"shape \(n, 3\)"),
             (lambda: FribergDocetaxel().parameters([0], [1.3], np.zeros((2, 3))),
              r"etas must be finite with shape \(1, 3\)"),
             (lambda: MODEL.parameters({k: v for k, v in TYPICAL.items() if k != "bsa_m2"}),
              r"covariates lack \['bsa_m2'\]"),
             (lambda: MODEL.parameters(TYPICAL, np.full((1, 7), np.nan)), r"etas must be finite"),
             (lambda: MODEL.run_cycles(typical_rows(), np.array([70.0]), np.array([[-1.0]])),
              r"doses_mg must be finite and >= 0"),
             (lambda: SolverTolerances(rtol=0.0), r"0 < rtol < 1")]
    for build, match in cases:
        with pytest.raises(ValueError, match=match):
            build()
    assert Bruno1996(omega_clearance=0.0).omega_clearance == 0.0  # a zero omega is allowed


def test_friberg_docetaxel__covariates_by_hand() -> None:
    """Circ0 -12.1% in women and +0.175 / +0.495 per g/L AAG below / above 1.34; Slope in L/mg."""
    aag = np.array([1.34, 1.34, 1.0, 2.0, 4.5])
    p = FribergDocetaxel().parameters(np.array([0, 1, 0, 1, 0]), aag)
    circ0 = [5.22, 5.22 * 0.879, 5.22 * (1 - 0.175 * 0.34), 5.22 * 0.879 * (1 + 0.495 * 0.66),
             5.22 * (1 + 0.495 * 3.16)]
    np.testing.assert_allclose(p.circ0_1e9_per_l, circ0, rtol=1e-14)
    per_mg = 15.57 * 1000.0 / 807.88  # L/umol -> L/mg with docetaxel's molar mass
    slope = per_mg * np.array([1.0, 1.0, 1 + 0.351 * 0.34, 1 - 0.351 * 0.66, 0.05])
    np.testing.assert_allclose(p.slope_l_per_mg, slope, rtol=1e-14)  # floor at 5% for AAG 4.5
    assert p.mtt_h.tolist() == [84.2] * 5 and p.gamma.tolist() == [0.1445] * 5
    np.testing.assert_allclose(p.ktr_per_h, 4.0 / 84.2, rtol=1e-15)


@pytest.mark.parametrize(("anc", "grade"), [
    (5.0, 0), (2.0, 0), (1.9999, 1), (1.5, 1), (1.4999, 2), (1.0, 2), (0.9999, 3), (0.5, 3),
    (0.4999, 4), (0.0, 4)])
def test_neutropenia_grade__ctcae_v5_band_edges(anc: float, grade: int) -> None:
    """Grade 1 below 2.0 (LLN), 2 below 1.5, 3 below 1.0, 4 below 0.5 x10^9/L; edges inclusive."""
    assert neutropenia_grade(np.array([anc])).tolist() == [grade]


def test_claret2009__progressed_is_recist_on_whole_millimetres() -> None:
    """For every integer nadir 0-200 and size 0-300 mm: >= 20% and >= 5 mm over the nadir."""
    nadir, size = np.meshgrid(np.arange(201.0), np.arange(301.0), indexing="ij")
    exact = (5 * size >= 6 * nadir) & (size - nadir >= 5)  # integer arithmetic, no rounding
    np.testing.assert_array_equal(Claret2009().progressed(size, nadir), exact)
    assert Claret2009().progressed(np.array([30.0, 29.0, 24.0, 59.0]),
                                   np.array([25.0, 25.0, 20.0, 50.0])).tolist() == [
        True, False, False, False]


def test_docetaxel_patient_model__variability_names_order_and_omegas() -> None:
    """Block-diagonal IIV: CL; CIRC0, MTT, SLOPE; KL, KD, LAMBDA with the cited variances."""
    variability = MODEL.variability
    assert variability.names == ("CL", "CIRC0", "MTT", "SLOPE", "KL", "KD", "LAMBDA")
    omegas = [np.log(1 + 0.35**2), 0.064, 0.0192, 0.128, 0.556, 0.540, 0.450]
    np.testing.assert_allclose(variability.omega, np.diag(omegas), rtol=1e-15, atol=0)
    assert variability.eta_columns[0] == "eta_CL"


@pytest.mark.parametrize("j", range(7))
def test_docetaxel_patient_model__each_eta_scales_only_its_parameter(j: int) -> None:
    """eta_j = 0.25 multiplies its packed column by e^(+-0.25) and leaves the other 13 alone."""
    covariates = {key: value * 2 for key, value in TYPICAL.items()}
    covariates["is_female"], covariates["aag_g_per_l"] = [0, 1], [1.34, 2.1]
    base = MODEL.parameters(covariates)
    etas = np.zeros((2, 7))
    etas[:, j] = 0.25
    moved = MODEL.parameters(covariates, etas)
    column, sign = ETA_COLUMNS[MODEL.variability.names[j]]
    np.testing.assert_allclose(moved[:, column], base[:, column] * np.exp(sign * 0.25),
                               rtol=1e-14)
    others = np.arange(N_PARAMS) != column
    np.testing.assert_array_equal(moved[:, others], base[:, others])


def test_pack_parameters__rows_hold_the_micro_constants_and_rates() -> None:
    """K10 = CL / V1, k21 = Q2 / V2, KTR = 4 / MTT, KL per hour, RATE 0 (no infusion yet)."""
    pk = Bruno1996().parameters([1.8], [1.34], [60.0], [0])
    rows = pack_parameters(pk, FribergDocetaxel().parameters([0], [1.34]),
                           Claret2009().parameters(np.zeros((1, 3))))
    assert rows[0, K10] == pytest.approx(TYPICAL_CL_L_PER_H / 7.4, rel=1e-14)
    assert rows[0, K21] == pytest.approx(7.84 / 5.19, rel=1e-14)
    assert rows[0, KTR] == pytest.approx(4.0 / 84.2, rel=1e-14)
    assert rows[0, KL] == pytest.approx(0.015 / 168.0, rel=1e-14)
    assert rows[0, LAMBDA] == pytest.approx(0.042 / 168.0, rel=1e-14)
    assert (rows[0, RATE], rows[0, GAMMA]) == (0.0, 0.1445)


def test_advance_cycles__a_patient_is_the_same_alone_or_in_a_parallel_batch_of_64() -> None:
    """Batch-size invariance: patient k's course is bit-identical in a batch of 1 and of 64."""
    rng = np.random.default_rng(11)
    n = 64
    covariates = {"is_female": rng.integers(0, 2, n), "age_years": rng.uniform(30, 80, n),
                  "bsa_m2": rng.uniform(1.4, 2.2, n), "aag_g_per_l": rng.uniform(0.8, 2.5, n),
                  "hepatic_impairment": rng.integers(0, 2, n),
                  "baseline_sld_mm": rng.uniform(20, 150, n)}
    rows = MODEL.parameters(covariates, rng.normal(0.0, 0.4, (n, 7)))
    doses = rng.uniform(0.0, 200.0, (n, 2))
    anc, sld = MODEL.run_cycles(rows, covariates["baseline_sld_mm"], doses)
    for k in (0, 31, 63):
        alone = MODEL.run_cycles(rows[k:k + 1], covariates["baseline_sld_mm"][k:k + 1],
                                 doses[k:k + 1])
        np.testing.assert_array_equal(alone[0], anc[k:k + 1])
        np.testing.assert_array_equal(alone[1], sld[k:k + 1])
