"""MMF dosing policies for ``pkgym/Mycophenolate-v0``: fixed dose, trough protocol, oracle.

Decisions are MMF doses in mg per administration (twice daily), shape (n_envs,); the env
maps them to the nearest dose level. ``time_h == 0`` marks a new patient (day 0).

* :class:`FixedDosePolicy`: 1 g twice daily throughout (the label's dose with tacrolimus).
* :class:`TroughProtocolPolicy`: concentration-controlled dosing by the measured trough, as
  the consensus allows (Kuypers D et al. 2010, Clin J Am Soc Nephrol 5:341): start 1 g bid
  with tacrolimus, 1.5 g bid with ciclosporin (its recommendation table); keep the dose
  while the measured C0 is within the target, C0 >= 1.9 mg/L with tacrolimus or >= 1.3
  mg/L with ciclosporin (same table), up to 2.75 mg/L, the toxicity cut-off of Borrows R et
  al. 2006 (Am J Transplant 6:121); otherwise scale the dose by mid-target / C0 (the
  consensus assumes dose-linearity), at most doubled or halved per visit (our cap: FDCC
  physicians were reluctant to make large changes, van Gelder 2008), rounded to the levels.
  A C0 below the LOQ (reported 0) counts as half the LOQ. No LSS regression is used (no
  verified coefficients).
* :class:`OraclePolicy`: reads the true parameters of the day from ``info``; the level whose
  near-steady-state AUC0-12 (:func:`pkgym.models.mycophenolate.steady_profile`, 14 doses) is
  nearest 45 mg*h/L (the FDCC target, van Gelder 2008). An upper bound, not a clinic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.models.mycophenolate import PARAM_NAMES, steady_profile

TACROLIMUS_START_MG, CICLOSPORIN_START_MG = 1000.0, 1500.0
"""Starting MMF per administration (Kuypers 2010 recommendation table)."""
TROUGH_LOW_MG_PER_L = {0: 1.9, 1: 1.3}
"""C0 targets by CNI (0 tacrolimus, 1 ciclosporin), HPLC (Kuypers 2010)."""
TROUGH_HIGH_MG_PER_L = 2.75
"""Toxicity cut-off of the trough (Borrows 2006)."""
MAX_CHANGE_FACTOR = 2.0
"""Most a visit may multiply or divide the dose by (our cap)."""
ORACLE_TARGET_AUC = 45.0
"""mg*h/L: the middle of 30-60 and the FDCC target (van Gelder 2008)."""


def nearest_levels(doses_mg: np.ndarray, levels_mg: np.ndarray) -> np.ndarray:
    """Each dose rounded to the nearest level (ties to the lower).

    Examples:
        >>> nearest_levels(np.array([100.0, 620.0, 5000.0]), np.array([250.0, 500.0, 750.0]))
        array([250., 500., 750.])
    """
    doses = np.asarray(doses_mg, dtype=np.float64)
    return levels_mg[np.abs(doses[:, None] - levels_mg[None, :]).argmin(axis=1)]


class FixedDosePolicy:
    """The same dose at every visit (default 1 g per administration)."""

    reads_hidden_state = False

    def __init__(self, dose_mg: float = 1000.0) -> None:
        """Give ``dose_mg`` twice daily."""
        self.name, self.dose_mg = "fixed", float(dose_mg)

    def reset(self, n_envs: int) -> None:
        """Stateless."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """``dose_mg`` for every env."""
        return np.full(len(observation["day"]), self.dose_mg)


class TroughProtocolPolicy:
    """Trough-guided proportional dosing (see the module docstring); reads observations only."""

    reads_hidden_state = False

    def __init__(self, levels_mg: np.ndarray, samples_per_visit: int = 3,
                 loq_mg_per_l: float = 0.25) -> None:
        """Round to ``levels_mg``; each visit's samples start with its trough."""
        self.name = "protocol"
        self.levels = np.asarray(levels_mg, dtype=np.float64)
        self.per_visit, self.loq = int(samples_per_visit), float(loq_mg_per_l)

    def reset(self, n_envs: int) -> None:
        """Stateless: the current dose and the last trough are read from the observation."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """This visit's dose for every env.

        Examples:
            >>> policy = TroughProtocolPolicy(np.arange(250.0, 2001.0, 250.0))
            >>> doses = np.zeros((3, 56)); doses[1:, :7] = 1000.0
            >>> obs = {"covariates": np.array([[70, 50, 0, 1.0], [70, 50, 0, 0], [70, 50, 0, 0]]),
            ...        "doses_mg": doses, "time_h": np.array([[0.0], [84.0], [84.0]]),
            ...        "levels_mg_per_l": np.array([[0.0] * 15, [1.0] + [0] * 14,
            ...                                     [2.0] + [0] * 14]),
            ...        "level_mask": np.array([[0.0] * 15, [1.0] * 3 + [0] * 12,
            ...                                [1.0] * 3 + [0] * 12])}
            >>> policy.act(obs).tolist()
            [1500.0, 2000.0, 1000.0]
        """
        csa = np.asarray(observation["covariates"], dtype=np.float64)[:, 3] > 0.5
        start = np.where(csa, CICLOSPORIN_START_MG, TACROLIMUS_START_MG)
        doses = np.asarray(observation["doses_mg"], dtype=np.float64)
        n, rows = doses.shape[0], np.arange(doses.shape[0])
        given = doses > 0
        last = doses.shape[1] - 1 - np.argmax(given[:, ::-1], axis=1)
        current = np.where(given.any(axis=1), doses[rows, last], start)
        sampled = np.asarray(observation["level_mask"], dtype=np.float64).sum(axis=1)
        block = np.maximum(np.round(sampled / self.per_visit).astype(np.int64) - 1, 0)
        levels = np.asarray(observation["levels_mg_per_l"], dtype=np.float64)
        trough = levels[rows, block * self.per_visit]
        trough = np.where(trough > 0, trough, 0.5 * self.loq)
        low = np.where(csa, TROUGH_LOW_MG_PER_L[1], TROUGH_LOW_MG_PER_L[0])
        mid = 0.5 * (low + TROUGH_HIGH_MG_PER_L)
        factor = np.clip(mid / trough, 1.0 / MAX_CHANGE_FACTOR, MAX_CHANGE_FACTOR)
        inside = (trough >= low) & (trough <= TROUGH_HIGH_MG_PER_L)
        adjusted = nearest_levels(np.where(inside, current, current * factor), self.levels)
        new = np.asarray(observation["time_h"], dtype=np.float64).reshape(n) <= 0
        return np.where(new | (sampled == 0), nearest_levels(start, self.levels), adjusted)


class OraclePolicy:
    """The level whose true near-steady-state AUC0-12 is nearest the target (upper bound)."""

    reads_hidden_state = True

    def __init__(self, levels_mg: np.ndarray, target_auc: float = ORACLE_TARGET_AUC) -> None:
        """Choose among ``levels_mg`` for an AUC0-12 of ``target_auc`` mg*h/L."""
        self.name = "oracle"
        self.levels, self.target = np.asarray(levels_mg, dtype=np.float64), float(target_auc)

    def reset(self, n_envs: int) -> None:
        """Stateless: the truth is read afresh at each visit."""

    def steady_aucs(self, info: Mapping[str, np.ndarray]) -> np.ndarray:
        """Near-steady-state AUC0-12 (n, n_levels), mg*h/L, of each level for each patient."""
        missing = [name for name in PARAM_NAMES if name not in info]
        if missing:
            raise ValueError(f"the oracle needs the env's info (true parameters); missing "
                             f"{missing[:3]}")
        params = np.column_stack([np.asarray(info[name], dtype=np.float64).reshape(-1)
                                  for name in PARAM_NAMES])
        n, k = params.shape[0], self.levels.size
        _, auc = steady_profile(np.repeat(params, k, axis=0), np.tile(self.levels, n),
                                np.array([12.0]))
        return auc.reshape(n, k)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The level nearest the target for every env."""
        if info is None:
            raise ValueError("the oracle needs the env's info (true state and parameters)")
        aucs = self.steady_aucs(info)
        return self.levels[np.abs(aucs - self.target).argmin(axis=1)]
