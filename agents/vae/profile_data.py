"""Simulated limited-sampling visits and full profiles of MPA, from the TRUE (EHC) model.

Each simulated patient (:func:`pkgym.populations.mycophenolate.draw_patients`) is seen on a
day drawn uniformly in ``DAYS`` after transplant (albumin and CrCL of that day,
:func:`~pkgym.populations.mycophenolate.covariates_on_day`), on an MMF dose drawn uniformly
from the env's levels and given every 12 h. At the 14th dose (one week, "near steady state",
:data:`agents.vae.profile_priors.STEADY_DOSES`) the ward draws the limited sampling strategy
of ``pkgym/Mycophenolate-v0`` (:class:`WardSampling`, the same numbers as the env's
``pkgym.envs.mycophenolate.clinic.SamplingPlan`` defaults):

* C0 before the dose, uniformly 0-30 min early (``trough_early_h`` 0.5 h);
* C0.5 and C2 at their nominal times plus a normal error, SD 10 min, clipped to +-15 min;

each assayed as the env does (7 % proportional HPLC error, values below the LOQ of 0.25 mg/L
reported as 0; Yu et al. 2017 Acta Pharmacol Sin 38:1566). The targets are the exact 0-12 h
profile of that dose on the 0.1 h grid and its AUC0-12 (the integrator's, not a trapezoid),
and the same patient's profile under a second dose drawn from the levels, so that the decoder
learns what another dose would do. The jitter distributions are the env's assumption of ward
practice, not published values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.vae.profile_priors import DEFAULT_DOSE_LEVELS_MG, INTERVAL_H, STEADY_DOSES, TOLERANCE
from pkgym.envs.mycophenolate.clinic import SamplingPlan
from pkgym.models import mycophenolate as mpa
from pkgym.populations import mycophenolate as population

__all__ = ["DAYS", "GRID_H", "ProfileData", "WardSampling", "simulate_profiles",
           "ward_sample_times"]

GRID_H = np.round(np.arange(0.0, INTERVAL_H + 1e-9, 0.1), 10)
"""The decoded profile's grid, h after the dose (0.1 h, 121 points)."""
GRID_H.setflags(write=False)
DAYS = (3.0, 28.0)
"""Days after transplant the visits are drawn from (the env's visits after day 0)."""
CONTEXT_NAMES = mpa.COVARIATE_NAMES
"""The covariates the VAE conditions on (the model's: albumin, CrCL, ciclosporin)."""


_WARD = SamplingPlan()
"""The sampling plan of ``pkgym/Mycophenolate-v0`` (its defaults are the ward's here too)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WardSampling:
    """Limited sampling around a dose with ward jitter, and the assay (module docstring).

    Attributes:
        post_dose_h: nominal sampling times after the dose, h.
        trough_early_min: C0 is drawn uniformly up to this long before the dose, min.
        jitter_sd_min: SD of the normal error of the post-dose times, min (clipped to
            +-``jitter_max_min``). The jitter is the env's assumption of ward practice.
        assay_cv: proportional HPLC error (interday CV < 8 %, Yu 2017).
        loq_mg_per_l: limit of quantification, mg/L (Yu 2017); lower values read 0.
    """

    post_dose_h: tuple[float, ...] = _WARD.post_dose_h
    trough_early_min: float = _WARD.trough_early_min
    jitter_sd_min: float = _WARD.jitter_sd_min
    jitter_max_min: float = _WARD.jitter_max_min
    assay_cv: float = float(mpa.HPLC_ASSAY.proportional_sd)
    loq_mg_per_l: float = float(mpa.HPLC_ASSAY.lloq or 0.25)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ProfileData:
    """Simulated visits (n patients) with their true profiles under two doses.

    Attributes:
        covariates: ``CONTEXT_NAMES`` on the visit day.  # each (n,)
        sample_times_h: actual sample times relative to the dose, h (C0 < 0).  # (n, 3)
        concentrations_mg_per_l: measured total MPA, 0 below the LOQ.  # (n, 3)
        doses_mg: the dose the samples followed, then the second dose, mg.  # (n, 2)
        profiles_mg_per_l: true total MPA on :data:`GRID_H` under each dose.  # (n, 2, G)
        aucs: true AUC0-12 under each dose, mg*h/L.  # (n, 2)
        etas: the true random effects (``ETA_NAMES``).  # (n, 7)
    """

    covariates: dict[str, np.ndarray]
    sample_times_h: np.ndarray
    concentrations_mg_per_l: np.ndarray
    doses_mg: np.ndarray
    profiles_mg_per_l: np.ndarray
    aucs: np.ndarray
    etas: np.ndarray

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.doses_mg.shape[0])

    def rows(self, index: np.ndarray | slice) -> ProfileData:
        """The patients at ``index``."""
        return ProfileData(covariates={k: v[index] for k, v in self.covariates.items()},
                           sample_times_h=self.sample_times_h[index],
                           concentrations_mg_per_l=self.concentrations_mg_per_l[index],
                           doses_mg=self.doses_mg[index],
                           profiles_mg_per_l=self.profiles_mg_per_l[index],
                           aucs=self.aucs[index], etas=self.etas[index])


def ward_sample_times(rng: np.random.Generator, n: int,
                      plan: WardSampling | None = None) -> np.ndarray:
    """Actual times of C0, C0.5 and C2 relative to the dose, h, (n, 3) (module docstring).

    Examples:
        >>> t = ward_sample_times(np.random.default_rng(0), 1000)
        >>> bool((t[:, 0] <= 0).all() and (t[:, 0] >= -0.5).all())
        True
        >>> bool(abs(t[:, 2].mean() - 2.0) < 0.02)
        True
    """
    plan = WardSampling() if plan is None else plan
    early = -plan.trough_early_min / 60.0 * rng.random(n)
    nominal = np.asarray(plan.post_dose_h, dtype=np.float64)
    top = plan.jitter_max_min / 60.0
    jitter = np.clip(plan.jitter_sd_min / 60.0 * rng.standard_normal((n, nominal.size)),
                     -top, top)
    return np.column_stack([early, nominal + jitter])


def _assay(true: np.ndarray, rng: np.random.Generator, plan: WardSampling) -> np.ndarray:
    """The env's assay: proportional error, below the LOQ reported as 0."""
    noisy = true * (1.0 + plan.assay_cv * rng.standard_normal(true.shape))
    return np.where(noisy < plan.loq_mg_per_l, 0.0, noisy)


