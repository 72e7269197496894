"""The true exposure course of an episode on a fixed grid: what a history decoder predicts.

* Vancomycin: the true plasma concentration (mg/L) every hour, ``t = 1, 2, ...,
  n_steps * interval_h`` (168 h by default); the exact modal solution of the ward's model
  with the clearance each interval started with (as the env's kernel and
  :func:`pkgym.envs.vancomycin.views.true_profile` use).
* Warfarin: the true INR each morning of day ``d = 1 .. n_days`` (``t = 24 d`` h), before
  that day's dose; day 0 is the first dose. ``info["inr"]`` after step ``k`` (the dose of
  day ``k``) is the INR of the morning of day ``k + 1``: the grid's ``k``-th entry.

Both read the core's records, so they describe the episode the core holds now: with
NEXT_STEP autoreset, the one just finished after its last step. Grid points the episode
has not reached yet are NaN.
"""

from __future__ import annotations

import numpy as np

from pkgym.envs.base import DosingCore
from pkgym.envs.vancomycin.core import VancomycinCore
from pkgym.envs.warfarin.core import WarfarinCore
from pkgym.sim.interval import infuse_interval
from pkgym.sim.modal import modal_basis_unchecked
from pkgym.wrappers.history import HOURS_PER_DAY, SUPPORTED_ENV_IDS


def exposure_grid(core: DosingCore) -> tuple[np.ndarray, str]:
    """Times of the exposure course (h since the first dose) and its unit.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> times, unit = exposure_grid(gym.make("pkgym/Vancomycin-v0").unwrapped.core)
        >>> times[[0, -1]].tolist(), times.size, unit
        ([1.0, 168.0], 168, 'mg/L')
        >>> times, unit = exposure_grid(gym.make("pkgym/Warfarin-v0").unwrapped.core)
        >>> times[[0, -1]].tolist(), unit
        ([24.0, 2160.0], 'INR')
    """
    if isinstance(core, VancomycinCore):
        config = core.settings.config
        horizon_h = config.n_steps * config.interval_h
        return np.arange(1.0, np.floor(horizon_h + 1e-9) + 1.0), "mg/L"
    if isinstance(core, WarfarinCore):
        days = np.arange(1, core.settings.scenario.n_days + 1)
        return days * HOURS_PER_DAY, "INR"
    raise ValueError(f"the exposure course supports the envs {SUPPORTED_ENV_IDS}; got a "
                     f"{type(core).__name__}")


def true_exposure(core: DosingCore) -> np.ndarray:
    """The true exposure of every patient on :func:`exposure_grid` (n, T); NaN not yet reached.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Warfarin-v0")
        >>> _ = env.reset(seed=0)
        >>> _, _, _, _, info = env.step(10)
        >>> course = true_exposure(env.unwrapped.core)
        >>> bool(course[0, 0] == info["inr"]), bool(np.isnan(course[0, 1]))
        (True, True)
    """
    if isinstance(core, VancomycinCore):
        return _vancomycin_exposure(core)
    if isinstance(core, WarfarinCore):
        records, n_days = core.records, core.settings.scenario.n_days
        reached = np.arange(1, n_days + 1)[None] <= records.day[:, None]
        return np.where(reached, records.inr[:, 1:n_days + 1], np.nan)
    exposure_grid(core)  # raises the ValueError naming the supported envs
    raise AssertionError  # pragma: no cover


def _vancomycin_exposure(core: VancomycinCore) -> np.ndarray:
    """Hourly true concentrations, interval by interval, vectorised over patients."""
    records, config = core.records, core.settings.config
    course, interval = records.course, config.interval_h
    times, _ = exposure_grid(core)
    out = np.full((core.n_patients, times.size), np.nan)
    for k in range(config.n_steps):
        inside = (times > k * interval) & (times <= (k + 1) * interval)
        rows = np.flatnonzero(course.step > k)
        if not inside.any() or rows.size == 0:
            continue
        clearance = records.clearance_by_step_l_per_h[rows, k]
        basis = modal_basis_unchecked(clearance, course.volumes_l[rows],
                                      course.intercompartmental_clearance_l_per_h[rows],
                                      np.ones(rows.size))  # IV only: ka unused
        modes = np.einsum("nij,nj->ni", basis.to_modal, records.amounts_by_step_mg[rows, k])
        offsets = np.broadcast_to(times[inside] - k * interval, (rows.size, int(inside.sum())))
        result = infuse_interval(basis, modes, clearance, records.doses_mg[rows, k],
                                 records.infusion_h[rows, k], interval, offsets)
        out[np.ix_(rows, np.flatnonzero(inside))] = result.concentrations_mg_per_l
    return out
