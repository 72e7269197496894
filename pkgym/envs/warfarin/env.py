"""``pkgym/Warfarin-v0`` and ``pkgym/WarfarinPGx-v0``: warfarin initiation and maintenance."""

from __future__ import annotations

import os
from typing import Any

from gymnasium.vector import AutoresetMode

from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.envs.warfarin.clinic import ClinicObservation, WarfarinScenario, resolve_scenario
from pkgym.envs.warfarin.core import WarfarinCore
from pkgym.envs.warfarin.records import clinic_settings
from pkgym.populations import Population

ENV_ID = "pkgym/Warfarin-v0"
PGX_ENV_ID = "pkgym/WarfarinPGx-v0"
ENV_ID_V1 = "pkgym/Warfarin-v1"
PGX_ENV_ID_V1 = "pkgym/WarfarinPGx-v1"
ENV_IDS = {(0, False): ENV_ID, (0, True): PGX_ENV_ID, (1, False): ENV_ID_V1,
           (1, True): PGX_ENV_ID_V1}
"""The env id of each (version, genotype observed)."""


def _core(n: int, scenario: WarfarinScenario | str | os.PathLike | None,
          population: Population | None, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None, genotype_guided: bool,
          choose_test_days: bool, version: int) -> WarfarinCore:
    resolved = resolve_scenario(scenario, ENV_IDS[version, genotype_guided])
    settings = clinic_settings(resolved, population, genotype_guided, choose_test_days)
    return WarfarinCore(n, settings, reward_fn or resolved.reward,
                        observation_model or ClinicObservation())


