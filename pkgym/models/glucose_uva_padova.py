"""UVA/Padova type 1 diabetes glucose-insulin model with simglucose 0.2.11's 30 virtual patients.

Model: the meal glucose-insulin model of Dalla Man C, Rizza RA, Cobelli C (2007), IEEE Trans
Biomed Eng 54(10):1740-1749, with subcutaneous insulin and the type 1 adaptation of Dalla Man C
et al. (2007), J Diabetes Sci Technol 1(3):323-330 and Kovatchev BP et al. (2009), J Diabetes
Sci Technol 3(1):44-55, in the form implemented by the open simulator simglucose 0.2.11 (Jinyu
Xie, MIT licence, ``simglucose/patient/t1dpatient.py``): 13 states, units mg, mg/kg, pmol/kg,
pmol/L and min. The equations are written out in :mod:`pkgym.models.glucose_uva_padova_kernel`.

Patients: the 30 virtual patients shipped by simglucose 0.2.11 (``params/vpatient_params.csv``:
adolescent#001-010, adult#001-010, child#001-010; its origin is the 2008 public population of
the UVA/Padova T1DM simulator) and their carb ratio CR (g/U), correction factor CF (mg/dL/U),
age and total daily insulin TDI (U) from ``params/Quest.csv``, copied unchanged to
``pkgym/models/data/uva_padova_*.csv`` (MIT, Copyright (c) 2017 Jinyu Xie). Basal insulin is
``u2ss * BW / 6000`` U/min, the rate at which each patient's initial state is a steady state.

Numerics: inputs are constant over each minute; each minute is integrated by classical RK4 at
``1 / substeps`` min (default 2 substeps). Against LSODA at rtol = atol = 1e-10 over 8 h after a
50 g meal and bolus (adult#001) the relative glucose error is below 1e-6 at 2 substeps (tested
in ``tests/models/test_glucose_uva_padova.py``); simglucose itself integrates with scipy's
``dopri5`` at its default tolerances (rtol 1e-6).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from pkgym.models.glucose_inputs import checked_states, per_minute
from pkgym.models.glucose_uva_padova_kernel import (
    N_MEMORY,
    N_STATES,
    PARAM_NAMES,
    advance_kernel,
    derivatives_kernel,
)
from pkgym.utils import check_non_negative

__all__ = ["EAT_RATE_G_PER_MIN", "MEMORY_NAMES", "N_STATES", "PARAM_NAMES", "PATIENT_GROUPS",
           "STATE_NAMES", "UvaPadovaPatients", "advance", "derivatives", "initial_meal_memory",
           "meal_intake", "uva_padova_patients"]

DATA_DIR = Path(__file__).with_name("data")
STATE_NAMES: tuple[str, ...] = (
    "qsto1_mg", "qsto2_mg", "qgut_mg", "gp_mg_per_kg", "gt_mg_per_kg", "ip_pmol_per_kg",
    "x_pmol_per_l", "i_delayed_pmol_per_l", "xl_pmol_per_l", "il_pmol_per_kg",
    "isc1_pmol_per_kg", "isc2_pmol_per_kg", "gs_mg_per_kg")
MEMORY_NAMES: tuple[str, ...] = ("last_qsto_mg", "foodtaken_g", "last_carbs_g_per_min")
"""Columns of the meal memory (simglucose's ``_last_Qsto``, ``_last_foodtaken``, last CHO)."""
PATIENT_GROUPS: tuple[str, ...] = ("adolescent", "adult", "child")
EAT_RATE_G_PER_MIN = 5.0
"""simglucose's ``T1DPatient.EAT_RATE``: an announced meal is eaten at 5 g/min."""
SOURCE = ("simglucose 0.2.11 params/vpatient_params.csv and Quest.csv (MIT), from the UVA/Padova "
          "T1DM simulator's 2008 population")


@dataclass(frozen=True, slots=True, kw_only=True)
class UvaPadovaPatients:
    """A batch of UVA/Padova virtual patients (simglucose's parameter rows).

    ``parameters`` holds the kernel's columns :data:`PARAM_NAMES` in simglucose's own units
    (BW kg; rates 1/min; kp1, Fsnc, Vm0 mg/kg/min; Km0, ke2 mg/kg; Vg dL/kg; Vi L/kg; Ib pmol/L;
    u2ss pmol/kg/min; ...), read through :meth:`column`.
    """

    names: tuple[str, ...]
    parameters: np.ndarray = field(repr=False)  # (n_patients, len(PARAM_NAMES))
    initial_states: np.ndarray = field(repr=False)  # (n_patients, 13), simglucose's x0
    carb_ratio_g_per_u: np.ndarray = field(repr=False, metadata={"unit": "g/U"})  # (n,)
    correction_factor_mg_per_dl_per_u: np.ndarray = field(
        repr=False, metadata={"unit": "mg/dL/U"})  # (n,)
    age_years: np.ndarray = field(repr=False, metadata={"unit": "years"})  # (n,)
    total_daily_insulin_u: np.ndarray = field(repr=False, metadata={"unit": "U/day"})  # (n,)

    def __post_init__(self) -> None:
        """Shapes agree; parameters finite."""
        n = len(self.names)
        if self.parameters.shape != (n, len(PARAM_NAMES)):
            raise ValueError(f"parameters must have shape ({n}, {len(PARAM_NAMES)}), "
                             f"got {self.parameters.shape}")
        if self.initial_states.shape != (n, N_STATES):
            raise ValueError(f"initial_states must have shape ({n}, {N_STATES}), "
                             f"got {self.initial_states.shape}")
        if not np.all(np.isfinite(self.parameters)):
            raise ValueError("parameters must be finite")

    @property
    def n_patients(self) -> int:
        """Number of patients in the batch."""
        return len(self.names)

    def column(self, name: str) -> np.ndarray:
        """Parameter ``name`` (one of :data:`PARAM_NAMES`) for every patient, shape (n,)."""
        if name not in PARAM_NAMES:
            raise ValueError(f"name must be one of {PARAM_NAMES}, got {name!r}")
        return self.parameters[:, PARAM_NAMES.index(name)]

    @property
    def body_weight_kg(self) -> np.ndarray:
        """Body weight BW, kg, shape (n,)."""
        return self.column("BW")

    @property
    def basal_insulin_u_per_min(self) -> np.ndarray:
        """Steady-state basal insulin ``u2ss * BW / 6000``, U/min, shape (n,)."""
        return self.column("u2ss") * self.body_weight_kg / 6000.0

    @property
    def basal_glucose_mg_per_dl(self) -> np.ndarray:
        """Plasma glucose of the initial state, Gp(0) / Vg, mg/dL, shape (n,)."""
        return self.initial_states[:, 3] / self.column("Vg")

    def take(self, indices: ArrayLike) -> UvaPadovaPatients:
        """The sub-batch at ``indices`` (any integer index array, repeats allowed)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        return UvaPadovaPatients(
            names=tuple(self.names[i] for i in idx), parameters=self.parameters[idx],
            initial_states=self.initial_states[idx],
            carb_ratio_g_per_u=self.carb_ratio_g_per_u[idx],
            correction_factor_mg_per_dl_per_u=self.correction_factor_mg_per_dl_per_u[idx],
            age_years=self.age_years[idx], total_daily_insulin_u=self.total_daily_insulin_u[idx])


def _read_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _all_patients() -> UvaPadovaPatients:
    rows = _read_csv("uva_padova_vpatient_params.csv")
    quest = {row["Name"]: row for row in _read_csv("uva_padova_quest.csv")}
    state_columns = [key for key in rows[0] if key.startswith("x0_")]

    def quest_column(key: str) -> np.ndarray:
        return np.array([float(quest[row["Name"]][key]) for row in rows])

    return UvaPadovaPatients(
        names=tuple(row["Name"] for row in rows),
        parameters=np.array([[float(row[k]) for k in PARAM_NAMES] for row in rows]),
        initial_states=np.array([[float(row[k]) for k in state_columns] for row in rows]),
        carb_ratio_g_per_u=quest_column("CR"),
        correction_factor_mg_per_dl_per_u=quest_column("CF"),
        age_years=quest_column("Age"), total_daily_insulin_u=quest_column("TDI"))


def uva_padova_patients(selection: str | list[str] | tuple[str, ...] = "all") -> UvaPadovaPatients:
    """The shipped virtual patients: ``"all"``, a group name, or a list of patient names.

    Args:
        selection: ``"all"`` (30 patients), ``"adolescent"``, ``"adult"`` or ``"child"`` (10
            each), one name like ``"adult#001"``, or a list of names (order kept).

    Examples:
        >>> p = uva_padova_patients("adult#001")
        >>> round(float(p.basal_glucose_mg_per_dl[0]), 2), uva_padova_patients("child").n_patients
        (138.56, 10)
    """
    every = _all_patients()
    if isinstance(selection, str):
        if selection == "all":
            return every
        if selection in PATIENT_GROUPS:
            prefix = selection + "#"
            return every.take([i for i, n in enumerate(every.names) if n.startswith(prefix)])
        selection = [selection]
    unknown = [name for name in selection if name not in every.names]
    if unknown or not selection:
        raise ValueError(f"selection must be 'all', one of {PATIENT_GROUPS} or names like "
                         f"'adult#001' (of {len(every.names)} shipped), got {unknown or selection}")
    return every.take([every.names.index(name) for name in selection])


def initial_meal_memory(states: ArrayLike) -> np.ndarray:
    """Meal memory as simglucose's ``reset`` leaves it: stomach content kept, nothing eaten.

    Examples:
        >>> initial_meal_memory(uva_padova_patients("adult#001").initial_states).tolist()
        [[0.0, 0.0, 0.0]]
    """
    x = np.asarray(states, dtype=np.float64)
    memory = np.zeros((x.shape[0], N_MEMORY))
    memory[:, 0] = x[:, 0] + x[:, 1]
    return memory


def advance(states: ArrayLike, patients: UvaPadovaPatients, insulin_u_per_min: ArrayLike,
            carbs_g_per_min: ArrayLike, minutes: int, memory: ArrayLike, *,
            substeps: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Advance every patient by ``minutes`` one-minute steps (pure: inputs are not modified).

    Args:
        states: (n, 13) model states (units: :data:`STATE_NAMES`).
        patients: the n patients.
        insulin_u_per_min: insulin delivered, U/min (basal + bolus / 1 min as simglucose does),
            a scalar, (n,) held for every minute, or (n, minutes).
        carbs_g_per_min: carbohydrate eaten, g/min (simglucose eats at most 5 g/min; see
            :func:`meal_intake`), a scalar, (n,) or (n, minutes).
        minutes: number of one-minute steps, >= 1.
        memory: (n, 3) meal memory (:data:`MEMORY_NAMES`), from :func:`initial_meal_memory`.
        substeps: RK4 steps per minute, >= 1.

    Returns:
        ``(new_states (n, 13), new_memory (n, 3), glucose_mg_per_dl (n, minutes))``, the last
        being plasma glucose Gp / Vg at the end of each minute.

    Examples:
        >>> p = uva_padova_patients("adult#001")
        >>> x, m, g = advance(p.initial_states, p, p.basal_insulin_u_per_min, 0.0, 60,
        ...                   initial_meal_memory(p.initial_states))
        >>> round(float(g[0, -1]), 2)
        138.56
    """
    n = patients.n_patients
    x = checked_states(states, n, N_STATES, minutes, substeps)
    mem = np.array(memory, dtype=np.float64, order="C")
    if mem.shape != (n, N_MEMORY):
        raise ValueError(f"memory must have shape ({n}, {N_MEMORY}), got {mem.shape}")
    insulin = per_minute("insulin_u_per_min", insulin_u_per_min, n, int(minutes))
    carbs = per_minute("carbs_g_per_min", carbs_g_per_min, n, int(minutes))
    glucose = np.empty((n, int(minutes)))
    advance_kernel(x, np.ascontiguousarray(patients.parameters), insulin, carbs, mem,
                   int(substeps), glucose)
    return x, mem, glucose


def derivatives(states: ArrayLike, patients: UvaPadovaPatients, insulin_u_per_min: ArrayLike,
                carbs_g_per_min: ArrayLike, dbar_mg: ArrayLike) -> np.ndarray:
    """The model's right-hand side, (n, 13), per minute (units of :data:`STATE_NAMES` / min).

    Args:
        states: (n, 13).
        patients: the n patients.
        insulin_u_per_min: (n,) or scalar, U/min.
        carbs_g_per_min: (n,) or scalar, g/min.
        dbar_mg: (n,) or scalar, the current meal's size for gastric emptying, mg (0: none).
    """
    x = np.ascontiguousarray(states, dtype=np.float64)
    n = patients.n_patients
    out = np.empty((n, N_STATES))
    derivatives_kernel(x, np.ascontiguousarray(patients.parameters),
                       per_minute("insulin_u_per_min", insulin_u_per_min, n, 1)[:, 0].copy(),
                       per_minute("carbs_g_per_min", carbs_g_per_min, n, 1)[:, 0].copy(),
                       per_minute("dbar_mg", dbar_mg, n, 1)[:, 0].copy(), out)
    return out


def meal_intake(announced_g: ArrayLike, pending_g: ArrayLike,
                eat_rate_g_per_min: float = EAT_RATE_G_PER_MIN) -> tuple[np.ndarray, np.ndarray]:
    """Meal announcement as in simglucose: announced grams are eaten at ``eat_rate_g_per_min``.

    Args:
        announced_g: (n, minutes) carbohydrate announced at each minute, g.
        pending_g: (n,) grams announced but not yet eaten.
        eat_rate_g_per_min: eating rate, g/min (simglucose: 5).

    Returns:
        ``(carbs_g_per_min (n, minutes), pending_g (n,))``.

    Examples:
        >>> carbs, left = meal_intake([[12.0, 0.0, 0.0, 0.0]], [0.0])
        >>> carbs.tolist(), left.tolist()
        ([[5.0, 5.0, 2.0, 0.0]], [0.0])
    """
    announced = check_non_negative("announced_g", announced_g)
    if announced.ndim != 2:
        raise ValueError(f"announced_g must have shape (n, minutes), got {announced.shape}")
    pending = check_non_negative("pending_g", pending_g).reshape(-1).copy()
    if pending.shape != (announced.shape[0],):
        raise ValueError(f"pending_g must have shape ({announced.shape[0]},), got {pending.shape}")
    eaten = np.empty_like(announced)
    for minute in range(announced.shape[1]):
        pending += announced[:, minute]
        eaten[:, minute] = np.minimum(eat_rate_g_per_min, pending)
        pending = np.maximum(pending - eaten[:, minute], 0.0)
    return eaten, pending
