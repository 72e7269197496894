"""What the evaluation harness records and scores for each environment.

An :class:`OutcomeSpec` names the per-step ``info`` keys :func:`~pkgym.evaluation.runner.
run_policy` keeps, turns them into per-patient scores, and says how reports plot them.
:func:`outcome_spec` gives the spec of an environment's core, as its registry entry
(:class:`~pkgym.envs.registry.EnvSpec`) states it. The type lives in
:mod:`pkgym.envs.outcomes` and each env's spec in its package's ``views``; their names are
re-exported here.
"""

from __future__ import annotations

from pkgym.envs.addiction.views import ADDICTION_OUTCOMES, addiction_scores
from pkgym.envs.base import DosingCore
from pkgym.envs.chemo_immune.views import CHEMO_IMMUNE_OUTCOMES, chemo_immune_scores
from pkgym.envs.chemotherapy.views import CHEMOTHERAPY_OUTCOMES, chemotherapy_scores
from pkgym.envs.depression.views import DEPRESSION_OUTCOMES, depression_scores
from pkgym.envs.dose_finding.views import DOSE_FINDING_OUTCOMES, dose_finding_scores
from pkgym.envs.outcomes import EpisodeScores, OutcomeSpec, StepTable
from pkgym.envs.registry import spec_of
from pkgym.envs.vancomycin.views import VANCOMYCIN_OUTCOMES
from pkgym.envs.warfarin.views import warfarin_outcomes, warfarin_scores

__all__ = ["ADDICTION_OUTCOMES", "CHEMOTHERAPY_OUTCOMES", "CHEMO_IMMUNE_OUTCOMES",
           "DEPRESSION_OUTCOMES", "DOSE_FINDING_OUTCOMES", "VANCOMYCIN_OUTCOMES",
           "EpisodeScores", "OutcomeSpec", "StepTable", "addiction_scores",
           "chemo_immune_scores", "chemotherapy_scores", "depression_scores",
           "dose_finding_scores", "outcome_spec", "warfarin_outcomes", "warfarin_scores"]


def outcome_spec(core: DosingCore) -> OutcomeSpec:
    """The outcome spec of an environment's core (its registered spec's ``outcomes``).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> outcome_spec(gym.make("pkgym/Warfarin-v0").unwrapped.core).level_key
        'inr'
    """
    return spec_of(core).outcomes(core)
