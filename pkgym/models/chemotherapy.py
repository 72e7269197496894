"""The docetaxel patient as one model: PK, neutrophils and tumour, with their joint IIV.

Bundles :class:`~pkgym.models.docetaxel.Bruno1996`,
:class:`~pkgym.models.myelosuppression.FribergDocetaxel` and
:class:`~pkgym.models.tumour.Claret2009` so that an environment, a Bayesian dosing policy and a
trial simulator build the same patient from covariates and seven random effects (CL; Circ0,
MTT, Slope; KL, KD, lambda), and run cycles with :mod:`pkgym.models.chemotherapy_kernel`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import block_diag

from pkgym.models.chemotherapy_kernel import (
    SolverTolerances,
    advance_cycles,
    initial_states,
    pack_parameters,
)
from pkgym.models.docetaxel import Bruno1996
from pkgym.models.myelosuppression import FribergDocetaxel, MyelosuppressionModel
from pkgym.models.tumour import Claret2009
from pkgym.populations.variability import BetweenSubjectVariability

FEBRILE_NEUTROPENIA_PER_DAY = 0.0064
"""Daily hazard of febrile neutropenia while ANC < 0.5 x10^9/L: 2000 simulated patients on
100 mg/m2 for 6 cycles give 11.6% with an episode (docetaxel label: 11% at 100 mg/m2)."""
GRADE4_ANC_1E9_PER_L = 0.5
"""CTCAE v5 grade 4 neutropenia: ANC < 0.5 x10^9/L."""
COVARIATES = ("is_female", "age_years", "bsa_m2", "aag_g_per_l", "hepatic_impairment",
              "baseline_sld_mm")
"""Covariates the joint model needs, each (n,)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DocetaxelPatientModel:
    """Bruno 1996 PK, Friberg neutrophils and Claret tumour, with joint variability.

    ``myelosuppression`` is Kloft's linear parameters (default) or Friberg 2002's Emax ones.
    """

    pk: Bruno1996 = field(default_factory=Bruno1996)
    myelosuppression: MyelosuppressionModel = field(default_factory=FribergDocetaxel)
    tumour: Claret2009 = field(default_factory=Claret2009)

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Block-diagonal IIV: CL, then CIRC0, MTT, SLOPE, then KL, KD, LAMBDA.

        Examples:
            >>> DocetaxelPatientModel().variability.names
            ('CL', 'CIRC0', 'MTT', 'SLOPE', 'KL', 'KD', 'LAMBDA')
        """
        parts = (self.pk.variability, self.myelosuppression.variability,
                 self.tumour.variability)
        return BetweenSubjectVariability(names=tuple(n for p in parts for n in p.names),
                                         omega=block_diag(*(p.omega for p in parts)))

    def parameters(self, covariates: Mapping[str, np.ndarray],
                   etas: np.ndarray | None = None) -> np.ndarray:
        """Packed per-patient parameters (n, 14; 16 with an Emax effect) of the compiled cycle.

        Examples:
            >>> cov = {"is_female": [0], "age_years": [60.0], "bsa_m2": [1.8],
            ...        "aag_g_per_l": [1.34], "hepatic_impairment": [0], "baseline_sld_mm": [70.0]}
            >>> DocetaxelPatientModel().parameters(cov).shape
            (1, 14)
        """
        missing = [key for key in COVARIATES if key not in covariates]
        if missing:
            raise ValueError(f"covariates lack {missing}; needed: {COVARIATES}")
        c = {key: np.asarray(covariates[key], dtype=np.float64) for key in COVARIATES}
        n = c["age_years"].shape[0]
        eta = np.zeros((n, 7)) if etas is None else np.asarray(etas, dtype=np.float64)
        if eta.shape != (n, 7) or not np.all(np.isfinite(eta)):
            raise ValueError(f"etas must be finite with shape ({n}, 7), got {eta.shape}")
        pk = self.pk.parameters(c["bsa_m2"], c["aag_g_per_l"], c["age_years"],
                                c["hepatic_impairment"], eta[:, 0])
        myelo = self.myelosuppression.parameters(c["is_female"], c["aag_g_per_l"], eta[:, 1:4])
        return pack_parameters(pk, myelo, self.tumour.parameters(eta[:, 4:7]))

    def run_cycles(self, params: np.ndarray, baseline_sld_mm: np.ndarray,
                   doses_mg: np.ndarray, cycle_days: int = 21,
                   solver: SolverTolerances | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Daily true ANC (n, cycles * days) and tumour size after each cycle (n, cycles).

        Each cycle's dose (mg, ``doses_mg`` (n, cycles)) is infused on its first day.

        Examples:
            >>> cov = {"is_female": [0], "age_years": [60.0], "bsa_m2": [1.8],
            ...        "aag_g_per_l": [1.34], "hepatic_impairment": [0], "baseline_sld_mm": [70.0]}
            >>> model = DocetaxelPatientModel()
            >>> anc, sld = model.run_cycles(model.parameters(cov), np.array([70.0]),
            ...                             np.array([[180.0]]))
            >>> int(anc[0].argmin()) + 1, bool(anc.min() < 0.5), bool(sld[0, 0] < 70.0)
            (8, True, True)
        """
        tolerances = solver or SolverTolerances()
        doses = np.asarray(doses_mg, dtype=np.float64)
        n, n_cycles = doses.shape
        if not np.all(np.isfinite(doses)) or np.any(doses < 0):
            raise ValueError("doses_mg must be finite and >= 0")
        theta, rows = params.copy(), np.arange(n)
        states, times = initial_states(theta, baseline_sld_mm), np.zeros(n)
        anc, sld = np.empty((n, n_cycles, cycle_days)), np.empty((n, n_cycles))
        for c in range(n_cycles):
            advance_cycles(rows, doses[:, c], np.zeros(n, np.int64), np.full(n, cycle_days),
                           self.pk.infusion_h, times, states, theta, tolerances.rtol,
                           tolerances.atol, tolerances.max_steps, anc[:, c])
            sld[:, c] = states[:, -1]
        return anc.reshape(n, -1), sld


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseLimitingToxicity:
    """The cycle-1 dose-limiting toxicity of docetaxel dose-finding.

    A DLT is grade 4 neutropenia (ANC < 0.5 x10^9/L) lasting more than
    ``grade4_days_limit`` days, or febrile neutropenia (daily hazard
    ``febrile_neutropenia_per_day`` while ANC < 0.5), in the first cycle.
    """

    grade4_days_limit: int = 7
    febrile_neutropenia_per_day: float = FEBRILE_NEUTROPENIA_PER_DAY
    cycle_days: int = 21

    def __post_init__(self) -> None:
        """Limits within the cycle; hazard in [0, 1]."""
        if not 0 <= self.grade4_days_limit < self.cycle_days:
            raise ValueError(f"grade4_days_limit must be in 0..{self.cycle_days - 1}")
        if not 0 <= self.febrile_neutropenia_per_day <= 1:
            raise ValueError("febrile_neutropenia_per_day must be in [0, 1]")

    def probability(self, model: DocetaxelPatientModel, covariates: Mapping[str, np.ndarray],
                    etas: np.ndarray | None, dose_mg_per_m2: np.ndarray) -> np.ndarray:
        """Each patient's probability of a cycle-1 DLT at the given dose (mg/m2), shape (n,).

        Deterministic given the patient: 1 if grade 4 lasts too long, else the chance of
        febrile neutropenia over the grade-4 days.

        Examples:
            >>> cov = {"is_female": [0, 0], "age_years": [60.0] * 2, "bsa_m2": [1.8] * 2,
            ...        "aag_g_per_l": [1.34] * 2, "hepatic_impairment": [0, 0],
            ...        "baseline_sld_mm": [70.0] * 2}
            >>> p = DoseLimitingToxicity().probability(DocetaxelPatientModel(), cov, None,
            ...                                        np.array([100.0, 250.0]))
            >>> round(float(p[0]), 4), float(p[1])
            (0.0254, 1.0)
        """
        days = self.grade4_days(model, covariates, etas, dose_mg_per_m2)
        febrile = -np.expm1(np.log1p(-self.febrile_neutropenia_per_day) * days)
        return np.where(days > self.grade4_days_limit, 1.0, febrile)

    def grade4_days(self, model: DocetaxelPatientModel, covariates: Mapping[str, np.ndarray],
                    etas: np.ndarray | None, dose_mg_per_m2: np.ndarray) -> np.ndarray:
        """Days of cycle 1 ending with ANC < 0.5 x10^9/L, shape (n,)."""
        dose = np.asarray(dose_mg_per_m2, dtype=np.float64)
        bsa = np.asarray(covariates["bsa_m2"], dtype=np.float64)
        if dose.shape != bsa.shape or not np.all(np.isfinite(dose)) or np.any(dose < 0):
            raise ValueError(f"dose_mg_per_m2 must be finite, >= 0, one per patient {bsa.shape}")
        params = model.parameters(covariates, etas)
        anc, _ = model.run_cycles(params, np.asarray(covariates["baseline_sld_mm"], np.float64),
                                  (dose * bsa)[:, None], self.cycle_days)
        return (anc < GRADE4_ANC_1E9_PER_L).sum(axis=1)
