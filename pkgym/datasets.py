# lines: one layout per env family beside the collector that reads it (a column, one place)
"""NONMEM-style datasets of a policy run on a cohort (``pkgym dataset``), readable by pharmpy.

:func:`policy_dataset` runs one policy on a cohort in any registered env and collects every
patient's whole episode (a patient is taken out of the batch the step its episode ends, before
the env's autoreset can replace it, so no patient is lost), then builds one table:

* one row per dose (``EVID 1``, ``MDV 1``, ``AMT``, ``RATE`` where infused, ``DV 0``) and per
  measurement (``EVID 0``, ``MDV 0``, ``DV``), with ``CMT`` (the env's compartment numbers) and
  ``DVID`` (1, 2, ... one per kind of measurement; 0 on dose rows), e.g. chemotherapy's
  neutrophil counts (``DVID 1``, ``CMT 8``) and tumour scans (``DVID 2``, ``CMT 9``);
* ``ID`` 1..N, unique over the whole run (pkgym/DoseFinding-v0: one ID per treated patient
  of every trial), ``TIME`` in hours from the patient's start, non-decreasing within an ID;
* covariates as numbers only: categorical ones coded (``RACE``, ``CYP2C9``, ``VKORC1``,
  ``SEX``, ...; the codes are in :attr:`PolicyDataset.header`), measured and true values named
  as such (vancomycin: ``SCR_MEAS``, ``CRCL_MEAS`` and ``SCR_TRUE``).

:func:`write_dataset` writes it as ``dataset.csv`` (NONMEM; with pharmpy's
``dataset.datainfo`` beside it: column types, units and categories) or ``dataset.parquet``,
and the header (column meanings, units, code tables, observation types, the cohort's ids)
as ``dataset.json`` and ``dataset.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
import pandas as pd

from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.evaluation.cohorts import check_no_leakage, env_cohort
from pkgym.evaluation.policy import Policy, checked_decisions, patient_of
from pkgym.io import write_table, write_text
from pkgym.units import HOURS_PER_DAY

FORMATS = ("nonmem", "parquet")
"""Output formats of :func:`write_dataset`: NONMEM CSV (+ pharmpy datainfo) or Parquet."""
STANDARD = ("ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT", "DVID")
"""The leading columns of every dataset, in this order; covariates follow."""
NO_YES = {0: "no", 1: "yes"}
MALE_FEMALE = {0: "male", 1: "female"}


@dataclass(frozen=True, slots=True)
class Column:
    """Meaning of one column: unit, description and (categorical columns) the code table.

    ``pharmpy_unit`` is the unit as pharmpy's datainfo spells it (``None``: not a unit pharmpy
    parses exactly, e.g. ``10^9/L``; the datainfo then gives none); ``descriptor`` is pharmpy's
    (``"age"``, ``"body weight"``, ...), which its ``check_dataset`` rules key on.
    """

    unit: str
    description: str
    codes: Mapping[int, str] | None = None
    pharmpy_unit: str | None = None
    descriptor: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """One kind of measurement: its ``DVID``, ``CMT``, short name, unit and meaning."""

    dvid: int
    cmt: int
    name: str
    unit: str
    description: str
    pharmpy_unit: str | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """What an env family's episode tables hold, and how to make them pharmpy-ready.

    Attributes:
        doses: dose compartment -> what is given there.
        amount_unit, rate_unit: units of ``AMT`` and ``RATE``.
        observations: the kinds of measurement (by ``CMT``).
        covariates: column name -> meaning (after ``renames`` and ``extra``).
        renames: the env view's column names -> the dataset's (e.g. ``SCR`` -> ``SCR_MEAS``).
        extra: ``(core, row, table) -> table``: the episode table of slot ``row`` completed
            with what the env's view leaves out (scans, true covariates, times in hours).
    """

    doses: Mapping[int, str]
    amount_unit: str
    rate_unit: str
    observations: tuple[Observation, ...]
    covariates: Mapping[str, Column] = field(default_factory=dict)
    renames: Mapping[str, str] = field(default_factory=dict)
    extra: Callable[[Any, int, pd.DataFrame], pd.DataFrame] | None = None


@dataclass(slots=True)
class PolicyDataset:
    """A NONMEM-style table and its header (column meanings, units, code tables, ids)."""

    table: pd.DataFrame
    header: dict[str, Any]


# ----- per-env layouts ---------------------------------------------------------------------
AGE = Column("years", "age", pharmpy_unit="yr", descriptor="age")
SEX = Column("code", "sex", MALE_FEMALE, pharmpy_unit="1")
WT = Column("kg", "body weight", pharmpy_unit="kg", descriptor="body weight")
HT = Column("cm", "body height", pharmpy_unit="cm", descriptor="body height")


def _by_day(values: np.ndarray, times_h: np.ndarray) -> np.ndarray:
    """The daily value in force at each time (day ``TIME // 24``, the last day after it)."""
    day = np.minimum((np.asarray(times_h) // HOURS_PER_DAY).astype(np.int64), values.size - 1)
    return np.asarray(values, dtype=np.float64)[day]


def _vancomycin_extra(core: Any, row: int, table: pd.DataFrame) -> pd.DataFrame:
    """Add ``SCR_TRUE``: the true morning creatinine of the row's day (the view's is measured)."""
    true = core.records.true_creatinine_mg_per_dl[row]
    return table.assign(SCR_TRUE=_by_day(true, table["TIME"].to_numpy()))


def _chemotherapy_extra(core: Any, row: int, table: pd.DataFrame) -> pd.DataFrame:
    """Add the tumour scans (``CMT 9``, SLD in mm): baseline, then every ``scan_every_cycles``.

    A scan after cycle c is taken when cycle c + 1 starts (before its dose and with its
    day-0 count); cycle starts move by the delays given, as in the env's own view.
    """
    r, s = core.records, core.settings.scenario
    cycle = int(r.cycle[row])
    starts = np.concatenate([[0.0], np.cumsum(
        s.cycle_days + np.where(r.delayed[row, :cycle], s.delay_days, 0))]) * HOURS_PER_DAY
    slots = np.flatnonzero(r.sld_mask[row] > 0)
    scans = pd.DataFrame({"TIME": starts[slots * s.scan_every_cycles], "AMT": 0.0, "RATE": 0.0,
                          "DV": r.sld_measured[row, slots].astype(np.float64), "MDV": 0,
                          "EVID": 0, "CMT": 9})
    for name in table.columns.difference(scans.columns):  # covariates: constant per patient
        scans[name] = table[name].iloc[0]
    both = pd.concat([table, scans[table.columns]], ignore_index=True)
    return both.sort_values(["TIME", "EVID"], kind="stable").reset_index(drop=True)


def _dose_finding_extra(core: Any, row: int, table: pd.DataFrame) -> pd.DataFrame:
    """Times in hours from each patient's own dose; ``TSTART``: that dose's trial time (h).

    The env's view gives TIME in days from the trial's start and a ``TRIAL`` column holding
    the pinned id; the trial's number in the run replaces it (set by the caller).
    """
    hours = table["TIME"].to_numpy(dtype=np.float64) * HOURS_PER_DAY
    start = pd.Series(hours).groupby(table["ID"].to_numpy()).transform("min").to_numpy()
    return table.assign(TIME=hours - start, TSTART=start).drop(columns=["TRIAL"])


LAYOUTS: dict[str, Layout] = {
    "vancomycin": Layout(
        {1: "vancomycin IV infusion (central compartment)"}, "mg", "mg/h",
        (Observation(1, 1, "CONC", "mg/L", "measured vancomycin serum concentration (assay "
                     "error included)", "mg/L"),),
        {"AGE": AGE, "SEX": SEX, "WT": WT, "HT": HT,
         "DIAL": Column("code", "on haemodialysis", NO_YES, "1"),
         "SCR_MEAS": Column("mg/dL", "measured morning serum creatinine of the row's day "
                            "(assay error included; what the ward sees)", pharmpy_unit="mg/dL"),
         "CRCL_MEAS": Column("mL/min", "Cockcroft-Gault creatinine clearance from SCR_MEAS",
                             pharmpy_unit="mL/min"),
         "SCR_TRUE": Column("mg/dL", "true morning serum creatinine of the row's day (hidden "
                            "from the ward)", pharmpy_unit="mg/dL")},
        {"SCR": "SCR_MEAS", "CRCL": "CRCL_MEAS"}, _vancomycin_extra),
    "warfarin": Layout(
        {1: "oral warfarin (depot)"}, "mg", "mg/h",
        (Observation(1, 2, "INR", "1", "measured INR (assay error included, rounded as "
                     "reported)", "1"),),
        {"AGE": AGE, "SEX": SEX, "WT": WT, "HT": HT,
         "RACE": Column("code", "race (IWPC categories)", None, "1"),
         "CYP2C9": Column("code", "CYP2C9 diplotype (*2 rs1799853, *3 rs1057910)", None, "1"),
         "VKORC1": Column("code", "VKORC1 -1639G>A genotype (A: low-dose allele)", None, "1"),
         "AMIO": Column("code", "on amiodarone", NO_YES, "1"),
         "INDUCER": Column("code", "on an enzyme inducer", NO_YES, "1")}),
    "chemotherapy": Layout(
        {1: "docetaxel IV infusion (central compartment)"}, "mg", "mg/h",
        (Observation(1, 8, "ANC", "10^9/L", "measured absolute neutrophil count (assay error "
                     "included)"),
         Observation(2, 9, "SLD", "mm", "measured tumour size at a scan: sum of longest "
                     "diameters (measurement error included, to 1 mm)", "mm")),
        {"AGE": AGE, "SEX": SEX, "WT": WT, "HT": HT,
         "BSA": Column("m^2", "body surface area", pharmpy_unit="m^2",
                       descriptor="body surface area"),
         "AAG": Column("g/L", "alpha-1-acid glycoprotein", pharmpy_unit="g/L"),
         "HEP": Column("code", "hepatic impairment", NO_YES, "1")},
        extra=_chemotherapy_extra),
    "chemo_immune": Layout(
        {1: "cytotoxic drug infusion over 24 h"}, "drug units", "drug units/h",
        (Observation(1, 2, "N", "normalised cells", "measured normal cells"),
         Observation(2, 3, "T", "normalised cells", "measured tumour cells"),
         Observation(3, 4, "I", "normalised cells", "measured immune cells")),
        {"TUMOUR0": Column("normalised cells", "tumour cells at the start")}),
    "addiction": Layout(
        {1: "naltrexone taken (oral)", 2: "buprenorphine taken"}, "mg", "mg/h",
        (Observation(1, 3, "USE", "days/week", "self-reported use days of the week, at its "
                     "end"),),
        {"PRIORUSE": Column("fraction", "share of use days before the clinic",
                            pharmpy_unit="1")}),
    "depression": Layout(
        {1: "oral escitalopram"}, "mg", "mg/h",
        (Observation(1, 2, "MADRS", "points", "rated MADRS score (rater error included)"),),
        {"AGE": AGE, "SEX": SEX, "WT": WT}),
    "dose_finding": Layout(
        {1: "dose level given (AMT: the 1-based level, not mg)"}, "dose level", "-",
        (Observation(1, 2, "DLT", "0/1", "dose-limiting toxicity in the 28-day window"),),
        {"TRIAL": Column("number", "the trial (1..N in this run)", pharmpy_unit="1"),
         "COHORT": Column("number", "the patient's cohort in the trial (from 1)",
                          pharmpy_unit="1"),
         "DOSE_LEVEL": Column("level", "dose level (from 1)", pharmpy_unit="1"),
         "TSTART": Column("h", "time of the patient's dose from the trial's start",
                          pharmpy_unit="h")},
        extra=_dose_finding_extra),
}
LAYOUTS["dose_finding_efftox"] = Layout(
    LAYOUTS["dose_finding"].doses, "dose level", "-",
    (*LAYOUTS["dose_finding"].observations,
     Observation(2, 3, "RESP", "0/1", "response (efficacy event) read at the end of the "
                 "cohort's 28-day window")),
    LAYOUTS["dose_finding"].covariates, extra=_dose_finding_extra)
"""Layouts by env family (the package under :mod:`pkgym.envs` holding the env's core)."""


def _warfarin_codes() -> dict[str, dict[int, str]]:
    """Code tables of warfarin's categorical covariates: pkgym's own order (from 0)."""
    from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, RACES, VKORC1_GENOTYPES

    return {name: dict(enumerate(labels)) for name, labels in (
        ("RACE", RACES), ("CYP2C9", CYP2C9_DIPLOTYPES), ("VKORC1", VKORC1_GENOTYPES))}


def layout_of(core: DosingCore) -> Layout:
    """The layout of a core's env family; a generic one (one DVID per CMT) for other envs.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> core = gym.make("pkgym/Chemotherapy-v0").unwrapped.core
        >>> [(o.name, o.cmt, o.dvid) for o in layout_of(core).observations]
        [('ANC', 8, 1), ('SLD', 9, 2)]
    """
    module = type(core).__module__.split(".")
    family = module[2] if module[:2] == ["pkgym", "envs"] and len(module) > 2 else ""
    layout = LAYOUTS.get(family)
    if layout is None:
        return Layout({}, "as the env doses", "per h", ())
    if family == "warfarin":
        codes = _warfarin_codes()
        covariates = {name: Column(c.unit, c.description, codes.get(name, c.codes),
                                   c.pharmpy_unit, c.descriptor)
                      for name, c in layout.covariates.items()}
        return Layout(layout.doses, layout.amount_unit, layout.rate_unit, layout.observations,
                      covariates, layout.renames, layout.extra)
    return layout


# ----- running a policy --------------------------------------------------------------------
def sampled_cohort(env_id: str, n_patients: int, seed: int,
                   scenario: str | Path | None = None) -> pd.DataFrame:
    """``n_patients`` rows of the env's evaluation cohort (seed space 1, as ``pkgym evaluate``).

    Examples:
        >>> len(sampled_cohort("pkgym/Warfarin-v1", 3, seed=0))
        3
    """
    if n_patients < 1:
        raise ValueError(f"--n-patients must be >= 1, got {n_patients}")
    return env_cohort(_core(env_id, scenario).settings, n_patients, seed)


def _core(env_id: str, scenario: str | Path | None) -> Any:
    """The env's batched core (settings, records) for a scenario."""
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **_env_kwargs(scenario))
    core = cast(DosingVectorEnv, env.unwrapped).core
    env.close()
    return core


def _env_kwargs(scenario: Any) -> dict[str, Any]:
    """``make_vec`` keyword arguments selecting a scenario (a YAML path or an object)."""
    if scenario is None:
        return {}
    return {"scenario": str(scenario) if isinstance(scenario, str | Path) else scenario}


def collect_episodes(env_id: str, policy: Policy, cohort: pd.DataFrame, seed: int, *,
                     scenario: Any = None, first_row: int = 0) -> list[pd.DataFrame]:
    """Each cohort row's whole episode as its env's view writes it (``episode_dataset``).

    One env slot per patient, pinned; slot i's noise streams use ``seed + first_row + i``
    (the same as :func:`pkgym.evaluation.runner.run_policy`, so a patient's measurements
    match ``pkgym evaluate``'s). A patient's table is taken the step its episode ends
    (terminated early or truncated), before the autoreset could replace it.

    Raises:
        ValueError: the policy's decisions are invalid (one line naming policy and patient).
    """
    if "id" not in cohort.columns or len(cohort) == 0:
        raise ValueError("cohort must be a non-empty DataFrame with an 'id' column")
    n = len(cohort)
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       **_env_kwargs(scenario))
    try:
        shell = cast(DosingVectorEnv, env.unwrapped)
        core = shell.core
        seeds: Any = [seed + first_row + i for i in range(n)]
        obs, info = env.reset(seed=seeds, options={"patients": cohort.reset_index(drop=True)})
        policy.reset(n)
        ids = cohort["id"].to_numpy()
        tables: list[pd.DataFrame | None] = [None] * n
        alive = np.ones(n, dtype=bool)
        while alive.any():
            decisions = checked_decisions(policy.act(obs, info), policy.name, ids)
            try:
                actions = core.encode_decisions(decisions, shell.continuous)
            except ValueError as error:
                where = getattr(error, "row", None)
                who = (f"policy {policy.name!r}" if where is None
                       else patient_of(policy.name, ids, where))
                raise ValueError(f"{who}: {error}") from None
            obs, _, terminated, truncated, info = env.step(actions)
            for i in np.flatnonzero(alive & (terminated | truncated)):
                tables[i] = _finished(core, int(i))
            alive &= ~(terminated | truncated)
    finally:
        env.close()
    return [table for table in tables if table is not None]


def _finished(core: Any, row: int) -> pd.DataFrame:
    """Slot ``row``'s episode table, completed by its family's ``extra``."""
    table = core.episode_dataset(row)
    extra = layout_of(core).extra
    return table if extra is None else extra(core, row, table)


def policy_dataset(env_id: str, policy: Policy, cohort: pd.DataFrame, seed: int, *,
                   scenario: Any = None, ids: Sequence[Any] | None = None,
                   batch_size: int = 256) -> PolicyDataset:
    """Run ``policy`` on every cohort row; the NONMEM-style dataset of all their episodes.

    Args:
        env_id: a registered pkgym env id.
        policy: the policy (``reset(n)``, ``act(observation, info)``, ``name``).
        cohort: patients to pin, one row each (``id`` column), e.g. :func:`sampled_cohort`
            or a cohort file's ``patients``.
        seed: root seed of the noise streams (row k uses ``seed + k``).
        scenario: the env's scenario (YAML path or object; ``None``: its default).
        ids: the cohort's own ids, one per row (the header maps ``ID`` to them; default the
            ``id`` column).
        batch_size: patients run at once (memory); results do not depend on it.

    Returns:
        The table (columns :data:`STANDARD`, then covariates; numbers only) and its header.

    Raises:
        LeakageError: the cohort was sampled from patients the policy was trained on.

    Examples:
        >>> import numpy as np
        >>> class FiveMg:
        ...     name, reads_hidden_state = "5 mg", False
        ...     def reset(self, n_envs): self.n = n_envs
        ...     def act(self, observation, info=None): return np.full(self.n, 5.0)
        >>> data = policy_dataset("pkgym/Warfarin-v1", FiveMg(),
        ...                       sampled_cohort("pkgym/Warfarin-v1", 2, 0), seed=0)
        >>> sorted(set(data.table["ID"])), data.header["columns"]["VKORC1"]["codes"]
        ([1, 2], {'0': 'G/G', '1': 'G/A', '2': 'A/A'})
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    check_no_leakage(cohort, getattr(policy, "training_cohorts", ()))
    core = _core(env_id, scenario)
    layout = layout_of(core)
    cohort = cohort.reset_index(drop=True)
    episodes: list[pd.DataFrame] = []
    for start in range(0, len(cohort), batch_size):
        part = cohort.iloc[start:start + batch_size].reset_index(drop=True)
        episodes += collect_episodes(env_id, policy, part, seed, scenario=scenario,
                                     first_row=start)
    own_ids = list(cohort["id"]) if ids is None else list(ids)
    table, patients = _assemble(episodes, layout, own_ids)
    header = _header(env_id, policy, seed, layout, table, patients)
    return PolicyDataset(table, header)


def _dvid_codes(table: pd.DataFrame, layout: Layout) -> dict[str, str]:
    """DVID -> name: the layout's, or ``CMT <n>`` for an env without a layout.

    Examples:
        >>> table = pd.DataFrame({"EVID": [1, 0, 0], "DVID": [0, 1, 2], "CMT": [1, 2, 3]})
        >>> _dvid_codes(table, Layout(doses={1: "x"}, amount_unit="mg", rate_unit="mg/h",
        ...                            observations=()))
        {'1': 'CMT 2', '2': 'CMT 3'}
    """
    if layout.observations:
        return {str(o.dvid): o.name for o in layout.observations}
    observed = table[table["EVID"] == 0]
    return {str(int(d)): f"CMT {int(c)}" for d, c in
            sorted(set(zip(observed["DVID"], observed["CMT"], strict=True)))}


def _assemble(episodes: list[pd.DataFrame], layout: Layout,
              own_ids: list[Any]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """One table: IDs 1..N over the run, DVID, codes, renames, standard column order."""
    dvid = {o.cmt: o.dvid for o in layout.observations}
    if not dvid:  # an env without a layout: one DVID per observed CMT, in CMT order
        cmts = sorted({int(c) for e in episodes for c in e.loc[e["EVID"] == 0, "CMT"]})
        dvid = {cmt: k + 1 for k, cmt in enumerate(cmts)}
    parts, patients, next_id = [], [], 1
    for k, episode in enumerate(episodes):
        table = episode.rename(columns=dict(layout.renames)).copy()
        local = pd.factorize(table["ID"], sort=True)[0]  # several patients: a dose-finding trial
        table["ID"] = next_id + local
        if "TRIAL" in layout.covariates:
            table["TRIAL"] = k + 1
        patients += [{"ID": int(next_id + j), "cohort_row": k, "cohort_id": _plain(own_ids[k])}
                     for j in range(int(local.max()) + 1 if local.size else 0)]
        next_id += int(local.max()) + 1 if local.size else 0
        parts.append(table)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=STANDARD)
    observed = table["EVID"].to_numpy() == 0
    table["DVID"] = np.where(observed, table["CMT"].map(dvid).fillna(0).to_numpy(), 0)
    unknown = sorted({int(c) for c in table.loc[observed & (table["DVID"] == 0), "CMT"]})
    if unknown:
        raise ValueError(f"observations in CMT {unknown} have no DVID in the env's layout")
    table["DV"] = np.where(observed, table["DV"], 0.0)
    table["MDV"] = np.where(observed & np.isfinite(table["DV"].astype(np.float64)), 0, 1)
    table["DV"] = table["DV"].fillna(0.0)
    for name in ("AMT", "RATE"):
        table[name] = np.where(observed, 0.0, table[name].fillna(0.0))
    for name in [c for c in table.columns if c not in STANDARD]:
        table[name] = _numeric(table[name], layout.covariates.get(name))
    table = table.sort_values(["ID"], kind="stable").reset_index(drop=True)
    ordered = [*STANDARD, *(c for c in table.columns if c not in STANDARD)]
    integers = {"ID", "MDV", "EVID", "CMT", "DVID"}
    return (table[ordered].astype({c: np.int64 for c in integers})
            .astype({c: np.float64 for c in ("TIME", "AMT", "RATE", "DV")}), patients)


def _numeric(values: pd.Series, column: Column | None) -> pd.Series:
    """A covariate as numbers: labels coded by the column's code table (or sorted labels)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        if (column is not None and column.codes is not None) or \
                pd.api.types.is_integer_dtype(values):
            return values.astype(np.int64)
        return values.astype(np.float64)
    if column is not None and column.codes is not None:
        lookup = {label: code for code, label in column.codes.items()}
    else:
        lookup = {label: code for code, label in enumerate(sorted(set(map(str, values))))}
    unknown = sorted(set(map(str, values)) - set(lookup))
    if unknown:
        raise ValueError(f"{values.name}: labels {unknown} have no code in {lookup}")
    return values.astype(str).map(lookup).astype(np.int64)


def _plain(value: Any) -> Any:
    """A JSON-ready id (numpy scalars as Python numbers)."""
    return value.item() if isinstance(value, np.generic) else value


def _header(env_id: str, policy: Policy, seed: int, layout: Layout, table: pd.DataFrame,
            patients: list[dict[str, Any]]) -> dict[str, Any]:
    """Column meanings, units, code tables, observation types and the ID -> cohort map."""
    dose_text = "; ".join(f"CMT {c}: {what}" for c, what in layout.doses.items())
    columns: dict[str, dict[str, Any]] = {
        "ID": {"unit": "-", "description": "patient, 1..N unique over the dataset"},
        "TIME": {"unit": "h", "description": "time from the patient's start"},
        "AMT": {"unit": layout.amount_unit,
                "description": "dose amount (EVID 1; 0 on observations)"
                               + (f": {dose_text}" if dose_text else "")},
        "RATE": {"unit": layout.rate_unit,
                 "description": "infusion rate AMT/duration (0: bolus or oral)"},
        "DV": {"unit": "by DVID", "description": "the measured value (0 on dose rows)"},
        "MDV": {"unit": "-", "description": "1: no DV on the row (doses), 0: observation"},
        "EVID": {"unit": "-", "description": "1: dose, 0: observation"},
        "CMT": {"unit": "-", "description": "compartment of the dose or observation"},
        "DVID": {"unit": "-", "description": "kind of observation (0 on dose rows)",
                 "codes": _dvid_codes(table, layout)},
    }
    for name in (c for c in table.columns if c not in STANDARD):
        column = layout.covariates.get(name)
        entry: dict[str, Any] = ({"unit": "?", "description": "from the env's episode view"}
                                 if column is None else
                                 {"unit": column.unit, "description": column.description})
        if column is not None and column.codes is not None:
            entry["codes"] = {str(code): label for code, label in column.codes.items()}
        columns[name] = entry
    return {
        "env": env_id, "policy": policy.name, "seed": seed,
        "n_patients": len(patients), "n_episodes": len({p["cohort_row"] for p in patients}),
        "time_unit": "h",
        "doses": {str(c): what for c, what in layout.doses.items()},
        "observations": [{"DVID": o.dvid, "CMT": o.cmt, "name": o.name, "unit": o.unit,
                          "description": o.description} for o in layout.observations],
        "columns": columns, "patients": patients,
        "pharmpy": {name: {"unit": c.pharmpy_unit, "descriptor": c.descriptor,
                           "categorical": c.codes is not None}
                    for name, c in layout.covariates.items()},
        "pharmpy_dv": {str(o.dvid): o.pharmpy_unit for o in layout.observations},
    }


# ----- writing -----------------------------------------------------------------------------
def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else a one-line ``ValueError`` naming them.

    Examples:
        >>> check_format("csv")
        Traceback (most recent call last):
        ...
        ValueError: --format must be one of ('nonmem', 'parquet'), got 'csv'
    """
    if fmt not in FORMATS:
        raise ValueError(f"--format must be one of {FORMATS}, got {fmt!r}")
    return fmt


def write_dataset(dataset: PolicyDataset, out_dir: str | Path, fmt: str = "nonmem") -> list[Path]:
    """Write the table and its header atomically into ``out_dir``; return the paths.

    ``nonmem``: ``dataset.csv`` (header row, numbers only, ``.`` for a missing value) and
    pharmpy's ``dataset.datainfo``; ``parquet``: ``dataset.parquet``. Both: ``dataset.json``
    and ``dataset.md`` (column meanings, units, code tables, observation kinds, ids).
    """
    check_format(fmt)
    out = Path(out_dir)
    header = dict(dataset.header)
    pharmpy, pharmpy_dv = header.pop("pharmpy"), header.pop("pharmpy_dv")
    if fmt == "nonmem":
        from pkgym.io import write_atomic

        written = [write_atomic(out / "dataset.csv", lambda tmp: dataset.table.to_csv(
            tmp, index=False, na_rep=".")),
            write_text(json.dumps(datainfo(dataset.table, pharmpy, pharmpy_dv, header),
                                  indent=1) + "\n", out / "dataset.datainfo")]
    else:
        written = [write_table(dataset.table, out / "dataset.parquet")]
    written.append(write_text(json.dumps(header, indent=1) + "\n", out / "dataset.json"))
    written.append(write_text(header_markdown(header), out / "dataset.md"))
    return written


def datainfo(table: pd.DataFrame, pharmpy: Mapping[str, Mapping[str, Any]],
             pharmpy_dv: Mapping[str, str | None], header: Mapping[str, Any]) -> dict[str, Any]:
    """The pharmpy datainfo (JSON, version 1) of a dataset: column types, units, categories.

    ``DV`` is one data variable (with a unit when every ``DVID`` has the same one pharmpy
    parses); ``DVID`` tells the kinds apart (pharmpy type ``dvid``).
    """

    def variable(name: str, kind: str, scale: str = "ratio",
                 properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"name": name, "type": kind, "scale": scale, "count": False,
                "properties": dict(properties or {})}

    fixed: dict[str, tuple[str, str, dict[str, Any]]] = {
        "ID": ("id", "nominal", {}), "TIME": ("idv", "ratio", {"unit": "h"}),
        "AMT": ("dose", "ratio", {}), "RATE": ("rate", "ratio", {}),
        "MDV": ("mdv", "nominal", {}), "EVID": ("event", "nominal", {}),
        "CMT": ("compartment", "nominal", {}), "DVID": ("dvid", "nominal", {})}
    columns = []
    for name in table.columns:
        integer = pd.api.types.is_integer_dtype(table[name])
        entry: dict[str, Any] = {"name": name, "drop": False,
                                 "datatype": "int32" if integer else "float64",
                                 "variable_id": None}
        if name == "DV":  # one variable: pharmpy 2.1 cannot split DV by DVID in its models
            units = set(pharmpy_dv.values())
            unit = units.pop() if len(units) == 1 else None
            entry["variable_mapping"] = variable("DV", "dv", "ratio",
                                                 {"unit": unit} if unit else {})
        elif name in fixed:
            kind, scale, properties = fixed[name]
            entry["variable_mapping"] = variable(name, kind, scale, properties)
        else:
            about = pharmpy.get(name, {})
            properties = {key: about[key] for key in ("unit", "descriptor") if about.get(key)}
            if about.get("categorical"):
                properties["categories"] = sorted(int(c) for c in
                                                  header["columns"][name]["codes"])
            entry["variable_mapping"] = variable(
                name, "covariate", "nominal" if about.get("categorical") else "ratio",
                properties)
        columns.append(entry)
    return {"columns": columns, "path": "dataset.csv", "separator": ",",
            "missing_data_token": ".", "provenance": {"operations": []}, "__version__": 1}


def header_markdown(header: Mapping[str, Any]) -> str:
    """The header as Markdown: run, columns (unit, meaning, codes), observation kinds.

    Examples:
        >>> print(header_markdown({"env": "e", "policy": "p", "seed": 0, "n_patients": 1,
        ...     "n_episodes": 1, "observations": [], "doses": {},
        ...     "columns": {"ID": {"unit": "-", "description": "patient"}}}))
        # NONMEM-style dataset: e, policy p
        ...
        | ID | - | patient |  |
        ...
    """
    lines = [f"# NONMEM-style dataset: {header['env']}, policy {header['policy']}", "",
             f"{header['n_patients']} patients ({header['n_episodes']} episodes), seed "
             f"{header['seed']}; TIME in hours from each patient's start. One row per dose "
             "(EVID 1, MDV 1, DV 0) and per observation (EVID 0, MDV 0). The map from ID to the "
             "cohort's own ids is in dataset.json (`patients`).", "",
             "## Columns", "", "| column | unit | meaning | codes |", "|---|---|---|---|"]
    for name, c in header["columns"].items():
        codes = ", ".join(f"{code} = {label}" for code, label in c.get("codes", {}).items())
        lines.append(f"| {name} | {c['unit']} | {c['description']} | {codes} |")
    lines += ["", "## Observations (EVID 0)", "", "| DVID | CMT | name | unit | meaning |",
              "|---|---|---|---|---|"]
    lines += [f"| {o['DVID']} | {o['CMT']} | {o['name']} | {o['unit']} | {o['description']} |"
              for o in header["observations"]]
    lines += ["", "## Doses (EVID 1)", ""]
    lines += [f"- CMT {cmt}: {what}" for cmt, what in header["doses"].items()]
    return "\n".join(lines) + "\n"
