"""pkgym's UVA/Padova model against simglucose's committed outputs (no simglucose venv needed).

``benchmarks/insulin_vs_simglucose.py``: the open-loop traces of the committed reference
patients (per minute) and of all 30 (5-min grid) within 1 % (in fact within 0.02 %), and the
basal-bolus loop written on pkgym's model giving simglucose's noise-free time in range.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.insulin_vs_simglucose import (
    REFERENCE,
    _bolus_u,
    basal_bolus_loop,
    committed_simglucose,
    tir_pct,
    trace_errors,
)
from pkgym.models.glucose_uva_padova import uva_padova_patients

MEALS = json.loads((REFERENCE / "scenario.json").read_text())
SPEC = json.loads((REFERENCE / "insulin.json").read_text())


def test_committed_reference_traces_matched_within_one_percent() -> None:
    """adult#001, adolescent#001, child#001, every minute of 24 h: BG and Gsub within 1 %."""
    reference = pd.read_csv(REFERENCE / "traces_24h.csv")
    errors = trace_errors(reference, MEALS, SPEC, fine_substeps=0)
    assert list(errors.patient) == ["adult#001", "adolescent#001", "child#001"]
    assert (errors.minutes_compared == 1441).all()
    assert errors.max_rel_err_bg_pct.max() < 1.0
    assert errors.max_rel_err_gsub_pct.max() < 1.0
    assert errors.max_rel_err_bg_pct.max() < 0.01  # what the model achieves: RK4 at 1/2 min


def test_all_thirty_patients_within_one_percent_on_the_committed_grid() -> None:
    """The committed 30-patient traces (5-min grid) are matched within 1 % (0.02 % observed)."""
    reference = committed_simglucose()["traces"]
    errors = trace_errors(reference, MEALS, SPEC, fine_substeps=0)
    assert len(errors) == 30
    assert errors[["max_rel_err_bg_pct", "max_rel_err_gsub_pct"]].to_numpy().max() < 0.05


def test_noise_free_basal_bolus_gives_simglucose_time_in_range() -> None:
    """The T1DSimEnv + BBController loop on pkgym gives simglucose's noise-free TIR, mean BG."""
    table = committed_simglucose()["bb_noise_free"].set_index("patient")
    names = ["adult#001", "child#001"]
    bg, cgm = basal_bolus_loop(uva_padova_patients(names), MEALS, 480)
    np.testing.assert_allclose(tir_pct(bg), table.loc[names, "tir_70_180_pct"], atol=1e-9)
    np.testing.assert_allclose(bg[:, 1:].mean(axis=1), table.loc[names, "mean_bg_mg_dl"],
                               rtol=1e-5)
    np.testing.assert_allclose(cgm[:, 0], bg[:, 0])  # no noise: the CGM reads Gsub


def test_bolus_rule_is_bbcontrollers() -> None:
    """Carbs / CR at a meal, plus (CGM - 140) / CF only above 150 mg/dL; nothing without a meal."""
    p = uva_padova_patients(["adult#001", "adult#001", "adult#001"])
    cr, cf = p.carb_ratio_g_per_u[0], p.correction_factor_mg_per_dl_per_u[0]
    bolus = _bolus_u(np.array([50 / 3, 50 / 3, 0.0]), np.array([150.0, 200.0, 300.0]), p, 3.0)
    np.testing.assert_allclose(bolus, [50 / cr, 50 / cr + 60 / cf, 0.0])


@pytest.mark.parametrize("name", ["bb_tir_24h_noise_free.csv", "bb_tir_24h_seeds.csv"])
def test_committed_basal_bolus_tables_cover_thirty_patients(name: str) -> None:
    """The committed noise-free table has 30 rows, the noisy one 30 per CGM seed."""
    table = pd.read_csv(REFERENCE / name)
    per_seed = table.groupby("cgm_seed").size() if "cgm_seed" in table else pd.Series([len(table)])
    assert (per_seed == 30).all()
