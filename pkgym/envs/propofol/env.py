"""``pkgym/Propofol-v0``: propofol infusion to a BIS of 40-60, every 10 seconds."""

from __future__ import annotations

import os

from pkgym.envs.base import ObservationModel, RewardFn, ScenarioEnv, ScenarioVectorEnv
from pkgym.envs.propofol.clinic import ClinicObservation, PropofolScenario, resolve_scenario
from pkgym.envs.propofol.core import PropofolCore
from pkgym.envs.propofol.records import clinic_settings

ENV_ID = "pkgym/Propofol-v0"


def _core(n: int, scenario: PropofolScenario | str | os.PathLike | None,
          reward_fn: RewardFn | None, observation_model: ObservationModel | None
          ) -> PropofolCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return PropofolCore(n, clinic_settings(resolved), reward_fn or resolved.reward,
                        observation_model or ClinicObservation())


class PropofolEnv(ScenarioEnv):
    """Induce and maintain general anaesthesia with propofol for one patient, 10 s a step.

    ## Description
    An adult is anaesthetised with a propofol infusion (remifentanil co-administered at a
    constant rate in ``opioid_probability`` of patients, Eleveld's opioid covariate; it only
    changes propofol's PK here). Every 10 s (the interval at which TCI pumps recompute their
    rate, Shafer & Gregg 1992) the policy sets the infusion rate for the next 10 s. A BIS
    monitor shows the hypnotic depth, late and noisy. The goal is a BIS of 40-60: reach it
    quickly (induction), then hold it (maintenance) without going too deep. Surgical
    stimulation is off by default; ``stimulation: realistic`` adds Python_Anesthesia_Simulator's
    BIS disturbance after the standard stimulus profile of Ionescu et al. 2008 (IEEE TBME
    55:2161; 60 min, :data:`~pkgym.envs.propofol.clinic.STIMULATION_PROFILES`) to the BIS.

    ## Model
    Eleveld et al. 2018 (Br J Anaesth 120:942) PK-PD, arterial arm as the truth:
    three compartments and an effect site, solved EXACTLY per step (matrix exponential
    propagator per patient, computed at reset); BIS = 93 (1 - Ce^g / (Ce50^g + Ce^g)), g =
    1.47 below Ce50 and 1.89 above; the monitor shows the BIS of ``15 + exp(0.0517 age)`` s
    earlier plus Eleveld's additive error (SD 8.03 x exp(eta)), clipped to 0-100
    (:mod:`pkgym.models.propofol_eleveld`).

    ## Population
    Adults: 50 % women, age normal (mean ``age_mean_years`` 50, SD 17) truncated to 18-85 y
    (chosen: an adult surgical population), height and weight by sex from NHANES 2015-2018
    means (:class:`~pkgym.populations.body_size.BodySize`), opioid with probability
    ``opioid_probability`` (1); between-subject variability: Eleveld's nine log-normal etas
    (V1, V2, V3, CL, Q2, Q3, ke0, Ce50, BIS error). Pin with ``reset(options={"patient":
    row})`` (covariates, optional ``eta_*`` and ``id``).

    ## Action Space
    ``Discrete(18)``: infusion rates 0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30, 45, 60, 90,
    120, 160 mg/kg/h held for the step. Maintenance is 4-12 mg/kg/h (fine steps); induction
    needs 1.5-2.5 mg/kg within about a minute (2 mg/kg over 60 s is 120 mg/kg/h); 160 mg/kg/h
    is a syringe pump's 1200 mL/h of 1 % propofol for a 75-kg patient, the rate TCI pumps
    induce at. ``continuous=True``: ``Box(-1, 1, (1,))``, rate ``(a + 1) / 2 * 160`` mg/kg/h.

    ## Observation Space
    A ``Dict`` of float32 arrays:

    | key | shape | unit |
    |---|---|---|
    | ``bis`` | (30,) | last 30 monitor BIS samples (5 min), oldest first, 0 before start |
    | ``bis_mask`` | (30,) | 1 where a sample exists |
    | ``rates_mg_per_kg_per_h`` | (30,) | the rates of the 30 steps before each sample |
    | ``covariates`` | (5,) | age y, weight kg, height cm, female 0/1, opioid 0/1 |
    | ``elapsed_min`` | (1,) | minutes since the start |

    ## Reward
    Per step, on the TRUE (undelayed, noise-free) BIS at its end: ``in_range_weight`` (1) if
    40 <= BIS <= 60, minus ``deep_weight`` (1) per 10 BIS below 40, minus ``light_weight`` (1)
    per 10 BIS above 60, minus ``dose_weight`` (0.01) per 10 mg/kg/h of the step's rate
    (:class:`~pkgym.envs.propofol.clinic.BisReward`).

    ## Starting State
    Drug-free (BIS at its baseline 93), one monitor sample taken.

    ## Episode End
    Never terminated; truncated after ``n_minutes`` (30) x 6 steps.

    ## Arguments
    ``scenario`` (a :class:`~pkgym.envs.propofol.clinic.PropofolScenario`, a YAML path or
    ``None``), ``reward_fn``, ``observation_model``, ``continuous``, ``render_mode``.
    ``info`` holds the true BIS (``bis``) and the monitor's (``bis_measured``), true Cp and Ce
    (ug/mL), the step's rate, the stimulation's BIS points (``stimulation_bis``), in-range
    flags (``in_range``, ``too_deep``, ``too_light``), the
    episode's metrics (``time_in_range_fraction``, ``time_below_40_fraction``,
    ``time_above_60_fraction``, ``induction_time_min``, ``total_propofol_mg_per_kg``) and the
    hidden truth (``model_state``, ``pk_params``, ``pd_params``, ``etas``, ``covariates``).

    ## Version History
    * v0: initial version.
    """

    make_core = staticmethod(_core)


class PropofolVectorEnv(ScenarioVectorEnv):
    """``num_envs`` patients stepped in one batched call (see :class:`PropofolEnv`)."""

    make_core = staticmethod(_core)
