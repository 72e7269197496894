"""Model-predictive warfarin dosing: pick today's dose from a model's INR forecast.

:func:`best_constant_dose` forecasts each patient's INR for every candidate dose given
daily for the next ``horizon_days`` (from the patient's current drug and transit-chain state)
and keeps the dose whose forecast stays closest to the target INR (mean squared error). It
re-plans every day (receding horizon). :class:`WarfarinOraclePolicy` runs it on the true
parameters and state from ``info``: an upper bound, not a deployable policy. The Bayesian
MAP policy (:mod:`agents.policies.warfarin.map`) runs it on its estimates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.models.warfarin import WarfarinParameters
from pkgym.models.warfarin_inr import InrStructure
from pkgym.models.warfarin_kernel import day_constants, repeat_constants, run_days

TARGET_INR = 2.5
"""Middle of the 2-3 range (ACCP 2012)."""
HORIZON_DAYS = 7
"""Days of constant dosing each plan looks ahead (one week, the usual retest interval)."""
DEFAULT_DOSES_MG = np.arange(0.0, 15.0 + 1e-9, 0.5)
ORACLE_INFO_KEYS = ("clearance_l_per_h", "central_volume_l",
                    "intercompartmental_clearance_l_per_h", "peripheral_volume_l",
                    "ec50_mg_per_l", "hill", "mtt1_h", "mtt2_h", "pk_amounts_mg",
                    "transit_amounts")


def best_constant_dose(params: WarfarinParameters, structure: InrStructure, pk: np.ndarray,
                       chains: np.ndarray, candidates_mg: np.ndarray = DEFAULT_DOSES_MG,
                       target_inr: float = TARGET_INR,
                       horizon_days: int = HORIZON_DAYS) -> np.ndarray:
    """The candidate dose (mg, shape (n,)) whose daily repetition keeps the INR nearest target.

    Args:
        params: the patients' parameters (true or estimated), n patients.
        structure: the model's structure (chains, INR equation).
        pk: current S-warfarin amounts (n, 3), mg, before today's dose.
        chains: current transit-chain state (n, 2, 6).
        candidates_mg: doses to choose from, mg.
        target_inr: the INR the forecast should stay near.
        horizon_days: days of forecast (INR each following morning).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> from pkgym.models.warfarin_kernel import initial_state
        >>> model = Hamberg2010()
        >>> slow = model.parameters(np.array([5]), np.array([2]), np.array([70.0]))
        >>> fast = model.parameters(np.array([0]), np.array([0]), np.array([70.0]))
        >>> [float(best_constant_dose(p, model.structure, *initial_state(1))[0])
        ...  for p in (slow, fast)]
        [2.5, 12.0]
    """
    n, k = params.n_patients, len(candidates_mg)
    if n == 0:
        return np.zeros(0)
    constants = repeat_constants(day_constants(params, structure), k)
    doses = np.repeat(np.tile(np.asarray(candidates_mg, dtype=np.float64), n)[:, None],
                      horizon_days, axis=1)
    inr, _ = run_days(constants, structure, np.repeat(pk, k, axis=0),
                      np.repeat(chains, k, axis=0), doses)
    error = ((inr - target_inr) ** 2).mean(axis=1).reshape(n, k)
    return np.asarray(candidates_mg, dtype=np.float64)[error.argmin(axis=1)]


def parameters_from_info(info: Mapping[str, np.ndarray]) -> WarfarinParameters:
    """The true parameters the env reports in ``info`` (batched, ``ORACLE_INFO_KEYS``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> vec = gym.make_vec("pkgym/Warfarin-v0", num_envs=2,
        ...                    vectorization_mode="vector_entry_point")
        >>> _, info = vec.reset(seed=0)
        >>> parameters_from_info(info).n_patients
        2
    """
    missing = [key for key in ORACLE_INFO_KEYS if key not in info]
    if missing:
        raise ValueError(f"info lacks {missing}: the oracle needs a pkgym warfarin env's info")
    f64 = {key: np.asarray(info[key], dtype=np.float64) for key in ORACLE_INFO_KEYS}
    return WarfarinParameters(
        f64["clearance_l_per_h"], f64["central_volume_l"],
        f64["intercompartmental_clearance_l_per_h"], f64["peripheral_volume_l"],
        f64["ec50_mg_per_l"], f64["hill"], f64["mtt1_h"], f64["mtt2_h"])


class WarfarinOraclePolicy:
    """Receding-horizon control on the true patient (reads ``info``: an upper bound)."""

    reads_hidden_state = True

    def __init__(self, structure: InrStructure, candidates_mg: np.ndarray = DEFAULT_DOSES_MG,
                 *, target_inr: float = TARGET_INR, horizon_days: int = HORIZON_DAYS,
                 test_every_days: int | None = None) -> None:
        """Plan with ``structure`` (the env's model) over ``candidates_mg``.

        ``test_every_days`` makes it return (dose, days to next INR) pairs for an env where
        the policy chooses test days (the oracle needs no tests: use the longest interval).
        """
        if horizon_days < 1:
            raise ValueError(f"horizon_days must be >= 1, got {horizon_days}")
        self.name = "oracle"
        self.structure, self.candidates = structure, np.asarray(candidates_mg, np.float64)
        self.target_inr, self.horizon_days = float(target_inr), int(horizon_days)
        self.test_every_days = test_every_days

    def reset(self, n_envs: int) -> None:
        """Stateless: the truth is read afresh each day."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Today's dose for every env from its true parameters and state."""
        if info is None:
            raise ValueError("the oracle needs the env's info (true parameters and state)")
        doses = best_constant_dose(
            parameters_from_info(info), self.structure,
            np.asarray(info["pk_amounts_mg"], dtype=np.float64).reshape(-1, 3),
            np.asarray(info["transit_amounts"], dtype=np.float64).reshape(-1, 2, 6),
            self.candidates, self.target_inr, self.horizon_days)
        if self.test_every_days is None:
            return doses
        return np.stack([doses, np.full(doses.shape, float(self.test_every_days))], axis=1)
