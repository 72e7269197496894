"""The oncology clinic giving docetaxel: scenario, reward, observation, toxicity rules.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`ChemotherapyScenario`; the core reads it directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.models.chemotherapy import FEBRILE_NEUTROPENIA_PER_DAY
from pkgym.models.chemotherapy_kernel import SolverTolerances
from pkgym.models.docetaxel import Bruno1996
from pkgym.models.myelosuppression import (
    Friberg2002DocetaxelEmax,
    FribergDocetaxel,
    MyelosuppressionModel,
)
from pkgym.models.tumour import Claret2009
from pkgym.populations.chemotherapy import DOCETAXEL_PATIENTS
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

POPULATIONS = {"docetaxel_patients": DOCETAXEL_PATIENTS}
"""Named populations a scenario may use."""
MODELS: dict[str, type[MyelosuppressionModel]] = {
    "kloft2006": FribergDocetaxel, "friberg2002_emax": Friberg2002DocetaxelEmax}
"""Myelosuppression truths a scenario may name (``model``), each with its own field."""
ANC_HIGH, SLD_HIGH_MM = 50.0, 1000.0
"""Observation bounds: the clinic's reporting limits (x10^9/L, mm); a measured count or scan
beyond one is reported at it (:func:`~pkgym.envs.chemotherapy.records.measure_anc`). Kept,
not widened, because encoders scale observations by the space's bounds."""


