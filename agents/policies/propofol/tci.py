"""Target-controlled infusion (TCI) of propofol: effect-site targeting as pumps do it.

Effect-site targeting after Shafer SL & Gregg KM (J Pharmacokinet Biopharm 1992;20:147)
and Jacobs JR (IEEE Trans Biomed Eng 1990;37:107), in the discrete form of a pump that
recomputes its rate every step (10 s): the pump's model state ``x`` is advanced with the
rates actually given, and the rate of the next step is the largest ``r`` in ``[0, r_max]``
for which the model's effect site, with ``r`` for one step and nothing after, never exceeds
the target over the horizon (20 min):

    r = min over k of (target - Ce_free(k)) / Ce_unit(k),  Ce_unit(k) > 0

where ``Ce_free(k) = e4' Phi^k x`` and ``Ce_unit(k) = e4' Phi^(k-1) Gamma`` (exact, from the
model's step propagator). While Ce is below target this is the fastest approach without
overshoot (the pump runs at its maximum until the predicted peak reaches the target, then
pauses); at the target it is the rate that keeps Ce there. The TCI controllers are open
loop: they never read the BIS.

The target: the effect-site concentration at which Eleveld's typical patient of the same
age has a BIS of 50 (``Ce50(age) ((93 - 50) / 50)^(1 / 1.47)``: 2.78 ug/mL at 35 y, 2.47 at
60 y; ours, so that the three pump models aim at the same clinical effect; clinical
effect-site targets with remifentanil are 2.5-4 ug/mL). The oracle targets the TRUE
patient's Ce for BIS 50 with its true PK-PD.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.models.propofol_eleveld import (
    N_STATES,
    EffectSitePK,
    Eleveld2018,
    ce_for_bis,
    eleveld_pd,
    eleveld_pk,
    step_propagator,
)
from pkgym.models.propofol_tci_models import marsh_pk, schnider_pk

HORIZON_MIN = 20.0
"""How far ahead the pump checks its effect site for overshoot (peaks come at 1.5-4 min)."""
TARGET_BIS = 50.0
BELIEFS = ("marsh", "schnider", "eleveld")


def covariates_of(observation: Mapping[str, np.ndarray]) -> np.ndarray:
    """The observed covariates as float64 (n, 5): age, weight, height, female, opioid."""
    return np.asarray(observation["covariates"], dtype=np.float64)


def belief_pk(belief: str, covariates: np.ndarray) -> EffectSitePK:
    """The pump model's PK and ke0 for these covariates (typical values: no etas)."""
    age, weight, height, female, opioid = covariates.T
    if belief == "marsh":
        return marsh_pk(weight)
    if belief == "schnider":
        return schnider_pk(age, weight, height, female)
    if belief == "eleveld":
        return eleveld_pk(Eleveld2018(), age, weight, height, female, opioid)
    raise ValueError(f"belief must be one of {BELIEFS}, got {belief!r}")


def typical_target_ug_per_ml(covariates: np.ndarray) -> np.ndarray:
    """Eleveld's typical Ce for BIS 50 at each patient's age, ug/mL (module docstring).

    Examples:
        >>> typical_target_ug_per_ml(np.array([[35.0, 70, 170, 0, 1]])).round(2).tolist()
        [2.78]
    """
    return ce_for_bis(TARGET_BIS, eleveld_pd(Eleveld2018(), covariates[:, 0]))


class EffectSiteTci:
    """The pump's planning: exact effect-site responses over the horizon, for a batch."""

    def __init__(self, pk: EffectSitePK, step_min: float, horizon_min: float = HORIZON_MIN
                 ) -> None:
        """Propagator, ``e4' Phi^k`` (n, H, 4) and ``Ce_unit`` (n, H) of each patient."""
        self.step = step_propagator(pk, step_min)
        n, h = pk.v1_l.shape[0], int(round(horizon_min / step_min))
        rows = np.zeros((n, h, N_STATES))
        row = np.zeros((n, N_STATES))
        row[:, 3] = 1.0
        for k in range(h):
            row = np.einsum("ni,nij->nj", row, self.step.transition)
            rows[:, k] = row  # e4' Phi^(k+1)
        self.ce_rows = rows
        previous = np.concatenate([np.eye(N_STATES)[None, 3].repeat(n, 0)[:, None],
                                   rows[:, :-1]], axis=1)  # e4' Phi^k, k = 0..H-1
        self.unit = np.einsum("nhj,nj->nh", previous, self.step.input)

    def rate_mg_per_min(self, state: np.ndarray, target: np.ndarray, top: np.ndarray
                        ) -> np.ndarray:
        """The largest rate for one step whose predicted Ce never exceeds ``target``, (n,)."""
        free = np.einsum("nhj,nj->nh", self.ce_rows, state)
        room = np.where(self.unit > 1e-12, (target[:, None] - free)
                        / np.maximum(self.unit, 1e-12), np.inf)
        return np.clip(room.min(axis=1), 0.0, top)

    def advance(self, state: np.ndarray, rate_mg_per_min: np.ndarray) -> np.ndarray:
        """The model's state after one step at the given rates."""
        return (np.einsum("nij,nj->ni", self.step.transition, state)
                + self.step.input * rate_mg_per_min[:, None])
