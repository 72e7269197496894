"""The oracle vancomycin policy: exact AUC control from the hidden true state.

An upper bound, not a deployable policy: it reads the patient's true amounts, clearance and
volumes from ``info`` (``reads_hidden_state = True``) and plans each dose with the exact
two-compartment solution.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.policies.vancomycin.baselines import (
    DEFAULT_CANDIDATE_DOSES_MG,
    _check_interval,
    _check_n_envs,
)
from pkgym.models.vancomycin_course import infusion_duration_h
from pkgym.sim.interval import infuse_interval
from pkgym.sim.modal import compartment_params, modal_basis
from pkgym.units import HOURS_PER_DAY
from pkgym.utils import check_finite, check_non_negative, check_positive

ORACLE_INFO_KEYS = ("time_h", "central_amount_mg", "peripheral_amount_mg", "clearance_l_per_h",
                    "central_volume_l", "peripheral_volume_l",
                    "intercompartmental_clearance_l_per_h", "auc_interval_mg_h_per_l")


def _window_sums(history: np.ndarray, steps: np.ndarray, length: int) -> np.ndarray:
    """Sum of each env's last ``length`` recorded interval AUCs before ``steps``, (n,)."""
    if length <= 0:
        return np.zeros(steps.size)
    columns = np.arange(history.shape[1])[None]
    inside = (columns < steps[:, None]) & (columns >= steps[:, None] - length)
    return np.sum(np.where(inside, history, 0.0), axis=1)


