"""``pkgymtest/OneCompartment-v0``: a toy drug defined and registered entirely by the test suite.

The proof that adding an environment changes nothing outside it: a one-compartment drug
given as a daily IV bolus, its batched :class:`~pkgym.envs.base.DosingCore`, the two shells,
an outcome spec, a NONMEM-style export, two baselines and a benchmark reference, all here,
registered through :func:`pkgym.envs.registry.register_env` by :func:`register`.

Model: ``C(t) = A(t) / V`` with ``dA/dt = -CL/V * A``; a bolus of the chosen dose at the start
of each 24-h interval. ``CL = 4 L/h (WT/70)^0.75 exp(eta_CL)``, ``V = 40 L (WT/70)
exp(eta_V)``; the trough before the next dose is measured with a 10% log-normal assay error.
Reward: 1 for each day whose AUC24 lies in 150-250 mg*h/L. Episodes end (truncated) after
5 days.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from matplotlib.figure import Figure

from pkgym.envs.base import (
    DosingCore,
    DosingEnv,
    DosingVectorEnv,
    EpisodeStreams,
    ObservationModel,
)
from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable
from pkgym.envs.pinning import validate_pinned
from pkgym.envs.registry import BenchmarkReference, EnvSpec, register_env
from pkgym.populations import (
    BetweenSubjectVariability,
    CohortSchema,
    ColumnRule,
    Population,
    Uniform,
)

ENV_ID = "pkgymtest/OneCompartment-v0"
DOSE_LEVELS_MG = (0.0, 250.0, 500.0, 750.0, 1000.0)
INTERVAL_H, N_DAYS, ASSAY_CV = 24.0, 5, 0.1
TARGET_AUC24 = (150.0, 250.0)
"""mg*h/L."""
COHORT_SCHEMA = CohortSchema(columns={"weight_kg": ColumnRule(low=20.0, high=300.0, unit="kg")})
POPULATION = Population(covariates={"weight_kg": Uniform(low=50.0, high=100.0)})
VARIABILITY = BetweenSubjectVariability(names=("CL", "V"), omega=np.diag([0.09, 0.04]))


@dataclass(frozen=True)
class ToyModel:
    """Typical clearance and volume of a 70-kg patient, and their variability."""

    clearance_l_per_h: float = 4.0
    volume_l: float = 40.0
    variability: BetweenSubjectVariability = VARIABILITY


@dataclass(frozen=True)
class ToySettings:
    """What ``pkgym.evaluation.cohorts.env_cohort`` reads: the population and the model."""

    population: Population = POPULATION
    model: ToyModel = field(default_factory=ToyModel)


@dataclass(slots=True)
class ToyRecords:
    """Every patient's episode so far; arrays lead with the patient axis."""

    patient_id: np.ndarray  # (n,)
    weight_kg: np.ndarray  # (n,)
    clearance_l_per_h: np.ndarray  # (n,)
    volume_l: np.ndarray  # (n,)
    amount_mg: np.ndarray  # (n,)
    day: np.ndarray  # (n,)
    doses_mg: np.ndarray  # (n, N_DAYS)
    auc24_mg_h_per_l: np.ndarray  # (n, N_DAYS)
    troughs_mg_per_l: np.ndarray  # (n, N_DAYS), measured before the next dose
    assay_normals: np.ndarray  # (n, N_DAYS)


def new_records(draws: dict[str, np.ndarray], pinned: Sequence[dict[str, Any] | None],
                model: ToyModel) -> ToyRecords:
    """Fresh episodes of the drawn patients, pinned ones taking their given values."""
    n = draws["eta"].shape[0]
    weight = POPULATION.from_uniforms(draws["covariates"])["weight_kg"]
    etas = model.variability.etas_from_normals(draws["eta"])
    ids = np.full(n, -1, dtype=np.int64)
    for i, patient in enumerate(pinned):
        if patient is not None:
            weight[i], etas[i], ids[i] = patient["weight_kg"], patient["etas"], patient["id"]
    size = weight / 70.0
    return ToyRecords(
        patient_id=ids, weight_kg=weight,
        clearance_l_per_h=model.clearance_l_per_h * size**0.75 * np.exp(etas[:, 0]),
        volume_l=model.volume_l * size * np.exp(etas[:, 1]), amount_mg=np.zeros(n),
        day=np.zeros(n, dtype=np.int64), doses_mg=np.zeros((n, N_DAYS)),
        auc24_mg_h_per_l=np.zeros((n, N_DAYS)), troughs_mg_per_l=np.zeros((n, N_DAYS)),
        assay_normals=np.asarray(draws["assay"], dtype=np.float64))


