"""``pkgym/Addiction-v0``: weekly treatment of a patient who learns drug use by TD (Redish 2004)."""

from __future__ import annotations

import os

from gymnasium.vector import AutoresetMode

from pkgym.envs.addiction.clinic import AddictionScenario, ClinicObservation, resolve_scenario
from pkgym.envs.addiction.core import AddictionCore, AddictionSettings
from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.populations import Population

ENV_ID = "pkgym/Addiction-v0"


def _core(n: int, scenario: AddictionScenario | str | os.PathLike | None,
          population: Population | None, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None) -> AddictionCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    settings = AddictionSettings(resolved, population or resolved.population)
    return AddictionCore(n, settings, reward_fn or resolved.reward,
                         observation_model or ClinicObservation())


class AddictionEnv(DosingEnv):
    """Treat substance use for 24 weeks in a patient whose drug-seeking is learned by TD.

    ## Description
    A patient with an established drug habit comes to an addiction clinic. Each week the
    policy picks a treatment; each day of the week the patient chooses, by learned values,
    between using the drug, an alternative natural reward, or neither. The goal is abstinent
    days at little treatment burden. Relapse is not scripted: it happens when the learned
    value of drug use comes back above the alternatives.

    ## Model
    Redish 2004 (Science 306:1944; :mod:`pkgym.models.addiction`): TD(0) over a daily
    CHOICE state and three option states; drug use adds a non-compensable dopamine signal D,
    ``delta = max(r + gamma V' - V + D, D)``, so its value grows with every unblocked use;
    choices are softmax over ``beta (V(option) - cost)``. Treatments
    (:mod:`pkgym.models.addiction_treatment`): naltrexone and buprenorphine with daily PK and
    mu occupancy ``A / (A + A50)`` (90% at 50 mg naltrexone, 80% at 16 mg buprenorphine),
    which blocks that fraction of the drug's reward and D (a blocked use teaches ordinary
    TD with no reward: extinction); contingency management adds a voucher reward to the
    test-day choice when the weekly urine test is negative. All learner defaults assumed.

    ## Population
    Between-patient variability (assumed): alpha logit-normal (SD 0.3), D, beta and reward
    sensitivity log-normal (CV 0.4, 0.3, 0.2). Use history: ``burn_in_days`` (180) of
    untreated free choice from zero values, simulated at reset from the patient stream.
    Pin a patient with ``reset(options={"patient": {"eta_learning_rate": ...,
    "eta_dopamine_surge": ..., "eta_inverse_temperature": ..., "eta_reward_sensitivity":
    ..., "id": ...}})``; etas not given are drawn, as for a new patient (all 0: the typical
    patient); a given eta must be finite and within 10 SD of the model's omega.

    ## Action Space
    ``Discrete(7)``, a week of (:data:`~pkgym.envs.addiction.clinic.TREATMENTS`):

    | action | treatment |
    |---|---|
    | 0 | none |
    | 1, 2, 3 | naltrexone 25, 50, 100 mg daily (oral; adherence 0.7/day) |
    | 4, 5 | buprenorphine 8, 24 mg daily (supervised; adherence 0.9/day) |
    | 6 | contingency management (voucher for a negative weekly urine test) |

    No continuous variant. Policies' decisions are the action indices.

    ## Observation Space
    A ``Dict`` of float32 arrays, what the clinic knows:

    | key | shape | unit |
    |---|---|---|
    | ``reported_use_days`` | (n_weeks,) | self-reported use days each past week |
    | ``urine_positive`` | (n_weeks,) | 1 if that week's urine test was positive |
    | ``urine_tested`` | (n_weeks,) | 1 for past weeks (tested), 0 for weeks to come |
    | ``treatments`` | (n_weeks,) | action + 1 given each past week, 0 for weeks to come |
    | ``week`` | (1,) | weeks done |

    Each day of use is reported with probability 0.8 (under-reporting; never over-reported).
    The urine test at the week's end detects use on its last 3 days, sensitivity 0.9,
    specificity 0.95 (assumed).

    ## Reward
    Each week (:class:`~pkgym.envs.addiction.clinic.AbstinenceReward`, weights named):
    ``1 x abstinent days - burden[action]``, burdens (0, 0.3, 0.5, 1.0, 0.8, 1.2, 0.6).

    ## Starting State
    Week 0, after the untreated use history; no drug on board.

    ## Episode End
    Truncated after ``n_weeks`` (24). Never terminated.

    ## Arguments
    ``scenario`` (an :class:`AddictionScenario`, a YAML path or ``None``), ``population``,
    ``reward_fn``, ``observation_model``, ``render_mode`` (``"ansi"``, ``"rgb_array"``).
    ``info`` holds true use days, the values V, occupancies, the effective D, the burden and
    the patient's parameters.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, scenario: AddictionScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None) -> None:
        """Build the clinic from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, population, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode)


class AddictionVectorEnv(DosingVectorEnv):
    """``num_envs`` patients stepped in one call (see :class:`AddictionEnv`)."""

    def __init__(self, num_envs: int = 1,
                 scenario: AddictionScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` patients of the same clinic."""
        super().__init__(_core(num_envs, scenario, population, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
