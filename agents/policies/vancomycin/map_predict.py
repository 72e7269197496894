"""Exact prediction for model-informed precision dosing of vancomycin, from a patient's history.

:func:`predict_concentrations` and :func:`predict_auc` give the Goti 2018 prediction for any
etas from a :class:`agents.policies.vancomycin.patient_history.PatientHistory` (what the ward
knows), which :mod:`agents.policies.vancomycin.map` fits to the levels.

Prediction model. CL over day d, ``[24 d, 24 (d + 1))`` h, uses that day's CrCL (the latest
measured one for days not yet measured); V1 uses weight and dialysis; the etas hold for the
whole course. Doses are constant-rate infusions within the history's infusion limits
(:func:`pkgym.models.vancomycin_course.infusion_duration_h`). Predictions march exactly,
segment by segment, in each day's modal coordinates (:mod:`pkgym.sim.modal`), batched over
candidate eta vectors (an objective and its finite-difference gradient cost one call) and
over candidate future regimens (all dose candidates of a decision cost one call).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.policies.vancomycin.patient_history import PatientHistory
from pkgym.models.vancomycin import TwoCompartmentVancomycin
from pkgym.sim.modal import modal_basis
from pkgym.units import HOURS_PER_DAY
from pkgym.utils import check_finite, check_non_negative


@dataclass(frozen=True, slots=True, eq=False)
class Segments:
    """The time grid of a prediction: intervals between events, day boundaries and outputs.

    Attributes:
        dt_h: length of each segment, h.  # (n_segments,)
        day: day index (which CrCL) of each segment.  # (n_segments,)
        rate_mg_per_h: infusion rate during each segment, mg/h, one row per dosing regimen
            (the history's doses plus one set of future doses).  # (n_regimens, n_segments)
        output_point: grid point of each output time.  # (n_times,)
    """

    dt_h: np.ndarray
    day: np.ndarray
    rate_mg_per_h: np.ndarray
    output_point: np.ndarray


def check_regimens(regimens: np.ndarray | Sequence) -> np.ndarray:
    """Future doses as float64 ``(start h, mg)`` pairs of shape (n_regimens, n_doses, 2).

    Examples:
        >>> check_regimens([[(12.0, 500.0)], [(12.0, 750.0)]]).shape
        (2, 1, 2)
    """
    plan = check_non_negative("regimens", np.asarray(regimens, dtype=np.float64))
    if plan.ndim != 3 or plan.shape[-1] != 2 or plan.shape[0] < 1:
        raise ValueError(f"regimens must have shape (n_regimens >= 1, n_doses, 2), got "
                         f"{plan.shape}")
    return plan


def segment_grid(history: PatientHistory, times_h: np.ndarray,
                 regimens: np.ndarray | None = None) -> Segments:
    """Cut ``[0, max(times_h)]`` at every infusion start and end, midnight and output time.

    Args:
        history: the patient's doses and CrCL by day.
        times_h: output times, h (>= 0), shape (n_times,).
        regimens: future doses added to the history's, one set per regimen, as
            ``(start h, mg)`` pairs, shape (n_regimens, n_doses, 2), infused within the
            history's limits; ``None``: the history's doses alone (one regimen).

    Examples:
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> segment_grid(h.with_doses([(0.0, 1500.0)]), np.array([12.0])).dt_h.tolist()
        [1.5, 10.5]
        >>> grid = segment_grid(h, np.array([3.0]), [[(0.0, 1000.0)], [(0.0, 2000.0)]])
        >>> grid.dt_h.tolist(), grid.rate_mg_per_h.tolist()
        ([1.0, 1.0, 1.0], [[1000.0, 0.0, 0.0], [1000.0, 1000.0, 0.0]])
    """
    plan = np.zeros((1, 0, 2)) if regimens is None else check_regimens(regimens)
    n_regimens, past = plan.shape[0], lambda a: np.broadcast_to(a, (plan.shape[0], a.size))
    starts = np.concatenate([past(history.dose_times_h), plan[..., 0]], axis=1)
    amounts = np.concatenate([past(history.dose_amounts_mg), plan[..., 1]], axis=1)
    durations = np.concatenate([past(history.dose_durations_h),
                                history.infusion_durations_h(plan[..., 1])], axis=1)
    ends = starts + durations
    n_days = history.daily_creatinine_clearance_ml_per_min.size
    bounds = HOURS_PER_DAY * np.arange(1, n_days)
    points = np.unique(np.concatenate([[0.0], starts.ravel(), ends.ravel(), bounds, times_h]))
    points = points[points <= times_h.max()]
    left = points[None, :-1, None]
    active = (starts[:, None] <= left) & (ends[:, None] > left)  # (n_regimens, n_seg, n_doses)
    rate = np.einsum("rsd,rd->rs", active, amounts / durations).reshape(n_regimens, -1)
    day = np.minimum(points[:-1] // HOURS_PER_DAY, n_days - 1).astype(int)
    return Segments(np.diff(points), day, rate, np.searchsorted(points, times_h))


def check_etas(etas: np.ndarray) -> np.ndarray:
    """``etas`` as finite float64 of shape (3,) or (n, 3); ValueError naming ``etas`` if not.

    Examples:
        >>> check_etas([0.1, 0.0, -0.2]).shape
        (3,)
    """
    eta = check_finite("etas", etas)
    if eta.shape[-1:] != (3,) or eta.ndim > 2:
        raise ValueError(f"etas must have shape (3,) or (n, 3), got {eta.shape}")
    return eta


def simulate_history(history: PatientHistory, etas: np.ndarray, segments: Segments,
                     model: TwoCompartmentVancomycin) -> tuple[np.ndarray, np.ndarray]:
    """Concentrations (mg/L) and AUC from 0 (mg*h/L) at the outputs, each (n, n_times).

    The exact march of the module docstring; :func:`predict_concentrations` and
    :func:`predict_aucs` wrap it, and a fit reuses one :func:`segment_grid` across calls.
    Row ``k`` of the outputs pairs eta row ``k`` with regimen row ``k`` of ``segments``;
    either may have one row, which is then shared by all (``n`` is the larger count).

    Args:
        history: the patient's covariates, CrCL by day and doses.
        etas: random effects on (CL, V1, V2), shape (n_etas, 3) (checked by the caller).
        segments: ``segment_grid(history, output times[, regimens])``.
        model: the population model.

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> h = h.with_doses([(0.0, 1000.0)])
        >>> grid = segment_grid(h, np.array([1.0, 12.0]))
        >>> levels, aucs = simulate_history(h, np.zeros((1, 3)), grid, Goti2018())
        >>> levels.round(2).tolist()
        [[15.82, 6.31]]
    """
    n_etas, crcl = etas.shape[0], history.daily_creatinine_clearance_ml_per_min
    n = np.broadcast_shapes((n_etas,), segments.rate_mg_per_h.shape[:1])[0]
    creatinine = None
    if model.uses_creatinine:
        if history.daily_creatinine_mg_per_dl is None:
            raise ValueError(f"history.daily_creatinine_mg_per_dl: {type(model).__name__} "
                             "reads serum creatinine; the history has none")
        creatinine = np.tile(history.daily_creatinine_mg_per_dl, n_etas)
    basis = modal_basis(model.linear_params(
        weight_kg=np.full(n_etas * crcl.size, history.weight_kg),
        on_dialysis=np.full(n_etas * crcl.size, history.on_dialysis),
        creatinine_clearance_ml_per_min=np.tile(crcl, n_etas), etas=np.repeat(etas, crcl.size, 0),
        age_years=np.full(n_etas * crcl.size, history.age_years),
        serum_creatinine_mg_per_dl=creatinine))
    per_day = lambda a: a.reshape(n_etas, crcl.size, *a.shape[1:])  # noqa: E731
    to_modal, from_modal = per_day(basis.to_modal), per_day(basis.from_modal)
    lam, w = (per_day(a)[:, segments.day] for a in (basis.eigenvalues_per_h, basis.input_weights))
    dt, rate = segments.dt_h[:, None], segments.rate_mg_per_h[:, :, None]
    decay, gain = np.exp(lam * dt), np.expm1(lam * dt) / lam
    inflow, modes_auc = w * gain * rate, w * gain
    inflow_auc = np.sum(w * w * rate * (gain - dt) / lam, axis=-1)
    levels, aucs = np.zeros((n, dt.size + 1)), np.zeros((n, dt.size + 1))
    modes, auc = np.zeros((n, 2)), np.zeros(n)
    for j, day in enumerate(segments.day):
        if j and day != segments.day[j - 1]:  # CrCL changes: re-express the state
            amounts = (from_modal[:, day - 1] @ modes[..., None])[..., 0]
            modes = (to_modal[:, day] @ amounts[..., None])[..., 0]
        auc = auc + np.sum(modes * modes_auc[:, j], axis=-1) + inflow_auc[:, j]
        modes = decay[:, j] * modes + inflow[:, j]
        levels[:, j + 1], aucs[:, j + 1] = np.sum(modes * w[:, j], axis=-1), auc
    return levels[:, segments.output_point], aucs[:, segments.output_point]


def predict_concentrations(history: PatientHistory, etas: np.ndarray, times_h: np.ndarray,
                           model: TwoCompartmentVancomycin) -> np.ndarray:
    """Central concentrations, mg/L, at ``times_h`` given the doses in ``history``.

    Args:
        history: the patient's covariates, CrCL by day and doses.
        etas: random effects on (CL, V1, V2), shape (3,) or (n, 3).
        times_h: output times, h, >= 0, shape (n_times,).
        model: the population model.

    Returns:
        Shape (n_times,), or (n, n_times) for 2-D ``etas``.

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> h = h.with_doses([(0.0, 1000.0)])  # 1 h infusion
        >>> predict_concentrations(h, np.zeros(3), np.array([1.0, 12.0]), Goti2018()).round(2)
        array([15.82,  6.31])
    """
    eta, times = check_etas(etas), np.atleast_1d(check_non_negative("times_h", times_h))
    levels, _ = simulate_history(history, np.atleast_2d(eta), segment_grid(history, times), model)
    return levels[0] if eta.ndim == 1 else levels


def predict_aucs(history: PatientHistory, etas: np.ndarray, start_h: float, end_h: float,
                 model: TwoCompartmentVancomycin, regimens: np.ndarray | Sequence) -> np.ndarray:
    """AUC over ``[start_h, end_h]``, mg*h/L, for each set of future doses, in one batch.

    Args:
        history: the patient's covariates, CrCL by day and doses given (all included).
        etas: random effects on (CL, V1, V2), shape (3,).
        start_h: window start, h (>= 0).
        end_h: window end, h (>= ``start_h``).
        model: the population model.
        regimens: future doses, one set per regimen, as ``(start time h, amount mg)`` pairs,
            shape (n_regimens, n_doses, 2), infused within the history's limits.

    Returns:
        Shape (n_regimens,).

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> plans = [[(0.0, 1000.0), (12.0, 1000.0)], [(0.0, 2000.0), (12.0, 0.0)]]
        >>> predict_aucs(h, np.zeros(3), 0.0, 24.0, Goti2018(), plans).round(1)
        array([282.5, 339.8])
    """
    if not 0 <= start_h <= end_h:
        raise ValueError(f"start_h and end_h must satisfy 0 <= start_h <= end_h, got "
                         f"{start_h}, {end_h}")
    eta = check_etas(etas)
    if eta.ndim != 1:
        raise ValueError(f"etas must have shape (3,), got {eta.shape}")
    times = np.array([start_h, end_h], dtype=np.float64)
    segments = segment_grid(history, times, check_regimens(regimens))
    _, aucs = simulate_history(history, eta[None], segments, model)
    return aucs[:, 1] - aucs[:, 0]


def predict_auc(history: PatientHistory, etas: np.ndarray, start_h: float, end_h: float,
                model: TwoCompartmentVancomycin,
                extra_doses: Sequence[tuple[float, float]] = ()) -> float:
    """AUC of the central concentration over ``[start_h, end_h]``, mg*h/L.

    Args:
        history: the patient's covariates, CrCL by day and doses given.
        etas: random effects on (CL, V1, V2), shape (3,).
        start_h: window start, h (>= 0).
        end_h: window end, h (>= ``start_h``).
        model: the population model.
        extra_doses: future doses as ``(start time h, amount mg)`` pairs, infused within the
            history's limits.

    Examples:
        >>> from pkgym.models.vancomycin import Goti2018
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> round(predict_auc(h, np.zeros(3), 0.0, 1e4, Goti2018(), [(0.0, 1000.0)]), 1)
        307.4
    """
    plan = np.reshape(np.asarray(extra_doses, dtype=np.float64), (1, -1, 2))
    return float(predict_aucs(history, etas, start_h, end_h, model, plan)[0])
