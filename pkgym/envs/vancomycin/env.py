"""``pkgym/Vancomycin-v0``: AUC-guided vancomycin dosing in hospitalised adults."""

from __future__ import annotations

import os
from typing import Any

from gymnasium.vector import AutoresetMode

from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.envs.vancomycin.clinic import VancomycinScenario, WardObservation, resolve_scenario
from pkgym.envs.vancomycin.core import VancomycinCore
from pkgym.envs.vancomycin.records import ward_settings
from pkgym.populations import Population

ENV_ID = "pkgym/Vancomycin-v0"


def _core(n: int, scenario: Any, population: Population | None, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None, backend: str,
          device: str | None) -> VancomycinCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return VancomycinCore(n, ward_settings(resolved, population), reward_fn or resolved.reward,
                          observation_model or WardObservation(), backend=backend,
                          device=device)


class VancomycinEnv(DosingEnv):
    """Dose intravenous vancomycin to one hospitalised adult, one dosing interval at a time.

    ## Description
    A patient with a serious MRSA infection starts vancomycin. At each decision point (the
    start of a dosing interval, 12 h by default) the policy picks the dose infused over the
    next hour or more. The goal is the 2020 ASHP/IDSA/PIDS/SIDP target, an AUC24/MIC of
    400-600 mg*h/L (Rybak et al., Am J Health Syst Pharm 2020;77:835), without kidney injury.
    Renal function drifts and worsens with exposure, so the dose must follow the patient.

    ## Model
    Two-compartment popPK of Goti et al. 2018 (Ther Drug Monit 40:212), solved exactly:
    CL = 4.5 (CrCL/120)^0.8 0.7^DIAL e^eta L/h, V1 = 58.4 WT/70 0.5^DIAL e^eta L,
    Q = 6.5 L/h, V2 = 38.4 e^eta L (:mod:`pkgym.models.vancomycin`). Another truth is one
    scenario field away: ``model: thomson2009`` (Thomson et al. 2009, J Antimicrob Chemother
    63:1050: CL = 2.99 (1 + 0.0154 (CrCL - 66)) L/h, V1 = 0.675 L/kg, Q = 2.28 L/h,
    V2 = 0.732 L/kg; :mod:`pkgym.models.vancomycin_thomson2009`) or ``model: colin2019``
    (Colin et al. 2019, Clin Pharmacokinet 58:767, pooled: CL from size, age and serum
    creatinine, not CrCL; :mod:`pkgym.models.vancomycin_colin2019`), and the MAP baseline can
    believe another model than the truth (``map:prior=NAME``). Each day the true AUC24
    sets an AKI hazard h0 e^(0.37 (AUC24 - 500)/100) (calibrated to Zasowski 2018 and Chavada
    2017); an AKI raises creatinine 1.5-3x (KDIGO), lowering CrCL and so CL; creatinine also
    drifts with a 5-6% day-to-day CV (:mod:`pkgym.models.kidney`).

    ## Population
    Adult inpatients with Goti 2018 Table 1 marginals (``adult_inpatients``, default) or a
    renal-impairment cohort (``renal_impairment``): :mod:`pkgym.populations.vancomycin`.
    Pin a patient with ``reset(options={"patient": row})``, ``row`` holding ``age_years``,
    ``is_female``, ``weight_kg``, ``height_cm``, ``on_dialysis``,
    ``serum_creatinine_mg_per_dl`` and optionally ``eta_CL``, ``eta_V1``, ``eta_V2``, ``id``
    (a given eta must be finite and within 10 SD of the model's omega; etas not given are
    drawn from the slot's patient stream, so give every eta as 0 for the typical patient).

    ## Action Space
    ``Discrete(13)``: dose level k gives 250 k mg (0-3000 mg), infused at no more than
    1000 mg/h and over at least 1 h. With ``continuous=True``: ``Box(-1, 1, (1,))``, the dose
    being ``(a + 1) / 2 * 3000`` mg.

    ## Observation Space
    A ``Dict`` of float32 arrays, only what the ward knows:

    | key | shape | unit |
    |---|---|---|
    | ``covariates`` | (5,) | age (y), female (0/1), weight (kg), height (cm), dialysis (0/1) |
    | ``creatinine_mg_per_dl`` | (n_days,) | morning serum creatinine, 0 until measured |
    | ``creatinine_clearance_ml_per_min`` | (n_days,) | Cockcroft-Gault from it (Goti) |
    | ``doses_mg`` | (n_steps,) | dose given at each step, 0 for steps to come |
    | ``level_times_h`` | (n_levels,) | times of measured levels |
    | ``levels_mg_per_l`` | (n_levels,) | measured levels (Goti residual error 22.7% + 3.4) |
    | ``level_mask`` | (n_levels,) | 1 where a level has been measured |
    | ``time_h`` | (1,) | time since the first dose |

    Values are clipped to the space's bounds (age 120 y, weight 300 kg, creatinine 40 mg/dL,
    levels 500 mg/L), which lie beyond what the model produces in practice.

    Default sampling: a trough 30 min before the 4th dose and a peak 1 h after its infusion
    (``sampling="daily_troughs"`` for a trough before every morning dose).

    ## Reward
    Per interval, from the true AUC over the last 24 h: ``in_range_bonus`` (1) if AUC24/MIC
    is in 400-600, minus ``penalty_per_100_outside`` (1) per 100 mg*h/L outside, minus
    ``aki_penalty`` (10) on the step an AKI starts (:class:`AucTargetReward`).

    ## Starting State
    A drug-free patient at time 0 with a morning creatinine; the first dose may be a loading
    dose.

    ## Episode End
    Truncated after ``n_steps`` decisions (14: 7 days of q12h). Never terminated: an AKI
    does not end therapy (the dose is adjusted), so no early end is justified.

    ## Arguments
    ``scenario`` (a :class:`VancomycinScenario`, a YAML path or ``None``), ``population``,
    ``reward_fn``, ``observation_model`` (injected strategies), ``continuous``,
    ``render_mode`` (``"ansi"`` or ``"rgb_array"``), ``backend`` (``"numpy"``, the default,
    or ``"torch"``: the PK interval of all patients as one float64 tensor computation, equal
    to the default to 1e-10) and ``device`` (the torch device; ``None`` picks ``"cuda"``
    when available, else ``"cpu"``). ``info`` carries the true AUC24, CL and volumes,
    creatinine, AKI flags and whether AUC24 was in range.

    ## Version History
    * v0: initial version. Later, without changing v0's default behaviour: the scenario names
      its truth (``model``: ``goti2018`` default, ``thomson2009``, ``colin2019``).
    """

    def __init__(self, scenario: VancomycinScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None, backend: str = "numpy",
                 device: str | None = None) -> None:
        """Build the ward from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, population, reward_fn, observation_model, backend,
                               device),
                         continuous=continuous, render_mode=render_mode)


class VancomycinVectorEnv(DosingVectorEnv):
    """``num_envs`` vancomycin patients stepped in one batched call (see :class:`VancomycinEnv`)."""

    def __init__(self, num_envs: int = 1,
                 scenario: VancomycinScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 backend: str = "numpy", device: str | None = None) -> None:
        """Build ``num_envs`` patients of the same ward (``backend`` as in the env card)."""
        super().__init__(_core(num_envs, scenario, population, reward_fn, observation_model,
                               backend, device),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
