"""A policy of ``pkgym/DoseFinding-v0`` (e.g. a trained RL design) run as a trial design.

The env and :func:`~pkgym.trials.operating_characteristics.simulate_trials` play the same
trial cohort by cohort (tested exactly in
``tests/envs/dose_finding/test_dose_finding_env.py``), so a policy that reads the env's
observation can be scored by the trial simulator on the same scenarios, with the same common
random numbers, as 3+3, CRM and BOIN. The policy's
decision after a cohort is the next level, ``n_doses`` to stop with no MTD, and, once the
trial is full, its decision is the recommended MTD (the CRM convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario, TrialCounts
from pkgym.evaluation.policy import Policy
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import TrialState


@dataclass(frozen=True, slots=True)
class _CountsView:
    """The three fields of the env's trial records that its observation model reads."""

    patients: np.ndarray  # (n_trials, n_doses)
    dlts: np.ndarray  # (n_trials, n_doses)
    level: np.ndarray  # (n_trials,)


def env_scenario_for(scenario: DoseFindingScenario) -> DoseFindingEnvScenario:
    """The env scenario whose observations match a trial scenario's size rules and target."""
    return DoseFindingEnvScenario(
        n_doses=scenario.n_doses, target_dlt_rate=scenario.target_dlt_rate,
        cohort_size=scenario.cohort_size, max_sample_size=scenario.max_sample_size,
        start_level=scenario.start_level,
        true_dlt_probabilities=scenario.true_dlt_probabilities)


def trial_observation(state: TrialState, settings: DoseFindingEnvScenario) -> dict[str, np.ndarray]:
    """The env's observation of every trial in ``state`` (``pkgym/DoseFinding-v0`` keys).

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> state = TrialState.from_counts([[3, 3, 0]], [[0, 1, 0]], [1])
        >>> obs = trial_observation(state, env_scenario_for(scenario))
        >>> obs["level"].tolist(), obs["enrolled_fraction"].tolist()
        ([[0.0, 1.0, 0.0]], [[0.3333333432674408]])
    """
    view = _CountsView(patients=state.patients, dlts=state.dlts, level=state.levels)
    return TrialCounts()(view, settings)


class PolicyDesign:
    """A ``DoseFindingDesign`` whose decisions come from a ``pkgym/DoseFinding-v0`` policy.

    As in the env, a level above (highest level tried + 1) is lowered to it unless skipping is
    allowed, and the recommended MTD is lowered to the highest level tried. The policy is
    asked once per trial state (cached), so ``stop``, ``next_dose`` and ``select_mtd`` on one
    state see one decision.

    Args:
        policy: acts on the env's batched observation; returns levels (``n_doses``: stop).
        scenario: the trial scenario the designs are compared on (size rules and target).
        allow_skipping: whether the policy may skip untried levels (the env's default: no).
    """

    def __init__(self, policy: Policy, scenario: DoseFindingScenario, *,
                 allow_skipping: bool = False) -> None:
        """Keep the policy and the env scenario that builds its observations."""
        self.policy, self.n_doses = policy, scenario.n_doses
        self.name = getattr(policy, "name", "policy")
        self.settings = env_scenario_for(scenario)
        self.allow_skipping = allow_skipping
        self._key: tuple[bytes, ...] | None = None
        self._decisions = np.empty(0, dtype=np.int64)

    def decisions(self, state: TrialState) -> np.ndarray:
        """The policy's level per trial (n_trials,), ``n_doses`` meaning stop."""
        key = (state.patients.tobytes(), state.dlts.tobytes(), state.levels.tobytes())
        if key != self._key:
            n = state.levels.size
            if self._decisions.size != n:
                self.policy.reset(n)
            raw = np.asarray(self.policy.act(trial_observation(state, self.settings)))
            levels = np.rint(raw.reshape(n)).astype(np.int64)
            if np.any((levels < 0) | (levels > self.n_doses)):
                raise ValueError(f"policy {self.name} returned levels outside 0..{self.n_doses}"
                                 f": {np.unique(levels).tolist()[:5]}")
            self._key, self._decisions = key, levels
        return self._decisions

    def _assigned(self, state: TrialState, *, final: bool = False) -> np.ndarray:
        """The decided levels, lowered to (highest tried + 1) unless skipping is allowed.

        The ``final`` recommendation is lowered to the highest level tried.
        """
        levels = np.minimum(self.decisions(state), self.n_doses - 1)
        highest = state.highest_tried
        if final:
            return np.minimum(levels, highest)
        return levels if self.allow_skipping else np.minimum(levels, highest + 1)

    def next_dose(self, state: TrialState) -> np.ndarray:
        """The policy's next level (stopping trials keep their level; they stop anyway)."""
        return np.where(self.decisions(state) == self.n_doses, state.levels, self._assigned(state))

    def stop(self, state: TrialState) -> np.ndarray:
        """Stop where the policy chooses the stop action."""
        return self.decisions(state) == self.n_doses

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The policy's decision on the final data: a level, or -1 where it stops."""
        return np.where(self.decisions(state) == self.n_doses, -1,
                        self._assigned(state, final=True))
