"""The two structural models MPA exposure is predicted with, behind one interface.

* :class:`EhcPrior` (``"true"``): de Winter et al. 2009 with enterohepatic recirculation, the
  model the simulated patients follow (:mod:`pkgym.models.mycophenolate`);
* :class:`NoEhcPrior` (``"no_ehc"``): the published two-compartment model without EHC
  (:mod:`pkgym.models.mycophenolate_standard`), the misspecified standard.

Both predict (a) the concentrations at the sample times of a patient's history
(:class:`Visits`: doses every 12 h from time 0, covariates per interval, samples at absolute
times) and (b) near-steady-state 0-12 h profiles (the 14th identical dose,
:func:`pkgym.models.mycophenolate.steady_profile`'s default) under any dose. They are what
the MAP estimator (:mod:`agents.policies.mycophenolate.map`) fits and what the hybrid VAE
(:mod:`agents.vae.profiles`) corrects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pkgym.envs.mycophenolate.clinic import MycophenolateScenario
from pkgym.models import mycophenolate as mpa
from pkgym.models import mycophenolate_standard as standard

__all__ = ["DEFAULT_DOSE_LEVELS_MG", "INTERVAL_H", "LOQ_MG_PER_L", "PRIORS", "STEADY_DOSES",
           "EhcPrior", "MapPrior", "NoEhcPrior", "Visits", "make_prior"]

INTERVAL_H = 12.0
"""MMF twice daily (08:00 / 20:00), h."""
STEADY_DOSES = 14
"""'Steady state' is the profile of the 14th identical dose (one week of bid dosing)."""
DEFAULT_DOSE_LEVELS_MG = np.array(MycophenolateScenario().dose_levels_mg)
"""MMF dose levels per administration, mg (the env's default scenario's, 250..2000 step 250)."""
DEFAULT_DOSE_LEVELS_MG.setflags(write=False)
LOQ_MG_PER_L = float(mpa.HPLC_ASSAY.lloq or 0.25)
"""HPLC limit of quantification of total MPA, mg/L (``mycophenolate.HPLC_ASSAY``)."""
PRIORS = ("true", "no_ehc")
TOLERANCE = 1e-6
"""rtol = atol of the EHC model's stepper inside fits (AUCs agree with 1e-9 to ~1e-7)."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Visits:
    """The observed history of a batch of patients.

    Attributes:
        covariates: ``COVARIATE_NAMES`` of the EHC model, each (n, k): the value during each
            dosing interval (what the clinic knows, e.g. interpolated between lab days).
        doses_mg: MMF dose given at ``j * 12`` h, mg.  # (n, k)
        sample_times_h: absolute sample times, h since the first dose.  # (n, s)
        concentrations_mg_per_l: measured total MPA, mg/L (NaN below the LOQ).  # (n, s)
        sample_mask: True where a sample was taken.  # (n, s)
    """

    covariates: Mapping[str, np.ndarray]
    doses_mg: np.ndarray
    sample_times_h: np.ndarray
    concentrations_mg_per_l: np.ndarray
    sample_mask: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        """Shapes checked; a missing mask means every finite-time sample was taken."""
        n, k = np.shape(self.doses_mg)
        times = np.asarray(self.sample_times_h, dtype=np.float64)
        if times.ndim != 2 or times.shape[0] != n:
            raise ValueError(f"sample_times_h must have shape ({n}, s), got {times.shape}")
        if np.shape(self.concentrations_mg_per_l) != times.shape:
            raise ValueError("concentrations_mg_per_l must have the shape of sample_times_h")
        for name, value in self.covariates.items():
            if np.shape(value) != (n, k):
                raise ValueError(f"covariates[{name!r}] must have shape ({n}, {k})")
        mask = np.ones(times.shape, bool) if self.sample_mask is None else \
            np.asarray(self.sample_mask, bool)
        if np.any(mask & ((times < 0) | (times > k * INTERVAL_H))):
            raise ValueError(f"sample_times_h must lie in [0, {k * INTERVAL_H}] h")
        object.__setattr__(self, "sample_mask", mask)

    @property
    def n_patients(self) -> int:
        """Number of patients (rows)."""
        return int(np.shape(self.doses_mg)[0])

    def repeat(self, reps: int) -> Visits:
        """Every patient repeated ``reps`` times in a row (``numpy.repeat`` order)."""
        if reps == 1:
            return self
        return Visits(covariates={k: np.repeat(v, reps, 0) for k, v in self.covariates.items()},
                      doses_mg=np.repeat(self.doses_mg, reps, 0),
                      sample_times_h=np.repeat(self.sample_times_h, reps, 0),
                      concentrations_mg_per_l=np.repeat(self.concentrations_mg_per_l, reps, 0),
                      sample_mask=np.repeat(self.sample_mask, reps, 0))

    @classmethod
    def steady_state(cls, covariates: Mapping[str, np.ndarray], doses_mg: np.ndarray,
                     sample_times_h: np.ndarray, concentrations_mg_per_l: np.ndarray,
                     sample_mask: np.ndarray | None = None) -> Visits:
        """Samples around the :data:`STEADY_DOSES`-th identical dose.

        Args:
            covariates: each (n,), constant over the history.
            doses_mg: the dose, mg, (n,).
            sample_times_h: times relative to the last dose, h, in [-12, 12] (negative:
                before it, e.g. a pre-dose C0).  # (n, s)
            concentrations_mg_per_l: measured, mg/L (NaN below the LOQ).  # (n, s)
            sample_mask: taken samples (default all).

        Examples:
            >>> v = Visits.steady_state({"albumin_g_per_l": [38.0]}, [1000.0], [[-0.2, 2.0]],
            ...                         [[2.0, 8.0]])
            >>> v.sample_times_h.tolist(), v.doses_mg.shape
            ([[155.8, 158.0]], (1, 14))
        """
        doses = np.asarray(doses_mg, dtype=np.float64)
        start = (STEADY_DOSES - 1) * INTERVAL_H
        return cls(covariates={k: np.repeat(np.asarray(v, np.float64)[:, None], STEADY_DOSES, 1)
                               for k, v in covariates.items()},
                   doses_mg=np.repeat(doses[:, None], STEADY_DOSES, 1),
                   sample_times_h=start + np.asarray(sample_times_h, dtype=np.float64),
                   concentrations_mg_per_l=np.asarray(concentrations_mg_per_l, np.float64),
                   sample_mask=sample_mask)