def predict_two_intervals(info: Mapping[str, np.ndarray], doses_mg: np.ndarray,
                          interval_h: float, *, max_infusion_rate_mg_per_h: float = 1000.0,
                          min_infusion_h: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Exact AUCs (mg*h/L) of the next two intervals for each patient and candidate dose.

    Each candidate is given now and repeated at the next step, from the true amounts and the
    true CL, V1, Q, V2 in ``info`` (today's CL assumed to persist), with the env's infusion
    limits (:func:`pkgym.models.vancomycin_course.infusion_duration_h`).

    Args:
        info: the env's batched info (keys ``ORACLE_INFO_KEYS``), each (n,).
        doses_mg: candidate doses, mg, shape (n_candidates,).
        interval_h: dosing interval, h.
        max_infusion_rate_mg_per_h: the env's fastest infusion, mg/h (scenario value).
        min_infusion_h: the env's shortest infusion, h (scenario value).

    Returns:
        AUC of this interval and of the next one, each shape (n, n_candidates).

    Examples:
        >>> info = {"central_amount_mg": np.zeros(1), "peripheral_amount_mg": np.zeros(1),
        ...         "clearance_l_per_h": np.array([4.0]), "central_volume_l": np.array([50.0]),
        ...         "peripheral_volume_l": np.array([40.0]),
        ...         "intercompartmental_clearance_l_per_h": np.array([6.5])}
        >>> this, after = predict_two_intervals(info, np.array([1000.0]), 12.0)
        >>> bool(this[0, 0] < after[0, 0] < 1000.0 / 4.0)  # accumulating toward dose / CL
        True
    """
    n, c = np.size(info["clearance_l_per_h"]), doses_mg.size
    col = lambda key: np.repeat(check_finite(key, info[key]).reshape(n), c)  # noqa: E731
    clearance = col("clearance_l_per_h")
    basis = modal_basis(compartment_params(
        clearance, col("central_volume_l"),
        intercompartmental_clearance_l_per_h=(col("intercompartmental_clearance_l_per_h"),),
        peripheral_volume_l=(col("peripheral_volume_l"),)))
    amounts = np.stack([col("central_amount_mg"), col("peripheral_amount_mg")], axis=1)
    modes = np.einsum("nij,nj->ni", basis.to_modal, amounts)
    dose = np.tile(doses_mg, n)
    duration = infusion_duration_h(dose, max_infusion_rate_mg_per_h, min_infusion_h)
    none = np.zeros((n * c, 0))
    this = infuse_interval(basis, modes, clearance, dose, duration, interval_h, none)
    after = infuse_interval(basis, this.modes, clearance, dose, duration, interval_h, none)
    return this.auc_mg_h_per_l.reshape(n, c), after.auc_mg_h_per_l.reshape(n, c)


class OraclePolicy:
    """Exact AUC control from the true, hidden state: an upper bound, not a deployable policy.

    It reads from ``info`` what no ward knows (the current drug amounts, the true CL, V1, Q,
    V2 and the last interval's AUC) and gives the candidate dose ``d`` minimising
    ``|AUC_prev + AUC_this(d) - target| + |AUC_this(d) + AUC_next(d) - target|``: the AUC24
    ending after this interval and after the next one, ``d`` repeated, with exact
    two-compartment prediction (:func:`predict_two_intervals`; today's CL assumed to
    persist). ``AUC_prev`` is 0 at time 0. With another interval the windows hold the last
    ``24 / interval_h`` intervals. Ties go to the smaller dose.

    Args:
        interval_h: the env's dosing interval (one decision step), h; must divide 24.
        candidate_doses_mg: allowed doses, mg (default 0-3000 mg in 250-mg steps).
        target_auc24: target AUC over 24 h, mg*h/L (the middle of 400-600).
        max_infusion_rate_mg_per_h: the env's fastest infusion, mg/h (scenario value).
        min_infusion_h: the env's shortest infusion, h (scenario value).

    Examples:
        >>> info = {"time_h": np.zeros(1), "central_amount_mg": np.zeros(1),
        ...         "peripheral_amount_mg": np.zeros(1), "clearance_l_per_h": np.array([4.0]),
        ...         "central_volume_l": np.array([50.0]), "peripheral_volume_l": np.array([40.0]),
        ...         "intercompartmental_clearance_l_per_h": np.array([6.5]),
        ...         "auc_interval_mg_h_per_l": np.zeros(1)}
        >>> float(OraclePolicy().act({}, info)[0]) > 1000.0  # a loading dose
        True
    """

    name = "oracle"
    reads_hidden_state = True

    def __init__(self, interval_h: float = 12.0,
                 candidate_doses_mg: np.ndarray = DEFAULT_CANDIDATE_DOSES_MG,
                 target_auc24: float = 500.0, *, max_infusion_rate_mg_per_h: float = 1000.0,
                 min_infusion_h: float = 1.0) -> None:
        """Store the settings (validated); no patient is known yet."""
        self.interval_h = _check_interval(interval_h)
        self.infusion_limits = {
            "max_infusion_rate_mg_per_h": float(check_positive(
                "max_infusion_rate_mg_per_h", max_infusion_rate_mg_per_h)),
            "min_infusion_h": float(check_positive("min_infusion_h", min_infusion_h))}
        self.candidate_doses_mg = np.sort(np.atleast_1d(
            check_non_negative("candidate_doses_mg", candidate_doses_mg)))
        self.target_auc24 = float(check_positive("target_auc24", target_auc24))
        self.reset(1)

    def reset(self, n_envs: int) -> None:
        """Forget every patient's past interval AUCs."""
        self.auc_history = np.zeros((_check_n_envs(n_envs), 0))  # (n_envs, steps seen)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,), from the true state in ``info`` (required)."""
        if info is None:
            raise ValueError("info is required: the oracle reads the true state from it")
        missing = [key for key in ORACLE_INFO_KEYS if key not in info]
        if missing:
            raise ValueError(f"info lacks {missing}")
        time_h = check_non_negative("time_h", info["time_h"]).reshape(-1)
        if time_h.size != self.auc_history.shape[0]:
            self.reset(time_h.size)
        steps = np.round(time_h / self.interval_h).astype(np.int64)
        self._record(steps, check_non_negative("auc_interval_mg_h_per_l",
                                               info["auc_interval_mg_h_per_l"]).reshape(-1))
        this, after = predict_two_intervals(info, self.candidate_doses_mg, self.interval_h,
                                            **self.infusion_limits)
        per_day = round(HOURS_PER_DAY / self.interval_h)
        first = _window_sums(self.auc_history, steps, per_day - 1)[:, None] + this
        second = after if per_day == 1 else (
            _window_sums(self.auc_history, steps, per_day - 2)[:, None] + this + after)
        cost = np.abs(first - self.target_auc24) + np.abs(second - self.target_auc24)
        return self.candidate_doses_mg[np.argmin(cost, axis=1)]

    def _record(self, steps: np.ndarray, last_auc: np.ndarray) -> None:
        """Store the AUC of the interval that just ended; a step of 0 is a new patient."""
        if steps.max(initial=0) > self.auc_history.shape[1]:
            grown = np.zeros((steps.size, int(steps.max())))
            grown[:, : self.auc_history.shape[1]] = self.auc_history
            self.auc_history = grown
        self.auc_history[steps == 0] = 0.0
        rows = np.flatnonzero(steps > 0)
        self.auc_history[rows, steps[rows] - 1] = last_auc[rows]
