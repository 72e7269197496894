"""Model-informed docetaxel dosing: MAP estimates of the patient's myelosuppression.

Before each cycle the patient's Friberg random effects (Circ0, MTT, Slope) are estimated by
maximum a posteriori from every neutrophil count so far, the doses given and the Kloft 2006
prior (log-normal count error, SD 0.424 of log), as in the MAP arm of Maier et al. 2020
(CPT Pharmacometrics Syst Pharmacol 9:153). The dose is then the highest level whose
forecast nadir stays out of grade 4
(:func:`agents.policies.chemotherapy.baselines.highest_safe_percent`).
Clearance and the tumour effects stay at their prior means: counts alone do not separate CL
from Slope.

The prior is the scenario's myelosuppression truth unless the policy is given another
``belief`` (``map:prior=NAME``, :func:`agents.policies.chemotherapy.make_baseline`): the
patients then follow one model while the policy estimates and forecasts with another.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.policies.chemotherapy.baselines import (
    PLANNING_SOLVER,
    _with_delay,
    highest_safe_percent,
)
from pkgym.envs.chemotherapy.clinic import COVARIATES, ChemotherapyScenario
from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import CIRC, advance_cycles, initial_states
from pkgym.models.myelosuppression import MyelosuppressionModel
from pkgym.sim.least_squares import levenberg_marquardt

ESTIMATED = (1, 2, 3)
"""Indices of the estimated etas (CIRC0, MTT, SLOPE) in the joint variability."""
_STEP = 1e-3


class ChemoMapPolicy:
    """MAP-Bayesian docetaxel dosing (see the module docstring)."""

    reads_hidden_state = False

    def __init__(self, scenario: ChemotherapyScenario, *, allow_delay: bool = False,
                 iterations: int = 6, belief: MyelosuppressionModel | None = None) -> None:
        """Dose within ``scenario``'s levels, with ``belief`` (default its truth) as prior."""
        self.name, self.scenario, self.allow_delay = "map_bayesian", scenario, allow_delay
        self.belief_name: str | None = None  # the scenario's name of the prior (make_baseline's)
        self.model = DocetaxelPatientModel(pk=scenario.pk, tumour=scenario.tumour,
                                           myelosuppression=belief or scenario.truth)
        omega = np.diag(self.model.variability.omega)
        self.prior_sd = np.sqrt(omega[list(ESTIMATED)])
        self.log_sd, self.iterations = max(scenario.assay_log_sd, 0.05), int(iterations)

    def reset(self, n_envs: int) -> None:
        """Stateless between cycles: every decision re-estimates from all counts."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The highest safe dose for every env on its current MAP estimate."""
        s = self.scenario
        covariates = self._covariates(observation)
        cycle = np.minimum(np.asarray(observation["cycle"])[:, 0].astype(np.int64),
                           s.n_cycles - 1)  # a finished episode: plan as for its last cycle
        eta = np.zeros((cycle.size, len(self.model.variability.names)))
        eta[:, list(ESTIMATED)] = self._estimate(observation, covariates, cycle)
        params = self.model.parameters(covariates, eta)
        states, times, _ = self._history(params, observation, cycle)
        percent = highest_safe_percent(params, states, times, covariates["bsa_m2"],
                                       np.asarray(s.dose_levels_percent), s.label_dose_mg_per_m2,
                                       s.pk.infusion_h, s.cycle_days)
        return _with_delay(percent, np.zeros(percent.size), self.allow_delay)

    def _covariates(self, observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        values = np.asarray(observation["covariates"], dtype=np.float64)
        covariates = {name: values[:, i] for i, name in enumerate(COVARIATES)}
        covariates["baseline_sld_mm"] = np.maximum(np.asarray(observation["sld_mm"])[:, 0], 1.0)
        return covariates

    def _history(self, params: np.ndarray, observation: Mapping[str, np.ndarray],
                 cycle: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """States and times after the cycles given, and the predicted counts per lab slot."""
        s, m = self.scenario, params.shape[0]
        n_labs = len(s.lab_days)
        repeat = m // cycle.size  # rows of one env are adjacent (np.repeat order)
        states = initial_states(params, np.full(m, 70.0))  # tumour size is not used here
        times, labs = np.zeros(m), np.full((m, s.n_cycles * n_labs), np.nan)
        bsa = np.asarray(observation["covariates"], np.float64)[:, COVARIATES.index("bsa_m2")]
        percent = np.asarray(observation["dose_percent"], np.float64)
        delayed = np.asarray(observation["delayed"]) > 0.5
        bsa, percent, delayed, cycles = (np.repeat(a, repeat, axis=0)
                                         for a in (bsa, percent, delayed, cycle))
        for c in range(int(cycles.max(initial=0)) + 1):
            labs[:, c * n_labs + s.lab_days.index(0)] = states[:, CIRC]
            rows = np.flatnonzero(cycles > c)
            if rows.size == 0:
                break
            dose_day = np.where(delayed[rows, c], s.delay_days, 0).astype(np.int64)
            anc = np.empty((rows.size, s.max_cycle_days))
            advance_cycles(rows, percent[rows, c] / 100 * s.label_dose_mg_per_m2 * bsa[rows],
                           dose_day, s.cycle_days + dose_day, s.pk.infusion_h, times, states,
                           params, PLANNING_SOLVER.rtol, PLANNING_SOLVER.atol,
                           PLANNING_SOLVER.max_steps, anc)
            for k, day in enumerate(s.lab_days):
                if day > 0:
                    labs[rows, c * n_labs + k] = anc[np.arange(rows.size), dose_day + day - 1]
        return states, times, labs

    def _residuals(self, covariates: Mapping[str, np.ndarray], etas: np.ndarray,
                   observation: Mapping[str, np.ndarray], cycle: np.ndarray,
                   data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Whitened count and prior residuals, (m, n_slots + 3), m = a multiple of n_envs."""
        m = etas.shape[0]
        repeat = m // cycle.size
        full = np.zeros((m, len(self.model.variability.names)))
        full[:, list(ESTIMATED)] = etas
        params = self.model.parameters({k: np.repeat(v, repeat) for k, v in covariates.items()},
                                       full)
        _, _, predicted = self._history(params, observation, cycle)
        log_counts, mask = (np.repeat(a, repeat, axis=0) for a in data)
        fit = np.where(mask, (log_counts - np.log(np.maximum(np.nan_to_num(predicted, nan=1.0),
                                                             1e-6))) / self.log_sd, 0.0)
        return np.column_stack([fit, etas / self.prior_sd])

    def _estimate(self, observation: Mapping[str, np.ndarray],
                  covariates: Mapping[str, np.ndarray], cycle: np.ndarray) -> np.ndarray:
        """MAP etas (n, 3) by a batched Levenberg-Marquardt with forward differences."""
        n, k = cycle.size, len(ESTIMATED)
        mask = np.asarray(observation["anc_mask"]) > 0
        counts = np.asarray(observation["anc_1e9_per_l"], np.float64)
        data = (np.log(np.where(mask, np.maximum(counts, 1e-3), 1.0)), mask)
        if not np.any(cycle > 0):
            return np.zeros((n, k))
        return levenberg_marquardt(
            lambda etas: self._residuals(covariates, etas, observation, cycle, data),
            np.zeros((n, k)), iterations=self.iterations, step=_STEP)
