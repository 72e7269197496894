"""``pkgym/Heparin-v0``: unfractionated heparin titrated to the aPTT, every 6 hours."""

from __future__ import annotations

import os

from pkgym.envs.base import ObservationModel, RewardFn, ScenarioEnv, ScenarioVectorEnv
from pkgym.envs.heparin.clinic import ClinicObservation, HeparinScenario, resolve_scenario
from pkgym.envs.heparin.core import HeparinCore
from pkgym.envs.heparin.records import clinic_settings

ENV_ID = "pkgym/Heparin-v0"


def _core(n: int, scenario: HeparinScenario | str | os.PathLike | None,
          reward_fn: RewardFn | None, observation_model: ObservationModel | None) -> HeparinCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return HeparinCore(n, clinic_settings(resolved), reward_fn or resolved.reward,
                       observation_model or ClinicObservation())


class HeparinEnv(ScenarioEnv):
    """Titrate an unfractionated heparin infusion to the aPTT for one adult, 6 h a step.

    ## Description
    An adult with venous thromboembolism (or an ICU patient) starts intravenous unfractionated
    heparin (UFH). At time 0 and after every aPTT, drawn every 6 h (Raschke et al. 1993 re-check
    6 h after every change; here a fixed 6-hourly schedule, ``interval_h``), the policy chooses
    a bolus (or a 1-h hold of the infusion) and the infusion rate until the next aPTT. The goal
    is an aPTT in 60-100 s (Nemati et al. 2016, IEEE EMBC) as early and as steadily as
    possible: below it in the first 24 h recurrent thrombosis is likelier (Hull et al. 1986),
    above it bleeding. ``target: control_ratio`` targets 1.5-2.5 x the control aPTT instead.

    ## Model
    :mod:`pkgym.models.heparin_alsallami2016`: one compartment with linear elimination, CL on
    fat-free mass and V on weight (Al-Sallami et al. 2016, Br J Clin Pharmacol 82:178, Table
    2, with its between-subject variability), aPTT linear in the heparin level from the
    patient's own control aPTT (Table 3's form and slope variability; the adult typical slope
    0.10 s per IU/L is ours, mapping 0.3-0.7 IU/mL onto 60-100 s). Solved exactly (bolus, hold,
    zero-order infusion). Measured aPTT: 10 % proportional error, reported within 10-200 s.

    ## Population
    :data:`~pkgym.envs.heparin.records.HEPARIN_POPULATION`: sex 50/50, NHANES height and
    weight by sex, age 60 +/- 16 y, control aPTT median 30 s (CV 10 %); etas on CL, V, SLOPE.
    Pin with ``reset(options={"patient": row})`` (:data:`~.records.COHORT_SCHEMA` columns, and
    optionally ``eta_CL``, ``eta_V``, ``eta_SLOPE``, ``id``).

    ## Action Space
    ``Discrete(4 x 41 = 164)``: action ``a`` is start option ``a // 41`` and rate ``a % 41``
    U/kg/h (0, 1, ..., 40). Start options: 0 no bolus, 1 bolus 40 U/kg, 2 bolus 80 U/kg (the
    boluses of Raschke's nomogram), 3 hold the infusion for 1 h first (Raschke's step for
    aPTT > 90 s). E.g. Raschke's start, 80 U/kg and 18 U/kg/h, is ``2 * 41 + 18 = 100``.
    ``continuous=True``: ``Box(-1, 1, (3,))``: bolus ``(a0 + 1) / 2 * 80`` U/kg, hold
    ``(a1 + 1) / 2 * 2`` h, rate ``(a2 + 1) / 2 * 40`` U/kg/h.

    ## Observation Space
    A ``Dict`` of float32 arrays (n = 12 decisions by default):

    | key | shape | unit |
    |---|---|---|
    | ``aptt_s`` | (n+1,) | measured aPTT at hours 0, 6, ...; 0 not yet (hour 0: control) |
    | ``aptt_mask`` | (n+1,) | 1 where measured |
    | ``bolus_u_per_kg``, ``hold_h``, ``rate_u_per_kg_per_h`` | (n,) | decisions so far |
    | ``current_rate_u_per_kg_per_h`` | (1,) | U/kg/h |
    | ``hours_since_start`` | (1,) | h |
    | ``patient`` | (5,) | weight kg, height cm, age years, is_female, control aPTT s |
    | ``target_aptt_s`` | (2,) | the range, s |

    ## Reward
    Per interval, from the TRUE aPTT at 24 midpoints between measurements
    (:class:`~pkgym.envs.heparin.clinic.HeparinReward`): ``range_weight (2 TIR - 1)`` (Nemati's
    +1/-1) ``- bleeding_weight mean(max(0, aPTT/upper - 1))`` (ours) ``- thrombosis_weight``
    x Hull's excess recurrence 0.229 x the interval's share of the first 24 h below 1.5 x
    control. Weights 1, 1, 10.

    ## Starting State
    Hour 0, no heparin, the control aPTT measured.

    ## Episode End
    Never terminated; truncated after ``horizon_h`` (72 h: 12 decisions).

    ## Arguments
    ``scenario`` (a :class:`~pkgym.envs.heparin.clinic.HeparinScenario`, a YAML path or
    ``None``), ``reward_fn``, ``observation_model``, ``continuous``, ``render_mode``. ``info``
    holds the true aPTT (``aptt_s``) and heparin level (``concentration_iu_per_ml``), the
    measured aPTT, ``in_range``, the dose given (``dose_u``) and rate, the episode's metrics
    (``time_in_range_fraction``, below/above, ``hours_to_first_therapeutic_aptt``,
    ``subtherapeutic_at_24h``, ``thrombosis_excess_risk``, ``bleeding_index``,
    ``cumulative_dose_u_per_kg``) and the hidden truth (``model_params``, ``etas``,
    ``amount_iu``).

    ## Version History
    * v0: initial version.
    """

    make_core = staticmethod(_core)


class HeparinVectorEnv(ScenarioVectorEnv):
    """``num_envs`` patients stepped in one batched call (see :class:`HeparinEnv`)."""

    make_core = staticmethod(_core)
