"""Views of the oncology clinic's records: ``info``, text, a figure and a NONMEM dataset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from pkgym.envs.nonmem import nonmem_dataset
from pkgym.envs.outcomes import OutcomeSpec, StepTable, last_valid
from pkgym.models.chemotherapy import GRADE4_ANC_1E9_PER_L
from pkgym.models.chemotherapy_kernel import (
    CIRC,
    CIRC0,
    GAMMA,
    INV_V1,
    K10,
    KD,
    KL,
    KTR,
    LAMBDA,
    SLD,
    SLOPE,
)
from pkgym.models.myelosuppression import neutropenia_grade
from pkgym.units import HOURS_PER_DAY


def info(records: Any, settings: Any, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Clinical metrics of the last cycle and the hidden truth of ``rows`` (fresh arrays).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Chemotherapy-v0")
        >>> _, first = env.reset(seed=0)
        >>> first["cycle"], first["neutropenia_grade"], first["sld_relative"]
        (0, 0, 1.0)
    """
    r, s = records, settings.scenario
    cycle = r.cycle[rows]
    last, started = np.maximum(cycle - 1, 0), cycle > 0
    daily = r.daily_anc[rows, last]
    nadir = np.where(started, np.nanmin(np.where(np.isnan(daily), np.inf, daily), axis=1),
                     r.states[rows, CIRC])
    elapsed_days = np.maximum(r.time_h[rows] / HOURS_PER_DAY, 1e-9)
    intensity = r.dose_percent[rows].sum(axis=1) / 100.0 * s.cycle_days / elapsed_days
    params = r.params[rows]
    return {
        "cycle": cycle.copy(), "dose_percent": np.where(started, r.dose_percent[rows, last], 0.0),
        "dose_mg": np.where(started, r.dose_mg[rows, last], 0.0),
        "anc_1e9_per_l": r.states[rows, CIRC].copy(), "anc_nadir_1e9_per_l": nadir,
        "neutropenia_grade": neutropenia_grade(nadir),
        "grade4_days": np.where(started, r.grade4_days[rows, last], 0),
        "grade4_neutropenia": np.where(started, r.grade4_days[rows, last] > 0, False),
        "febrile_neutropenia": np.where(started, r.febrile[rows, last], False),
        "febrile_neutropenia_events": r.febrile[rows].sum(axis=1),
        "sld_mm": r.states[rows, SLD].copy(),
        "sld_relative": r.states[rows, SLD] / r.sld_true[rows, 0],
        "progressed": r.progressed[rows].copy(),
        "relative_dose_intensity": np.where(started, intensity, 0.0),
        "clearance_l_per_h": params[:, K10] / params[:, INV_V1],
        "circ0_1e9_per_l": params[:, CIRC0].copy(), "mtt_h": 4.0 / params[:, KTR],
        "slope_l_per_mg": params[:, SLOPE].copy(), "gamma": params[:, GAMMA].copy(),
        "tumour_growth_per_h": params[:, KL].copy(), "tumour_kill_l_per_mg_per_h":
            params[:, KD].copy(), "tumour_resistance_per_h": params[:, LAMBDA].copy(),
        "model_parameters": params.copy(), "bsa_m2": r.covariates["bsa_m2"][rows].copy(),
        "state": r.states[rows].copy(), "time_h": r.time_h[rows].copy(),
        "patient_id": r.patient_id[rows].copy(), "seed_entropy": r.seed_entropy[rows],
    }


def render_text(records: Any, settings: Any, row: int) -> str:
    """A line: cycle, last dose, true ANC, tumour size and events.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Chemotherapy-v0", render_mode="ansi")
        >>> _ = env.reset(seed=0)
        >>> env.render()[:11]
        'cycle 0/6  '
    """
    r, cycle = records, int(records.cycle[row])
    dose = r.dose_percent[row, cycle - 1] if cycle else 0.0
    return (f"cycle {cycle}/{settings.scenario.n_cycles}  last dose {dose:g}%  ANC "
            f"{r.states[row, CIRC]:.2f} x10^9/L  SLD {r.states[row, SLD]:.1f} mm"
            f"{'  progressed' if r.progressed[row] else ''}  grade-4 days "
            f"{int(r.grade4_days[row].sum())}  febrile neutropenia {int(r.febrile[row].sum())}")


def render_figure(records: Any, settings: Any, row: int) -> Figure:
    """True daily ANC and measured counts (top); tumour size and doses (bottom).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Chemotherapy-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(3)
        >>> core = env.unwrapped.core
        >>> len(render_figure(core.records, core.settings, 0).axes)
        3
    """
    r, cycle = records, int(records.cycle[row])
    fig = Figure(figsize=(8, 5), dpi=80)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    daily = r.daily_anc[row, :cycle].reshape(-1)
    daily = daily[~np.isnan(daily)]
    top.semilogy(np.arange(1, daily.size + 1), daily, color="tab:blue", label="true ANC")
    top.axhline(GRADE4_ANC_1E9_PER_L, color="tab:red", linestyle="--", label="grade 4")
    top.set(ylabel="ANC (x10^9/L)", xlabel="day", title=f"docetaxel, cycle {cycle}")
    top.legend(loc="lower left", fontsize=8)
    bottom.plot(np.arange(cycle + 1), r.sld_true[row, :cycle + 1], marker="o", label="true SLD")
    bottom.set(xlabel="cycle", ylabel="SLD (mm)")
    doses = bottom.twinx()
    doses.bar(np.arange(cycle) + 0.5, r.dose_percent[row, :cycle], width=0.3, alpha=0.4)
    doses.set_ylabel("dose (% of label)")
    fig.tight_layout()
    return fig