@dataclass(frozen=True, slots=True)
class CycleOutcome:
    """One cycle's clinical outcome of every patient, what reward functions score (all (n,)).

    Attributes:
        shrinkage: fall of the true tumour size over the cycle, as a fraction of baseline.
        progression_free: no progression seen at any scan so far (after this cycle).
        progressed: progression was first seen at this cycle's scan.
        grade4_days: days of the cycle ending with ANC < 0.5 x10^9/L.
        febrile_neutropenia: a febrile neutropenia episode during the cycle.
    """

    shrinkage: np.ndarray
    progression_free: np.ndarray
    progressed: np.ndarray
    grade4_days: np.ndarray
    febrile_neutropenia: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class TumourControlReward(RewardFn):
    """Per-cycle reward: tumour shrinkage and progression-free time against neutropenia.

    ``reward = shrinkage_weight * shrinkage + progression_free_bonus * progression_free
    - progression_penalty * progressed - grade4_penalty_per_day * grade4_days
    - febrile_neutropenia_penalty * febrile_neutropenia``.
    """

    shrinkage_weight: float = 10.0
    progression_free_bonus: float = 1.0
    progression_penalty: float = 10.0
    grade4_penalty_per_day: float = 0.5
    febrile_neutropenia_penalty: float = 10.0

    def __call__(self, outcome: CycleOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one cycle."""
        return (self.shrinkage_weight * outcome.shrinkage
                + self.progression_free_bonus * outcome.progression_free
                - self.progression_penalty * outcome.progressed
                - self.grade4_penalty_per_day * outcome.grade4_days
                - self.febrile_neutropenia_penalty * outcome.febrile_neutropenia)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChemotherapyScenario:
    """Everything that defines the docetaxel clinic (YAML fields have the same names).

    Attributes:
        population: one of ``POPULATIONS``.
        n_cycles: cycles per episode (one decision per cycle).
        cycle_days: days of a cycle.
        label_dose_mg_per_m2: the 100% dose (docetaxel label: 75 mg/m2 every 3 weeks).
        dose_levels_percent: action levels as % of the label dose.
        delay_days: days a cycle waits when the policy delays it (with ``allow_delay``).
        lab_days: days after the cycle start with a neutrophil count (0: before the dose).
        scan_every_cycles: a tumour scan after every this many cycles (and at baseline).
        anc_assay_log_sd: SD of log of measured ANC; ``None``: the model's residual (0.424).
        febrile_neutropenia_per_day: daily hazard of febrile neutropenia while ANC < 0.5
            (``FEBRILE_NEUTROPENIA_PER_DAY``, calibrated to the label); the calibration run had
            grade 4 neutropenia in 72% in cycle 1 (label: 75.4%), median nadir 0.22 x10^9/L.
        model: the myelosuppression truth the patients follow: ``"kloft2006"`` (default,
            linear drug effect, Kloft 2006) or ``"friberg2002_emax"`` (Emax drug effect,
            Friberg 2002); :attr:`truth` is the field of that name.
        kloft2006, friberg2002_emax: the two parameter sets (override single parameters in
            YAML under their names; only the one ``model`` names drives the patients, the
            other is there for a policy's belief, e.g. ``map:prior=friberg2002_emax``).
        reward, pk, tumour, solver: the reward weights, PK and tumour model parameters and
            integrator tolerances.
    """

    population: str = "docetaxel_patients"
    n_cycles: int = 6
    cycle_days: int = 21
    label_dose_mg_per_m2: float = 75.0
    dose_levels_percent: tuple[float, ...] = (0.0, 50.0, 75.0, 100.0, 125.0)
    delay_days: int = 7
    lab_days: tuple[int, ...] = (0, 7, 14)
    scan_every_cycles: int = 2
    anc_assay_log_sd: float | None = None
    febrile_neutropenia_per_day: float = FEBRILE_NEUTROPENIA_PER_DAY
    reward: TumourControlReward = field(default_factory=TumourControlReward)
    pk: Bruno1996 = field(default_factory=Bruno1996)
    model: str = "kloft2006"
    kloft2006: FribergDocetaxel = field(default_factory=FribergDocetaxel)
    friberg2002_emax: Friberg2002DocetaxelEmax = field(default_factory=Friberg2002DocetaxelEmax)
    tumour: Claret2009 = field(default_factory=Claret2009)
    solver: SolverTolerances = field(default_factory=lambda: SolverTolerances(rtol=1e-7))

    def __post_init__(self) -> None:
        """Validate the fields the objects they build do not check."""
        check_fields(self)
        if self.model not in MODELS:
            raise ValueError(f"model: {self.model!r} is not one of {sorted(MODELS)}")
        if self.population not in POPULATIONS:
            raise ValueError(f"population: {self.population!r} is not one of {sorted(POPULATIONS)}")
        if not 1 <= self.n_cycles <= 50 or not 7 <= self.cycle_days <= 56:
            raise ValueError(f"n_cycles must be in 1..50 and cycle_days in 7..56, got "
                             f"{self.n_cycles}, {self.cycle_days}")
        levels = np.asarray(self.dose_levels_percent)
        if levels.size < 2 or np.any(np.diff(levels) <= 0) or levels[0] < 0 or levels[-1] > 200:
            raise ValueError(f"dose_levels_percent must rise strictly within [0, 200], got "
                             f"{self.dose_levels_percent}")
        if not 0 < self.label_dose_mg_per_m2 <= 200 or not 1 <= self.delay_days <= 28:
            raise ValueError("label_dose_mg_per_m2 must be in (0, 200] and delay_days in 1..28")
        if any(not 0 <= d < self.cycle_days for d in self.lab_days) or \
                len(set(self.lab_days)) != len(self.lab_days) or 0 not in self.lab_days:
            raise ValueError(f"lab_days must be distinct days in 0..{self.cycle_days - 1} and "
                             f"include 0, got {self.lab_days}")
        if not 1 <= self.scan_every_cycles <= self.n_cycles:
            raise ValueError(f"scan_every_cycles must be in 1..n_cycles, got "
                             f"{self.scan_every_cycles}")
        if self.anc_assay_log_sd is not None and not 0 <= self.anc_assay_log_sd <= 2:
            raise ValueError("anc_assay_log_sd must be in [0, 2] or null")
        if not 0 <= self.febrile_neutropenia_per_day <= 1:
            raise ValueError("febrile_neutropenia_per_day must be in [0, 1]")

    @property
    def truth(self) -> MyelosuppressionModel:
        """The myelosuppression parameter set the patients follow (the field ``model`` names).

        Examples:
            >>> type(ChemotherapyScenario(model="friberg2002_emax").truth).__name__
            'Friberg2002DocetaxelEmax'
        """
        chosen: MyelosuppressionModel = getattr(self, self.model)
        return chosen

    @property
    def assay_log_sd(self) -> float:
        """SD of log of the measured ANC."""
        if self.anc_assay_log_sd is None:
            return self.truth.residual_log_sd
        return self.anc_assay_log_sd

    @property
    def n_scans(self) -> int:
        """Scans per episode, baseline included."""
        return 1 + self.n_cycles // self.scan_every_cycles

    @property
    def max_cycle_days(self) -> int:
        """Longest cycle (a delayed one)."""
        return self.cycle_days + self.delay_days


def resolve_scenario(scenario: ChemotherapyScenario | str | os.PathLike | None,
                     env_id: str) -> ChemotherapyScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    Examples:
        >>> resolve_scenario(None, "any id").n_cycles
        6
    """
    return resolve(scenario, ChemotherapyScenario, env_id)


COVARIATES = ("age_years", "is_female", "weight_kg", "height_cm", "bsa_m2", "aag_g_per_l",
              "hepatic_impairment")
COVARIATE_HIGHS = np.array([120.0, 1.0, 300.0, 250.0, 4.0, 6.0, 1.0], dtype=np.float32)


class ClinicLabs(ObservationModel):
    """What the oncology clinic knows (float32): covariates, ANC results, scans, doses."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        s = settings.scenario

        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        n_labs = s.n_cycles * len(s.lab_days)
        return spaces.Dict({
            "covariates": box(len(COVARIATES), COVARIATE_HIGHS),
            "anc_1e9_per_l": box(n_labs, ANC_HIGH), "anc_mask": box(n_labs, 1.0),
            "sld_mm": box(s.n_scans, SLD_HIGH_MM), "sld_mask": box(s.n_scans, 1.0),
            "dose_percent": box(s.n_cycles, max(s.dose_levels_percent)),
            "delayed": box(s.n_cycles, 1.0), "febrile_neutropenia": box(s.n_cycles, 1.0),
            "cycle": box(1, s.n_cycles)})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients."""
        return {"covariates": records.covariates_f32.copy(),
                "anc_1e9_per_l": records.anc_measured.copy(), "anc_mask": records.anc_mask.copy(),
                "sld_mm": records.sld_measured.copy(), "sld_mask": records.sld_mask.copy(),
                "dose_percent": records.dose_percent.astype(np.float32),
                "delayed": records.delayed.astype(np.float32),
                "febrile_neutropenia": records.febrile.astype(np.float32),
                "cycle": records.cycle[:, None].astype(np.float32)}
