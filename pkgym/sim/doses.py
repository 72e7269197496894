"""Batched dose histories: IV bolus, zero-order infusion and first-order oral doses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pkgym.utils import check_finite, check_non_negative

ROUTES = ("iv", "oral")
"""Allowed routes: ``iv`` (bolus when the duration is 0, infusion otherwise) and ``oral``."""
IV, ORAL = 0, 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DoseSchedule:
    """Every patient's doses, padded to a common count with zero-amount doses.

    Attributes:
        time_h: start time of each dose, h.  # (n_patients, n_doses)
        amount_mg: amount given, mg (0 pads a patient with fewer doses).  # (n_patients, n_doses)
        duration_h: infusion duration, h; 0 means an IV bolus.  # (n_patients, n_doses)
        route: ``IV`` (0) or ``ORAL`` (1); oral doses enter the depot after the lag time
            and must have duration 0.  # (n_patients, n_doses)
    """

    time_h: np.ndarray
    amount_mg: np.ndarray
    duration_h: np.ndarray
    route: np.ndarray

    def __post_init__(self) -> None:
        """Validate shapes and values, naming the offending field."""
        shape = np.shape(self.time_h)
        if len(shape) != 2:
            raise ValueError(f"time_h must be 2-D (n_patients, n_doses), got shape {shape}")
        for name in ("amount_mg", "duration_h", "route"):
            if np.shape(getattr(self, name)) != shape:
                got = np.shape(getattr(self, name))
                raise ValueError(f"{name} must have the shape of time_h {shape}, got {got}")
        check_finite("time_h", self.time_h)
        check_non_negative("amount_mg", self.amount_mg)
        check_non_negative("duration_h", self.duration_h)
        route = np.asarray(self.route)
        if not np.all(np.isin(route, (IV, ORAL))):
            raise ValueError(f"route must be {IV} (iv) or {ORAL} (oral), got {np.unique(route)}")
        if np.any((route == ORAL) & (np.asarray(self.duration_h) > 0)):
            raise ValueError("duration_h must be 0 for oral doses (first-order absorption)")

    @property
    def n_patients(self) -> int:
        """Number of patients (rows)."""
        return int(np.shape(self.time_h)[0])

    @property
    def infusion_rate_mg_per_h(self) -> np.ndarray:
        """Zero-order rate of each infusion, mg/h (0 for boluses and oral doses)."""
        duration = np.asarray(self.duration_h, dtype=np.float64)
        safe = np.where(duration > 0, duration, 1.0)
        return np.where(duration > 0, np.asarray(self.amount_mg) / safe, 0.0)


def regular_schedule(
    n_patients: int,
    *,
    amount_mg: float | np.ndarray,
    every_h: float,
    n_doses: int,
    duration_h: float | np.ndarray = 0.0,
    route: str = "iv",
    start_h: float = 0.0,
) -> DoseSchedule:
    """Build ``n_doses`` equal doses every ``every_h`` hours for each of ``n_patients``.

    Args:
        n_patients: number of patients (>= 1).
        amount_mg: dose, mg; a scalar or one value per patient, shape (n_patients,).
        every_h: dosing interval, h (> 0).
        n_doses: number of doses (>= 1).
        duration_h: infusion duration, h (0 for a bolus or an oral dose).
        route: one of ``ROUTES``.
        start_h: time of the first dose, h.

    Examples:
        >>> schedule = regular_schedule(
        ...     2, amount_mg=1000.0, every_h=12.0, n_doses=3, duration_h=1.0)
        >>> schedule.time_h[0].tolist(), float(schedule.infusion_rate_mg_per_h[1, 0])
        ([0.0, 12.0, 24.0], 1000.0)
    """
    if int(n_patients) < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    if int(n_doses) < 1:
        raise ValueError(f"n_doses must be >= 1, got {n_doses}")
    if not np.isfinite(every_h) or every_h <= 0:
        raise ValueError(f"every_h must be > 0, got {every_h}")
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    shape = (int(n_patients), int(n_doses))
    times = start_h + every_h * np.arange(n_doses, dtype=np.float64)
    amounts = np.asarray(amount_mg, dtype=np.float64)
    if amounts.ndim == 1:
        if amounts.shape[0] != n_patients:
            raise ValueError(
                f"amount_mg must be a scalar or shape ({n_patients},), got {amounts.shape}"
            )
        amounts = amounts[:, None]
    durations = np.asarray(duration_h, dtype=np.float64)
    if durations.ndim == 1:
        durations = durations[:, None]
    return DoseSchedule(
        time_h=np.broadcast_to(times, shape).copy(),
        amount_mg=np.broadcast_to(amounts, shape).copy(),
        duration_h=np.broadcast_to(durations, shape).copy(),
        route=np.full(shape, ROUTES.index(route), dtype=np.int8),
    )
