"""``pkgym/DoseFindingEffTox-v0``: the agent is a phase I/II design, one cohort a step."""

from __future__ import annotations

import os

from gymnasium.vector import AutoresetMode

from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.envs.dose_finding_efftox.clinic import (
    DoseFindingEffToxScenario,
    EffToxCounts,
    resolve_scenario,
)
from pkgym.envs.dose_finding_efftox.core import DoseFindingEffToxCore

ENV_ID = "pkgym/DoseFindingEffTox-v0"

Scenario = DoseFindingEffToxScenario | str | os.PathLike | None


def _core(n: int, scenario: Scenario, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None) -> DoseFindingEffToxCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return DoseFindingEffToxCore(n, resolved, reward_fn or resolved.reward,
                                 observation_model or EffToxCounts())


class DoseFindingEffToxEnv(DosingEnv):
    """Run one phase I/II trial: choose each cohort's dose level, then the OBD.

    ## Description
    Targeted and immune therapies may gain no efficacy above some dose, so the dose to carry
    forward is the optimal biological dose (OBD), the best trade-off of response and
    toxicity, not the maximum tolerated dose (MTD). Patients come in cohorts of 3; after each
    cohort's window (DLT and response both observed) the policy, acting as the trial design
    (like BOIN12), picks the next cohort's level, stops the trial, or, once
    ``max_sample_size`` patients are treated, names the OBD. The efficacy-toxicity variant of
    ``pkgym/DoseFinding-v0`` (same size rules, actions and episode structure).

    ## Model
    Each patient of a cohort at level j has one of four outcomes, drawn with one uniform U
    from the level's true Pr(DLT) p_T, Pr(response) p_E and Pr(both) p_TE: a DLT when
    U < p_T, a response when U < p_TE or p_T <= U < p_T + p_E - p_TE, independently across
    patients, exactly as :func:`pkgym.trials.phase12_simulation.simulate_phase12_trials`.
    The truth is a fixed table (``true_*_probabilities``; the docetaxel mechanistic truth
    enters as such a table, :func:`pkgym.trials.phase12_env.efftox_env_scenario`) or drawn
    each episode by :class:`pkgym.models.dose_efficacy.RandomEfficacyToxicity`: a plateau
    efficacy curve (plateau level m uniform, plateau response Uniform(0.3, 0.8), sorted
    Uniform(0.02, plateau) below; our choices) and a pseudo-uniform toxicity curve (Clertant
    & O'Quigley 2017, J R Stat Soc B 79:1487) redrawn until its MTD is at or above m;
    independent outcomes (ours). The true MTD is the level with p_T closest to phi_T; the
    true OBD is the level of highest BOIN12 utility at or below it (Lin et al. 2020, JCO
    Precis Oncol 4:PO.20.00257): u = 100 Pr(E, no T) + 40 Pr(neither) + 60 Pr(E, T).

    ## Population
    A "patient" is a trial: ``reset(options={"patient": {...}})`` pins a trial's
    ``true_dlt_probabilities``, ``true_efficacy_probabilities`` (n_doses values each),
    optional ``true_joint_probabilities`` and ``id`` (or the cohort columns ``p_dlt_*``,
    ``p_eff_*``, ``p_both_*``).

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
    | ``responses`` | (n_doses,) | responses observed at each level |
    | ``both`` | (n_doses,) | patients with a DLT and a response at each level |
    | ``level`` | (n_doses,) | one-hot of the last assigned level |
    | ``enrolled_fraction`` | (1,) | patients treated / max_sample_size |
    | ``target_dlt_rate`` | (1,) | phi_T, the highest acceptable DLT probability |
    | ``min_efficacy_rate`` | (1,) | phi_E, the lowest acceptable response probability |

    ## Reward
    ``-0.02`` per patient treated above the true MTD (charged when the cohort is treated),
    ``-0.0`` per DLT, and at the end ``+1.0 x u(recommended) / u(true OBD)``, the relative
    utility, 0 for a level above the true MTD or no recommendation
    (:class:`~pkgym.envs.dose_finding_efftox.clinic.EffToxReward`; weights are named fields).
    The first cohort, treated by ``reset`` at ``start_level``, is charged nothing.

    ## Starting State
    A fresh (or pinned) truth; the first cohort treated at ``start_level`` (level 0).

    ## Episode End
    Terminated when the policy stops (``selected`` -1) or, once ``max_sample_size`` patients
    are treated, at the next step, whose level is the recommended OBD, lowered to the highest
    level tried. An episode is thus ``max_cohorts`` (12) steps unless stopped early. Never
    truncated.

    ## Arguments
    ``scenario`` (a :class:`DoseFindingEffToxScenario`, a YAML path or ``None``),
    ``reward_fn``, ``observation_model``, ``continuous``, ``render_mode`` (``"ansi"``,
    ``"rgb_array"``). ``info`` holds the truth (``true_dlt_probabilities``,
    ``true_efficacy_probabilities``, ``true_joint_probabilities``, ``true_utilities``,
    ``true_mtd``, ``true_obd``), ``selected``, ``requested_level``, ``assigned_level``,
    ``dose_level`` (1-based), ``patients_above_mtd``, ``n_dlts``, ``n_responses``,
    ``n_patients``, ``cohort``, ``correct_selection`` (the true OBD named),
    ``relative_utility``, ``trial_id``, ``seed_entropy`` and the hidden
    ``outcome_uniforms``.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, scenario: Scenario = None, *, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None) -> None:
        """Build the trial from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode)


class DoseFindingEffToxVectorEnv(DosingVectorEnv):
    """``num_envs`` trials stepped in one call (see :class:`DoseFindingEffToxEnv`)."""

    def __init__(self, num_envs: int = 1, scenario: Scenario = None, *,
                 reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` trials of the same scenario."""
        super().__init__(_core(num_envs, scenario, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
