"""``pkgym/Depression-v0``: escitalopram dosing against anhedonia, one week at a time."""

from __future__ import annotations

import os

from gymnasium.vector import AutoresetMode

from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.envs.depression.clinic import ClinicAssessments, DepressionScenario, resolve_scenario
from pkgym.envs.depression.core import DepressionCore
from pkgym.envs.depression.records import depression_settings
from pkgym.populations import Population

ENV_ID = "pkgym/Depression-v0"


def _core(n: int, scenario: DepressionScenario | str | os.PathLike | None,
          population: Population | None, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None) -> DepressionCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return DepressionCore(n, depression_settings(resolved, population),
                          reward_fn or resolved.reward, observation_model or ClinicAssessments())


class DepressionEnv(DosingEnv):
    """Treat one outpatient with major depression with escitalopram, one week at a time.

    ## Description
    An adult with MDD and anhedonia starts an SSRI. Each week the policy picks the daily
    escitalopram dose for the coming week. The drug restores reward sensitivity slowly
    (weeks), and higher doses bring more side effects. The clinic sees a rated symptom score
    (MADRS-like, 0-60) and the patient's behaviour in a probabilistic reward task each week.

    ## Model
    Anhedonia as reduced reward sensitivity rho (Huys et al. 2013, Biol Mood Anxiety Disord
    3:12; :mod:`pkgym.models.depression`): in the weekly PRT session (300 trials; correct
    "rich" answers rewarded with p 0.75, "lean" with p 0.30) the patient learns
    ``Q <- Q + epsilon (rho r - Q)`` and answers by a softmax of ``gamma I + Q``.
    Escitalopram (:mod:`pkgym.models.depression_drug`): one compartment, CL/F 36 L/h,
    t1/2 30 h (label), SERT occupancy Emax (EC50 3 ng/mL), an adaptation compartment with a
    2-week time constant moving log rho towards the healthy value by the patient's maximal
    effect; slow spontaneous recovery (52 weeks). Symptom score linear in log rho (4 at the
    healthy, 30 at the MDD median). Weekly side-effect probability rising with concentration.

    ## Population
    MDD outpatients (STAR*D-like: 64% women, age 40.7 +- 13.2 y; ``mdd_outpatients``) with
    log-normal rho_0 (median 0.5), epsilon, gamma, CL and logit-normal maximal effect. Pin a
    patient with ``reset(options={"patient": row})``, ``row`` holding ``age_years``,
    ``is_female``, ``weight_kg`` and optionally ``eta_rho``, ``eta_epsilon``, ``eta_gamma``,
    ``eta_CL``, ``eta_emax``, ``id`` (a given eta must be finite and within 10 SD of the
    model's omega; etas not given are drawn from the slot's patient stream, so give every eta
    as 0 for the typical patient).

    ## Action Space
    ``Discrete(5)``: escitalopram 0, 5, 10, 15 or 20 mg a day for the week.
    ``continuous=True``: ``Box(-1, 1, (1,))``, dose ``(a + 1) / 2 * 20`` mg.

    ## Observation Space
    A ``Dict`` of float32 arrays (visit k = end of week k, visit 0 = baseline):

    | key | shape | unit |
    |---|---|---|
    | ``covariates`` | (3,) | age (y), female (0/1), weight (kg) |
    | ``madrs`` | (n_weeks + 1,) | rated score at each visit (0-60; rater SD 3) |
    | ``response_bias`` | (n_weeks + 1,) | PRT log b at each visit |
    | ``accuracy`` | (n_weeks + 1,) | PRT share correct at each visit |
    | ``assessed`` | (n_weeks + 1,) | 1 where the visit has happened |
    | ``doses_mg`` | (n_weeks,) | daily dose given each week |
    | ``adverse_event`` | (n_weeks,) | 1 if a troublesome adverse effect was reported |
    | ``week`` | (1,) | weeks of treatment so far |

    ## Reward
    Each week ``0.1 x (true score at the week start - at its end) - 1.0 x side-effect
    probability`` (:class:`SymptomReliefReward`; weights are named fields).

    ## Starting State
    Drug-free at the baseline visit: MADRS rated and a PRT session done.

    ## Episode End
    Truncated after ``n_weeks`` (12) weeks; never terminated.

    ## Arguments
    ``scenario`` (a :class:`DepressionScenario`, a YAML path or ``None``), ``population``,
    ``reward_fn``, ``observation_model``, ``continuous``, ``render_mode`` (``"ansi"``,
    ``"rgb_array"``). ``info`` holds the true rho, epsilon, gamma, CL, maximal effect,
    concentration, occupancy, adaptation state, true symptom score, response, remission and
    the side-effect probability and event.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, scenario: DepressionScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None) -> None:
        """Build the clinic from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, population, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode)


class DepressionVectorEnv(DosingVectorEnv):
    """``num_envs`` patients stepped in one call (see :class:`DepressionEnv`)."""

    def __init__(self, num_envs: int = 1,
                 scenario: DepressionScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` patients of the same clinic."""
        super().__init__(_core(num_envs, scenario, population, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
