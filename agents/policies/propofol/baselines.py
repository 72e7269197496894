"""Propofol policies for ``pkgym/Propofol-v0``: TCI pumps (three beliefs), PID on BIS, oracle.

Decisions are infusion rates in mg/kg/h held over the next step, shape (n_envs,); the
evaluation harness maps them to the env's nearest level (discrete) or scales them (Box).
A new episode is recognised by ``elapsed_min == 0``.

* :class:`TciPolicy` (``tci_marsh``, ``tci_schnider``, ``tci_eleveld``): effect-site TCI
  with the pump's population model and the patient's covariates (:mod:`.tci`), open loop.
* :class:`PidPolicy` (``pid``): PID on the monitor's BIS, setpoint 50, in the form of the
  BIS-guided propofol PIDs of Absalom AR et al. (Anesthesiology 2002;96:67) and Soltesz K
  et al. (Biomed Signal Process Control 2013;8:500), but acting on the rate directly (no TCI
  in the loop); gains chosen by us (module constants) on training-space patients, with
  anti-windup by conditional integration (the integral stops while the rate is saturated in
  the direction the error pushes) and integral separation (it runs only within 15 BIS of
  50). Gains from a grid on 60 training-space patients (``KP`` 0.25-2 mg/kg/h per BIS,
  ``TI`` 2-16 min, ``TD`` 0-1 min, band 10-25): time in 40-60 0.65 (KP 0.7, TI 4, TD 0, band
  15), against 0.30-0.62 elsewhere; without integral separation at most 0.54 with 14-60 %
  of the time below 40.
* :class:`OraclePolicy` (``oracle``, ``reads_hidden_state``): TCI with the TRUE patient's
  PK, ke0, state and its true Ce for BIS ``50 - 0.35 x`` the surgical stimulation's BIS
  points of the moment (:data:`STIMULATION_SHARE`; none by default): an upper bound on the
  default scenario, not a deployable policy; under stimulation it is a strong heuristic
  (it knows the stimulation now, not the schedule), not a bound.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.policies.propofol.tci import (
    TARGET_BIS,
    EffectSiteTci,
    belief_pk,
    covariates_of,
    typical_target_ug_per_ml,
)
from pkgym.envs.propofol.records import pd_of, pk_of
from pkgym.models.propofol_eleveld import N_STATES, ce_for_bis

PID_KP = 0.7
"""Proportional gain, mg/kg/h per BIS unit above 50 (chosen; see :class:`PidPolicy`)."""
PID_TI_MIN = 4.0
"""Integral time, min (chosen)."""
PID_TD_MIN = 0.0
"""Derivative time, min (chosen: 0, a derivative of 1 min lowered time in range by 0.03-0.08
on the 60-patient grid, the monitor's noise)."""
PID_BAND = 15.0
"""The integral only runs while |BIS - 50| <= this (integral separation, a standard
anti-windup besides conditional integration: the induction's large error would wind it up)."""


BELIEF_NAMES = {"marsh": "Marsh 1991 (ke0 1.2 /min, Struys 2000)",
                "schnider": "Schnider 1998/1999 (typical for the covariates)",
                "eleveld": "Eleveld 2018's typical patient for the covariates (no etas)"}
"""What each pump believes, as evaluation summaries print it."""


STIMULATION_SHARE = 0.35
"""Share of the stimulation's BIS points the oracle offsets with a deeper target (chosen: Ce
cannot fall fast once a stimulus ends; on 100 patients of ``scenarios/propofol_stimulation.yaml``
time in 40-60 was 0.55, 0.75, 0.74, 0.72 and 0.53 at 0, 0.35, 0.5, 0.65 and 1)."""


def fresh_episodes(observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """Which patients are at their episode's first decision, (n,) bool."""
    return np.asarray(observation["elapsed_min"], dtype=np.float64)[:, 0] <= 0.0


def last_rates(observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """The rate given in the step just ended, mg/kg/h, (n,)."""
    return np.asarray(observation["rates_mg_per_kg_per_h"], dtype=np.float64)[:, -1]


class TciPolicy:
    """Effect-site TCI with a population model as the pump's belief (module docstring)."""

    reads_hidden_state = False

    def __init__(self, belief: str, step_min: float, top_rate_mg_per_kg_per_h: float) -> None:
        """A pump with the ``belief`` model (marsh, schnider or eleveld)."""
        self.name, self.belief = f"tci_{belief}", belief
        self.belief_name = BELIEF_NAMES[belief]
        self.step_min, self.top = step_min, top_rate_mg_per_kg_per_h
        self.planner: EffectSiteTci | None = None
        self.state = np.zeros((0, N_STATES))
        self.target = np.zeros(0)

    def reset(self, n_envs: int) -> None:
        """Forget the pump's model state."""
        self.planner, self.state = None, np.zeros((n_envs, N_STATES))

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The TCI rate of each patient, mg/kg/h."""
        covariates = covariates_of(observation)
        fresh = fresh_episodes(observation)
        weight = covariates[:, 1]
        if self.planner is None or self.state.shape[0] != fresh.size or fresh.any():
            self.planner = EffectSiteTci(belief_pk(self.belief, covariates), self.step_min)
            self.target = typical_target_ug_per_ml(covariates)
            if self.state.shape[0] != fresh.size:
                self.state = np.zeros((fresh.size, N_STATES))
        given = last_rates(observation) * weight / 60.0
        self.state = np.where(fresh[:, None], 0.0, self.planner.advance(self.state, given))
        rate = self.planner.rate_mg_per_min(self.state, self.target, self.top * weight / 60.0)
        return rate * 60.0 / weight


class OraclePolicy:
    """Effect-site TCI on the true patient, its true state and true Ce for BIS 50."""

    reads_hidden_state = True

    def __init__(self, step_min: float, top_rate_mg_per_kg_per_h: float) -> None:
        """An oracle pump (reads ``info``)."""
        self.name, self.step_min, self.top = "oracle", step_min, top_rate_mg_per_kg_per_h
        self.planner: EffectSiteTci | None = None
        self.target = np.zeros(0)

    def reset(self, n_envs: int) -> None:
        """Forget the planner (rebuilt from ``info`` at the next decision)."""
        self.planner = None

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The true-model TCI rate of each patient, mg/kg/h."""
        if info is None:
            raise ValueError("the oracle reads the true patient from info; got none")
        fresh = fresh_episodes(observation)
        pk, pd = np.asarray(info["pk_params"]), np.asarray(info["pd_params"])
        if self.planner is None or self.target.size != fresh.size or fresh.any():
            self.planner = EffectSiteTci(pk_of(pk), self.step_min)
        stimulation = np.asarray(info.get("stimulation_bis", np.zeros(fresh.size)), float)
        wanted = np.clip(TARGET_BIS - STIMULATION_SHARE * stimulation, 5.0, 85.0)
        self.target = ce_for_bis(wanted, pd_of(pd))
        weight = covariates_of(observation)[:, 1]
        state = np.asarray(info["model_state"], dtype=np.float64)
        rate = self.planner.rate_mg_per_min(state, self.target, self.top * weight / 60.0)
        return rate * 60.0 / weight


class PidPolicy:
    """PID on the monitor's BIS with conditional-integration anti-windup (module docstring).

    ``rate = KP (e + I / TI + TD de/dt)``, ``e`` = BIS - 50 on the mean of the last three
    samples (30 s, against the monitor's noise), ``de/dt`` the least-squares slope of the
    last six samples (1 min), ``I`` the integral of ``e`` (BIS min).
    """

    reads_hidden_state = False

    def __init__(self, step_min: float, top_rate_mg_per_kg_per_h: float, *,
                 kp: float = PID_KP, ti_min: float = PID_TI_MIN, td_min: float = PID_TD_MIN,
                 band: float = PID_BAND) -> None:
        """Gains in mg/kg/h per BIS unit and minutes; integration within ``band`` of 50."""
        self.name, self.step_min, self.top = "pid", step_min, top_rate_mg_per_kg_per_h
        self.kp, self.ti_min, self.td_min, self.band = kp, ti_min, td_min, band
        self.integral = np.zeros(0)

    def reset(self, n_envs: int) -> None:
        """Forget the integrals."""
        self.integral = np.zeros(n_envs)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The PID rate of each patient, mg/kg/h."""
        fresh = fresh_episodes(observation)
        if self.integral.size != fresh.size:
            self.reset(fresh.size)
        self.integral[fresh] = 0.0
        bis = np.asarray(observation["bis"], dtype=np.float64)
        mask = np.asarray(observation["bis_mask"], dtype=np.float64)
        recent = (bis[:, -3:] * mask[:, -3:]).sum(axis=1) / np.maximum(mask[:, -3:].sum(1), 1)
        error = recent - TARGET_BIS
        slope = _slope(bis[:, -6:], mask[:, -6:]) / self.step_min
        unclamped = self.kp * (error + self.integral / self.ti_min + self.td_min * slope)
        saturated = ((unclamped >= self.top) & (error > 0)) | ((unclamped <= 0) & (error < 0))
        frozen = saturated | (np.abs(error) > self.band)
        self.integral = np.where(frozen, self.integral, self.integral + error * self.step_min)
        return np.clip(self.kp * (error + self.integral / self.ti_min + self.td_min * slope),
                       0.0, self.top)


def _slope(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Least-squares slope per sample of each row's masked values (0 with < 2 samples)."""
    t = np.arange(values.shape[1], dtype=np.float64)[None, :]
    count = mask.sum(axis=1)
    mean_t = (mask * t).sum(axis=1) / np.maximum(count, 1)
    mean_v = (mask * values).sum(axis=1) / np.maximum(count, 1)
    dt, dv = (t - mean_t[:, None]) * mask, (values - mean_v[:, None]) * mask
    slope = (dt * dv).sum(axis=1) / np.maximum((dt * dt).sum(axis=1), 1e-12)
    return np.where(count >= 2, slope, 0.0)
