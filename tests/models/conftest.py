"""Shared fixtures for the model tests: an independent ``solve_ivp`` course of the warfarin models.

The reference is written from the equations in the docstring of :mod:`pkgym.models.warfarin`,
not from the compiled day step: racemic dose x 0.5 into a depot absorbed at ka, one- (2010) or
two-compartment (2007) S-warfarin, ``E = C^g / (EC50^g + C^g)`` inhibiting the input of two
transit chains with ``ktr = n / MTT``, and the two INR formulas. Each day restarts a Radau
integration at rtol 1e-11 after adding the dose. Only the individual parameters come from the
package (``parameters``, checked against the tables in ``test_warfarin.py``). All patients of
both models share one stiff system, so the whole reference costs one integration per day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import block_diag

from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.warfarin import Hamberg2007, Hamberg2010, HambergModel, WarfarinParameters

ABSORPTION_RATE_PER_H = 2.0
INR_MAX = 20.0
BASELINE_INR = 1.0
LAMBDA_2007 = 3.61
REFERENCE_SOLVER = {"method": "Radau", "rtol": 1e-11, "atol": 1e-13}
IRREGULAR_DOSES_MG = (
    (10.0, 10.0, 0.0, 5.0, 7.5, 0.0, 0.0, 2.5, 5.0, 12.5, 0.0, 5.0, 5.0, 3.0, 0.0, 7.0, 7.0, 0.0,
     4.0, 6.0, 5.0),
    (0.0, 0.0, 15.0, 0.0, 2.5, 5.0, 5.0, 10.0, 0.0, 1.0, 7.5, 7.5, 0.0, 0.0, 0.0, 20.0, 2.5, 5.0,
     5.0, 0.0, 9.0),
)
"""Two irregular 21-day courses: a 10 mg load, drug-free days, a 20 mg day, varying doses."""


@dataclass(frozen=True)
class WarfarinCourse:
    """Patients of one Hamberg model on daily doses, with the reference result.

    Rows 0-2 are the typical 60-year-old on 5 mg daily with CYP2C9/VKORC1 *1/*1 + G/G,
    *3/*3 + A/A and *1/*3 + G/A; rows 3-4 take :data:`IRREGULAR_DOSES_MG` (row 4 with etas).
    """

    model: HambergModel
    cyp2c9: np.ndarray  # (n,)
    vkorc1: np.ndarray  # (n,)
    age_years: np.ndarray  # (n,)
    etas: np.ndarray  # (n, n_etas)
    doses_mg: np.ndarray  # (n, n_days)
    inr: np.ndarray  # (n, n_days + 1), reference, each morning
    concentrations_mg_per_l: np.ndarray  # (n, n_days + 1), reference, each morning

    @property
    def parameters(self) -> WarfarinParameters:
        """The individual parameters of the course's patients."""
        return self.model.parameters(self.cyp2c9, self.vkorc1, self.age_years, self.etas)


def _patient_matrix(p: WarfarinParameters, i: int, two_compartment: bool,
                    lengths: tuple[int, int]) -> np.ndarray:
    """Linear part of one patient's system: (depot, central, peripheral, chain 1, chain 2)."""
    cl, v1, v2 = p.clearance_l_per_h[i], p.central_volume_l[i], p.peripheral_volume_l[i]
    q = p.intercompartmental_clearance_l_per_h[i] if two_compartment else 0.0
    k12, k21 = q / v1, (q / v2 if two_compartment else 0.0)
    size = 3 + sum(lengths)
    matrix = np.zeros((size, size))
    matrix[0, 0] = -ABSORPTION_RATE_PER_H
    matrix[1, :3] = ABSORPTION_RATE_PER_H, -cl / v1 - k12, k21
    matrix[2, 1:3] = k12, -k21
    first = 3
    for length, mtt in zip(lengths, (p.mtt1_h[i], p.mtt2_h[i]), strict=True):
        for j in range(first, first + length):  # dA_1 = ktr (... - A_1), dA_k = ktr (A_k-1 - A_k)
            matrix[j, j] = -length / mtt
            if j > first:
                matrix[j, j - 1] = length / mtt
        first += length
    return matrix


def _stack(courses: list[tuple[HambergModel, WarfarinParameters, np.ndarray]]
           ) -> dict[str, np.ndarray]:
    """All patients' systems on one block diagonal, with the indices and rates the RHS needs."""
    blocks, rows = [], []
    for model, p, _ in courses:
        two = isinstance(model, Hamberg2007)
        n1, n2 = (6, 1) if two else (3, 3)
        for i in range(p.n_patients):
            start = sum(b.shape[0] for b in blocks)  # depot, central, peripheral, chains 1, 2
            input1, input2 = start + 3, start + 3 + n1
            blocks.append(_patient_matrix(p, i, two, (n1, n2)))
            rows.append((two, start, input1, input2, input2 - 1, input2 + n2 - 1,
                         p.central_volume_l[i], p.ec50_mg_per_l[i], p.hill[i],
                         n1 / p.mtt1_h[i], n2 / p.mtt2_h[i]))
    columns = [np.array(c) for c in zip(*rows, strict=True)]
    keys = ("two", "depot", "input1", "input2", "end1", "end2", "v1", "ec50", "hill", "ktr1",
            "ktr2")
    system = dict(zip(keys, columns, strict=True))
    system["central"] = system["depot"] + 1
    system["linear"] = block_diag(*blocks)
    return system


def solve_reference(courses: list[tuple[HambergModel, WarfarinParameters, np.ndarray]]
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """INR and S-warfarin concentration each morning, shape (n, n_days + 1), for each course."""
    s = _stack(courses)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        c = np.maximum(y[s["central"]] / s["v1"], 0.0)
        inhibited = 1.0 - c ** s["hill"] / (s["ec50"] ** s["hill"] + c ** s["hill"])
        dy = s["linear"] @ y
        dy[s["input1"]] += s["ktr1"] * inhibited
        dy[s["input2"]] += s["ktr2"] * inhibited
        return dy

    def morning(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a1, a2 = y[s["end1"]], y[s["end2"]]
        deficit = np.where(s["two"], np.maximum(1.0 - a1 * a2, 0.0) ** LAMBDA_2007,
                           1.0 - (a1 + a2) / 2)
        return BASELINE_INR + INR_MAX * deficit, y[s["central"]] / s["v1"]

    doses = np.concatenate([d for _, _, d in courses])
    y = np.ones(s["linear"].shape[0])
    y[np.r_[s["depot"], s["depot"] + 1, s["depot"] + 2]] = 0.0
    days = [morning(y)]
    for day in range(doses.shape[1]):
        y = y.copy()
        y[s["depot"]] += 0.5 * doses[:, day]
        solution = solve_ivp(rhs, (0.0, 24.0), y, **REFERENCE_SOLVER)
        assert solution.success, solution.message
        y = solution.y[:, -1]
        days.append(morning(y))
    inrs, concentrations = (np.array(series).T for series in zip(*days, strict=True))
    bounds = np.cumsum([0] + [p.n_patients for _, p, _ in courses])
    return [(inrs[a:b], concentrations[a:b]) for a, b in zip(bounds[:-1], bounds[1:],
                                                             strict=True)]


def _course_inputs(model: HambergModel) -> tuple[np.ndarray, ...]:
    """Codes, ages, etas and doses of the reference patients of ``model``."""
    n_etas = len(model.variability.names)
    etas = np.zeros((5, n_etas))
    etas[4] = (0.3, -0.2, 0.4) if n_etas == 3 else (0.3, -0.2, 0.8, -0.1, 0.6, 0.4)
    doses = np.vstack([np.full((3, 21), 5.0), np.array(IRREGULAR_DOSES_MG)])
    return (np.array([0, 5, 2, 2, 1]), np.array([0, 2, 1, 1, 2]),
            np.array([60.0, 60.0, 60.0, 60.0, 78.0]), etas, doses)


@pytest.fixture(scope="module")
def warfarin_reference() -> dict[str, WarfarinCourse]:
    """Reference courses of Hamberg2010 and Hamberg2007 by class name, solved once."""
    models = (Hamberg2010(), Hamberg2007())
    inputs = [_course_inputs(model) for model in models]
    courses = [(model, model.parameters(*args[:4]), args[4])
               for model, args in zip(models, inputs, strict=True)]
    solved = solve_reference(courses)
    return {type(model).__name__: WarfarinCourse(model, *args, *result)
            for model, args, result in zip(models, inputs, solved, strict=True)}


# ----- docetaxel: an independent solve_ivp course of the joint chemotherapy model ---------------
# Written from the docstrings of pkgym.models.docetaxel, .myelosuppression and .tumour, not from
# the compiled kernel: three-compartment PK with a 1-h infusion of each cycle's dose at the start
# of the cycle, the Friberg chain with E = Slope C (C = A1 / V1, mg/L) and the Claret tumour
# dy/dt = KL y - KD exp(-lambda t) C y, t in hours since the first dose. Only the individual
# parameters come from the package (each `parameters` method, checked by hand elsewhere).

DOCETAXEL_SOLVER = {"method": "Radau", "rtol": 1e-10, "atol": 1e-12}
DOCETAXEL_COVARIATES = {"is_female": [0, 1], "age_years": [60.0, 45.0], "bsa_m2": [1.8, 1.6],
                        "aag_g_per_l": [1.34, 1.9], "hepatic_impairment": [0, 1],
                        "baseline_sld_mm": [70.0, 40.0]}
DOCETAXEL_ETAS = ((0.0,) * 7, (0.3, -0.2, 0.1, 0.4, 0.5, -0.3, 0.2))
DOCETAXEL_DOSES_MG = ((180.0, 0.0, 135.0), (120.0, 160.0, 60.0))
"""Row 0: the typical man (100 mg/m2, a skipped cycle, 75 mg/m2); row 1: a hepatically
impaired woman with high AAG and non-zero etas on every parameter."""


@dataclass(frozen=True)
class DocetaxelCourse:
    """Reference course of the patients above over 21-day cycles."""

    covariates: dict  # name -> (n,)
    etas: np.ndarray  # (n, 7)
    doses_mg: np.ndarray  # (n, n_cycles)
    daily_anc: np.ndarray  # (n, n_cycles * 21), ANC at the end of each day
    sld_mm: np.ndarray  # (n, n_cycles), tumour size at the end of each cycle
    first_nadir_h: np.ndarray  # (n,), time of the lowest ANC in cycle 1 (dense output)


def _docetaxel_rhs(pk, myelo, tumour, i: int):  # noqa: ANN001, ANN202
    """Right-hand side f(t, y, rate) of patient i, from the module docstrings' equations."""
    cl, v1 = pk.clearance_l_per_h[i], pk.central_volume_l[i]
    q2, v2, q3, v3 = (pk.q2_l_per_h[i], pk.peripheral2_volume_l[i], pk.q3_l_per_h[i],
                      pk.peripheral3_volume_l[i])
    ktr, circ0 = 4.0 / myelo.mtt_h[i], myelo.circ0_1e9_per_l[i]
    slope, gamma = myelo.slope_l_per_mg[i], myelo.gamma[i]
    kl, kd, lam = (tumour.growth_per_h[i], tumour.kill_l_per_mg_per_h[i],
                   tumour.resistance_per_h[i])

    def rhs(t: float, y: np.ndarray, rate: float) -> list[float]:
        a1, a2, a3, prol, t1, t2, t3, circ, sld = y
        c = a1 / v1
        to2, to3 = q2 * (c - a2 / v2), q3 * (c - a3 / v3)
        return [rate - cl * c - to2 - to3, to2, to3,
                ktr * prol * (1 - slope * c) * (circ0 / circ) ** gamma - ktr * prol,
                ktr * (prol - t1), ktr * (t1 - t2), ktr * (t2 - t3), ktr * (t3 - circ),
                (kl - kd * np.exp(-lam * t) * c) * sld]

    return rhs, circ0


def solve_docetaxel_reference(model: DocetaxelPatientModel, covariates: dict, etas: np.ndarray,
                              doses_mg: np.ndarray, cycle_days: int = 21) -> DocetaxelCourse:
    """Daily ANC, end-of-cycle tumour size and cycle-1 nadir time of each patient."""
    c = {key: np.asarray(value, dtype=np.float64) for key, value in covariates.items()}
    pk = model.pk.parameters(c["bsa_m2"], c["aag_g_per_l"], c["age_years"],
                             c["hepatic_impairment"], etas[:, 0])
    myelo = model.myelosuppression.parameters(c["is_female"], c["aag_g_per_l"], etas[:, 1:4])
    tumour = model.tumour.parameters(etas[:, 4:7])
    n, n_cycles = doses_mg.shape
    anc, sld, nadir_h = np.empty((n, n_cycles * cycle_days)), np.empty((n, n_cycles)), []
    infusion_h, days = model.pk.infusion_h, 24.0 * np.arange(1, cycle_days + 1)
    for i in range(n):
        rhs, circ0 = _docetaxel_rhs(pk, myelo, tumour, i)
        y = np.array([0, 0, 0, *[circ0] * 5, c["baseline_sld_mm"][i]], dtype=np.float64)
        for k in range(n_cycles):
            start = 24.0 * cycle_days * k
            infused = solve_ivp(rhs, (start, start + infusion_h), y, args=(doses_mg[i, k],),
                                **DOCETAXEL_SOLVER)
            rest = solve_ivp(rhs, (start + infusion_h, start + days[-1]), infused.y[:, -1],
                             args=(0.0,), t_eval=start + days, dense_output=k == 0,
                             **DOCETAXEL_SOLVER)
            assert infused.success and rest.success, rest.message
            anc[i, k * cycle_days:(k + 1) * cycle_days] = rest.y[7]
            y = rest.y[:, -1]
            sld[i, k] = y[8]
            if k == 0:
                fine = np.linspace(infusion_h, days[-1], 20_001)
                nadir_h.append(fine[rest.sol(fine)[7].argmin()])
    return DocetaxelCourse(covariates, etas, doses_mg, anc, sld, np.array(nadir_h))


@pytest.fixture(scope="module")
def docetaxel_reference() -> DocetaxelCourse:
    """Two patients, three cycles (see ``DOCETAXEL_DOSES_MG``), solved once per module."""
    return solve_docetaxel_reference(DocetaxelPatientModel(), DOCETAXEL_COVARIATES,
                                     np.array(DOCETAXEL_ETAS), np.array(DOCETAXEL_DOSES_MG))
