"""Bayesian TCI: a grid posterior of the patient's ke0 and Ce50 from the monitor's BIS, then TCI.

The pump's PK is Eleveld's typical patient for the covariates (no PK etas); ke0 and Ce50
carry Eleveld's log-normal priors (variances 0.702 and 0.242) on a grid of ``eta_ke0``
(11 values, +/- 2.5 SD) and ``eta_Ce50`` (25 values, +/- 3 SD). For every ke0 of the grid the
model's state is advanced exactly with the rates given, and each monitor sample updates the
log-likelihood of every grid point: the sample is the BIS of the model's Ce ``15 + exp(0.0517
age)`` s earlier (linear interpolation between step ends) with Eleveld's additive error
(SD 8.03); clipped readings (0 or 100) are left out. Each step the pump takes the posterior
mode, targets that patient's Ce for BIS 50, and plans the effect-site TCI step
(:class:`~agents.policies.propofol.tci.EffectSiteTci`) with the mode's ke0. Ours: the
grid, the interpolation and the dropped clipped readings; the model is Eleveld's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from agents.policies.propofol.tci import TARGET_BIS, EffectSiteTci, belief_pk, covariates_of
from pkgym.models.propofol_eleveld import (
    N_STATES,
    Eleveld2018,
    ce_for_bis,
    eleveld_pd,
    step_propagator,
)

KE0_GRID_SD = np.linspace(-2.5, 2.5, 11)
CE50_GRID_SD = np.linspace(-3.0, 3.0, 25)


class MapTciPolicy:
    """Effect-site TCI on the posterior mode of ke0 and Ce50 (module docstring)."""

    reads_hidden_state = False

    def __init__(self, step_min: float, top_rate_mg_per_kg_per_h: float, n_steps: int) -> None:
        """A Bayesian pump (Eleveld's typical PK, priors on ke0 and Ce50), episodes of n_steps."""
        self.name, self.step_min, self.top = "map_bayesian", step_min, top_rate_mg_per_kg_per_h
        self.n_steps = n_steps
        self.belief_name = "Eleveld 2018's typical PK for the covariates, ke0 and Ce50 fitted"
        model = Eleveld2018()
        self.sd_ke0 = float(np.sqrt(model.omega_variances[6]))
        self.sd_ce50 = float(np.sqrt(model.omega_variances[7]))
        self.residual_sd = model.bis_residual_sd
        self.prior = -0.5 * (KE0_GRID_SD[:, None] ** 2 + CE50_GRID_SD[None, :] ** 2)
        self.n = -1

    def reset(self, n_envs: int) -> None:
        """Forget every patient (rebuilt at the next first decision)."""
        self.n = -1

    def _start(self, covariates: np.ndarray, rows: np.ndarray) -> None:
        """Grid propagators, states and likelihoods of new patients ``rows``."""
        n, k = covariates.shape[0], KE0_GRID_SD.size
        if self.n != n:
            self.n, self.k = n, k
            self.states = np.zeros((n, k, N_STATES))
            self.ce_history = np.zeros((n, k, self.n_steps + 1))  # Ce at each step end
            self.loglik = np.zeros((n, k, CE50_GRID_SD.size))
        # the covariates of every row are the current patients' (kept rows: unchanged)
        self.pk = belief_pk("eleveld", covariates)
        self.pd = eleveld_pd(Eleveld2018(), covariates[:, 0])
        scales = np.exp(self.sd_ke0 * KE0_GRID_SD)
        grid_pk = replace(self.pk, **{
            f: np.repeat(getattr(self.pk, f), k) for f in self.pk.__dataclass_fields__})
        grid_pk = replace(grid_pk, ke0_per_min=grid_pk.ke0_per_min * np.tile(scales, n))
        step = step_propagator(grid_pk, self.step_min)
        self.transition = step.transition.reshape(n, k, N_STATES, N_STATES)
        self.input = step.input.reshape(n, k, N_STATES)
        self.states[rows], self.loglik[rows], self.ce_history[rows] = 0.0, 0.0, 0.0

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The posterior-mode TCI rate of each patient, mg/kg/h."""
        covariates = covariates_of(observation)
        fresh = np.asarray(observation["elapsed_min"], dtype=np.float64)[:, 0] <= 0.0
        if self.n != fresh.size or fresh.any():
            self._start(covariates, np.flatnonzero(fresh) if self.n == fresh.size
                        else np.arange(fresh.size))
        weight = covariates[:, 1]
        given = np.asarray(observation["rates_mg_per_kg_per_h"], dtype=np.float64)[:, -1]
        elapsed = np.asarray(observation["elapsed_min"], dtype=np.float64)[:, 0]
        steps = np.minimum(np.rint(elapsed / self.step_min).astype(np.int64), self.n_steps)
        moved = (np.einsum("nkij,nkj->nki", self.transition, self.states)
                 + self.input * (given * weight / 60.0)[:, None, None])
        self.states = np.where(fresh[:, None, None], 0.0, moved)
        self.ce_history[np.arange(self.n), :, steps] = self.states[:, :, 3]
        self._update(elapsed, np.asarray(observation["bis"], dtype=np.float64)[:, -1], fresh)
        best = (self.loglik + self.prior[None]).reshape(self.n, -1).argmax(axis=1)
        i, j = np.divmod(best, CE50_GRID_SD.size)
        pk = replace(self.pk, ke0_per_min=self.pk.ke0_per_min
                     * np.exp(self.sd_ke0 * KE0_GRID_SD[i]))
        ce50 = self.pd.ce50_ug_per_ml * np.exp(self.sd_ce50 * CE50_GRID_SD[j])
        target = ce_for_bis(TARGET_BIS, replace(self.pd, ce50_ug_per_ml=ce50))
        state = self.states[np.arange(self.n), i]
        rate = EffectSiteTci(pk, self.step_min).rate_mg_per_min(state, target,
                                                                 self.top * weight / 60.0)
        return rate * 60.0 / weight

    def _update(self, elapsed_min: np.ndarray, reading: np.ndarray, fresh: np.ndarray) -> None:
        """Add the newest monitor sample to every grid point's log-likelihood."""
        seen_at = (elapsed_min - self.pd.delay_s / 60.0) / self.step_min  # in steps, (n,)
        low = np.clip(np.floor(seen_at), 0, self.n_steps).astype(np.int64)
        high = np.minimum(low + 1, self.n_steps)
        frac = np.clip(seen_at - low, 0.0, 1.0)[:, None]
        rows = np.arange(self.n)
        ce = ((1 - frac) * self.ce_history[rows, :, low]
              + frac * self.ce_history[rows, :, high])
        ce = np.where((seen_at < 0)[:, None], 0.0, ce)[:, :, None]  # (n, k, 1)
        grid_ce50 = (self.pd.ce50_ug_per_ml[:, None] * np.exp(self.sd_ce50 * CE50_GRID_SD)[None]
                     )[:, None, :]  # (n, 1, m)
        gamma = np.where(ce <= grid_ce50, self.pd.gamma_low[:, None, None],
                         self.pd.gamma_high[:, None, None])
        ratio = (ce / grid_ce50) ** gamma
        predicted = self.pd.bis_baseline[:, None, None] * (1.0 - ratio / (1.0 + ratio))
        usable = ((reading > 0.0) & (reading < 100.0) & ~fresh)[:, None, None]
        residual = (reading[:, None, None] - predicted) / self.residual_sd
        self.loglik += np.where(usable, -0.5 * residual**2, 0.0)
