"""``pkgym/ChemoImmune-v0``: daily chemotherapy against a tumour the immune system also fights."""

from __future__ import annotations

import os

from gymnasium.vector import AutoresetMode

from pkgym.envs.base import DosingEnv, DosingVectorEnv, ObservationModel, RewardFn
from pkgym.envs.chemo_immune.clinic import (
    CellCountObservation,
    ChemoImmuneScenario,
    resolve_scenario,
)
from pkgym.envs.chemo_immune.core import ChemoImmuneCore
from pkgym.envs.chemo_immune.records import chemo_settings
from pkgym.populations import Population

ENV_ID = "pkgym/ChemoImmune-v0"


def _core(n: int, scenario: ChemoImmuneScenario | str | os.PathLike | None,
          population: Population | None, reward_fn: RewardFn | None,
          observation_model: ObservationModel | None) -> ChemoImmuneCore:
    resolved = resolve_scenario(scenario, ENV_ID)
    return ChemoImmuneCore(n, chemo_settings(resolved, population), reward_fn or resolved.reward,
                           observation_model or CellCountObservation())


class ChemoImmuneEnv(DosingEnv):
    """Dose a cytotoxic drug each day to clear a tumour while sparing normal tissue.

    ## Description
    A patient with a tumour receives a chemotherapy infusion every day. The drug kills
    tumour cells but also normal cells and the immune cells that fight the tumour. The
    goal is to drive the tumour into the basin of the tumour-free state, where the immune
    system finishes it off, without letting the normal cells fall below a floor (0.75 of
    their carrying capacity). Each morning the clinic measures the three cell populations.

    ## Model
    de Pillis & Radunskaya 2003 (Math Comput Model 37:1221; the same equations and values
    as J Theor Med 2001 3:79; :mod:`pkgym.models.tumour_immune`), normalised cells and days::

        N' = r2 N (1 - b2 N) - c4 T N - a3 (1 - e^-u) N
        T' = r1 T (1 - b1 T) - c2 I T - c3 T N - a2 (1 - e^-u) T
        I' = s + rho I T / (alpha + T) - c1 I T - d1 I - a1 (1 - e^-u) I
        u' = v - d2 u

    with the published values (a1 0.2, a2 0.3, a3 0.1, b1 b2 1, c1 1, c2 0.5, c3 c4 1,
    d1 0.2, d2 1, r1 1.5, r2 1, s 0.33, alpha 0.3, rho 0.01 per day). Untreated, tumours
    above a saddle near T = 0.25 settle at the high-tumour state (0.435, 0.565, 0.435);
    smaller ones die out to (1, 0, 1.65). The day is integrated by compiled RK4 with 1-h
    steps (``scenario.solver``; error < 1e-7 against ``solve_ivp(rtol=1e-10)``). This is the
    model Padmanabhan et al. 2017 (Math Biosci 293:11-20) control with Q-learning.

    ## Population
    Patients differ in tumour burden at day 0 (log-normal, median 0.2, CV 0.3, within
    0.05-0.6; assumed) and in the drug's effect: log-normal CV 20% (assumed) on its
    tumour-cell and normal-cell kill a2, a3 and its elimination d2. N(0) = 0.9 and
    I(0) = 0.005 (DTRGym's start, after Ahn & Park 2011). Untreated, about 3% clear the
    tumour; a constant full dose clears it in about 80% within 150 days. Pin a patient with
    ``reset(options={"patient": {"tumour_at_start": ..., "eta_a2": ..., "eta_a3": ...,
    "eta_d2": ..., "id": ...}})``; fields not given are drawn from the slot's patient
    stream, as for a new patient (all etas 0: the typical patient); a given eta must be
    finite and within 10 SD of the model's omega.

    ## Action Space
    ``Discrete(11)``: level k infuses v = 0.1 k drug units/day (0-1) for the day.
    ``continuous=True``: ``Box(-1, 1, (1,))``, v = (a + 1) / 2 (Padmanabhan's doses were
    continuous in [0, 1]; the discrete grid is pkgym's default, as for every env).

    ## Observation Space
    A ``Dict`` of float32 arrays, what the clinic knows:

    | key | shape | unit |
    |---|---|---|
    | ``cells`` | (3,) | this morning's measured N, T, I (normalised; capped at 5) |
    | ``doses`` | (n_days,) | infusion rate given each day, 0 for days to come |
    | ``day`` | (1,) | today (0 = first day) |

    Measurements are log-normal around the truth, SD 0.1 of log (assumed). The drug level
    is not measured (it follows from the doses); true cells, drug level and the patient's
    parameters are in ``info`` only.

    ## Reward
    Each day, from the true cells (:class:`TumourReductionReward`; every weight named):
    ``(T_k - T_k+1) / max(T_k, 0.001)``, Padmanabhan's relative tumour reduction with a
    floored denominator, ``- 1`` if N the next morning is below the floor, ``- 10`` if that
    ends the episode (``stop_below_floor``), ``- dose_cost * v`` (default 0).

    ## Starting State
    Day 0 morning, no drug given yet, cells measured once.

    ## Episode End
    Truncated after ``n_days`` (150) days. Terminated only with
    ``scenario.stop_below_floor=True``, when N falls below the floor (DTRGym's death rule,
    made optional; by default a day below the floor is penalised and treatment goes on).

    ## Arguments
    ``scenario`` (a :class:`ChemoImmuneScenario`, a YAML path or ``None``), ``population``,
    ``reward_fn``, ``observation_model`` (injected strategies), ``continuous``,
    ``render_mode`` (``"ansi"``, ``"rgb_array"``). ``info`` holds the true N, T, I and drug
    level each morning, the measurements, whether N is below the floor, days below it, the
    tumour relative to its start and the patient's a2, a3, d2.

    ## Version History
    * v0: initial version.
    """

    def __init__(self, scenario: ChemoImmuneScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None) -> None:
        """Build the clinic from ``scenario`` and the injected strategies (see the class doc)."""
        super().__init__(_core(1, scenario, population, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode)


class ChemoImmuneVectorEnv(DosingVectorEnv):
    """``num_envs`` chemotherapy patients stepped in one call (see :class:`ChemoImmuneEnv`)."""

    def __init__(self, num_envs: int = 1,
                 scenario: ChemoImmuneScenario | str | os.PathLike | None = None, *,
                 population: Population | None = None, reward_fn: RewardFn | None = None,
                 observation_model: ObservationModel | None = None, continuous: bool = False,
                 render_mode: str | None = None,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP) -> None:
        """Build ``num_envs`` patients of the same clinic."""
        super().__init__(_core(num_envs, scenario, population, reward_fn, observation_model),
                         continuous=continuous, render_mode=render_mode,
                         autoreset_mode=autoreset_mode)