def _observed_visit(params: np.ndarray, doses: np.ndarray,
                    times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True samples (n, 3), the last dose's grid profile (n, G) and AUC (n,), exactly."""
    n, kw = doses.size, {"rtol": TOLERANCE, "atol": TOLERANCE}
    state, empty = np.zeros((n, mpa.N_STATES)), np.empty((n, 0))
    for _ in range(STEADY_DOSES - 2):
        state, _, _ = mpa.simulate_interval(state, params, doses, INTERVAL_H, empty, **kw)
    state, trough, _ = mpa.simulate_interval(state, params, doses, INTERVAL_H,
                                             INTERVAL_H + times[:, :1], **kw)
    after = np.concatenate([times[:, 1:], np.broadcast_to(GRID_H, (n, GRID_H.size))], axis=1)
    _, conc, auc = mpa.simulate_interval(state, params, doses, INTERVAL_H, after, **kw)
    samples = np.concatenate([trough, conc[:, :times.shape[1] - 1]], axis=1)
    return samples, conc[:, times.shape[1] - 1:], auc


def simulate_profiles(rng: np.random.Generator, n: int,
                      dose_levels_mg: np.ndarray = DEFAULT_DOSE_LEVELS_MG,
                      plan: WardSampling | None = None) -> ProfileData:
    """``n`` patients' visits and true profiles (module docstring).

    Args:
        rng: the only source of randomness (patients, days, doses, times, assay).
        n: patients, >= 1.
        dose_levels_mg: the doses drawn from, mg.
        plan: the sampling plan and assay (default :class:`WardSampling`).

    Examples:
        >>> data = simulate_profiles(np.random.default_rng(0), 3)
        >>> data.profiles_mg_per_l.shape, data.sample_times_h.shape
        ((3, 2, 121), (3, 3))
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    plan = WardSampling() if plan is None else plan
    patients = population.draw_patients(rng, n)
    day = rng.uniform(*DAYS, size=n)
    today = population.covariates_on_day(patients, day)
    covariates = {name: np.asarray(today[name], dtype=np.float64) for name in CONTEXT_NAMES}
    etas = np.asarray(patients["etas"], dtype=np.float64)
    params = mpa.DeWinter2009().individual_params(covariates, etas)
    levels = np.asarray(dose_levels_mg, dtype=np.float64)
    doses = levels[rng.integers(0, levels.size, size=(n, 2))]
    times = ward_sample_times(rng, n, plan)
    true_samples, first, first_auc = _observed_visit(params, doses[:, 0], times)
    second, second_auc = mpa.steady_profile(params, doses[:, 1], GRID_H, INTERVAL_H,
                                            STEADY_DOSES, rtol=TOLERANCE, atol=TOLERANCE)
    return ProfileData(covariates=covariates, sample_times_h=times,
                       concentrations_mg_per_l=_assay(true_samples, rng, plan),
                       doses_mg=doses, profiles_mg_per_l=np.stack([first, second], axis=1),
                       aucs=np.column_stack([first_auc, second_auc]), etas=etas)
