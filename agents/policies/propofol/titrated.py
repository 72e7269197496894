"""The clinician's TCI: an effect-site pump whose target the anaesthetist titrates to the BIS.

No anaesthetist runs a TCI pump open loop: the target is set for induction and then moved
up or down by a fixed step when the monitor's BIS leaves 40-60, waiting for the effect of
one change before the next. Manual BIS-guided TCI of this kind is the comparator arm of
the closed-loop trials, e.g. Liu Y et al., PLoS One 2015;10:e0123862 (CONCERT-CL,
propofol-remifentanil TCI, BIS 40-60: 79.9 +/- 13.2 % of the time in range with the
anaesthetist changing the propofol target 6.8 +/- 6.2 times an hour) and Xie T et al.,
Braz J Anesthesiol 2023, doi:10.1016/j.bjane.2023.05.003 (open-loop BIS-guided arm, 66.7 %
in 40-60); steps of 0.2 ug/mL are the protocol of Liao et al.'s trial of propofol TCI with
or without BIS for advanced gastrointestinal endoscopy (targets "adjusted by 0.2 ug/mL as
necessary"; read in its abstract, journal not checked). Neither trial's abstract gives the
step or the waiting time of the maintenance arm: 0.2-0.5 ug/mL and waiting for the
effect site are TIVA teaching, the numbers below ours.

The rule (:class:`TitratedTciPolicy`), each 10-s decision and per patient:

* the pump starts as the open-loop TCI (:class:`~agents.policies.propofol.baselines.
  TciPolicy`: Eleveld's typical Ce for BIS 50 at the patient's age, the same pump model);
* a change is allowed once ``review_s`` have passed since the last one (or since the
  start) AND the pump's predicted Ce is within ``SETTLED_FRACTION`` of its target (the pump
  shows it: the anaesthetist waits for the effect site to get there);
* then the monitor's BIS, the mean of the readings of the last ``window_s``, above 60
  raises the target by ``step_ug_per_ml``, below 40 lowers it by as much; in range it is
  kept (and looked at again every decision until it leaves the range);
* the target stays within ``[MIN_TARGET_UG_PER_ML, MAX_TARGET_UG_PER_ML]``.

The numbers are ours: the trials give the practice, not an algorithm. ``review_s`` 120 s
(about Eleveld's effect-site equilibration: ke0 0.146 /min, time to peak effect ~3 min) and
``step_ug_per_ml`` 0.5 were chosen within the clinical ranges above and checked on 300
training-space patients (``TRAINING`` seed 11, Eleveld pump): time in 40-60 was 0.53-0.71
over review 60-240 s x step 0.2-0.8 ug/mL, 0.68 at (120 s, 0.5), 0.71 at the most eager
(60 s, 0.3), 0.65-0.66 at 180 s; dropping the wait for the pump's Ce changed it by <= 0.03.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.policies.propofol.baselines import TciPolicy, fresh_episodes, last_rates
from agents.policies.propofol.tci import (
    EffectSiteTci,
    belief_pk,
    covariates_of,
    typical_target_ug_per_ml,
)
from pkgym.models.propofol_eleveld import N_STATES

BIS_LOW, BIS_HIGH = 40.0, 60.0
"""The BIS range the anaesthetist titrates to."""
MIN_TARGET_UG_PER_ML, MAX_TARGET_UG_PER_ML = 0.5, 8.0
"""Bounds of the effect-site target (chosen: 8 is above the 3-8 ug/mL targets of TCI
practice, Gale et al. 2001; 0.5 keeps the pump from being switched off by a noisy BIS)."""
SETTLED_FRACTION = 0.1
"""The pump's Ce counts as at its target within 10 % (chosen)."""
DEFAULTS = {"review_s": 120.0, "step_ug_per_ml": 0.5, "window_s": 30.0}
"""The titration's defaults (chosen, see the module docstring and :data:`OPTION_RANGES`)."""
OPTION_RANGES = {"review_s": (10.0, 1800.0), "step_ug_per_ml": (0.05, 2.0),
                 "window_s": (10.0, 300.0)}
"""Allowed values of each option (inclusive), in its unit."""


