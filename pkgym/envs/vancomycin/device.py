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
    INTERVAL_H,
    MAX_RATE_MG_PER_H,
    MIN_INFUSION_H,
    finish_step,
    record_history,
)
from pkgym.models.vancomycin_course import PEAK_AFTER_END_H, TROUGH_BEFORE_H


def advance_ward_on_device(k: np.ndarray, sample_slots: np.ndarray, doses_mg: np.ndarray,
                           course: tuple, patients: tuple, noise: tuple, history: tuple,
                           assays: tuple, labs: tuple, metrics: tuple, *,
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
    interval = float(k[INTERVAL_H])
    amounts, clearance, volumes, q = course[1], course[2], course[3], course[4]
    durations = np.maximum(k[MIN_INFUSION_H], doses_mg / k[MAX_RATE_MG_PER_H])
    offsets = np.stack([np.full(doses_mg.shape, interval - TROUGH_BEFORE_H),
                        np.minimum(durations + PEAK_AFTER_END_H, interval)], axis=1)
    from pkgym.accel.interval_torch import infuse_compartments  # torch only when asked for

    out = infuse_compartments(clearance, volumes, q, amounts, doses_mg, durations, interval,
                              offsets, device=device)
    record_ward(k, sample_slots, doses_mg, durations, offsets,
                (out.concentrations_mg_per_l, out.amounts_mg, out.auc_mg_h_per_l), course,
                patients, noise, history, assays, labs, metrics)


@numba.njit(cache=True, error_model="numpy")
def record_ward(k: np.ndarray, sample_slots: np.ndarray, doses_mg: np.ndarray,
                durations_h: np.ndarray, offsets_h: np.ndarray, pk: tuple, course: tuple,
                patients: tuple, noise: tuple, history: tuple, assays: tuple, labs: tuple,
                metrics: tuple) -> None:
    """Everything ``advance_ward`` does after the PK interval, given its results, in place.

    The arguments shared with :func:`pkgym.envs.vancomycin.kernel.advance_ward` have its
    shapes and meaning.

    Args:
        k: packed constants.
        sample_slots: level slot of each step's trough and peak, (n_steps, 2).
        doses_mg: dose infused this step, mg, (n,).
        durations_h: infusion duration of each dose, h, (n,).
        offsets_h: trough and peak offsets inside the interval, h, (n, 2).
        pk: (levels at the offsets (n, 2) mg/L, end amounts (n, 2) mg, interval AUC (n,)
            mg*h/L), from :func:`pkgym.accel.interval_torch.infuse_compartments`.
        course: the course arrays; updated.
        patients: the patients' fixed arrays.
        noise: the episode's pre-drawn uniforms and normals.
        history: per-step records; this step's column written.
        assays: level tables; slots due written.
        labs: morning creatinine tables; the next morning written.
        metrics: the step's metrics; overwritten.
    """
    step, amounts, clearance, _, _, aucs, _, _, _ = course
    levels, ends, interval_aucs = pk
    interval = k[INTERVAL_H]
    for p in range(doses_mg.shape[0]):
        s = step[p]
        record_history(history, p, s, doses_mg[p], durations_h[p], clearance[p], amounts)
        amounts[p, 0], amounts[p, 1], aucs[p, s] = ends[p, 0], ends[p, 1], interval_aucs[p]
        finish_step(k, p, (levels[p, 0], levels[p, 1]),
                    (s * interval + offsets_h[p, 0], s * interval + offsets_h[p, 1]),
                    sample_slots, course, patients, noise, assays, labs, metrics)
