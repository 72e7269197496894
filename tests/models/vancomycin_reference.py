"""The numpy reference of one vancomycin course interval, the one the compiled ward is held to.

:func:`advance_interval` steps a batched course with numpy array operations: the exact
interval of :func:`pkgym.sim.interval.infuse_interval` in each patient's modal basis, the 24-h
AUC window, the day's kidneys (:func:`pkgym.models.kidney.advance_kidney_day`) and the new
clearance (:meth:`pkgym.models.vancomycin.TwoCompartmentVancomycin.clearance_unchecked`).
``test_vancomycin_kernel.py`` holds :func:`pkgym.envs.vancomycin.kernel.advance_ward` to it to
1e-12 over whole courses. Only tests use it: the environment steps with the compiled kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pkgym.models.kidney import KidneyInjuryParams, KidneyState, advance_kidney_day
from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_course import (
    PEAK_AFTER_END_H,
    TROUGH_BEFORE_H,
    CourseConfig,
    CoursePatients,
    CourseState,
)
from pkgym.sim.interval import infuse_interval
from pkgym.sim.modal import ModalBasis, modal_basis_unchecked


def _basis(state: CourseState) -> ModalBasis:
    """Modal basis of today's parameters (derived from CL, volumes and Q)."""
    return modal_basis_unchecked(state.clearance_l_per_h, state.volumes_l,
                                 state.intercompartmental_clearance_l_per_h,
                                 np.ones(state.clearance_l_per_h.shape[0]))


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """What one interval produced (true values; measurement is the env's business).

    Attributes:
        auc_interval_mg_h_per_l: AUC over the interval.  # (n,)
        auc24_mg_h_per_l: AUC over the last 24 h (the interval and those before it).  # (n,)
        sample_concentrations_mg_per_l: true levels at the interval's trough/peak times.  # (n, 2)
        sample_times_h: their times since the start of the course.  # (n, 2)
        sample_slots: level slot of each, -1 where no sample is due.  # (n, 2)
        aki: an AKI started at the end of this interval.  # (n,)
        day_ended: the interval closed a day (creatinine and clearance updated).  # (n,)
    """

    auc_interval_mg_h_per_l: np.ndarray
    auc24_mg_h_per_l: np.ndarray
    sample_concentrations_mg_per_l: np.ndarray
    sample_times_h: np.ndarray
    sample_slots: np.ndarray
    aki: np.ndarray
    day_ended: np.ndarray


def todays_clearance(patients: CoursePatients, creatinine_mg_per_dl: np.ndarray,
                     model: Goti2018) -> np.ndarray:
    """Vancomycin clearance (L/h) for the patients' current creatinine (inputs pre-validated).

    Examples:
        >>> p = CoursePatients(np.array([50.0]), np.array([0.0]), np.array([70.0]),
        ...                    np.array([175.0]), np.array([0.0]), np.zeros((1, 3)))
        >>> todays_clearance(p, np.array([1.0]), Goti2018()).round(3).tolist()
        [3.495]
    """
    crcl = model.creatinine_clearance_unchecked(
        patients.age_years, patients.weight_kg, creatinine_mg_per_dl, patients.is_female)
    return model.clearance_unchecked(crcl, patients.on_dialysis, patients.etas[:, 0],
                                     weight_kg=patients.weight_kg, age_years=patients.age_years,
                                     serum_creatinine_mg_per_dl=creatinine_mg_per_dl,
                                     eta_central_volume=patients.etas[:, 1])