class MapPrior(Protocol):
    """What the MAP estimator needs of a structural model."""

    name: str
    omega: np.ndarray  # (n_eta, n_eta)
    residual_sd_log: float

    def sample_concentrations(self, visits: Visits, etas: np.ndarray) -> np.ndarray:
        """Predicted total MPA at the sample times, mg/L, (n, s) (masked ones arbitrary)."""

    def steady_profiles(self, covariates: Mapping[str, np.ndarray], etas: np.ndarray,
                        doses_mg: np.ndarray, grid_h: np.ndarray) -> np.ndarray:
        """Steady-state total MPA, mg/L, (n, G) at ``grid_h`` after the dose."""


def _owners(times: np.ndarray, k: int) -> np.ndarray:
    """Interval of each absolute time (a time on a dose time ends the interval before)."""
    return np.clip(np.ceil(times / INTERVAL_H) - 1, 0, max(k - 1, 0)).astype(np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class EhcPrior:
    """de Winter 2009 (EHC) with its omega; residual SD 0.52 on the log scale (Table 2)."""

    model: mpa.DeWinter2009 = field(default_factory=mpa.DeWinter2009)
    name: str = "true"

    @property
    def omega(self) -> np.ndarray:
        """(7, 7) covariance of ``ETA_NAMES``."""
        return self.model.omega

    @property
    def residual_sd_log(self) -> float:
        """The paper's log-scale residual SD of total MPA."""
        return float(self.model.proportional_error_sd)

    def sample_concentrations(self, visits: Visits, etas: np.ndarray) -> np.ndarray:
        """Interval by interval, each with its covariates (module docstring)."""
        n, k = visits.doses_mg.shape
        if k == 0 or not visits.sample_mask.any():
            return np.full(visits.sample_times_h.shape, np.nan)
        flat = {name: np.asarray(visits.covariates[name], np.float64).reshape(-1)
                for name in mpa.COVARIATE_NAMES}
        params = self.model.individual_params(flat, np.repeat(etas, k, axis=0)).reshape(n, k, -1)
        times, mask = visits.sample_times_h, visits.sample_mask
        owner = _owners(times, k)
        last = int(owner[mask].max()) + 1 if mask.any() else 0
        out, state = np.full(times.shape, np.nan), np.zeros((n, mpa.N_STATES))
        for j in range(last):
            here = mask & (owner == j)
            cols = np.flatnonzero(here.any(axis=0))
            local = np.clip(times[:, cols] - j * INTERVAL_H, 0.0, INTERVAL_H)
            state, conc, _ = mpa.simulate_interval(state, params[:, j], visits.doses_mg[:, j],
                                                   INTERVAL_H, local, rtol=TOLERANCE,
                                                   atol=TOLERANCE)
            out[:, cols] = np.where(here[:, cols], conc, out[:, cols])
        return out

    def steady_profiles(self, covariates: Mapping[str, np.ndarray], etas: np.ndarray,
                        doses_mg: np.ndarray, grid_h: np.ndarray) -> np.ndarray:
        """:func:`pkgym.models.mycophenolate.steady_profile` of the fitted patients."""
        params = self.model.individual_params(covariates, etas)
        conc, _ = mpa.steady_profile(params, np.asarray(doses_mg, np.float64), grid_h,
                                     INTERVAL_H, STEADY_DOSES, rtol=TOLERANCE, atol=TOLERANCE)
        return conc


@dataclass(frozen=True, slots=True, eq=False)
class NoEhcPrior:
    """Staatz 2005 two-compartment, no EHC (exact superposition; linear in dose).

    Etas on (ka, CL, Q) with its omega; residual error proportional 41 %, used as a log SD
    (Sherwin 2011 Table II). It has no covariates (:mod:`pkgym.models.mycophenolate_standard`).
    """

    model: standard.Staatz2005 = field(default_factory=standard.Staatz2005)
    name: str = "no_ehc"

    @property
    def omega(self) -> np.ndarray:
        """Covariance of the standard model's etas."""
        return np.asarray(self.model.omega, dtype=np.float64)

    @property
    def residual_sd_log(self) -> float:
        """The published proportional residual error, used as a log-scale SD."""
        return float(self.model.residual_error.proportional_sd)

    def _params(self, covariates: Mapping[str, np.ndarray], etas: np.ndarray) -> np.ndarray:
        """Staatz 2005 as summarised carries no covariates: the etas alone."""
        return self.model.params(np.asarray(etas, np.float64))

    def sample_concentrations(self, visits: Visits, etas: np.ndarray) -> np.ndarray:
        """Exact concentrations (constant parameters over the history)."""
        params = self._params(visits.covariates, etas)
        times = np.where(visits.sample_mask, visits.sample_times_h, 0.0)
        return standard.two_compartment_oral(params, visits.doses_mg, INTERVAL_H, times)

    def steady_profiles(self, covariates: Mapping[str, np.ndarray], etas: np.ndarray,
                        doses_mg: np.ndarray, grid_h: np.ndarray) -> np.ndarray:
        """The profile of the :data:`STEADY_DOSES`-th dose (as the EHC prior's)."""
        n = np.shape(etas)[0]
        params = self._params(covariates, etas)
        doses = np.repeat(np.asarray(doses_mg, np.float64)[:, None], STEADY_DOSES, 1)
        times = (STEADY_DOSES - 1) * INTERVAL_H + np.broadcast_to(grid_h, (n, len(grid_h)))
        return standard.two_compartment_oral(params, doses, INTERVAL_H, times)


def make_prior(name: str) -> MapPrior:
    """The prior called ``name`` (``"true"`` or ``"no_ehc"``).

    Examples:
        >>> make_prior("true").omega.shape
        (7, 7)
    """
    if name == "true":
        return EhcPrior()
    if name == "no_ehc":
        return NoEhcPrior()
    raise ValueError(f"prior must be one of {list(PRIORS)}, got {name!r}")
