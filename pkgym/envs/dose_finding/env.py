"""``pkgym/DoseFinding-v0``: the agent is a phase I dose-finding design, one cohort a step."""

from __future__ import annotations

import os

from pkgym.envs.base import ObservationModel, RewardFn, ScenarioEnv, ScenarioVectorEnv
from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario, TrialCounts, resolve_scenario
from pkgym.envs.dose_finding.core import DoseFindingCore

ENV_ID = "pkgym/DoseFinding-v0"


def _core(n: int, scenario: DoseFindingEnvScenario | str | os.PathLike | None,
          reward_fn: RewardFn | None, observation_model: ObservationModel | None
          ) -> DoseFindingCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return DoseFindingCore(n, resolved, reward_fn or resolved.reward,
                           observation_model or TrialCounts())


class DoseFindingEnv(ScenarioEnv):
    """Run one phase I dose-finding trial: choose each cohort's dose level, then the MTD.

    ## Description
    A first-in-human trial of a cytotoxic drug looks for the maximum tolerated dose (MTD), the
    level whose probability of a dose-limiting toxicity (DLT) in the first cycle is closest
    to the target (0.3). Patients come in cohorts of 3; after each cohort's DLT window the
    policy, acting as the trial design (like 3+3, CRM or BOIN), picks the next cohort's level,
    stops the trial, or, once ``max_sample_size`` patients are treated, names the MTD.
    A vector env runs thousands of trials in one numpy call.

    ## Model
    Each patient of a cohort at level j has a DLT with the true probability p_j
    (Bernoulli), independently. The true curve is fixed (``true_dlt_probabilities``) or drawn
    each episode by the pseudo-uniform generator of Clertant & O'Quigley (2017, J R Stat Soc
    B 79:1487), as used by Zhou, Yuan & Nie (2018, Stat Med 37:2208) to compare designs:
    :class:`pkgym.models.dose_toxicity.RandomDoseToxicity`, whose MTD is uniform over levels.
    Cohort by cohort the trial is the one :func:`pkgym.trials.simulate_trials` simulates, so
    a learned design can be scored by the same simulator.

    ## Population
    A "patient" of this env is a trial: ``reset(options={"patient": {...}})`` pins a trial's
    ``true_dlt_probabilities`` (n_doses values) and optional ``id``.

    ## Action Space
    ``Discrete(n_doses + 1)``: a in 0..n_doses-1 is the level of the next cohort; a = n_doses
    stops the trial with no dose recommended. Unless ``allow_skipping``, a level above
    (highest level tried + 1) is lowered to it (``info`` has both). ``continuous=True``:
    ``Box(-1, 1, (1,))``, level ``round((a + 1) / 2 * n_doses)`` (n_doses = stop).

    ## Observation Space
    A ``Dict`` of float32 arrays:

    | key | shape | unit |
    |---|---|---|
    | ``patients`` | (n_doses,) | patients treated at each level |
    | ``dlts`` | (n_doses,) | DLTs observed at each level |
    | ``level`` | (n_doses,) | one-hot of the last assigned level |
    | ``enrolled_fraction`` | (1,) | patients treated / max_sample_size |
    | ``target_dlt_rate`` | (1,) | the target DLT probability |

    ## Reward
    ``-0.02`` per patient treated above the true MTD (charged when the cohort is treated),
    ``-0.0`` per DLT, and ``+1.0`` at the end if the recommended level is the true MTD
    (:class:`DoseFindingReward`; weights are named fields). The first cohort, treated by
    ``reset`` at ``start_level``, is charged nothing.

    ## Starting State
    A fresh (or pinned) true curve; the first cohort treated at ``start_level`` (level 0).

    ## Episode End
    Terminated when the policy stops (``selected`` -1) or, once ``max_sample_size`` patients
    are treated, at the next step, whose level is the recommended MTD (the CRM convention:
    the "next cohort's dose"), lowered to the highest level tried: an MTD is never a dose no
    patient received. An episode is thus ``max_cohorts`` (12) steps
    unless stopped early. Never truncated.

    ## Arguments
    ``scenario`` (a :class:`DoseFindingEnvScenario`, a YAML path or ``None``),
    ``reward_fn``, ``observation_model``, ``continuous``, ``render_mode`` (``"ansi"``,
    ``"rgb_array"``). ``info`` holds ``true_dlt_probabilities``, ``true_mtd``, ``selected``,
    ``requested_level``, ``assigned_level``, ``patients_above_mtd``, ``n_dlts``,
    ``n_patients``, ``cohort``, ``correct_selection``, ``trial_id`` and ``seed_entropy``.

    ## Version History
    * v0: initial version.
    """

    make_core = staticmethod(_core)


class DoseFindingVectorEnv(ScenarioVectorEnv):
    """``num_envs`` trials stepped in one call (see :class:`DoseFindingEnv`)."""

    make_core = staticmethod(_core)
