"""One dosing interval of a linear model, exactly: an infusion at its start, levels inside it.

This is the inner step of intermittent-infusion environments (vancomycin, aminoglycosides):
every patient starts an infusion of its own rate and duration at time 0 of the interval;
concentrations are read at any offsets inside the interval, the AUC over the interval comes
from mass balance, all in closed form in the modal coordinates of :mod:`pkgym.sim.modal`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pkgym.sim.modal import ModalBasis, expm1_ratio, modal_basis_unchecked


@dataclass(frozen=True, slots=True)
class IntervalResult:
    """What happened over one interval.

    Attributes:
        modes: modal state at the end of the interval.  # (n, m)
        concentrations_mg_per_l: central concentration at each requested offset.  # (n, k)
        auc_mg_h_per_l: AUC of the central concentration over the interval.  # (n,)
    """

    modes: np.ndarray
    concentrations_mg_per_l: np.ndarray
    auc_mg_h_per_l: np.ndarray


def _infusion_response(basis: ModalBasis, rate: np.ndarray, duration: np.ndarray,
                       t: np.ndarray) -> np.ndarray:
    """Modal state at offsets ``t`` (n, k) due to the infusion alone: shape (n, k, m)."""
    lam = basis.eigenvalues_per_h[:, None, :]
    on = np.minimum(t, duration[:, None])[..., None]
    gain = on * expm1_ratio(lam * on) * np.exp(lam * (t[..., None] - on))
    return basis.input_weights[:, None, :] * rate[:, None, None] * gain


def check_infusions(dose: np.ndarray, duration: np.ndarray, interval_h: float) -> None:
    """Reject durations outside (0, interval_h] and negative or non-finite doses."""
    if np.any(duration <= 0) or np.any(duration > interval_h):
        raise ValueError(f"duration_h must be in (0, interval_h={interval_h}]")
    if np.any(dose < 0) or not np.all(np.isfinite(dose)):
        raise ValueError("dose_mg must be finite and >= 0")


def infuse_interval(
    basis: ModalBasis,
    modes: np.ndarray,
    clearance_l_per_h: np.ndarray,
    dose_mg: np.ndarray,
    duration_h: np.ndarray,
    interval_h: float,
    offsets_h: np.ndarray,
) -> IntervalResult:
    """Advance every patient over one interval that starts with a zero-order infusion.

    Args:
        basis: the patients' modal basis (parameters constant over the interval).
        modes: modal state at the start of the interval, (n, m).
        clearance_l_per_h: elimination clearance (for the mass-balance AUC), (n,).
        dose_mg: dose infused from the start of the interval, (n,); 0 for none.
        duration_h: infusion duration, (n,), 0 < duration <= interval_h.
        interval_h: length of the interval, h.
        offsets_h: times inside the interval at which to read the level, (n, k), in
            [0, interval_h]; use k = 0 for none.

    Examples:
        >>> from pkgym.sim.modal import compartment_params, modal_basis
        >>> basis = modal_basis(compartment_params(5.0, 50.0))
        >>> out = infuse_interval(basis, np.zeros((1, 1)), np.array([5.0]), np.array([1000.0]),
        ...                       np.array([1.0]), 12.0, np.array([[1.0]]))
        >>> round(float(out.concentrations_mg_per_l[0, 0]), 4)  # 1000/5 (1 - e^-0.1)
        19.0325
    """
    dose, duration = np.asarray(dose_mg, np.float64), np.asarray(duration_h, np.float64)
    check_infusions(dose, duration, interval_h)
    rate, lam = dose / duration, basis.eigenvalues_per_h
    ends = np.full((dose.size, 1), float(interval_h))
    times = np.concatenate([np.asarray(offsets_h, np.float64).reshape(dose.size, -1), ends], 1)
    free = np.exp(lam[:, None, :] * times[..., None]) * modes[:, None, :]
    states = free + _infusion_response(basis, rate, duration, times)  # (n, k + 1, m)
    levels = np.einsum("nkm,nm->nk", states, basis.input_weights)
    end = states[:, -1, :]
    body_change = np.einsum("nm,nm->n", end - modes, basis.amount_weights)
    auc = (dose - body_change) / clearance_l_per_h
    return IntervalResult(end, levels[:, :-1], np.maximum(auc, 0.0))


@dataclass(frozen=True, slots=True)
class CompartmentIntervalResult:
    """What happened over one interval, in compartment amounts.

    Attributes:
        amounts_mg: drug in each compartment at the end (clipped at 0).  # (n, m)
        concentrations_mg_per_l: central concentration at each requested offset.  # (n, k)
        auc_mg_h_per_l: AUC of the central concentration over the interval.  # (n,)
    """

    amounts_mg: np.ndarray
    concentrations_mg_per_l: np.ndarray
    auc_mg_h_per_l: np.ndarray


def infuse_compartments(
    clearance_l_per_h: np.ndarray,
    volumes_l: np.ndarray,
    intercompartmental_clearance_l_per_h: np.ndarray,
    amounts_mg: np.ndarray,
    dose_mg: np.ndarray,
    duration_h: np.ndarray,
    interval_h: float,
    offsets_h: np.ndarray,
) -> CompartmentIntervalResult:
    """One infusion interval from compartment amounts: the hot path of intermittent dosing.

    The whole step of an intermittent-infusion ward in one call (its torch twin,
    :func:`pkgym.accel.interval_torch.infuse_compartments`, is one device trip): the modal
    basis of today's parameters, the amounts into modes, :func:`infuse_interval`, and back
    to amounts clipped at 0.

    Args:
        clearance_l_per_h: elimination clearance, L/h, (n,).
        volumes_l: central then peripheral volumes, L, (n, m).
        intercompartmental_clearance_l_per_h: Q to each peripheral, L/h, (n, m - 1).
        amounts_mg: drug in each compartment at the start, mg, (n, m).
        dose_mg: dose infused from the start of the interval, mg, (n,).
        duration_h: infusion duration, h, (n,), in (0, interval_h].
        interval_h: length of the interval, h.
        offsets_h: times inside the interval at which to read the level, h, (n, k).

    Examples:
        >>> out = infuse_compartments(np.array([5.0]), np.array([[50.0]]), np.zeros((1, 0)),
        ...                           np.zeros((1, 1)), np.array([1000.0]), np.array([1.0]),
        ...                           12.0, np.array([[1.0]]))
        >>> round(float(out.concentrations_mg_per_l[0, 0]), 4)  # 1000/5 (1 - e^-0.1)
        19.0325
    """
    basis = modal_basis_unchecked(clearance_l_per_h, volumes_l,
                                  intercompartmental_clearance_l_per_h,
                                  np.ones(np.shape(clearance_l_per_h)[0]))  # IV only: ka unused
    modes = np.einsum("nij,nj->ni", basis.to_modal, amounts_mg)
    result = infuse_interval(basis, modes, clearance_l_per_h, dose_mg, duration_h, interval_h,
                             offsets_h)
    amounts = np.maximum(np.einsum("nij,nj->ni", basis.from_modal, result.modes), 0.0)
    return CompartmentIntervalResult(amounts, result.concentrations_mg_per_l,
                                     result.auc_mg_h_per_l)