def episode_dataset(records: Any, settings: Any, row: int) -> pd.DataFrame:
    """Infusions (CMT 1) and measured ANC (DV, CMT 8: circulating neutrophils), with covariates.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Chemotherapy-v0")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step(3)
        >>> env.unwrapped.episode_dataset()[["TIME", "EVID", "CMT"]].values.tolist()[:2]
        [[0.0, 0.0, 8.0], [0.0, 1.0, 1.0]]
    """
    r, s = records, settings.scenario
    cycle, n_labs = int(r.cycle[row]), len(s.lab_days)
    starts = np.concatenate([[0.0], np.cumsum(
        s.cycle_days + np.where(r.delayed[row, :cycle], s.delay_days, 0))]) * HOURS_PER_DAY
    dose_times = starts[:cycle] + np.where(r.delayed[row, :cycle], s.delay_days, 0) * 24.0
    mask = r.anc_mask[row] > 0
    slots = np.flatnonzero(mask)
    lab_times = np.array([starts[k // n_labs] + 24.0 * (
        s.lab_days[k % n_labs] + (s.delay_days if k // n_labs < cycle and r.delayed[
            row, k // n_labs] and s.lab_days[k % n_labs] > 0 else 0)) for k in slots])
    c = r.covariates
    covariates = {name.upper(): float(c[key][row]) for name, key in (
        ("age", "age_years"), ("sex", "is_female"), ("wt", "weight_kg"), ("ht", "height_cm"),
        ("bsa", "bsa_m2"), ("aag", "aag_g_per_l"), ("hep", "hepatic_impairment"))}
    return nonmem_dataset(int(r.patient_id[row]), dose_times, r.dose_mg[row, :cycle],
                          np.full(cycle, s.pk.infusion_h), lab_times,
                          r.anc_measured[row, mask].astype(np.float64), dict(covariates),
                          dose_cmt=1, observation_cmt=8)


def chemotherapy_scores(steps: StepTable, first_info: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Final tumour size, grade 4 neutropenia, febrile neutropenia, dose intensity, progression.

    Examples:
        >>> nan = np.nan
        >>> steps = {"sld_relative": np.array([[0.9, 0.8, nan]]),
        ...          "grade4_neutropenia": np.array([[0.0, 1.0, nan]]),
        ...          "febrile_neutropenia": np.array([[0.0, 0.0, nan]]),
        ...          "relative_dose_intensity": np.array([[1.0, 0.9, nan]]),
        ...          "progressed": np.array([[0.0, 1.0, nan]])}
        >>> scores = chemotherapy_scores(steps, {})
        >>> float(scores["final_sld_relative"][0]), float(scores["grade4_neutropenia"][0])
        (0.8, 1.0)
    """
    as_float = {key: np.asarray(value, dtype=np.float64) for key, value in steps.items()}
    return {
        "final_sld_relative": last_valid(as_float["sld_relative"]),
        "grade4_neutropenia": (np.nan_to_num(as_float["grade4_neutropenia"]) > 0).any(axis=1)
        .astype(np.float64),
        "febrile_neutropenia_events": np.nansum(as_float["febrile_neutropenia"], axis=1),
        "relative_dose_intensity": last_valid(as_float["relative_dose_intensity"]),
        "progressed": last_valid(as_float["progressed"]),
    }


CHEMOTHERAPY_OUTCOMES = OutcomeSpec(
    step_metrics=("dose_percent", "sld_relative", "anc_nadir_1e9_per_l", "neutropenia_grade",
                  "grade4_neutropenia", "febrile_neutropenia", "relative_dose_intensity",
                  "progressed"),
    scores={"final_sld_relative": "final tumour size / baseline",
            "grade4_neutropenia": "share with grade 4 neutropenia",
            "febrile_neutropenia_events": "febrile neutropenia events",
            "relative_dose_intensity": "relative dose intensity",
            "progressed": "share progressed", "return": "return"},
    episode_scores=chemotherapy_scores, level_key="anc_nadir_1e9_per_l",
    level_label="ANC nadir of the cycle (x10^9/L)", target_range=(0.5, 2.0),
    in_range_key="grade4_neutropenia", dose_key="dose_percent")
"""``pkgym/Chemotherapy-v0``: tumour response, neutropenia and dose intensity."""


def outcomes(core: Any) -> OutcomeSpec:
    """The env's outcome spec, :data:`CHEMOTHERAPY_OUTCOMES` under any scenario."""
    return CHEMOTHERAPY_OUTCOMES
