"""``pkgym/Chemotherapy-v0``: docetaxel dosing between neutropenia and tumour control."""

from __future__ import annotations

import os

from gymnasium.vector import AutoresetMode

from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario, ClinicLabs, resolve_scenario
from pkgym.envs.chemotherapy.core import ChemotherapyCore
from pkgym.envs.chemotherapy.records import oncology_settings
from pkgym.populations import Population

ENV_ID = "pkgym/Chemotherapy-v0"


def _core(n: int, scenario: ChemotherapyScenario | str | os.PathLike | None,
          population: Population | None, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None, allow_delay: bool) -> ChemotherapyCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return ChemotherapyCore(n, oncology_settings(resolved, population, allow_delay),
                            reward_fn or resolved.reward, observation_model or ClinicLabs())


class ChemotherapyEnv(DosingEnv):
    """Dose docetaxel to one patient with a solid tumour, one 21-day cycle at a time.

    ## Description
    A patient starts docetaxel every three weeks (label dose 75 mg/m2 as a 1-h infusion).
    Before each cycle the policy picks the dose, as a percentage of the label dose, and,
    with ``allow_delay=True``, whether to wait a week first. More drug shrinks the tumour
    more but deepens the neutrophil nadir a week after the dose: grade 4 neutropenia
    (ANC < 0.5 x10^9/L) and febrile neutropenia are the dose-limiting toxicities.

    ## Model
    Docetaxel three-compartment PK (Bruno et al. 1996; CL from BSA, AAG, age and hepatic
    function; :mod:`pkgym.models.docetaxel`) drives the Friberg et al. 2002 neutrophil model
    and a Claret 2009 tumour growth inhibition model (:mod:`pkgym.models.tumour`). The
    scenario's ``model`` names the neutrophil truth (:mod:`pkgym.models.myelosuppression`):

    | ``model`` | drug effect | parameters (source) | nadir 75 / 100 |
    |---|---|---|---|
    | ``kloft2006`` (default) | linear, Slope C | MTT 84 h, Slope 15.6 L/umol, | 0.49 / 0.25 |
    | | | gamma 0.14; sex, AAG (Kloft 2006) | |
    | ``friberg2002_emax`` | Emax C/(EC50+C) | MTT 89 h, Emax 83.9, EC50 7.17 | 1.31 / 0.95 |
    | | | umol/L, gamma 0.16 (Friberg 2002) | |

    (nadir: x10^9/L, typical patient: 1.8 m2, 60 y, AAG 1.34 g/L, man, at 75 and 100 mg/m2).
    Both parameter sets are scenario fields: a MAP policy may believe the one the patients do
    not follow (``map:prior=NAME``). The PK is solved exactly (modes of the three-compartment
    system); the neutrophil and tumour equations are integrated per patient by a compiled
    Dormand-Prince 5(4), rtol 1e-7 (error vs ``solve_ivp`` ~2e-7 relative); a patient whose
    cycle leaves that integration negative or non-finite (extreme patients: e.g. clearance at
    its floor with AAG 5 g/L) has the cycle rerun alone in log space, and one that still cannot
    be simulated raises an error naming its patient id. Febrile
    neutropenia occurs with a daily hazard while ANC < 0.5 (calibrated to the label's 11% at
    100 mg/m2).

    ## Population
    Adults with height and weight by sex, BSA (Mosteller), AAG, hepatic impairment and a
    baseline tumour size (:mod:`pkgym.populations.chemotherapy`). Pin a patient with
    ``reset(options={"patient": row})``, ``row`` holding ``is_female``, ``age_years``,
    ``height_cm``, ``weight_kg``, ``aag_g_per_l``, ``hepatic_impairment``,
    ``baseline_sld_mm`` and optionally ``eta_CL``, ``eta_CIRC0``, ``eta_MTT``, ``eta_SLOPE``,
    ``eta_KL``, ``eta_KD``, ``eta_LAMBDA`` and ``id`` (a given eta must be finite and within 10
    SD of the model's omega; etas not given are drawn from the slot's patient stream, so give
    every eta as 0 for the typical patient). The Mosteller BSA of the height and weight must
    be within the PK model's 0.5-3.5 m2 (the schema's 230 cm and 250 kg give 4.0 m2): a
    patient beyond it is refused, named alone.

    ## Action Space
    ``Discrete(5)``: 0, 50, 75, 100 or 125% of the label dose. ``continuous=True``:
    ``Box(-1, 1, (1,))``, dose ``(a + 1) / 2 * 125`` %. ``allow_delay=True``:
    ``MultiDiscrete([5, 2])``, the dose level and whether to wait 7 days before dosing.

    ## Observation Space
    A ``Dict`` of float32 arrays, what the clinic knows:

    | key | shape | unit |
    |---|---|---|
    | ``covariates`` | (7,) | age (y), female, weight (kg), height (cm), BSA (m2), AAG (g/L), |
    | | | hepatic impairment (0/1) |
    | ``anc_1e9_per_l``, ``anc_mask`` | (n_cycles * 3,) | counts on days 1, 8, 15 of each cycle |
    | ``sld_mm``, ``sld_mask`` | (n_scans,) | tumour scans: baseline, then every 2 cycles |
    | ``dose_percent``, ``delayed`` | (n_cycles,) | doses given (% of label), delays (0/1) |
    | ``febrile_neutropenia`` | (n_cycles,) | 1 if the cycle had a febrile neutropenia |
    | ``cycle`` | (1,) | cycles given so far |

    Counts carry the truth's log-normal residual error (SD 0.424); scans a 10% CV. Counts are
    reported up to 50 x10^9/L and scans up to 1000 mm, the space's bounds: a higher value (an
    extreme patient's rebound) is reported at the limit.

    ## Reward
    Per cycle: 10 x tumour shrinkage (fraction of baseline), +1 while progression-free,
    -10 at progression, -0.5 per day of grade 4 neutropenia, -10 per febrile neutropenia
    (:class:`TumourControlReward`; every weight is a named field).

    ## Starting State
    Before cycle 1: drug-free, neutrophils at baseline, baseline count and scan measured.

    ## Episode End
    Terminated when a scan shows RECIST progression (>= 20% and >= 5 mm over the smallest
    scan): treatment stops. Truncated after ``n_cycles`` (6) cycles.

    ## Arguments
    ``scenario`` (a :class:`ChemotherapyScenario`, a YAML path or ``None``), ``population``,
    ``reward_fn``, ``observation_model``, ``allow_delay``, ``continuous``, ``render_mode``
    (``"ansi"``, ``"rgb_array"``). ``info`` holds the true ANC and nadir, the neutropenia
    grade, grade 4 days, febrile neutropenia, tumour size, relative dose intensity, the true
    parameters and the model state.

    ## Version History
    * v0: initial version. Later, within v0: the scenario's ``model`` (``kloft2006``, the
      default, unchanged; or ``friberg2002_emax``).
    """

    def __init__(self, scenario: ChemotherapyScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, allow_delay: bool = False,
                 continuous: bool = False, render_mode: str | None = None) -> None:
        """Build the clinic from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, population, reward_fn, observation_model,
                               allow_delay), continuous=continuous, render_mode=render_mode)


class ChemotherapyVectorEnv(DosingVectorEnv):
    """``num_envs`` docetaxel patients stepped in one call (see :class:`ChemotherapyEnv`)."""

    def __init__(self, num_envs: int = 1,
                 scenario: ChemotherapyScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, allow_delay: bool = False,
                 continuous: bool = False, render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` patients of the same clinic."""
        super().__init__(_core(num_envs, scenario, population, reward_fn, observation_model,
                               allow_delay), continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
