"""``pkgym/Mycophenolate-v0``: mycophenolate mofetil after kidney transplantation, by visit."""

from __future__ import annotations

import os

from pkgym.envs.base import ObservationModel, RewardFn, ScenarioEnv, ScenarioVectorEnv
from pkgym.envs.mycophenolate.clinic import (
    ClinicObservation,
    MycophenolateScenario,
    resolve_scenario,
)
from pkgym.envs.mycophenolate.core import MycophenolateCore
from pkgym.envs.mycophenolate.records import clinic_settings

ENV_ID = "pkgym/Mycophenolate-v0"


def _core(n: int, scenario: MycophenolateScenario | str | os.PathLike | None,
          reward_fn: RewardFn | None,
          observation_model: ObservationModel | None) -> MycophenolateCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return MycophenolateCore(n, clinic_settings(resolved), reward_fn or resolved.reward,
                             observation_model or ClinicObservation())


class MycophenolateEnv(ScenarioEnv):
    """Dose MMF to one kidney-transplant recipient over the first month, visit by visit.

    ## Description
    An adult receives a kidney transplant and starts mycophenolate mofetil (MMF) twice daily
    (08:00 and 20:00) with tacrolimus or ciclosporin. At each clinic visit (days 0, 3, 7, 10,
    14 and 21; consensus of Kuypers D et al. 2010, Clin J Am Soc Nephrol 5:341: days 3, 7 and
    10-14) the policy picks the MMF dose per administration until the next visit; the episode
    ends on day 28. Exposure is to be kept at a total MPA AUC0-12 of 30-60 mg*h/L (same
    consensus) while albumin and renal function recover after the transplant, which lowers
    MPA clearance: the same dose gives more exposure each week.

    ## Model
    de Winter BCM et al. 2009, J Pharmacokinet Pharmacodyn 36:541 (Table 2 via nlmixr2lib):
    MPA with albumin binding competed for by its glucuronide MPAG, enterohepatic
    recirculation through a gallbladder that empties 7.9 h after each dose (abolished by
    ciclosporin: k57 x 0.002), CrCL on the renal clearance of MPAG and albumin on the binding
    capacity (:mod:`pkgym.models.mycophenolate`: the published 7-state ODE, compiled).
    Albumin and CrCL recover after transplant along per-patient trajectories towards the
    cohort means of van Hest RM et al. 2007, Br J Clin Pharmacol 63:741 (our combination;
    :mod:`pkgym.populations.mycophenolate`). The day's covariates set the day's parameters.

    ## Population
    Adult de novo kidney-transplant recipients (:mod:`pkgym.populations.mycophenolate`:
    covariate distributions, the tacrolimus/ciclosporin mix and the between-subject
    variability of de Winter 2009). Pin a patient with ``reset(options={"patient": row})``,
    ``row`` holding the population's fields (the cohort schema,
    :data:`pkgym.envs.mycophenolate.records.COHORT_SCHEMA`) and optionally the etas
    ``eta_tlag``, ``eta_vc``, ``eta_cl``, ``eta_bmax``, ``eta_clm``, ``eta_tgb``,
    ``eta_k57`` and ``id`` (etas not given are drawn from the slot's patient stream).

    ## Action Space
    ``Discrete(8)``: MMF 250, 500, ..., 2000 mg per administration (twice daily).
    ``continuous=True``: ``Box(-1, 1, (1,))``, dose ``(a + 1) / 2 * 2000`` mg.

    ## Observation Space
    A ``Dict`` of float32 arrays (visit k; 5 sampled visits of 3 samples each):

    | key | shape | unit |
    |---|---|---|
    | ``covariates`` | (4,) | weight (kg), age (y), female (0/1), ciclosporin (0/1) |
    | ``albumin_g_per_l`` | (6,) | albumin measured at each visit, 0 until then |
    | ``creatinine_clearance_ml_per_min`` | (6,) | CrCL (Cockcroft-Gault) at each visit |
    | ``doses_mg`` | (56,) | MMF of each administration (12 h apart), 0 until given |
    | ``level_times_h`` | (15,) | actual sample times, h since the first dose |
    | ``levels_mg_per_l`` | (15,) | measured total MPA (HPLC 7% CV; 0 below LOQ 0.25 mg/L) |
    | ``level_mask`` | (15,) | 1 where a sample has been taken |
    | ``day`` | (1,) | day of this visit (28 at the end) |
    | ``time_h`` | (1,) | time the decided dose starts, h (0, else 24 day + 12) |

    Sampling at each visit after day 0 (:class:`~pkgym.envs.mycophenolate.clinic.
    SamplingPlan`): C0 drawn uniformly 0-30 min before the morning dose, C0.5 and C2 after it
    with a normal time error (SD 10 min, clipped at +-15 min): our assumption of ward
    practice; the actual times are observed. The morning dose of a visit day is the current
    dose; the new dose starts with the evening dose.

    ## Reward
    Per step, over the days it completed (each day weighted 1/28): 1 per day whose true
    AUC0-12 (mean of the day's two 12-h AUCs) lies in 30-60 mg*h/L, minus 1 x the day's
    acute-rejection probability (a logistic in log AUC that we fit to the arms of van Gelder
    et al. 1999, Transplantation 68:261: 26.6/16.8/10.6% at 16.1/32.2/60.6 mg*h/L against
    the observed 27.5/14.9/11.5%), minus 0.5 per day whose AUC0-12 exceeds 60 mg*h/L (the
    consensus upper bound; toxicity above it: Kiang & Ensom 2019, Clin Pharmacokinet)
    (:class:`TransplantReward`; named fields).

    ## Starting State
    Day 0 before the first dose: drug-free, albumin and CrCL measured.

    ## Episode End
    Truncated after the last visit's decision has run to day 28 (6 steps); never terminated.

    ## Arguments
    ``scenario`` (a :class:`MycophenolateScenario`, a YAML path or ``None``), ``reward_fn``,
    ``observation_model`` (injected strategies), ``continuous``, ``render_mode``
    (``"ansi"`` or ``"rgb_array"``). ``info`` carries the true daily AUC0-12 and troughs,
    the last day's AUC0-12 and trough, the step's days in target, rejection probability and
    toxic days, the true covariates and model parameters of the day (de Winter's 15
    columns), the etas and the patient id. For an exact planner (the ``oracle`` baseline)
    it also holds the hidden truth at the decision: ``visit``, ``day``,
    ``next_administration`` (index of the administration the decided dose starts with,
    12 h apart from day 0 08:00), the true model state then, umol, one key per state
    (``state_depot_umol``, ``state_central_mpa_umol``, ``state_peripheral_mpa_umol``,
    ``state_bound_mpa_umol``, ``state_central_mpag_umol``, ``state_bound_mpag_umol``,
    ``state_gallbladder_mpag_umol``), the patient's covariate trajectory ``patient_<field>``
    (``albumin_g_per_l`` and ``creatinine_clearance_ml_per_min`` on day 0, their ``*_late``
    values, ``albumin_recovery_days``, ``crcl_recovery_days``, ``ciclosporin``,
    ``weight_kg``, ``age_years``, ``female``) and ``interval_auc_mg_h_per_l``, the true AUC
    of every 12-h interval so far (2 x 28). The canonical history (12-h dose slots) and
    the hourly exposure course (:data:`~pkgym.envs.mycophenolate.views.HISTORY`,
    :data:`~pkgym.envs.mycophenolate.views.EXPOSURE`) are named in the registry entry.

    ## Version History
    * v0: initial version.
    """

    make_core = staticmethod(_core)


class MycophenolateVectorEnv(ScenarioVectorEnv):
    """``num_envs`` recipients stepped in one batched call (see :class:`MycophenolateEnv`)."""

    make_core = staticmethod(_core)
