"""Warfarin dosing policies: a fixed dose and INR-driven maintenance (Aurora, Intermountain).

Each satisfies :class:`pkgym.evaluation.policy.Policy` for ``pkgym/Warfarin-v0`` (and
``pkgym/WarfarinPGx-v0``): one decision per env each morning, batched; doses in mg on the
0.5 mg grid within [0, 15]. With ``schedules_tests=True`` a policy returns (n_envs, 2): [dose
mg, days until the next INR (1-28)] (the env reads column 1 only on mornings with an INR).

The maintenance protocols titrate each env's current daily dose at every INR measured on or
after their start day (a day > 0 with ``days_since_last_inr == 0``); until then the injected
initiation rule (:mod:`agents.policies.warfarin.iwpc`) sets the dose. Interpretations common to
both:

* The titrated dose is kept unrounded in ``daily_doses_mg``; each day gives it rounded to
  0.5 mg, so small percentage steps accumulate instead of rounding away.
* INRs are read to 2 decimals, as a lab reports them (so float32 1.7999 reads 1.80).
* A decision at a new INR replaces any hold or one-off dose still pending.
* An INR on another day than the protocol asked for is acted on when it comes.
* Day 0 means a new patient: that env's state is forgotten.

:func:`ravvaz_arms` builds the protocol arms of Ravvaz et al., Circ Cardiovasc Genet
2017;10:e001804 (env day d = Ravvaz day d + 1).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from agents.policies.warfarin.iwpc import (
    RAVVAZ_FIRST_INR_DAY,
    EuPactInitiation,
    FixedInitiation,
    InitiationRule,
    IwpcInitiation,
    read_covariates,
)
from agents.policies.warfarin.titration import (
    MAX_RETEST_DAYS,
    Decision,
    TitrationPolicy,
    check_n_envs,
)
from pkgym.evaluation.policy import Policy

AURORA_FIRST_INR_RETEST_DAYS = 2
AURORA_DOSE_FACTORS = np.array([1.15, 1.10, 1.075, 1.0, 0.925, 0.90, 0.875, 0.85])
AURORA_RETEST_DAYS = np.array([7, 7, 7, 0, 7, 7, 7, 2])
AURORA_HOLD_DAYS = np.array([0, 0, 0, 0, 0, 0, 2, np.inf])
"""Aurora (Ravvaz 2017; ReiL ``aurora.py``) by INR band: < 1.5, 1.5-1.79, 1.8-1.99, 2.0-3.0,
3.01-3.39, 3.4-3.99, 4.0-5.0, > 5.0. Factor on the daily dose, retest days (band 2.0-3.0: by
the in-range table), held days from today (inf: until an INR <= 3.0)."""
AURORA_IN_RANGE_RETEST_DAYS = np.array([1, 5, 7, 14, 28])
"""Retest days after the 1st, 2nd, 3rd, 4th, 5th+ consecutive in-range INR: ReiL's table by
stable days (1, 2, 7, 14, 28 days -> 1, 5, 7, 14, 28), reached test by test when kept."""
AURORA_AGE_CUTOFF_YEARS, AURORA_YOUNG_DOSE_MG, AURORA_OLD_DOSE_MG = 65.0, 10.0, 5.0
INTERMOUNTAIN_ZONES = ("action low", "red low", "yellow low", "green", "yellow high",
                       "red high", "action high")
INTERMOUNTAIN_DOSE_FACTORS = np.array([1.10, 1.05, 1.05, 1.0, 0.95, 0.90, 0.85])
INTERMOUNTAIN_ONLY_IF_REPEATED = np.array([False, False, True, False, True, False, False])
INTERMOUNTAIN_TODAY_FACTORS = np.array([2.0, 1.5, 1.0, 1.0, 1.0, 0.5, 0.0])
INTERMOUNTAIN_ONE_OFF_DAYS = np.array([1, 1, 0, 0, 0, 1, 2])
INTERMOUNTAIN_RETEST_DAYS = np.array([[5, 14], [7, 14], [14, 14], [14, 28], [14, 14], [7, 14],
                                      [2, 2]])
"""Intermountain/CoumaGen (Anderson 2007 Circulation 116:2563, suppl. Appendix B; ReiL
``intermountain.py``) by zone: < 1.6, 1.6-1.79, 1.8-1.99, 2.0-3.0, 3.01-3.39, 3.4-4.99,
>= 5.0. Weekly factor (zones 1.8-1.99 and 3.01-3.39 only when the previous test was in the same
zone), today's one-off dose as a multiple of the old daily dose (red high: 0 at INR >= 4) and
its days, retest days [first, same zone as the previous test]."""
INTERMOUNTAIN_START_DAY = 7  # the table is for day 8 on (Anderson 2007; ReiL): env day 7


def aurora_band(inrs: np.ndarray) -> np.ndarray:
    """Aurora INR band 0-7: < 1.5, < 1.8, < 2.0, <= 3.0, < 3.4, < 4.0, <= 5.0, > 5.0.

    Examples:
        >>> aurora_band(np.array([1.2, 1.5, 1.99, 3.0, 3.01, 3.4, 5.0, 5.01])).tolist()
        [0, 1, 2, 3, 4, 5, 6, 7]
    """
    inr = np.round(np.asarray(inrs, dtype=np.float64), 2)
    return ((inr >= 1.5).astype(np.int64) + (inr >= 1.8) + (inr >= 2.0) + (inr > 3.0)
            + (inr >= 3.4) + (inr >= 4.0) + (inr > 5.0))


def intermountain_zone(inrs: np.ndarray) -> np.ndarray:
    """Intermountain zone 0-6 (``INTERMOUNTAIN_ZONES``): < 1.6 ... >= 5.0.

    Examples:
        >>> intermountain_zone(np.array([1.59, 1.6, 1.8, 3.0, 3.01, 4.99, 5.0])).tolist()
        [0, 1, 2, 3, 4, 5, 6]
    """
    inr = np.round(np.asarray(inrs, dtype=np.float64), 2)
    return ((inr >= 1.6).astype(np.int64) + (inr >= 1.8) + (inr >= 2.0) + (inr > 3.0)
            + (inr >= 3.4) + (inr >= 5.0))


class FixedDosePolicy:
    """The same dose every day, e.g. "fixed 5 mg daily" (no INR-driven change).

    Args:
        dose_mg: the daily dose, mg, a multiple of 0.5 in [0, 15].
        schedules_tests: return [dose, ``test_every_days``] per env (test-scheduling env).
        test_every_days: the requested INR interval when scheduling, days.

    Examples:
        >>> FixedDosePolicy().act({"day": np.array([[0.0], [9.0]])}).tolist()
        [5.0, 5.0]
    """

    reads_hidden_state = False

    def __init__(self, dose_mg: float = 5.0, *, schedules_tests: bool = False,
                 test_every_days: int = 7) -> None:
        """Validate the dose and interval."""
        self.dose_mg = FixedInitiation(dose_mg).dose_mg
        self.name = f"fixed_{dose_mg:g}mg"
        if not 1 <= test_every_days <= MAX_RETEST_DAYS:
            raise ValueError(f"test_every_days must be in 1..28, got {test_every_days}")
        self.schedules_tests, self.test_every_days = bool(schedules_tests), int(test_every_days)

    def reset(self, n_envs: int) -> None:
        """Nothing to forget (``n_envs`` is only validated)."""
        check_n_envs(n_envs)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, (n_envs,), or (n_envs, 2) with the next-test days when scheduling."""
        if "day" not in observation:
            raise ValueError("observation lacks 'day'")
        n = np.asarray(observation["day"]).reshape(-1).size
        doses = np.full(n, self.dose_mg)
        if not self.schedules_tests:
            return doses
        return np.stack([doses, np.full(n, float(self.test_every_days))], axis=1)