def advance_interval(
    state: CourseState, dose_mg: np.ndarray, patients: CoursePatients, kidney_uniforms: np.ndarray,
    config: CourseConfig, model: Goti2018, kidney_params: KidneyInjuryParams,
) -> tuple[CourseState, StepOutcome]:
    """Give each patient its dose and advance one interval; close the day when one ends.

    Args:
        state: the course so far.
        dose_mg: dose to infuse now, (n,).
        patients: the patients' fixed characteristics.
        kidney_uniforms: today's three U(0,1) kidney draws per patient, (n, 3); used only
            when the interval ends a day.
        config: course timing.
        model: the PK model.
        kidney_params: the AKI hazard and creatinine variability.

    Examples:
        >>> from pkgym.models.kidney import initial_kidney_state
        >>> from pkgym.models.vancomycin_course import start_course
        >>> p = CoursePatients(np.array([50.0]), np.array([0.0]), np.array([70.0]),
        ...                    np.array([175.0]), np.array([0.0]), np.zeros((1, 3)))
        >>> state = start_course(p, initial_kidney_state(np.array([1.0])), CourseConfig(),
        ...                      Goti2018())
        >>> state, outcome = advance_interval(state, np.array([1000.0]), p, np.full((1, 3), 0.5),
        ...                                   CourseConfig(), Goti2018(), KidneyInjuryParams())
        >>> round(float(outcome.auc_interval_mg_h_per_l[0]), 1), state.step.tolist()
        (108.6, [1])
    """
    step = np.minimum(state.step, config.n_steps - 1)
    duration = config.dose_duration_h(dose_mg)
    slots = config.sample_slots[step]  # (n, 2)
    offsets = np.stack([np.full(step.shape, config.interval_h - TROUGH_BEFORE_H),
                        np.minimum(duration + PEAK_AFTER_END_H, config.interval_h)], axis=1)
    basis = _basis(state)
    modes = np.einsum("nij,nj->ni", basis.to_modal, state.amounts_mg)
    result = infuse_interval(basis, modes, state.clearance_l_per_h, dose_mg, duration,
                             config.interval_h, offsets)
    aucs = state.auc_by_step_mg_h_per_l.copy()
    rows = np.arange(step.size)
    aucs[rows, step] = result.auc_mg_h_per_l
    lag = step[:, None] - np.arange(config.n_steps)[None]  # steps back from this one
    auc24 = np.where((lag >= 0) & (lag < config.steps_per_day), aucs, 0.0).sum(axis=1)
    amounts = np.maximum(np.einsum("nij,nj->ni", basis.from_modal, result.modes), 0.0)
    day_ended = (step + 1) % config.steps_per_day == 0
    new_state = CourseState(state.step + 1, amounts, state.kidney, state.clearance_l_per_h,
                            state.volumes_l, state.intercompartmental_clearance_l_per_h, aucs)
    aki = np.zeros(step.size, dtype=bool)
    if np.any(day_ended):
        new_state, aki = _close_day(new_state, day_ended, auc24, patients, kidney_uniforms, model,
                                    kidney_params)
    times = (step * config.interval_h)[:, None] + offsets
    return new_state, StepOutcome(result.auc_mg_h_per_l, auc24, result.concentrations_mg_per_l,
                                  times, slots, aki, day_ended)


def _close_day(state: CourseState, ended: np.ndarray, auc24: np.ndarray,
               patients: CoursePatients, uniforms: np.ndarray, model: Goti2018,
               kidney_params: KidneyInjuryParams) -> tuple[CourseState, np.ndarray]:
    """Move the kidneys of patients whose day ended; recompute their clearance.

    Patients on haemodialysis have no residual renal function to injure: no AKI for them.
    """
    uniforms = uniforms.copy()
    uniforms[:, 0] = np.where(patients.on_dialysis == 1, 1.0, uniforms[:, 0])
    kidney, aki = advance_kidney_day(state.kidney, auc24, uniforms, kidney_params)
    kidney = KidneyState(
        kidney.baseline_creatinine_mg_per_dl,
        np.where(ended, kidney.creatinine_mg_per_dl, state.kidney.creatinine_mg_per_dl),
        np.where(ended, kidney.injury_factor, state.kidney.injury_factor))
    # The drug amounts carry over unchanged: they are stored in compartments, not modes.
    clearance = todays_clearance(patients, kidney.creatinine_mg_per_dl, model)
    return CourseState(state.step, state.amounts_mg, kidney, clearance, state.volumes_l,
                       state.intercompartmental_clearance_l_per_h,
                       state.auc_by_step_mg_h_per_l), aki & ended
