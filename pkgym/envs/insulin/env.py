"""``pkgym/Insulin-v0``: insulin pump dosing in type 1 diabetes, every 5 minutes."""

from __future__ import annotations

import os

from pkgym.envs.base import ObservationModel, RewardFn, ScenarioEnv, ScenarioVectorEnv
from pkgym.envs.insulin.clinic import ClinicObservation, InsulinScenario, resolve_scenario
from pkgym.envs.insulin.core import InsulinCore
from pkgym.envs.insulin.records import clinic_settings

ENV_ID = "pkgym/Insulin-v0"


def _core(n: int, scenario: InsulinScenario | str | os.PathLike | None,
          reward_fn: RewardFn | None, observation_model: ObservationModel | None) -> InsulinCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return InsulinCore(n, clinic_settings(resolved), reward_fn or resolved.reward,
                       observation_model or ClinicObservation())


class InsulinEnv(ScenarioEnv):
    """Dose insulin through a pump for one person with type 1 diabetes, 5 minutes a step.

    ## Description
    A person with type 1 diabetes wears a CGM and an insulin pump. Every 5 minutes (one
    CGM sample) the policy chooses how much insulin the pump delivers over the next 5
    minutes: basal and bolus are one number, a bolus being a large amount in one step. The
    day starts at 06:00 (``start_hour``) and brings simglucose's random meals (breakfast,
    lunch, dinner with probability 0.95, three snacks with 0.3; times and amounts of
    simglucose 0.2.11 ``simulation/scenario_gen.py``); with ``announce_meals`` (default)
    each meal's carbohydrate is announced in the step it starts, as a patient enters it in
    the pump's bolus calculator; otherwise meals are never shown. The goal is glucose in
    70-180 mg/dL without hypoglycaemia. ``decision: meals`` (deciding only at meals with the
    basal in between) is not implemented.

    ## Model
    Default truth ``model: uva_padova``: the UVA/Padova T1D simulator (Dalla Man et al. 2007,
    IEEE TBME 54:1740 and JDST 1:323; Kovatchev et al. 2009, JDST 3:44) in simglucose 0.2.11's
    form, per-minute RK4 (:mod:`pkgym.models.glucose_uva_padova`), meals eaten at 5 g/min
    with simglucose's meal memory. Second truth ``model: hovorka2004``: Hovorka et al. 2004
    (Physiol Meas 25:905; :mod:`pkgym.models.glucose_hovorka`). CGM: Breton & Kovatchev 2008
    error model with simglucose's GuardianRT parameters (5-min samples, clipped 39-600
    mg/dL; :mod:`pkgym.models.glucose_sensor`) on subcutaneous glucose (UVA/Padova) or
    plasma glucose (Hovorka, which has no interstitial compartment). Pump: simglucose's
    Insulet limits; a requested amount runs as a temporary basal rate (0.05 U/h steps, at
    most 30 U/h) and any excess as a bolus (0.05 U steps, at most 30 U), delivered as a
    constant rate over the step (U/min = U / 5).

    ## Population
    UVA/Padova: simglucose's 30 published patients (adolescent, adult and child #001-#010).
    A patient row is ``(profile, patient_seed, meal_seed, noise_seed)``
    (:data:`~pkgym.envs.insulin.records.COHORT_SCHEMA`); cohorts cycle through the 30
    profiles in a seeded order, so 500 held-out rows are 500 distinct (profile, day of meals,
    CGM noise) combinations of only 30 physiologies: honest generalisation across
    physiologies needs a hold-out by profile. A drawn patient takes a uniform profile.
    Hovorka: a patient drawn from :func:`~pkgym.models.glucose_hovorka.hovorka_population`
    with ``patient_seed``; a draw without a basal insulin for the fasting glucose 126 mg/dL
    (``hovorka_basal_glucose_mg_per_dl``) is rejected and the next child of the same seed
    taken. Its pump settings: that basal rounded to the pump's 0.05 U/h steps (the patient
    starts at the steady state of the rounded rate), TDI = 2 x basal, CR = 500 / TDI,
    CF = 1800 / TDI (rules of thumb; ours), age 40 years (ours). Pin with
    ``reset(options={"patient": row})``.

    ## Action Space
    ``Discrete(11)``: 0, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3, 5, 8 U over the next 5 min.
    The low levels bracket basal rates (0.3-1.2 U/h in 5 min: 0.025-0.1 U, 0 suspends), the
    high ones roughly double up to a meal bolus (a 70 g lunch at CR 10 g/U is 7 U); spacing
    is geometric so that both matter. ``continuous=True``: ``Box(-1, 1, (1,))``, insulin
    ``(a + 1) / 2 * 8`` U. Both are quantised by the pump.

    ## Observation Space
    A ``Dict`` of float32 arrays:

    | key | shape | unit |
    |---|---|---|
    | ``cgm_mg_per_dl`` | (24,) | last 24 CGM readings (2 h), oldest first, 0 before start |
    | ``cgm_mask`` | (24,) | 1 where a reading exists |
    | ``insulin_on_board_u`` | (1,) | U, all delivered insulin on a linear 4-h curve |
    | ``announced_carbs_g`` | (1,) | carbs of meals starting in this step, g |
    | ``time_of_day_h`` | (1,) | clock time, h |
    | ``pump_settings`` | (5,) | basal U/h, CR g/U, CF mg/dL/U, weight kg, age years |

    Insulin on board counts every unit delivered (basal included; before the start the
    basal rate) with weight ``1 - (age at mid-step) / 4 h`` (a linear action curve, e.g.
    Walsh & Roberts, Pumping Insulin); at steady basal it is basal x 2 h.

    ## Reward
    Per step, minus the mean over its 5 minutes of Kovatchev's risk of the TRUE plasma
    glucose, its low side weighted by ``hypo_weight`` (2): ``-(2 rl + rh)`` with ``f = 1.509
    (ln BG^1.084 - 5.381)``, ``r = 10 f^2`` (Kovatchev 1997; with weight 1 the Magni 2007 risk
    index, simglucose's risk); on termination minus ``termination_penalty`` (100) per step
    the episode still had (:class:`~pkgym.envs.insulin.clinic.RiskReward`).

    ## Starting State
    06:00, the patient at the steady state of its basal rate (UVA/Padova: simglucose's
    initial state; Hovorka: its fasting steady state), one CGM reading taken.

    ## Episode End
    Terminated when true plasma glucose leaves [10, 600] mg/dL in any minute (simglucose's
    rule); truncated after ``n_days`` x 288 steps (default 1 day).

    ## Arguments
    ``scenario`` (an :class:`~pkgym.envs.insulin.clinic.InsulinScenario`, a YAML path or
    ``None``), ``reward_fn``, ``observation_model``, ``continuous``, ``render_mode``.
    ``info`` holds the step's true BG (``bg_mg_per_dl``), CGM, insulin delivered and carbs
    eaten, ``cost`` (1 if true BG < 70 mg/dL in any minute of the step: the safety channel
    for constrained RL), the episode's metrics over every minute so far
    (``time_in_range_fraction`` 70-180, ``time_below_70_fraction``, ``time_below_54_fraction``,
    ``time_above_180_fraction``, ``time_above_250_fraction``, ``lbgi``, ``hbgi``,
    ``risk_index``, ``cv``, ``mean_bg_mg_per_dl``), and the hidden truth for the oracle
    (``model_state``, ``model_params``, ``meal_memory``, ``pending_carbs_g``, every meal in
    ``meal_minutes``/``meal_grams``) and the row (profile index, seeds, id).

    ## Version History
    * v0: initial version.
    """

    make_core = staticmethod(_core)


class InsulinVectorEnv(ScenarioVectorEnv):
    """``num_envs`` patients stepped in one batched call (see :class:`InsulinEnv`)."""

    make_core = staticmethod(_core)