class AuroraInitiation:
    """Aurora's own start: 10 mg/day if age < 65 y, else 5 mg, then the day-3 rule.

    Days 0-1 (Ravvaz days 1-2): 10 mg if age < 65 else 5 mg (Ravvaz 2017's simplification,
    per ReiL). First INR (env day 2): >= 2.0 -> 5 mg, else the Aurora increase of the low bands
    (+15/+10/+7.5 %); retest in 2 days (ReiL's reading: doses of days 3-4). The maintenance
    table takes over from the next INR.

    Examples:
        >>> obs = {"covariates": np.array([[50.0, 0, 80, 175, 1, 0, 0, 0, 0, 0]])}
        >>> AuroraInitiation().doses_mg(obs, np.zeros(1)).tolist()
        [10.0]
        >>> AuroraInitiation().first_inr_decision(np.array([2.2, 1.6]), np.full(2, 10.0))
        (array([ 5., 11.]), array([2., 2.]))
    """

    name = "aurora"
    first_test_day = RAVVAZ_FIRST_INR_DAY

    def doses_mg(self, observation: Mapping[str, np.ndarray], days: np.ndarray) -> np.ndarray:
        """10 mg under 65 years of age, else 5 mg."""
        ages = read_covariates(observation)["age_years"]
        return np.where(ages < AURORA_AGE_CUTOFF_YEARS, AURORA_YOUNG_DOSE_MG, AURORA_OLD_DOSE_MG)

    def first_inr_decision(self, inrs: np.ndarray,
                           doses_mg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The day-3 rule: 5 mg at INR >= 2.0, else the Aurora increase; retest in 2 days."""
        increased = doses_mg * AURORA_DOSE_FACTORS[aurora_band(inrs)]
        doses = np.where(np.round(inrs, 2) >= 2.0, AURORA_OLD_DOSE_MG, increased)
        return doses, np.full(np.shape(inrs), float(AURORA_FIRST_INR_RETEST_DAYS))


class AuroraPolicy(TitrationPolicy):
    """Initiation rule, then the Aurora table (Ravvaz 2017 appendix; ReiL ``aurora.py``).

    At each INR: < 1.5 +15 %, 1.5-1.79 +10 %, 1.8-1.99 +7.5 % (retest 7 d); 2.0-3.0 no change,
    retest after 1, 5, 7, 14, then 28 days for the 1st, 2nd, 3rd, 4th, later consecutive
    in-range INR (``AURORA_IN_RANGE_RETEST_DAYS``); 3.01-3.39 -7.5 %, 3.4-3.99 -10 % (7 d);
    4.0-5.0 hold today and tomorrow, then -12.5 % (7 d); > 5.0 hold, retest in 2 d, keep
    holding while the INR is > 3.0, then resume at -15 % (7 d). The in-range streak restarts
    at every out-of-range INR and after the initiation rule's own first-INR decision.

    Args:
        initiation: the initiation rule (:mod:`agents.policies.warfarin.iwpc`,
        :class:`AuroraInitiation`).
        schedules_tests: also return the days until the next INR.
        start_day: first env day whose INR the protocol acts on (default 2 = Ravvaz day 3).
        name: policy name (default "<initiation>+aurora").

    Examples:
        >>> policy = AuroraPolicy(FixedInitiation(5.0))
        >>> obs = {"day": np.array([[7.0]]), "days_since_last_inr": np.array([[0.0]]),
        ...        "inr_values": np.array([[1.0, 1.4]]), "inr_mask": np.array([[1.0, 1.0]])}
        >>> policy.act(obs).tolist(), round(float(policy.daily_doses_mg[0]), 4)  # 5 mg x 1.15
        ([6.0], 5.75)
    """

    protocol = "aurora"

    def _decide(self, inrs: np.ndarray, doses_mg: np.ndarray, memory: np.ndarray,
                holding: np.ndarray) -> Decision:
        band = aurora_band(inrs)
        in_range = (band == 3) & ~holding
        streak = np.where(in_range, memory + 1, 0)
        stable_retest = AURORA_IN_RANGE_RETEST_DAYS[np.clip(streak, 1, 5) - 1]
        retest = np.where(in_range, stable_retest, AURORA_RETEST_DAYS[band]).astype(np.float64)
        still_high = holding & (inrs > 3.0)
        return Decision(
            doses_mg=np.where(holding, doses_mg, doses_mg * AURORA_DOSE_FACTORS[band]),
            today_factors=np.zeros(inrs.shape),
            one_off_days=np.where(holding, np.where(still_high, np.inf, 0.0),
                                  AURORA_HOLD_DAYS[band]),
            retest_days=np.where(holding, np.where(still_high, 2.0, 7.0), retest),
            memory=streak, holding=np.where(holding, still_high, band == 7))


class IntermountainPolicy(TitrationPolicy):
    """Initiation rule, then the Intermountain/CoumaGen table (Anderson 2007, Appendix B).

    Zones and actions (old = the daily dose before the decision; "repeat" = the previous INR
    was in the same zone): < 1.6 today 2 x old (an extra dose), then old x 1.10 (retest 5 d,
    repeat 14); 1.6-1.79 today 1.5 x old (an extra half dose), then x 1.05 (7/14 d); 1.8-1.99
    x 1.05 on repeat only (14 d); 2.0-3.0 no change (14 d, repeat 28); 3.01-3.39 x 0.95 on
    repeat only (14 d); 3.4-4.99 today half of old (0 mg at INR >= 4), then x 0.90 (7/14 d);
    >= 5.0 hold 2 days, recheck in 2 d: hold 2 more days while the recheck is >= 3.4 (red or
    action zone), else resume at old x 0.85 (7 d). "Weekly +10 %" reads as the daily dose x
    1.10 from tomorrow on; a one-off dose replaces today's only. The 0.85 x dose is set when
    the hold starts, so without a recheck it follows the 2 held days. The protocol acts from
    env day 7 (Anderson's day 8); the initiation rule replaces CoumaGen's days 1-7.

    Args:
        initiation: the initiation rule (:mod:`agents.policies.warfarin.iwpc`).
        schedules_tests: also return the days until the next INR.
        start_day: first env day whose INR the protocol acts on (default 7).
        name: policy name (default "<initiation>+intermountain").

    Examples:
        >>> policy = IntermountainPolicy(FixedInitiation(5.0))
        >>> obs = {"day": np.array([[7.0]]), "days_since_last_inr": np.array([[0.0]]),
        ...        "inr_values": np.array([[1.0, 1.5]]), "inr_mask": np.array([[1.0, 1.0]])}
        >>> policy.act(obs).tolist(), round(float(policy.daily_doses_mg[0]), 4)  # 2 x 5; x 1.1
        ([10.0], 5.5)
    """

    protocol = "intermountain"
    default_start_day = INTERMOUNTAIN_START_DAY
    memory_start = -1  # no previous zone

    def _decide(self, inrs: np.ndarray, doses_mg: np.ndarray, memory: np.ndarray,
                holding: np.ndarray) -> Decision:
        zone = intermountain_zone(inrs)
        repeated = zone == memory
        factors = np.where(INTERMOUNTAIN_ONLY_IF_REPEATED[zone] & ~repeated, 1.0,
                           INTERMOUNTAIN_DOSE_FACTORS[zone])
        today = np.where((zone == 5) & (inrs >= 4.0), 0.0, INTERMOUNTAIN_TODAY_FACTORS[zone])
        retest = INTERMOUNTAIN_RETEST_DAYS[zone, repeated.astype(np.int64)].astype(np.float64)
        high = zone >= 5
        return Decision(
            doses_mg=np.where(holding, doses_mg, doses_mg * factors),
            today_factors=np.where(holding, 0.0, today),
            one_off_days=np.where(holding, np.where(high, 2.0, 0.0),
                                  INTERMOUNTAIN_ONE_OFF_DAYS[zone]).astype(np.float64),
            retest_days=np.where(holding, np.where(high, 2.0, 7.0), retest),
            memory=zone, holding=np.where(holding, high, zone == 6))


def ravvaz_arms(schedules_tests: bool = False, *,
                include_pharmacogenetic: bool = True) -> dict[str, Policy]:
    """The Ravvaz 2017 protocol arms (and comparators) as fresh policies, keyed by name.

    * ``fixed_5mg``: 5 mg daily, never adjusted.
    * ``aurora`` (Ravvaz AAA): :class:`AuroraInitiation` + Aurora.
    * ``iwpc_clinical+aurora`` (CAA), ``iwpc_pgx+aurora`` (PGAA): IWPC dose until the first
      INR (env day 2 = Ravvaz day 3), then Aurora.
    * ``iwpc_clinical+intermountain``, ``iwpc_pgx+intermountain``: IWPC dose, then
      Intermountain from env day 7 (not Ravvaz arms).
    * ``eupact_pgx+aurora`` (~PGPGA), ``eupact_pgx+intermountain`` (~PGPGI): modified IWPC
      with EU-PACT 3-day loading, then the protocol from env day 3 (Aurora) or 7
      (Intermountain); Ravvaz's Lenzini step on days 4-5 is not implemented.

    The ``pgx``/``eupact`` arms read ``observation["genotype"]`` (``pkgym/WarfarinPGx-v0``).

    Args:
        schedules_tests: build every policy to also return the days until the next INR.
        include_pharmacogenetic: include the arms that read the genotype.

    Examples:
        >>> sorted(ravvaz_arms(include_pharmacogenetic=False))
        ['aurora', 'fixed_5mg', 'iwpc_clinical+aurora', 'iwpc_clinical+intermountain']
    """
    initiations: list[InitiationRule] = [IwpcInitiation(pharmacogenetic=False)]
    if include_pharmacogenetic:
        initiations += [IwpcInitiation(pharmacogenetic=True), EuPactInitiation()]
    arms: list[Policy] = [FixedDosePolicy(5.0, schedules_tests=schedules_tests),
                          AuroraPolicy(AuroraInitiation(), schedules_tests=schedules_tests,
                                       name="aurora")]
    for rule in initiations:
        arms += [AuroraPolicy(rule, schedules_tests=schedules_tests),
                 IntermountainPolicy(rule, schedules_tests=schedules_tests)]
    return {arm.name: arm for arm in arms}
