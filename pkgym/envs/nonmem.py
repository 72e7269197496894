"""Episodes as NONMEM-style datasets (readable by nlmixr2, Monolix, Pumas and pharmpy).

One row per dose (EVID 1, MDV 1, AMT and RATE) and per measured level (EVID 0, MDV 0, DV),
sorted by time, doses first at equal times; covariates are extra upper-case columns.

:func:`nonmem_dataset` builds one patient's records (each env's ``episode_dataset`` view uses
it; IDs there are the env's patient ids, -1 for a drawn patient, and covariates are as the env
holds them, labels included). For a dataset of a whole cohort that pharmpy and NONMEM accept
(IDs 1..N, coded covariates, every measured quantity, no patient lost at an autoreset, units
and code tables), use :func:`pkgym.datasets.policy_dataset` or ``pkgym dataset``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

COLUMNS = ("ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT")


def nonmem_dataset(
    patient_id: int,
    dose_times_h: np.ndarray,
    doses_mg: np.ndarray,
    infusion_h: np.ndarray,
    level_times_h: np.ndarray,
    levels_mg_per_l: np.ndarray,
    covariates: Mapping[str, float | str | np.ndarray] | None = None,
    *,
    dose_cmt: int = 1,
    observation_cmt: int = 1,
) -> pd.DataFrame:
    """Dose and observation records of one patient (TIME in h, AMT in mg, DV in mg/L).

    Args:
        patient_id: the ID column.
        dose_times_h: start time of each dose.
        doses_mg: amounts; zero doses are omitted.
        infusion_h: infusion durations (RATE = AMT / duration; 0 for a bolus).
        level_times_h: times of measured levels.
        levels_mg_per_l: measured levels.
        covariates: name -> a constant, or a function of the rows' TIME (h, array) giving
            one value per row (time-varying covariates such as creatinine).
        dose_cmt: compartment number of dose records (e.g. an oral depot, 1).
        observation_cmt: compartment number of observation records (e.g. an INR output, 2).
            When it differs from ``dose_cmt``, an observation at a dose time comes before
            the dose (a pre-dose sample, as clinics take them).

    Examples:
        >>> nonmem_dataset(1, np.array([0.0]), np.array([1000.0]), np.array([1.0]),
        ...                np.array([11.5]), np.array([12.3]), {"WT": 70.0})[["TIME", "EVID", "DV"]]
           TIME  EVID    DV
        0   0.0     1   NaN
        1  11.5     0  12.3
    """
    given = np.asarray(doses_mg) > 0
    duration = np.asarray(infusion_h, dtype=np.float64)[given]
    amount = np.asarray(doses_mg, dtype=np.float64)[given]
    doses = pd.DataFrame({"TIME": np.asarray(dose_times_h)[given], "AMT": amount,
                          "RATE": np.where(duration > 0, amount / np.where(duration > 0,
                                                                            duration, 1), 0.0),
                          "DV": np.nan, "MDV": 1, "EVID": 1})
    levels = pd.DataFrame({"TIME": level_times_h, "AMT": 0.0, "RATE": 0.0,
                           "DV": levels_mg_per_l, "MDV": 0, "EVID": 0})
    doses["CMT"], levels["CMT"] = dose_cmt, observation_cmt
    table = pd.concat([doses, levels], ignore_index=True)
    table = table.sort_values(["TIME", "EVID"], ascending=[True, dose_cmt != observation_cmt],
                              kind="stable")
    table.insert(0, "ID", int(patient_id))
    table = table.reset_index(drop=True)[list(COLUMNS)]
    for name, value in (covariates or {}).items():
        table[name] = value(table["TIME"].to_numpy()) if callable(value) else value
    return table
