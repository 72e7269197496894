"""Bayesian MAP precision dosing of warfarin: the population model as prior, INRs as data.

On every morning with a new INR, each patient's random effects are re-estimated by maximum a
posteriori (MAP) from all INRs measured so far and the doses given, with the Hamberg model's
log-normal INR error and between-subject variability as prior (a batched Levenberg-Marquardt
on the whitened residuals, finite-difference Jacobian). Each day the dose is then chosen by
model-predictive control on the estimate (:func:`agents.policies.warfarin.mpc.best_constant_dose`):
the dose whose daily repetition keeps the predicted INR nearest 2.5 over the next week.

Genotype. In ``pkgym/WarfarinPGx-v0`` the prior is centred on the patient's CYP2C9 and VKORC1
genotype. Without it (``pkgym/Warfarin-v0``) the genotype becomes part of the uncertainty:
the prior of eta_CL and eta_EC50 takes the mean and variance of the genotype effect over the
Hardy-Weinberg genotype frequencies of the patient's race (a Gaussian summary of the mixture).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.policies.warfarin.iwpc import read_covariates, read_genotypes
from agents.policies.warfarin.mpc import (
    DEFAULT_DOSES_MG,
    HORIZON_DAYS,
    TARGET_INR,
    best_constant_dose,
)
from pkgym.models.warfarin import HambergModel, WarfarinParameters
from pkgym.models.warfarin_kernel import day_constants, initial_state, run_days
from pkgym.populations.warfarin import (
    ALLELE_FREQUENCIES_1000G,
    CYP2C9_DIPLOTYPES,
    RACES,
    VKORC1_GENOTYPES,
    AlleleFrequencies,
    genotype_codes,
)
from pkgym.sim.least_squares import levenberg_marquardt

_STEP = 1e-4  # finite-difference step on eta


def genotype_log_effects(model: HambergModel) -> tuple[np.ndarray, np.ndarray]:
    """log(CL / CL of *1/*1) per CYP2C9 diplotype and log(EC50 / EC50 of G/G) per VKORC1.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> cl, ec50 = genotype_log_effects(Hamberg2010())
        >>> np.exp(cl).round(3).tolist()[-1], np.exp(ec50).round(3).tolist()
        (0.243, [1.0, 0.734, 0.468])
    """
    age = np.full(len(CYP2C9_DIPLOTYPES), 71.0)
    cyp = model.parameters(np.arange(6), np.zeros(6, np.int64), age).clearance_l_per_h
    vk = model.parameters(np.zeros(3, np.int64), np.arange(3), age[:3]).ec50_mg_per_l
    return np.log(cyp / cyp[0]), np.log(vk / vk[0])


def genotype_probabilities(frequencies: AlleleFrequencies) -> tuple[np.ndarray, np.ndarray]:
    """Hardy-Weinberg probabilities of the CYP2C9 diplotypes and VKORC1 genotypes.

    Examples:
        >>> cyp, vk = genotype_probabilities(ALLELE_FREQUENCIES_1000G["white"])
        >>> round(float(cyp.sum()), 12), vk.round(3).tolist()
        (1.0, [0.375, 0.475, 0.151])
    """
    p2, p3 = frequencies.cyp2c9_star2, frequencies.cyp2c9_star3
    p1, a = 1.0 - p2 - p3, frequencies.vkorc1_a
    cyp = np.array([p1 * p1, 2 * p1 * p2, 2 * p1 * p3, p2 * p2, 2 * p2 * p3, p3 * p3])
    return cyp, np.array([(1 - a) ** 2, 2 * a * (1 - a), a * a])


class WarfarinMapPolicy:
    """MAP-Bayesian warfarin dosing (see the module docstring)."""

    reads_hidden_state = False

    def __init__(self, model: HambergModel, candidates_mg: np.ndarray = DEFAULT_DOSES_MG, *,
                 target_inr: float = TARGET_INR, horizon_days: int = HORIZON_DAYS,
                 inr_log_sd: float | None = None, iterations: int = 12,
                 test_every_days: int | None = None,
                 allele_frequencies: Mapping[str, AlleleFrequencies] = ALLELE_FREQUENCIES_1000G
                 ) -> None:
        """Dose with ``model`` as prior; ``inr_log_sd`` defaults to the model's INR error.

        ``test_every_days`` makes it return (dose, days to next INR) pairs for an env where
        the policy chooses test days.
        """
        self.name, self.model = "map_bayesian", model
        self.belief_name: str | None = None  # the scenario's name of ``model`` (make_baseline's)
        self.candidates = np.asarray(candidates_mg, dtype=np.float64)
        self.target_inr, self.horizon_days = float(target_inr), int(horizon_days)
        self.inr_log_sd = float(model.residual_inr_log_sd if inr_log_sd is None else inr_log_sd)
        if self.inr_log_sd <= 0 or iterations < 1:
            raise ValueError("inr_log_sd must be > 0 and iterations >= 1")
        self.iterations, self.test_every_days = int(iterations), test_every_days
        self.allele_frequencies = allele_frequencies
        names = model.variability.names
        self._cl, self._ec50 = names.index("CL"), names.index("EC50")
        self._omega = np.diag(model.variability.omega).copy()
        self._effects = genotype_log_effects(model)
        self.reset(0)

    def reset(self, n_envs: int) -> None:
        """Forget every patient."""
        k = self._omega.size
        self.eta = np.zeros((n_envs, k))
        self.prior_mean, self.prior_var = np.zeros((n_envs, k)), np.ones((n_envs, k))

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Today's dose for every env (and the next test day, if asked to choose it)."""
        day = self.update(observation)
        doses = np.zeros(day.size)
        for today in np.unique(day):
            rows = np.flatnonzero(day == today)
            doses[rows] = self._plan(observation, rows, int(today))
        if self.test_every_days is None:
            return doses
        return np.stack([doses, np.full(day.size, float(self.test_every_days))], axis=1)

    def update(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        """The estimation half of :meth:`act`: returns each env's day, (n_envs,) int.

        Patients on day 0 get their prior (``eta`` its mean); those with an INR this morning
        (day > 0) get their MAP etas, warm-started at the previous ones, in ``self.eta``.

        Examples:
            >>> from pkgym.models.warfarin import Hamberg2010
            >>> policy = WarfarinMapPolicy(Hamberg2010())
            >>> obs = {"covariates": np.array([[70.0, 1, 60, 160, 1, 0, 0, 0, 0, 0]]),
            ...        "day": np.zeros((1, 1)), "days_since_last_inr": np.zeros((1, 1))}
            >>> policy.update(obs).tolist(), bool(policy.eta[0, 0] < 0)  # genotype-mixture mean
            ([0], True)
        """
        day = np.asarray(observation["day"])[:, 0].astype(np.int64)
        if self.eta.shape[0] != day.size:
            self.reset(day.size)
        new = day == 0
        if new.any():
            self._start(observation, np.flatnonzero(new))
        fresh = (np.asarray(observation["days_since_last_inr"])[:, 0] == 0) & (day > 0)
        if fresh.any():
            self.eta[fresh] = self._estimate(observation, np.flatnonzero(fresh))
        return day

    def _start(self, observation: Mapping[str, np.ndarray], rows: np.ndarray) -> None:
        """Prior of new patients from their race (and genotype, when observed)."""
        races = read_covariates(observation)["race"][rows]
        cyp_effect, vk_effect = self._effects
        mean, var = np.zeros((rows.size, 2)), np.zeros((rows.size, 2))
        for i, race in enumerate(races):
            p_cyp, p_vk = genotype_probabilities(self.allele_frequencies[str(race)])
            for j, (p, effect) in enumerate(((p_cyp, cyp_effect), (p_vk, vk_effect))):
                mean[i, j] = p @ effect
                var[i, j] = p @ (effect - mean[i, j]) ** 2
        if "genotype" in observation:
            cyp, vk = read_genotypes({"genotype": np.asarray(observation["genotype"])[rows]})
            known = (cyp != "unknown") & (vk != "unknown")
            codes = [np.array([names.index(g) if g in names else 0 for g in labels])
                     for labels, names in ((cyp, CYP2C9_DIPLOTYPES), (vk, VKORC1_GENOTYPES))]
            mean[known] = np.column_stack([cyp_effect[codes[0]], vk_effect[codes[1]]])[known]
            var[known] = 0.0
        mean += self._covariate_log_effects(observation, rows)
        self.prior_mean[rows] = 0.0
        self.prior_var[rows] = self._omega
        self.prior_mean[rows[:, None], [self._cl, self._ec50]] = mean
        self.prior_var[rows[:, None], [self._cl, self._ec50]] += var
        self.eta[rows] = self.prior_mean[rows]

    def _covariate_log_effects(self, observation: Mapping[str, np.ndarray],
                               rows: np.ndarray) -> np.ndarray:
        """Log CL and log EC50 shifts of the observed non-genetic covariates, (rows, 2).

        The calibrated model (``hamberg2010_iwpc``) scales EC50 by race and CL by amiodarone
        and enzyme inducers; the published ones have no such terms (all shifts 0).
        """
        covariates = read_covariates(observation)
        model = self.model
        race_factor = np.asarray(getattr(model, "ec50_race_factor", (1.0,) * len(RACES)))
        codes = genotype_codes(covariates["race"][rows], RACES, name="race")
        log_cl = (np.log(getattr(model, "amiodarone_clearance_factor", 1.0))
                  * covariates["amiodarone"][rows]
                  + np.log(getattr(model, "enzyme_inducer_clearance_factor", 1.0))
                  * covariates["enzyme_inducer"][rows])
        return np.column_stack([log_cl, np.log(race_factor)[codes]])

    def reference_parameters(self, ages: np.ndarray, etas: np.ndarray) -> WarfarinParameters:
        """Parameters of reference-genotype patients (*1/*1, G/G) with these etas.

        The etas this policy estimates carry the genotype effect (see the module docstring),
        so these are its patients' individual parameters; ages in years, (m,); etas (m, k).

        Examples:
            >>> from pkgym.models.warfarin import Hamberg2010
            >>> policy = WarfarinMapPolicy(Hamberg2010())
            >>> p = policy.reference_parameters(np.array([71.0]), np.zeros((1, 3)))
            >>> p.clearance_l_per_h.round(3).tolist()
            [0.348]
        """
        zeros = np.zeros(ages.size, dtype=np.int64)
        return self.model.parameters(zeros, zeros, ages, etas)

    def _predicted_inr(self, ages: np.ndarray, etas: np.ndarray, doses: np.ndarray) -> np.ndarray:
        """Morning INRs (m, days + 1) of patients with these etas given these doses."""
        structure = self.model.structure
        constants = day_constants(self.reference_parameters(ages, etas), structure)
        pk, chains = initial_state(ages.size)
        inr, _ = run_days(constants, structure, pk, chains, doses)
        return np.column_stack([np.full(ages.size, structure.baseline_inr), inr])

    def _residuals(self, ages: np.ndarray, etas: np.ndarray, doses: np.ndarray,
                   data: tuple[np.ndarray, np.ndarray, np.ndarray], rows: np.ndarray,
                   ) -> np.ndarray:
        """Whitened INR residuals and prior residuals, (m, n_slots + k)."""
        days, log_values, mask = data
        predicted = self._predicted_inr(ages, etas, doses)
        at_tests = np.take_along_axis(predicted, days, axis=1)
        fit = np.where(mask, (log_values - np.log(np.maximum(at_tests, 1e-6))) / self.inr_log_sd,
                       0.0)
        prior = (etas - self.prior_mean[rows]) / np.sqrt(self.prior_var[rows])
        return np.column_stack([fit, prior])

    def _estimate(self, observation: Mapping[str, np.ndarray], rows: np.ndarray) -> np.ndarray:
        """MAP etas of ``rows`` (batched Levenberg-Marquardt), warm-started at the last ones."""
        today = int(np.asarray(observation["day"])[rows, 0].max())
        ages = read_covariates(observation)["age_years"][rows]
        doses = np.asarray(observation["doses_mg"], dtype=np.float64)[rows, :today]
        mask = np.asarray(observation["inr_mask"])[rows] > 0
        days = np.where(mask, np.asarray(observation["inr_days"])[rows], 0).astype(np.int64)
        values = np.where(mask, np.asarray(observation["inr_values"], np.float64)[rows], 1.0)
        data = (np.minimum(days, today), np.log(np.maximum(values, 0.1)), mask)

        def residuals(etas: np.ndarray) -> np.ndarray:
            r = etas.shape[0] // rows.size  # points per patient, adjacent (np.repeat order)
            return self._residuals(np.repeat(ages, r), etas, np.repeat(doses, r, axis=0),
                                   tuple(np.repeat(a, r, axis=0) for a in data),
                                   np.repeat(rows, r))

        return levenberg_marquardt(residuals, self.eta[rows], iterations=self.iterations,
                                   step=_STEP)

    def _plan(self, observation: Mapping[str, np.ndarray], rows: np.ndarray,
              today: int) -> np.ndarray:
        """Dose of ``rows`` (all on day ``today``) from their estimated current state."""
        ages = read_covariates(observation)["age_years"][rows]
        structure = self.model.structure
        params = self.reference_parameters(ages, self.eta[rows])
        pk, chains = initial_state(rows.size)
        if today:
            doses = np.asarray(observation["doses_mg"], dtype=np.float64)[rows, :today]
            run_days(day_constants(params, structure), structure, pk, chains, doses)
        return best_constant_dose(params, structure, pk, chains, self.candidates,
                                  self.target_inr, self.horizon_days)