def titration_options(**options: object) -> dict[str, float]:
    """The titration's options as floats, defaults filled in; a one-line error if bad.

    Examples:
        >>> titration_options(review_s="180")["review_s"]
        180.0
        >>> titration_options(step="1")
        Traceback (most recent call last):
        ...
        ValueError: titrated TCI options are ('review_s', 'step_ug_per_ml', 'window_s'), got 'step'
    """
    values = dict(DEFAULTS)
    for key, raw in options.items():
        if key not in OPTION_RANGES:
            raise ValueError(f"titrated TCI options are {tuple(OPTION_RANGES)}, got {key!r}")
        low, high = OPTION_RANGES[key]
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = float("nan")
        if not low <= value <= high:
            raise ValueError(f"{key} must be a number in [{low:g}, {high:g}], got {raw!r}")
        values[key] = value
    return values


def monitor_bis(observation: Mapping[str, np.ndarray], n_samples: int) -> np.ndarray:
    """Mean of each patient's last ``n_samples`` monitor readings (NaN if none), (n,)."""
    bis = np.asarray(observation["bis"], dtype=np.float64)[:, -n_samples:]
    mask = np.asarray(observation["bis_mask"], dtype=np.float64)[:, -n_samples:]
    count = mask.sum(axis=1)
    return np.where(count > 0, (bis * mask).sum(axis=1) / np.maximum(count, 1.0), np.nan)


class TitratedTciPolicy(TciPolicy):
    """Effect-site TCI whose target follows the monitor's BIS (module docstring)."""

    def __init__(self, belief: str, step_min: float, top_rate_mg_per_kg_per_h: float, *,
                 review_s: float = DEFAULTS["review_s"],
                 step_ug_per_ml: float = DEFAULTS["step_ug_per_ml"],
                 window_s: float = DEFAULTS["window_s"], label: str = "") -> None:
        """A ``belief`` pump (marsh, schnider, eleveld) titrated every ``review_s`` at most.

        Args:
            belief: the pump's model.
            step_min: minutes per decision.
            top_rate_mg_per_kg_per_h: the pump's top rate.
            review_s: least time between two target changes, s.
            step_ug_per_ml: one change of the target, ug/mL.
            window_s: the BIS readings averaged, s back from now.
            label: options shown in the name, e.g. ``[review_s=180]``.
        """
        super().__init__(belief, step_min, top_rate_mg_per_kg_per_h)
        self.name = f"tci_{belief}_titrated{label}"
        self.belief_name += ", target titrated to the BIS"
        self.review_min, self.step_ug_per_ml = review_s / 60.0, step_ug_per_ml
        self.n_window = max(1, int(round(window_s / (60.0 * step_min))))
        self.last_change_min = np.zeros(0)

    def reset(self, n_envs: int) -> None:
        """Forget the pump's model state and every target."""
        super().reset(n_envs)
        self.target, self.last_change_min = np.zeros(0), np.zeros(0)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The TCI rate of each patient for its titrated target, mg/kg/h."""
        covariates = covariates_of(observation)
        fresh = fresh_episodes(observation)
        n, weight = fresh.size, covariates[:, 1]
        if self.target.size != n:
            self.planner, self.state = None, np.zeros((n, N_STATES))
            self.target, self.last_change_min = np.zeros(n), np.zeros(n)
            fresh = np.ones(n, dtype=bool)
        if self.planner is None or fresh.any():
            self.planner = EffectSiteTci(belief_pk(self.belief, covariates), self.step_min)
        self.target = np.where(fresh, typical_target_ug_per_ml(covariates), self.target)
        self.last_change_min = np.where(fresh, 0.0, self.last_change_min)
        given = last_rates(observation) * weight / 60.0
        self.state = np.where(fresh[:, None], 0.0, self.planner.advance(self.state, given))
        self._titrate(observation)
        rate = self.planner.rate_mg_per_min(self.state, self.target, self.top * weight / 60.0)
        return rate * 60.0 / weight

    def _titrate(self, observation: Mapping[str, np.ndarray]) -> None:
        """Move due patients' targets one step toward BIS 40-60, record when."""
        elapsed = np.asarray(observation["elapsed_min"], dtype=np.float64)[:, 0]
        settled = np.abs(self.state[:, 3] - self.target) <= SETTLED_FRACTION * self.target
        due = (elapsed - self.last_change_min >= self.review_min - 1e-9) & settled
        bis = monitor_bis(observation, self.n_window)
        move = np.where(due & (bis > BIS_HIGH), 1.0, np.where(due & (bis < BIS_LOW), -1.0, 0.0))
        target = np.clip(self.target + move * self.step_ug_per_ml, MIN_TARGET_UG_PER_ML,
                         MAX_TARGET_UG_PER_ML)
        changed = target != self.target
        self.target = target
        self.last_change_min = np.where(changed, elapsed, self.last_change_min)
