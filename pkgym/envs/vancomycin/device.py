"""The ``backend="torch"`` step of ``pkgym/Vancomycin-v0``: batched PK on a device, then records.

The default step (:func:`pkgym.envs.vancomycin.kernel.advance_ward`) runs the exact
two-compartment interval patient by patient in one compiled loop. With ``backend="torch"``
the interval of every patient runs instead as one batched tensor computation
(:func:`pkgym.accel.interval_torch.infuse_compartments`, on CUDA when present); the per-patient
bookkeeping that follows (the 24-h AUC window, the end-of-day kidneys, assays, labs and
metrics) stays in a compiled loop built from the same kernel pieces as ``advance_ward``, so
the two backends agree to rounding. State stays in the core's numpy records: each step
sends the patients' amounts and parameters to the device and brings five numbers back.
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.envs.vancomycin.kernel import (
    WardCourse,
    named_arrays,
    named_constants,
    step_patients,
)
from pkgym.models.vancomycin_course import PEAK_AFTER_END_H, TROUGH_BEFORE_H, infusion_duration_h


def advance_ward_on_device(plain_constants: tuple, sample_slots: np.ndarray,
                           doses_mg: np.ndarray, plain_ward: tuple, *,
                           device: str | None) -> None:
    """:func:`pkgym.envs.vancomycin.kernel.advance_ward` with the PK on torch (``device``).

    Same arguments, same in-place writes; ``device`` as in
    :class:`pkgym.envs.vancomycin.core.VancomycinCore`.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Vancomycin-v0", backend="torch", device="cpu")
        >>> _ = env.reset(seed=0)
        >>> info = env.step(6)[-1]
        >>> round(float(info["dose_mg"]), 1), bool(info["auc24_mg_h_per_l"] > 0)
        (1500.0, True)
    """
    constants, course = named_constants(plain_constants), WardCourse(*plain_ward[1])
    interval = constants.interval_h
    durations = infusion_duration_h(doses_mg, constants.max_infusion_rate_mg_per_h,
                                    constants.min_infusion_h)
    offsets = np.stack([np.full(doses_mg.shape, interval - TROUGH_BEFORE_H),
                        np.minimum(durations + PEAK_AFTER_END_H, interval)], axis=1)
    from pkgym.accel.interval_torch import infuse_compartments  # torch only when asked for

    out = infuse_compartments(course.clearance_l_per_h, course.volumes_l,
                              course.intercompartmental_clearance_l_per_h, course.amounts_mg,
                              doses_mg, durations, interval, offsets, device=device)
    record_ward(plain_constants, sample_slots, doses_mg, offsets,
                out.concentrations_mg_per_l, out.amounts_mg, out.auc_mg_h_per_l, plain_ward)


@numba.njit(cache=True, error_model="numpy")
def record_ward(plain_constants: tuple, sample_slots: np.ndarray, doses_mg: np.ndarray,
                offsets_h: np.ndarray, levels_mg_per_l: np.ndarray, end_amounts_mg: np.ndarray,
                interval_aucs_mg_h_per_l: np.ndarray, plain_ward: tuple) -> None:
    """Everything ``advance_ward`` does after the PK interval, given its results, in place.

    The arguments shared with :func:`pkgym.envs.vancomycin.kernel.advance_ward` have its
    shapes and meaning (the bundles as :func:`pkgym.envs.vancomycin.kernel.plain` tuples).

    Args:
        plain_constants: the ward's constants.
        sample_slots: level slot of each step's trough and peak, (n_steps, 2).
        doses_mg: dose infused this step, mg, (n,).
        offsets_h: trough and peak offsets inside the interval, h, (n, 2).
        levels_mg_per_l: true levels at the offsets, (n, 2), from
            :func:`pkgym.accel.interval_torch.infuse_compartments` as the next two.
        end_amounts_mg: central and peripheral amounts at the end, (n, 2).
        interval_aucs_mg_h_per_l: AUC over the interval, (n,).
        plain_ward: the records' arrays; written as by ``advance_ward``.
    """
    step_patients(named_constants(plain_constants), sample_slots, doses_mg,
                  named_arrays(plain_ward), (offsets_h, levels_mg_per_l, end_amounts_mg,
                                             interval_aucs_mg_h_per_l), 0, doses_mg.shape[0])