class ToyObservation(ObservationModel):
    """Weight, the measured troughs and the doses given so far, and the day."""

    def space(self, settings: Any) -> spaces.Dict:
        """One patient's observation space."""
        def box(size: int, high: float) -> spaces.Box:
            return spaces.Box(0.0, high, shape=(size,), dtype=np.float32)

        return spaces.Dict({"covariates": box(1, 300.0), "troughs_mg_per_l": box(N_DAYS, 1e4),
                            "doses_mg": box(N_DAYS, max(DOSE_LEVELS_MG)),
                            "day": box(1, float(N_DAYS))})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """The batched observation (float32)."""
        r = records
        return {"covariates": r.weight_kg[:, None].astype(np.float32),
                "troughs_mg_per_l": r.troughs_mg_per_l.astype(np.float32),
                "doses_mg": r.doses_mg.astype(np.float32),
                "day": r.day[:, None].astype(np.float32)}


class OneCompartmentCore(DosingCore):
    """N patients dosed once a day (see the module docstring)."""

    views = sys.modules[__name__]  # render_text, render_figure and episode_dataset below

    def __init__(self, n_patients: int, settings: ToySettings | None = None) -> None:
        """Allocate N placeholder patients; ``reset_patients`` draws real ones."""
        self.n_patients, self.settings = int(n_patients), settings or ToySettings()
        self.dose_levels_mg = np.asarray(DOSE_LEVELS_MG)
        self.observation_model = ToyObservation()
        self.observation_space = self.observation_model.space(self.settings)
        n = self.n_patients
        self.records = new_records({"covariates": np.full((n, 1), 0.5), "eta": np.zeros((n, 2)),
                                    "assay": np.zeros((n, N_DAYS))}, [None] * n,
                                   self.settings.model)

    def episode_draws(self, streams: EpisodeStreams) -> dict[str, np.ndarray]:
        """The patient's uniforms and normals, and the assay errors of the episode."""
        return {"covariates": streams.patient.random(POPULATION.n_draws),
                "eta": streams.patient.standard_normal(2),
                "assay": streams.noise.standard_normal(N_DAYS)}

    def pin_patient(self, patient: Mapping[str, Any]) -> dict[str, Any]:
        """The pinned weight (validated), etas (0 when absent) and id (-1 when absent)."""
        etas = [float(patient.get(f"eta_{name}", 0.0)) for name in VARIABILITY.names]
        return {**validate_pinned(patient, COHORT_SCHEMA), "etas": etas,
                "id": int(patient.get("id", -1))}

    def new_records(self, draws: dict[str, np.ndarray], pinned: list[dict[str, Any] | None],
                    seed_entropy: np.ndarray) -> ToyRecords:
        """Records of fresh episodes."""
        return new_records(draws, pinned, self.settings.model)

    def step(self, rows: np.ndarray, doses_mg: np.ndarray) -> tuple[np.ndarray, ...]:
        """Give ``rows`` their bolus and advance them one day (exact exponential decay)."""
        r, day = self.records, self.records.day[rows]
        if np.any(day >= N_DAYS):
            raise RuntimeError("the episode is over (truncated): call reset()")
        clearance, volume = r.clearance_l_per_h[rows], r.volume_l[rows]
        start = r.amount_mg[rows] + doses_mg
        decay = np.exp(-clearance / volume * INTERVAL_H)
        auc = start * (1.0 - decay) / clearance
        r.amount_mg[rows] = start * decay
        r.doses_mg[rows, day], r.auc24_mg_h_per_l[rows, day] = doses_mg, auc
        r.troughs_mg_per_l[rows, day] = (start * decay / volume
                                         * np.exp(ASSAY_CV * r.assay_normals[rows, day]))
        r.day[rows] = day + 1
        reward = ((auc >= TARGET_AUC24[0]) & (auc <= TARGET_AUC24[1])).astype(np.float64)
        return reward, np.zeros(rows.size, dtype=bool), r.day[rows] >= N_DAYS

    def info(self) -> dict[str, np.ndarray]:
        """The last day's dose, AUC24 and trough; the true CL and V."""
        r, rows = self.records, np.arange(self.n_patients)
        last, started = np.maximum(r.day - 1, 0), r.day > 0
        auc = np.where(started, r.auc24_mg_h_per_l[rows, last], 0.0)
        return {"day": r.day.copy(), "dose_mg": np.where(started, r.doses_mg[rows, last], 0.0),
                "auc24_mg_h_per_l": auc,
                "in_target_range": started & (auc >= TARGET_AUC24[0]) & (auc <= TARGET_AUC24[1]),
                "trough_mg_per_l": np.where(started, r.troughs_mg_per_l[rows, last], 0.0),
                "clearance_l_per_h": r.clearance_l_per_h.copy(), "volume_l": r.volume_l.copy(),
                "patient_id": r.patient_id.copy()}


