"""Baseline policies for ``pkgym/Addiction-v0``: none, fixed naltrexone, stepped care, oracle.

Every policy satisfies :class:`pkgym.evaluation.policy.Policy`. Decisions are action indices
of :data:`pkgym.envs.addiction.clinic.TREATMENTS` (shape (n,)); the core's
``encode_decisions`` passes them on as the actions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.envs.addiction.clinic import (
    CONTINGENCY,
    DAILY_DOSES_MG,
    DAYS_PER_WEEK,
    TREATMENT_NAMES,
    AddictionScenario,
)
from pkgym.models.addiction import DRUG, choice_probabilities, choose, td_day, untreated_rewards
from pkgym.models.addiction_treatment import (
    CM_TEST_DAYS,
    advance_amounts,
    blocked_fraction,
    occupancies,
    vouchers,
)

NONE, NALTREXONE_50, CONTINGENCY_MANAGEMENT = 0, 2, 6


class FixedTreatmentPolicy:
    """The same treatment every week (``none``: action 0; ``naltrexone_50mg``: action 2).

    Examples:
        >>> FixedTreatmentPolicy(2).act({"week": np.zeros((3, 1))}).tolist()
        [2.0, 2.0, 2.0]
    """

    reads_hidden_state = False

    def __init__(self, action: int) -> None:
        """Give action ``action`` every week."""
        if not 0 <= action < len(TREATMENT_NAMES):
            raise ValueError(f"action must be in 0..{len(TREATMENT_NAMES) - 1}, got {action}")
        self.action, self.name = action, TREATMENT_NAMES[action]

    def reset(self, n_envs: int) -> None:
        """Stateless: nothing to forget."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The fixed action for every env."""
        return np.full(len(observation["week"]), float(self.action))


