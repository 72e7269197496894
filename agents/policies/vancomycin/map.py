"""Bayesian MAP model-informed precision dosing (MIPD) of vancomycin, as bedside tools do it.

After each new level the patient's random effects ``eta = (eta_CL, eta_V1, eta_V2)`` are
estimated by maximum a posteriori with the Goti 2018 population model as the prior; the next
dose is the candidate whose predicted AUC over the next 24 h (the candidate given now and at
each later interval of that day, on top of the drug already in the body) is closest to the
target (400-600 mg*h/L, Rybak et al. 2020 ASHP/IDSA consensus, Am J Health Syst Pharm 77:835).
The policy sees only what the ward knows: covariates, measured creatinine, doses, levels.
The exact prediction model lives in :mod:`agents.policies.vancomycin.map_predict`, the
patient's history in :mod:`agents.policies.vancomycin.patient_history`.

Objective (the full -2 log posterior, as NONMEM's ``$EST METHOD=COND INTERACTION
MAXEVAL=0``/POSTHOC and mapbayr compute it)::

    OFV(eta) = sum_i [ (y_i - f_i)^2 / v_i + ln v_i ] + eta^T Omega^-1 eta
    v_i = add^2 + (prop * f_i)^2

The ``ln v_i`` term makes noise-free data look too high by about ``prop^2`` (5 % for Goti's
22.7 %): the estimator is right on average for noisy data, not exact on noise-free data.
The truncation of measured levels at 0 is ignored (negligible above ~2 sd of the assay).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from agents.policies.vancomycin.map_predict import (
    Segments,
    check_etas,
    predict_aucs,
    segment_grid,
    simulate_history,
)
from agents.policies.vancomycin.patient_history import PatientHistory
from pkgym.models.vancomycin import Goti2018, TwoCompartmentVancomycin
from pkgym.units import HOURS_PER_DAY
from pkgym.utils import check_non_negative, check_positive

DEFAULT_CANDIDATE_DOSES_MG = np.arange(0.0, 3001.0, 250.0)
DEFAULT_CANDIDATE_DOSES_MG.setflags(write=False)
_BOUND_SD = 6.0  # MAP search box, in prior standard deviations of each eta
_FD_STEP = 1e-5  # central-difference step, in prior standard deviations


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class MapEstimate:
    """Result of :func:`map_estimate`.

    Attributes:
        etas: posterior mode of (eta_CL, eta_V1, eta_V2).  # (3,)
        objective: -2 log posterior at the mode, up to a constant (0 with no levels).
        converged: whether the optimiser met its tolerance.
    """

    etas: np.ndarray
    objective: float
    converged: bool


def _likelihood_term(history: PatientHistory, etas: np.ndarray, segments: Segments,
                     model: TwoCompartmentVancomycin) -> np.ndarray:
    """``sum_i (y_i - f_i)^2 / v_i + ln v_i`` for each row of ``etas``, shape (n,)."""
    predicted, _ = simulate_history(history, etas, segments, model)
    variance = np.maximum(model.residual_error.sd(np.maximum(predicted, 0.0)) ** 2, 1e-12)
    return np.sum((history.levels_mg_per_l - predicted) ** 2 / variance + np.log(variance), -1)


def posterior_objective(history: PatientHistory, etas: np.ndarray,
                        model: TwoCompartmentVancomycin) -> np.ndarray:
    """-2 log posterior of ``etas`` up to a constant (the module docstring's OFV).

    Etas whose omega is 0 are fixed at 0 and left out of the prior term.

    Examples:
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> float(posterior_objective(h, np.array([0.398, 0.0, 0.0]), Goti2018()).round(6))
        1.0
    """
    eta = check_etas(etas)
    rows = np.atleast_2d(eta)
    free = np.flatnonzero(np.diag(model.variability.omega) > 0)
    inverse = np.linalg.inv(model.variability.omega[np.ix_(free, free)])
    prior = np.einsum("ni,ij,nj->n", rows[:, free], inverse, rows[:, free])
    if history.levels_mg_per_l.size:
        prior = prior + _likelihood_term(
            history, rows, segment_grid(history, history.level_times_h), model)
    return prior[0] if eta.ndim == 1 else prior


def map_estimate(history: PatientHistory, model: TwoCompartmentVancomycin, *,
                 max_iterations: int = 200) -> MapEstimate:
    """Maximum a posteriori etas given the levels in ``history`` (the prior mode with none).

    Minimises the OFV of the module docstring with L-BFGS-B in whitened coordinates
    ``eta = L u`` (``L L^T = Omega``), ``|u| <= 6``, and a central-difference gradient whose
    2k + 1 evaluations share one batched simulation.

    Examples:
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> from dataclasses import replace
        >>> h = replace(h.with_doses([(0.0, 1000.0)]), level_times_h=[11.5],
        ...             levels_mg_per_l=[9.0], time_h=12.0)
        >>> fit = map_estimate(h, Goti2018())
        >>> fit.converged, bool(fit.etas[0] < 0)  # a high trough means a lower clearance
        (True, True)
    """
    if history.levels_mg_per_l.size == 0:
        return MapEstimate(etas=np.zeros(3), objective=0.0, converged=True)
    omega = model.variability.omega
    free = np.flatnonzero(np.diag(omega) > 0)
    chol, k = np.linalg.cholesky(omega[np.ix_(free, free)]), free.size
    steps = np.vstack([np.zeros(k), _FD_STEP * np.eye(k), -_FD_STEP * np.eye(k)])
    segments = segment_grid(history, history.level_times_h)

    def objective_and_gradient(u: np.ndarray) -> tuple[float, np.ndarray]:
        us = u + steps
        etas = np.zeros((us.shape[0], 3))
        etas[:, free] = us @ chol.T
        values = _likelihood_term(history, etas, segments, model) + np.sum(us**2, axis=1)
        return float(values[0]), (values[1:k + 1] - values[k + 1:]) / (2 * _FD_STEP)

    result = minimize(objective_and_gradient, np.zeros(k), jac=True, method="L-BFGS-B",
                      bounds=[(-_BOUND_SD, _BOUND_SD)] * k,
                      options={"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-7})
    etas = np.zeros(3)
    etas[free] = chol @ result.x
    return MapEstimate(etas=etas, objective=float(result.fun), converged=bool(result.success))


def next_day_regimens(time_h: float, candidate_doses_mg: np.ndarray,
                      interval_h: float) -> np.ndarray:
    """Each candidate given at ``time_h`` and every ``interval_h`` after it within 24 h.

    Args:
        time_h: now, h.
        candidate_doses_mg: doses, mg, shape (n_candidates,).
        interval_h: dosing interval, h.

    Returns:
        ``(start h, mg)`` pairs, shape (n_candidates, n_doses per day, 2).

    Examples:
        >>> next_day_regimens(36.0, np.array([0.0, 500.0]), 12.0).tolist()
        [[[36.0, 0.0], [48.0, 0.0]], [[36.0, 500.0], [48.0, 500.0]]]
    """
    check_positive("interval_h", interval_h)
    starts = time_h + interval_h * np.arange(np.ceil(HOURS_PER_DAY / interval_h - 1e-9))
    return np.stack(np.broadcast_arrays(starts[None], candidate_doses_mg[:, None]), axis=-1)


def choose_dose(history: PatientHistory, etas: np.ndarray, model: TwoCompartmentVancomycin, *,
                candidate_doses_mg: np.ndarray = DEFAULT_CANDIDATE_DOSES_MG,
                interval_h: float = 12.0, target_auc24: float = 500.0) -> float:
    """The candidate dose whose predicted AUC over the next 24 h is closest to the target.

    For each candidate ``d`` the AUC over ``[t, t + 24]`` (``t = history.time_h``) is
    predicted exactly with ``etas``, ``d`` given at ``t`` and at each later interval inside
    the window (:func:`next_day_regimens`), the drug already in the body included, days not
    yet measured taking the latest measured CrCL. This is the next-decision rule of MIPD
    software: it tapers a dose when drug has accumulated and keeps dosing a patient whose
    clearance is very low. Only part of a new dose's AUC falls in the window, so a shortfall
    is corrected by a larger step: in a steady course the rule mostly repeats the dose nearest
    ``target * CL * interval / 24`` and now and then gives a neighbouring candidate, keeping
    the daily AUC near the target. All candidates are predicted in one batch; ties go to the
    smaller dose.

    Args:
        history: the patient's history up to now (doses, CrCL by day, infusion limits).
        etas: the patient's etas, shape (3,) (typically a :class:`MapEstimate`'s).
        model: the population model.
        candidate_doses_mg: allowed doses, mg, shape (n_candidates,).
        interval_h: dosing interval, h.
        target_auc24: target AUC over 24 h, mg*h/L.

    Examples:
        >>> h = PatientHistory.admission(weight_kg=70.0, creatinine_clearance_ml_per_min=80.0)
        >>> choose_dose(h, np.zeros(3), Goti2018())  # drug-free: well above 500 * 3.25 / 2
        1750.0
    """
    candidates = np.sort(np.atleast_1d(check_non_negative("candidate_doses_mg",
                                                          candidate_doses_mg)))
    check_positive("target_auc24", target_auc24)
    regimens = next_day_regimens(history.time_h, candidates, interval_h)
    aucs = predict_aucs(history, etas, history.time_h, history.time_h + HOURS_PER_DAY, model,
                        regimens)
    return float(candidates[np.argmin(np.abs(aucs - target_auc24))])


def loading_dose_mg(weight_kg: float, *, mg_per_kg: float = 25.0, step_mg: float = 250.0,
                    max_mg: float = 3000.0) -> float:
    """Weight-based loading dose rounded (half up) to ``step_mg`` and capped (Rybak 2020).

    Examples:
        >>> loading_dose_mg(70.0), loading_dose_mg(150.0)
        (1750.0, 3000.0)
    """
    check_positive("weight_kg", weight_kg)
    return float(min(max_mg, step_mg * np.floor(mg_per_kg * weight_kg / step_mg + 0.5)))


class MapBayesianPolicy:
    """Loading dose at time 0, then Bayesian MAP maintenance doses aiming at an AUC24 target.

    Args:
        model: population model used as the prior (``None``: ``Goti2018()``).
        interval_h: dosing interval of the environment, h.
        candidate_doses_mg: allowed doses, mg (default 0-3000 mg in 250-mg steps).
        target_auc24: target AUC over 24 h, mg*h/L.
        max_infusion_rate_mg_per_h: the env's fastest infusion, mg/h (scenario value).
        min_infusion_h: the env's shortest infusion, h (scenario value).

    Examples:
        >>> obs = {"covariates": np.array([[60, 0, 80, 175, 0]]), "creatinine_mg_per_dl":
        ...        np.array([[1.0, 0]]), "creatinine_clearance_ml_per_min":
        ...        np.array([[89.0, 0]]), "doses_mg": np.zeros((1, 4)),
        ...        "level_times_h": np.zeros((1, 2)), "levels_mg_per_l": np.zeros((1, 2)),
        ...        "level_mask": np.zeros((1, 2)), "time_h": np.array([[0.0]])}
        >>> MapBayesianPolicy().act(obs).tolist()
        [2000.0]
    """

    name = "map_bayesian"
    reads_hidden_state = False

    def __init__(self, model: TwoCompartmentVancomycin | None = None, interval_h: float = 12.0,
                 candidate_doses_mg: np.ndarray = DEFAULT_CANDIDATE_DOSES_MG,
                 target_auc24: float = 500.0, *, max_infusion_rate_mg_per_h: float = 1000.0,
                 min_infusion_h: float = 1.0) -> None:
        """Store the settings (validated); call :meth:`reset` or just :meth:`act`."""
        self.model = Goti2018() if model is None else model
        self.belief_name: str | None = None  # the scenario's name of ``model`` (make_baseline's)
        self.infusion_limits = {
            "max_infusion_rate_mg_per_h": float(check_positive(
                "max_infusion_rate_mg_per_h", max_infusion_rate_mg_per_h)),
            "min_infusion_h": float(check_positive("min_infusion_h", min_infusion_h))}
        self.interval_h = float(check_positive("interval_h", interval_h))
        self.candidate_doses_mg = np.sort(np.atleast_1d(
            check_non_negative("candidate_doses_mg", candidate_doses_mg)))
        self.target_auc24 = float(check_positive("target_auc24", target_auc24))
        self.estimates: list[MapEstimate | None] = []
        self._keys: list[bytes | None] = []

    def reset(self, n_envs: int) -> None:
        """Forget every patient's estimate (call at the start of a batch of episodes)."""
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.estimates, self._keys = [None] * n_envs, [None] * n_envs

    def act(self, observation: Mapping[str, np.ndarray], info: dict | None = None) -> np.ndarray:
        """Doses in mg for each patient, shape (n_envs,); ``info`` is not read."""
        if "covariates" not in observation or np.ndim(observation["covariates"]) != 2:
            raise ValueError("observation['covariates'] must have shape (n_envs, 5)")
        n_envs = np.shape(observation["covariates"])[0]
        if len(self.estimates) != n_envs:
            self.reset(n_envs)
        doses = np.empty(n_envs)
        for i in range(n_envs):
            single = {key: np.asarray(value)[i] for key, value in observation.items()}
            doses[i] = self._act_one(i, PatientHistory.from_observation(
                single, self.interval_h, **self.infusion_limits))
        return doses

    def _act_one(self, i: int, history: PatientHistory) -> float:
        if history.time_h == 0.0:
            self.estimates[i], self._keys[i] = None, None
            loading = loading_dose_mg(history.weight_kg)
            return float(self.candidate_doses_mg[np.argmin(np.abs(self.candidate_doses_mg
                                                                  - loading))])
        before = history.dose_times_h < history.level_times_h.max(initial=0.0)
        key = b"".join(np.asarray(a, np.float64).tobytes() for a in (
            history.daily_creatinine_clearance_ml_per_min,
            [] if history.daily_creatinine_mg_per_dl is None
            else history.daily_creatinine_mg_per_dl, history.level_times_h,
            history.levels_mg_per_l, history.dose_amounts_mg[before],
            [history.weight_kg, history.on_dialysis]))
        if key != self._keys[i] or self.estimates[i] is None:
            self.estimates[i], self._keys[i] = map_estimate(history, self.model), key
        return choose_dose(history, self.estimates[i].etas, self.model,
                           candidate_doses_mg=self.candidate_doses_mg, interval_h=self.interval_h,
                           target_auc24=self.target_auc24)
