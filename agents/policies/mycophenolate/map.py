"""MAP-Bayesian MMF dosing with the true EHC model or the two-compartment standard as prior.

At each visit of ``pkgym/Mycophenolate-v0`` the policy rebuilds the patient's whole history
from the observation (every dose given every 12 h since day 0, the albumin and creatinine
clearance measured at each visit, interpolated linearly in time between visits and held after
the last, the ciclosporin flag, and every C0/C0.5/C2 sample so far at its actual time), fits
the random effects by MAP (:func:`agents.vae.profile_map.fit_map`) and gives the dose level
whose predicted near-steady-state AUC0-12 at today's labs is nearest the target: 45 mg*h/L,
the middle of the 30-60 mg*h/L consensus window (Kuypers et al. 2010, Clin J Am Soc Nephrol
5:341) and the FDCC trial's target (van Gelder et al. 2008, Transplantation 86:1043).
At day 0 (no sample yet) the prior mode is used: the typical patient with the day-0 labs.

Priors: ``"true"`` is de Winter 2009 with EHC (the patients' own model; name ``map``),
``"no_ehc"`` the published two-compartment model without EHC (name ``map_no_ehc``), see
:mod:`agents.vae.profile_priors`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.vae.profile_map import fit_map, nearest_target_dose, predict_steady
from agents.vae.profile_priors import DEFAULT_DOSE_LEVELS_MG, INTERVAL_H, PRIORS, Visits, make_prior

__all__ = ["VISIT_DAYS", "MapPolicy", "visits_from_observation"]

VISIT_DAYS = (0, 3, 7, 10, 14, 21)
"""Visit days of ``pkgym/Mycophenolate-v0``'s default scenario (labs are measured on them)."""


def _lab_course(values: np.ndarray, visit_days: np.ndarray, mid_days: np.ndarray) -> np.ndarray:
    """Each row's labs (n, n_visits; 0 = not yet measured) at ``mid_days`` (n, k), linear."""
    out = np.empty((values.shape[0], mid_days.shape[1]))
    for i, row in enumerate(values):
        taken = row > 0
        days, labs = visit_days[taken], row[taken]
        out[i] = np.interp(mid_days[i], days, labs) if labs.size else 1.0
    return out


def visits_from_observation(observation: Mapping[str, np.ndarray],
                            visit_days: tuple[int, ...] = VISIT_DAYS
                            ) -> tuple[Visits, dict[str, np.ndarray]]:
    """The patients' histories and today's covariates from a batched env observation.

    Args:
        observation: ``pkgym/Mycophenolate-v0``'s batched observation (``covariates`` with
            the ciclosporin flag last, ``albumin_g_per_l`` and
            ``creatinine_clearance_ml_per_min`` per visit, ``doses_mg`` per administration,
            ``level_times_h``, ``levels_mg_per_l``, ``level_mask``, ``time_h``).
        visit_days: the scenario's visit days.

    Returns:
        (:class:`~agents.vae.profile_priors.Visits`, the model covariates today, each (n,)).
    """
    time_h = np.asarray(observation["time_h"], np.float64).reshape(-1)
    given = np.rint(time_h / INTERVAL_H).astype(np.int64)
    n, k = time_h.size, int(given.max(initial=0))
    doses = np.asarray(observation["doses_mg"], np.float64)[:, :k]
    mid_days = (INTERVAL_H * np.arange(k) + 0.5 * INTERVAL_H)[None, :].repeat(n, 0) / 24.0
    days = np.asarray(visit_days, np.float64)
    albumin = np.asarray(observation["albumin_g_per_l"], np.float64)
    crcl = np.asarray(observation["creatinine_clearance_ml_per_min"], np.float64)
    csa = np.asarray(observation["covariates"], np.float64)[:, -1]
    covariates = {"albumin_g_per_l": _lab_course(albumin, days, mid_days),
                  "creatinine_clearance_ml_per_min": _lab_course(crcl, days, mid_days),
                  "ciclosporin": np.repeat(csa[:, None], k, 1)}
    latest = np.maximum((albumin > 0).sum(1) - 1, 0)
    today = {"albumin_g_per_l": albumin[np.arange(n), latest],
             "creatinine_clearance_ml_per_min": crcl[np.arange(n), latest], "ciclosporin": csa}
    mask = np.asarray(observation["level_mask"]) > 0
    visits = Visits(covariates=covariates, doses_mg=doses,
                    sample_times_h=np.where(mask, observation["level_times_h"], 0.0),
                    concentrations_mg_per_l=np.asarray(observation["levels_mg_per_l"],
                                                       np.float64),
                    sample_mask=mask)
    return visits, today


class MapPolicy:
    """MAP dosing of MMF: fit every visit's samples so far, dose to the AUC target.

    Args:
        prior: ``"true"`` (de Winter 2009, with EHC; name ``map``) or ``"no_ehc"`` (the
            two-compartment standard; name ``map_no_ehc``).
        dose_levels_mg: allowed doses per administration, mg (default 250..2000 step 250).
        target_auc: target AUC0-12, mg*h/L.
        iterations: Levenberg-Marquardt iterations per visit.
        residual_sd_log: the fit's residual SD on the log scale (default: the prior's).
        visit_days: the scenario's visit days (the days its labs were measured).

    At the first visit (no samples yet) the prior mode is used: the dose nearest the target
    for the typical patient with the visit's covariates.
    """

    reads_hidden_state = False

    def __init__(self, prior: str = "true", *, dose_levels_mg: np.ndarray | None = None,
                 target_auc: float = 45.0, iterations: int = 12,
                 residual_sd_log: float | None = None,
                 visit_days: tuple[int, ...] = VISIT_DAYS) -> None:
        """Validate and store the settings."""
        if prior not in PRIORS:
            raise ValueError(f"prior must be one of {list(PRIORS)}, got {prior!r}")
        self.prior = make_prior(prior)
        self.name = "map" if prior == "true" else "map_no_ehc"
        levels = DEFAULT_DOSE_LEVELS_MG if dose_levels_mg is None else dose_levels_mg
        self.dose_levels_mg = np.sort(np.asarray(levels, dtype=np.float64))
        if not (target_auc > 0 and iterations >= 0):
            raise ValueError("target_auc must be > 0 and iterations >= 0")
        self.target_auc, self.iterations = float(target_auc), int(iterations)
        self.residual_sd_log, self.visit_days = residual_sd_log, tuple(visit_days)

    def reset(self, n_envs: int) -> None:
        """Nothing to forget: every visit refits from the whole history in the observation."""
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,); ``info`` is not read."""
        visits, now = visits_from_observation(observation, self.visit_days)
        fit = fit_map(self.prior, visits, iterations=self.iterations,
                      residual_sd_log=self.residual_sd_log)
        candidates = np.broadcast_to(self.dose_levels_mg, (visits.n_patients,
                                                           self.dose_levels_mg.size))
        _, aucs = predict_steady(self.prior, fit.etas, now, candidates)
        return nearest_target_dose(aucs, self.dose_levels_mg, self.target_auc)