class SteppedCarePolicy:
    """Contingency management first; naltrexone 50 mg after ``step_after`` positive tests.

    A stepped-care rule in the spirit of adaptive treatment for substance use (start with
    the least burdensome effective psychosocial treatment, add medication on non-response);
    the threshold of 2 positive tests is pkgym's assumption. Once stepped up, it stays up.

    Examples:
        >>> policy = SteppedCarePolicy()
        >>> obs = {"urine_positive": np.array([[1, 0, 0], [1, 1, 0]], np.float32),
        ...        "week": np.array([[2], [2]], np.float32)}
        >>> policy.act(obs).tolist()
        [6.0, 2.0]
    """

    reads_hidden_state = False

    def __init__(self, step_after: int = 2, name: str = "stepped_care") -> None:
        """Step up after ``step_after`` positive urine tests (>= 1)."""
        if step_after < 1:
            raise ValueError(f"step_after must be >= 1, got {step_after}")
        self.step_after, self.name = step_after, name

    def reset(self, n_envs: int) -> None:
        """Stateless: the positive tests are in the observation."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """CM until the count of positive tests reaches ``step_after``, then naltrexone."""
        positives = np.asarray(observation["urine_positive"]).sum(axis=1)
        return np.where(positives >= self.step_after, float(NALTREXONE_50),
                        float(CONTINGENCY_MANAGEMENT))


class AddictionOraclePolicy:
    """Reads the true learner: simulates each treatment for the coming weeks, picks the best.

    From the true values, parameters and drug amounts in ``info``, each action is simulated,
    kept for ``horizon_weeks`` weeks, over ``n_samples`` common random draws; the score is the
    env's reward over that horizon (abstinent days minus the weekly burden) minus
    ``lead_weight`` times the drug's value lead over the alternative at its end (what the
    learner carries into later weeks). Re-planned every week (receding horizon).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env = gym.make("pkgym/Addiction-v0")
        >>> obs, info = env.reset(seed=0)
        >>> policy = AddictionOraclePolicy(env.unwrapped.core.settings.scenario)
        >>> policy.reset(1)
        >>> int(policy.act({k: v[None] for k, v in obs.items()},
        ...                {k: np.array([v]) for k, v in info.items()})[0]) in range(7)
        True
    """

    reads_hidden_state = True

    def __init__(self, scenario: AddictionScenario, n_samples: int = 16,
                 lead_weight: float = 2.0, horizon_weeks: int = 4, seed: int = 0) -> None:
        """Plan with the env's scenario (the learner, treatments and burdens)."""
        if horizon_weeks < 1 or n_samples < 1:
            raise ValueError("horizon_weeks and n_samples must be >= 1")
        self.scenario, self.n_samples, self.lead_weight = scenario, n_samples, lead_weight
        self.horizon_weeks, self.seed, self.name = horizon_weeks, seed, "oracle"

    def reset(self, n_envs: int) -> None:
        """Fresh common random numbers."""
        self.rng = np.random.default_rng(self.seed)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The action with the best simulated week for each env."""
        if info is None:
            raise ValueError("the oracle reads the true patient from info")
        n = len(observation["week"])
        uniforms = self.rng.random((2, self.n_samples, n, DAYS_PER_WEEK * self.horizon_weeks))
        burden = np.asarray(self.scenario.reward.treatment_burden) * self.horizon_weeks
        scores = np.stack([self._week_score(info, a, uniforms) - burden[a]
                           for a in range(len(TREATMENT_NAMES))], axis=1)
        return scores.argmax(axis=1).astype(np.float64)

    def _week_score(self, info: Mapping[str, np.ndarray], action: int,
                    uniforms: np.ndarray) -> np.ndarray:
        """Mean abstinent days minus the weighted final drug-value lead, (n,)."""
        model, pharmacology = self.scenario.redish, self.scenario.pharmacology
        keys = ("value_choice", "value_drug", "value_natural", "value_abstain")
        s, n = self.n_samples, len(info["value_drug"])
        values = np.tile(np.column_stack([np.asarray(info[k], float) for k in keys]), (s, 1))
        amounts = np.tile(np.column_stack([info["naltrexone_amount_mg"],
                                           info["buprenorphine_amount_mg"]]), (s, 1))
        p = {k: np.tile(np.asarray(info[k], float), s) for k in
             ("learning_rate", "dopamine_surge", "inverse_temperature", "reward_sensitivity")}
        base = untreated_rewards(model, p["reward_sensitivity"])
        days = uniforms.shape[-1]
        used = np.zeros((s * n, days), dtype=bool)
        streak = np.tile(np.asarray(info.get("cm_streak", np.zeros(n)), np.int64), s) \
            if CONTINGENCY[action] else np.zeros(s * n, np.int64)
        for day in range(days):
            taken = DAILY_DOSES_MG[action] * (uniforms[1, :, :, day].reshape(-1, 1)
                                              < pharmacology.adherence)
            amounts, mean = advance_amounts(amounts, taken, pharmacology.daily_retention)
            blocked = blocked_fraction(occupancies(mean, pharmacology.half_occupancy_amounts_mg))
            options = choose(choice_probabilities(values, model.option_costs,
                                                  p["inverse_temperature"]),
                             uniforms[0, :, :, day].reshape(-1))
            used[:, day] = options == DRUG - 1
            rewards = base[np.arange(s * n), options]
            if day % DAYS_PER_WEEK in CM_TEST_DAYS and CONTINGENCY[action]:
                window = used[:, max(day - 2, 0):day + 1]
                pay, streak = vouchers(~window.any(axis=1), streak, pharmacology)
                rewards = rewards + pay
            values = td_day(values, options, rewards, p["dopamine_surge"], blocked,
                            p["learning_rate"], model.discount_per_day)
        abstinent = (days - used.sum(axis=1)).reshape(s, n).mean(axis=0)
        lead = (values[:, DRUG] - values[:, DRUG + 1]).reshape(s, n).mean(axis=0)
        return abstinent - self.lead_weight * lead
