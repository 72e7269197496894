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
has not reached yet are NaN. Each env's grid and course are its
:class:`~pkgym.envs.adapters.ExposureAdapter` (in its package's ``views``, named by its
registry entry); an env without one is refused.
"""

from __future__ import annotations

import numpy as np

from pkgym.envs.adapters import ExposureAdapter
from pkgym.envs.base import DosingCore
from pkgym.envs.registry import UnknownEnvError, env_specs, spec_of


def exposure_env_ids() -> tuple[str, ...]:
    """The registered envs with a true exposure course.

    Examples:
        >>> exposure_env_ids()
        ('pkgym/Vancomycin-v0', 'pkgym/Warfarin-v0', 'pkgym/WarfarinPGx-v0', 'pkgym/Warfarin-v1',
         'pkgym/WarfarinPGx-v1', 'pkgym/Mycophenolate-v0', 'pkgym/Heparin-v0')
    """
    return tuple(spec.env_id for spec in env_specs() if spec.exposure is not None)


def _adapter(core: DosingCore) -> ExposureAdapter:
    """The exposure adapter of the env of ``core``; ValueError naming the supported envs."""
    try:
        adapter = spec_of(core).exposure
    except UnknownEnvError:
        adapter = None
    if adapter is None:
        raise ValueError(f"the exposure course supports the envs {exposure_env_ids()}; got a "
                         f"{type(core).__name__}")
    return adapter


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
    adapter = _adapter(core)
    return adapter.grid_h(core), adapter.unit


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
    return _adapter(core).true_course(core)