class WarfarinEnv(DosingEnv):
    """Start warfarin in one outpatient and keep the INR in range, one day at a time.

    ## Description
    A patient with atrial fibrillation or venous thromboembolism starts oral warfarin. Each
    morning the policy picks the day's dose. The goal is an INR of 2-3 (ACCP 2012, Holbrook
    et al., Chest 141:e152S) as much of the time as possible: above 4 the risk of major
    bleeding climbs, below 1.5 the risk of stroke and embolism. The INR is seen only on
    clinic days, with assay error, a week or more apart once stable.

    ## Model
    Hamberg et al. 2010 (Clin Pharmacol Ther 87:727; :mod:`pkgym.models.warfarin`): S-warfarin
    (half the racemic dose) absorbed at ka = 2/h into one compartment, CL = sum of CYP2C9
    allele clearances x (1 - 0.00571 (age - 71)) e^eta, V = 14.3 e^eta L; an Emax (Hill 1.15)
    effect with EC50 by VKORC1 genotype inhibits two 3-compartment transit chains (MTT 28.6 h
    and 118.3 h); INR = 1 + 20 (1 - mean of the chain ends). ``scenario.model="hamberg2007"``
    switches to the 2007 two-compartment model. Solved exactly except the effect integral
    (Gauss-Legendre, error < 1e-7 INR vs ``solve_ivp``; :mod:`pkgym.models.warfarin_kernel`).
    Major bleeding and thromboembolism occur with daily hazards by INR band (Oake et al. 2008
    CMAJ 179:235 relative risks, RE-LY warfarin-arm rates; :class:`EventHazards`).

    ## Population
    US anticoagulation-clinic patients (Ravvaz et al. 2017 demographics, ``us_clinic``,
    default) or an IWPC-like multi-ethnic mix (``iwpc``): age, sex, height, weight, race,
    CYP2C9 and VKORC1 genotypes by ancestry (1000 Genomes frequencies), amiodarone and
    enzyme-inducer use (:mod:`pkgym.populations.warfarin`). Pin a patient with
    ``reset(options={"patient": row})``, ``row`` holding ``age_years``, ``is_female``,
    ``weight_kg``, ``height_cm``, ``race``, ``cyp2c9``, ``vkorc1``, ``amiodarone``,
    ``enzyme_inducer`` and optionally ``eta_CL``, ``eta_V``, ``eta_EC50``, ``id`` (etas not
    given are drawn from the slot's patient stream, as for a new patient: all 0 gives the
    typical patient; a given eta must be finite and within 10 SD of the model's omega).
    Amiodarone and enzyme inducers are observed, as the IWPC algorithms use them, but
    Hamberg's models have no term for them: they do not change the simulated patient.

    ## Action Space
    ``Discrete(31)``: level k gives 0.5 k mg (0-15 mg) today. ``continuous=True``:
    ``Box(-1, 1, (1,))``, dose ``(a + 1) / 2 * 15`` mg. ``choose_test_days=True``:
    ``MultiDiscrete([31, 28])``, the dose level and, read on mornings with an INR test only,
    the days until the next test minus 1 (1-28 days); each test costs ``reward.test_cost``.
    In that mode ``days_to_next_inr`` on a test morning shows the clinic's default schedule
    until the policy's choice replaces it.

    ## Observation Space
    A ``Dict`` of float32 arrays, what the clinic knows:

    | key | shape | unit |
    |---|---|---|
    | ``covariates`` | (10,) | age (y), female, weight (kg), height (cm), race one-hot |
    | | | (white, asian, black, other), amiodarone, enzyme inducer (0/1) |
    | ``genotype`` | (9,) | ``WarfarinPGx-v0`` only: CYP2C9 one-hot (*1/*1 ... *3/*3), |
    | | | then VKORC1 -1639 one-hot (G/G, G/A, A/A) |
    | ``doses_mg`` | (n_days,) | dose given each day, 0 for days to come |
    | ``inr_days`` | (n_days,) | day of the k-th measured INR |
    | ``inr_values`` | (n_days,) | the k-th measured INR (1 decimal) |
    | ``inr_mask`` | (n_days,) | 1 where the k-th INR has been measured |
    | ``day`` | (1,) | today (0 = first day) |
    | ``days_since_last_inr`` | (1,) | 0 on a test morning |
    | ``days_to_next_inr`` | (1,) | days to the next scheduled test |

    Default schedule: baseline INR on day 0, then days 3, 5, 8, 11, 14, weekly, every 2 and
    then 4 weeks after 2 and 3 in-range results (:class:`MonitoringSchedule`). Assay error:
    log-normal, SD 0.20 of log (Hamberg 2010's INR residual error).

    ## Reward
    Each day, from the next morning's true INR: +1 in range, -1 per INR unit outside, -3 if
    above 4, -1 if below 1.5, -50 per bleed or thromboembolism, -0.1 per INR test
    (:class:`InrRangeReward`; every weight is a named field).

    ## Starting State
    A warfarin-naive patient (INR 1) on the morning of day 0, baseline INR measured.

    ## Episode End
    Truncated after ``n_days`` (90) days. Never terminated: an event is penalised and
    therapy goes on.

    ## Arguments
    ``scenario`` (a :class:`WarfarinScenario`, a YAML path or ``None``), ``population``,
    ``reward_fn``, ``observation_model`` (injected strategies), ``genotype_guided``,
    ``choose_test_days``, ``continuous``, ``render_mode`` (``"ansi"``, ``"rgb_array"``).
    ``info`` holds the true INR every day, S-warfarin, events, whether in range, and the
    patient's true parameters and state.

    ## Version History
    * v1 (``pkgym/Warfarin-v1``, :class:`WarfarinV1Env`): patients answer to real data. The
      default model is ``hamberg2010_iwpc``, Hamberg 2010 calibrated to the IWPC 2009
      stable doses (:mod:`pkgym.models.warfarin_calibrated`: EC50 level, *2/*3 clearance,
      age effect, race EC50 factors, amiodarone and enzyme-inducer CL factors, smaller
      between-subject variances; validated on held-out IWPC patients by ``pkgym validate
      warfarin``), so amiodarone, enzyme inducers and race now change the patient. Scenario
      defaults come from :class:`~pkgym.envs.warfarin.clinic.WarfarinScenarioV1`; the
      outcomes add ``ttr_daily_inr`` (share of days 1 .. n_days - 1 with the true morning
      INR in range, as reil and Ravvaz 2017 report). Spaces, reward, clinic unchanged. The
      population ``iwpc_2009`` (covariates estimated from IWPC) is available to both.
    * v0: initial version (Hamberg 2010 as published, patients never compared with data).
    """

    version = 0
    """The env's version (selects the scenario defaults)."""

    def __init__(self, scenario: WarfarinScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None,
                 genotype_guided: bool = False, choose_test_days: bool = False,
                 continuous: bool = False, render_mode: str | None = None) -> None:
        """Build the clinic from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, population, reward_fn, observation_model,
                               genotype_guided, choose_test_days, self.version),
                         continuous=continuous, render_mode=render_mode)


class WarfarinVectorEnv(DosingVectorEnv):
    """``num_envs`` warfarin patients stepped in one call (see :class:`WarfarinEnv`)."""

    version = 0
    """The env's version (selects the scenario defaults)."""

    def __init__(self, num_envs: int = 1,
                 scenario: WarfarinScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None,
                 genotype_guided: bool = False, choose_test_days: bool = False,
                 continuous: bool = False, render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` patients of the same clinic."""
        super().__init__(_core(num_envs, scenario, population, reward_fn, observation_model,
                               genotype_guided, choose_test_days, self.version),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)


class WarfarinPGxEnv(WarfarinEnv):
    """:class:`WarfarinEnv` with the patient's CYP2C9 and VKORC1 genotype observed."""

    def __init__(self, scenario: WarfarinScenario | str | os.PathLike | None = None,
                 **kwargs: Any) -> None:
        """As :class:`WarfarinEnv` with ``genotype_guided=True``."""
        super().__init__(scenario, genotype_guided=True, **kwargs)


class WarfarinPGxVectorEnv(WarfarinVectorEnv):
    """:class:`WarfarinVectorEnv` with the patients' genotypes observed."""

    def __init__(self, num_envs: int = 1,
                 scenario: WarfarinScenario | str | os.PathLike | None = None,
                 **kwargs: Any) -> None:
        """As :class:`WarfarinVectorEnv` with ``genotype_guided=True``."""
        super().__init__(num_envs, scenario, genotype_guided=True, **kwargs)


class WarfarinV1Env(WarfarinEnv):
    """``pkgym/Warfarin-v1``: :class:`WarfarinEnv` with IWPC-calibrated patients (v1 history)."""

    version = 1


class WarfarinV1VectorEnv(WarfarinVectorEnv):
    """``pkgym/Warfarin-v1``, batched (see :class:`WarfarinV1Env`)."""

    version = 1


class WarfarinPGxV1Env(WarfarinPGxEnv):
    """``pkgym/WarfarinPGx-v1``: :class:`WarfarinPGxEnv` with IWPC-calibrated patients."""

    version = 1


class WarfarinPGxV1VectorEnv(WarfarinPGxVectorEnv):
    """``pkgym/WarfarinPGx-v1``, batched (see :class:`WarfarinPGxV1Env`)."""

    version = 1