def render_text(records: Any, settings: Any, row: int) -> str:
    """One line: the day, the last dose and its AUC24."""
    day = int(records.day[row])
    last = max(day - 1, 0)
    return (f"day {day}/{N_DAYS}  last dose {records.doses_mg[row, last]:g} mg  "
            f"AUC24 {records.auc24_mg_h_per_l[row, last]:.0f} mg*h/L")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """The measured troughs by day."""
    figure = Figure(figsize=(4, 3), dpi=50)
    axes = figure.subplots()
    day = int(records.day[row])
    axes.plot(np.arange(1, day + 1), records.troughs_mg_per_l[row, :day], "o-")
    axes.set_xlabel("day")
    axes.set_ylabel("trough (mg/L)")
    return figure


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """The boluses (RATE 0) and the troughs before each next dose, with the weight."""
    day = int(records.day[row])
    return nonmem_dataset(int(records.patient_id[row]), INTERVAL_H * np.arange(day),
                          records.doses_mg[row, :day], np.zeros(day),
                          INTERVAL_H * np.arange(1, day + 1),
                          records.troughs_mg_per_l[row, :day],
                          {"WT": float(records.weight_kg[row])})


class OneCompartmentEnv(DosingEnv):
    """One patient of ``pkgymtest/OneCompartment-v0`` (see the module docstring)."""

    def __init__(self, *, continuous: bool = False, render_mode: str | None = None) -> None:
        """A single patient."""
        super().__init__(OneCompartmentCore(1), continuous=continuous, render_mode=render_mode)


class OneCompartmentVectorEnv(DosingVectorEnv):
    """``num_envs`` patients of ``pkgymtest/OneCompartment-v0`` in one batch."""

    def __init__(self, num_envs: int = 1, *, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """``num_envs`` patients."""
        super().__init__(OneCompartmentCore(num_envs), continuous=continuous,
                         render_mode=render_mode, autoreset_mode=autoreset_mode)


def toy_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The share of days with AUC24 in range."""
    return {"in_target_range_fraction": np.asarray(steps["in_target_range"], float).mean(axis=1)}


OUTCOMES = OutcomeSpec(
    step_metrics=("auc24_mg_h_per_l", "in_target_range", "dose_mg", "trough_mg_per_l"),
    scores={"in_target_range_fraction": "share of days in target", "return": "return"},
    episode_scores=toy_scores, level_key="trough_mg_per_l", level_label="trough (mg/L)",
    target_range=(0.0, 10.0), in_range_key="in_target_range")


class FixedDosePolicy:
    """The toy label: 500 mg every day."""

    name, reads_hidden_state = "fixed_500mg", False

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """500 mg for everyone."""
        return np.full(len(observation["day"]), 500.0)


class ToyOraclePolicy:
    """Reads the true clearance: the dose level whose AUC24 is nearest mid-target."""

    name, reads_hidden_state = "oracle", True

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """``argmin |dose / CL - mid-target|`` over the dose levels."""
        if info is None:
            raise ValueError("the oracle needs the env's info (clearance_l_per_h)")
        wanted = sum(TARGET_AUC24) / 2.0 * np.asarray(info["clearance_l_per_h"], float)
        levels = np.asarray(DOSE_LEVELS_MG)
        return levels[np.abs(levels[None] - wanted[:, None]).argmin(axis=1)]


BASELINES = {"fixed_500mg": FixedDosePolicy, "oracle": ToyOraclePolicy}


def make_baseline(name: str, core: Any) -> Any:
    """One of :data:`BASELINES`, by name."""
    return BASELINES[name]()


SPEC = EnvSpec(
    env_id=ENV_ID, entry_point=OneCompartmentEnv, vector_entry_point=OneCompartmentVectorEnv,
    core_type=OneCompartmentCore, outcomes=lambda core: OUTCOMES, cohort_schema=COHORT_SCHEMA,
    baselines=tuple(BASELINES), baseline_factory=make_baseline,
    reference=BenchmarkReference("fixed_500mg", "oracle", "in_target_range_fraction"))


def register() -> EnvSpec:
    """Register the toy env (idempotent: a second call changes nothing)."""
    return register_env(SPEC)
