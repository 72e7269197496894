# lines: scenario, rules, reward and observation (batched and one-row) are read together
"""The anticoagulation clinic: INR monitoring schedule, clinical-event hazards, reward, scenario.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`WarfarinScenario`; the core reads it directly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.envs.warfarin.kernel import ClinicRules, event_probability, next_test_day
from pkgym.envs.warfarin.readout import observe_rows
from pkgym.models.warfarin import Hamberg2007, Hamberg2010
from pkgym.models.warfarin_calibrated import Hamberg2010Iwpc
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, VKORC1_GENOTYPES
from pkgym.populations.warfarin_iwpc import ALL_WARFARIN_POPULATIONS
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

DAYS_PER_YEAR = 365.25
INR_HIGH = 25.0
"""Measured INRs are reported up to this value (the observation's bound)."""
MAX_TEST_INTERVAL_DAYS = 28
"""Longest interval a policy may choose between INR tests."""
MAX_DOSE_LEVELS = 10_000
"""Most action levels (``max_dose_mg / dose_step_mg``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonitoringSchedule:
    """When the clinic measures the INR (mornings, before the day's dose).

    A baseline INR on day 0, then ``initial_days``; after them every ``interval_days`` until
    ``in_range_to_extend`` consecutive measured INRs are in range, when the interval grows
    through ``stable_intervals_days`` (one step per further in-range INR); an INR out of
    range returns to ``interval_days``. The default (tests on days 3, 5, 8 as in Kovacs et
    al. 2003, Ann Intern Med 138:714, then twice more in week 2, weekly, then every 2 and 4
    weeks once stable) follows ACCP 2012 practice (Holbrook et al., Chest 141:e152S).
    """

    initial_days: tuple[int, ...] = (3, 5, 8, 11, 14)
    interval_days: int = 7
    in_range_to_extend: int = 2
    stable_intervals_days: tuple[int, ...] = (14, 28)

    def __post_init__(self) -> None:
        """Days rise strictly and are positive; intervals are 1..28 days."""
        days = np.asarray(self.initial_days)
        if days.size and (days[0] < 1 or np.any(np.diff(days) <= 0)):
            raise ValueError(f"initial_days must rise strictly from >= 1, got {self.initial_days}")
        intervals = (self.interval_days, *self.stable_intervals_days)
        if any(not 1 <= i <= MAX_TEST_INTERVAL_DAYS for i in intervals):
            raise ValueError(f"interval_days and stable_intervals_days must be in 1.."
                             f"{MAX_TEST_INTERVAL_DAYS}, got {intervals}")
        if self.in_range_to_extend < 1:
            raise ValueError(f"in_range_to_extend must be >= 1, got {self.in_range_to_extend}")

    def next_test_day(self, day: np.ndarray, in_range_streak: np.ndarray) -> np.ndarray:
        """The next test day after a test on ``day`` with that many in-range INRs in a row.

        Examples:
            >>> s = MonitoringSchedule()
            >>> s.next_test_day(np.array([0, 5, 14, 21, 35, 49]),
            ...                 np.array([0, 0, 1, 2, 3, 4])).tolist()
            [3, 8, 21, 35, 63, 77]
        """
        days, streaks = np.broadcast_arrays(np.asarray(day, dtype=np.int64),
                                            np.asarray(in_range_streak, dtype=np.int64))
        initial, stable = self.packed()
        return np.array([next_test_day(int(d), int(k), initial, self.interval_days,
                                       self.in_range_to_extend, stable)
                         for d, k in zip(days.ravel(), streaks.ravel(), strict=True)],
                        dtype=np.int64).reshape(days.shape)

    def packed(self) -> tuple[np.ndarray, np.ndarray]:
        """The initial test days and the stable intervals as int64 arrays (for kernels)."""
        return (np.asarray(self.initial_days, dtype=np.int64).reshape(-1),
                np.asarray(self.stable_intervals_days, dtype=np.int64).reshape(-1))


@dataclass(frozen=True, slots=True, kw_only=True)
class EventHazards:
    """Daily hazards of major bleeding and thromboembolism by INR band.

    ``hazard = rate_at_target_per_year / 365.25 * RR(INR)`` with the relative risks of Oake
    et al. 2008 (CMAJ 179:235, meta-analysis; bands < 2, 2-3, 3-5, > 5): bleeding 1.1, 1,
    2.7, 21.8; thromboembolism 3.5, 1, 0.9, 0.9 (no estimate above 5; 0.9 carried over).
    The in-range rates are calibrated so that the INR distribution of the RE-LY warfarin arm
    (TTR 64%; about 25% of time below and 11% above range) gives its published annual rates
    of 3.36% major bleeding and 1.69% stroke or systemic embolism (Connolly et al. 2009,
    NEJM 361:1139): 3.36 / 1.21 and 1.69 / 1.61 per 100 patient-years.
    """

    enabled: bool = True
    bleeding_per_year_in_range: float = 0.0278
    thromboembolism_per_year_in_range: float = 0.0105
    band_edges_inr: tuple[float, float, float] = (2.0, 3.0, 5.0)
    bleeding_relative_risk: tuple[float, float, float, float] = (1.1, 1.0, 2.7, 21.8)
    thromboembolism_relative_risk: tuple[float, float, float, float] = (3.5, 1.0, 0.9, 0.9)

    def __post_init__(self) -> None:
        """Rates and relative risks are >= 0; band edges rise."""
        named = {"bleeding_per_year_in_range": (self.bleeding_per_year_in_range,),
                 "thromboembolism_per_year_in_range": (self.thromboembolism_per_year_in_range,),
                 "bleeding_relative_risk": self.bleeding_relative_risk,
                 "thromboembolism_relative_risk": self.thromboembolism_relative_risk}
        bad = [name for name, values in named.items()
               if not all(np.isfinite(v) and v >= 0 for v in values)]
        if bad:
            raise ValueError(f"{', '.join(bad)}: event rates and relative risks must be finite "
                             f"and >= 0")
        if np.any(np.diff(self.band_edges_inr) <= 0):
            raise ValueError(f"band_edges_inr must rise strictly, got {self.band_edges_inr}")

    def daily_probabilities(self, inr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities of a bleed and of a thromboembolism over one day at this INR.

        Examples:
            >>> bleed, clot = EventHazards().daily_probabilities(np.array([1.5, 2.5, 6.0]))
            >>> (clot[0] / clot[1]).round(3), (bleed[2] / bleed[1]).round(1)
            (np.float64(3.5), np.float64(21.8))
        """
        edges, bleed_rr, clot_rr = self.packed()
        bleed_rate, clot_rate = self.rates_per_day
        values = np.asarray(inr, dtype=np.float64)
        bleed = [event_probability(float(v), edges, bleed_rr, bleed_rate) for v in values.ravel()]
        clot = [event_probability(float(v), edges, clot_rr, clot_rate) for v in values.ravel()]
        return (np.reshape(bleed, values.shape), np.reshape(clot, values.shape))

    @property
    def rates_per_day(self) -> tuple[float, float]:
        """In-range hazards of bleeding and thromboembolism per day (0 when disabled)."""
        scale = 1.0 / DAYS_PER_YEAR if self.enabled else 0.0
        return (self.bleeding_per_year_in_range * scale,
                self.thromboembolism_per_year_in_range * scale)

    def packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Band edges and the two relative-risk tables as float arrays (for kernels)."""
        return (np.asarray(self.band_edges_inr, dtype=np.float64),
                np.asarray(self.bleeding_relative_risk, dtype=np.float64),
                np.asarray(self.thromboembolism_relative_risk, dtype=np.float64))


@dataclass(frozen=True, slots=True)
class InrOutcome:
    """One day's clinical outcome of every patient, what reward functions score (all (n,)).

    Attributes:
        inr: true INR the next morning.
        distance_to_range: INR units outside the target range (0 inside).
        in_range: whether the INR is in the target range.
        bleeding, thromboembolism: whether the event happened during the day.
        tested: whether an INR test was done on the morning the day started.
    """

    inr: np.ndarray
    distance_to_range: np.ndarray
    in_range: np.ndarray
    bleeding: np.ndarray
    thromboembolism: np.ndarray
    tested: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class InrRangeReward(RewardFn):
    """Daily reward from the true INR, clinical events and the cost of INR tests.

    ``reward = in_range_bonus * in_range - distance_penalty_per_inr * distance
    - high_inr_penalty * (INR > high) - low_inr_penalty * (INR < low)
    - bleeding_penalty * bleed - thromboembolism_penalty * clot - test_cost * tested``.
    """

    in_range_bonus: float = 1.0
    distance_penalty_per_inr: float = 1.0
    high_inr_threshold: float = 4.0
    high_inr_penalty: float = 3.0
    low_inr_threshold: float = 1.5
    low_inr_penalty: float = 1.0
    bleeding_penalty: float = 50.0
    thromboembolism_penalty: float = 50.0
    test_cost: float = 0.1

    def __call__(self, outcome: InrOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one day."""
        return (self.in_range_bonus * outcome.in_range
                - self.distance_penalty_per_inr * outcome.distance_to_range
                - self.high_inr_penalty * (outcome.inr > self.high_inr_threshold)
                - self.low_inr_penalty * (outcome.inr < self.low_inr_threshold)
                - self.bleeding_penalty * outcome.bleeding
                - self.thromboembolism_penalty * outcome.thromboembolism
                - self.test_cost * outcome.tested)


MODELS = {"hamberg2010": Hamberg2010, "hamberg2007": Hamberg2007,
          "hamberg2010_iwpc": Hamberg2010Iwpc}
"""Named Hamberg parameter sets a scenario may choose."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WarfarinScenario:
    """Everything that defines a warfarin clinic (YAML fields have the same names).

    Attributes:
        population: one of ``ALL_WARFARIN_POPULATIONS`` (``us_clinic``, ``iwpc``,
            ``iwpc_2009``).
        n_days: days per episode (one decision per day).
        max_dose_mg, dose_step_mg: action levels 0, step, ..., max (racemic warfarin).
        target_inr: the therapeutic range.
        monitoring: the clinic's INR schedule (ignored when the policy chooses test days).
        inr_assay_log_sd: SD of log of the measured INR; ``None`` uses the model's residual
            error (Hamberg 2010: 0.20).
        inr_report_decimals: the lab reports INR to this many decimals.
        events: bleeding and thromboembolism hazards.
        reward: reward weights.
        model: ``"hamberg2010"`` (v0 default), ``"hamberg2007"`` or ``"hamberg2010_iwpc"``
            (Hamberg 2010 calibrated to the IWPC doses; v1 default).
        hamberg2010, hamberg2007, hamberg2010_iwpc: the parameter sets (override single
            values in YAML).
    """

    population: str = "us_clinic"
    n_days: int = 90
    max_dose_mg: float = 15.0
    dose_step_mg: float = 0.5
    target_inr: tuple[float, float] = (2.0, 3.0)
    monitoring: MonitoringSchedule = field(default_factory=MonitoringSchedule)
    inr_assay_log_sd: float | None = None
    inr_report_decimals: int = 1
    events: EventHazards = field(default_factory=EventHazards)
    reward: InrRangeReward = field(default_factory=InrRangeReward)
    model: str = "hamberg2010"
    hamberg2010: Hamberg2010 = field(default_factory=Hamberg2010)
    hamberg2007: Hamberg2007 = field(default_factory=Hamberg2007)
    hamberg2010_iwpc: Hamberg2010Iwpc = field(default_factory=Hamberg2010Iwpc)

    def __post_init__(self) -> None:
        """Validate the fields the objects they build do not check."""
        check_fields(self)
        if self.population not in ALL_WARFARIN_POPULATIONS:
            raise ValueError(f"population: {self.population!r} is not one of "
                             f"{sorted(ALL_WARFARIN_POPULATIONS)}")
        if self.model not in MODELS:
            raise ValueError(f"model: {self.model!r} is not one of {sorted(MODELS)}")
        if not 1 <= self.n_days <= 3650:
            raise ValueError(f"n_days must be in 1..3650, got {self.n_days}")
        if not 0 < self.dose_step_mg <= self.max_dose_mg <= 100 or \
                self.max_dose_mg / self.dose_step_mg > MAX_DOSE_LEVELS:
            raise ValueError(f"need 0 < dose_step_mg <= max_dose_mg <= 100 mg and at most "
                             f"{MAX_DOSE_LEVELS} steps, got {self.dose_step_mg}, "
                             f"{self.max_dose_mg}")
        low, high = self.target_inr
        if not 0 < low < high:
            raise ValueError(f"target_inr must be 0 < low < high, got {self.target_inr}")
        if self.inr_assay_log_sd is not None and not 0 <= self.inr_assay_log_sd <= 2:
            raise ValueError(f"inr_assay_log_sd must be in [0, 2] or null, got "
                             f"{self.inr_assay_log_sd}")
        if not 0 <= self.inr_report_decimals <= 6:
            raise ValueError(f"inr_report_decimals must be in 0..6, got "
                             f"{self.inr_report_decimals}")

    @property
    def truth(self) -> Hamberg2010 | Hamberg2007:
        """The parameter set ``model`` names: the model the patients follow.

        Examples:
            >>> type(WarfarinScenario(model="hamberg2007").truth).__name__
            'Hamberg2007'
        """
        chosen: Hamberg2010 | Hamberg2007 = getattr(self, self.model)
        return chosen

    @property
    def hamberg(self) -> Hamberg2010 | Hamberg2007:
        """The chosen parameter set (:attr:`truth`)."""
        return self.truth

    @property
    def dose_levels_mg(self) -> np.ndarray:
        """The discrete dose levels, mg.

        Examples:
            >>> WarfarinScenario().dose_levels_mg[[0, 1, -1]].tolist()
            [0.0, 0.5, 15.0]
        """
        return np.arange(0.0, self.max_dose_mg + 1e-9, self.dose_step_mg)

    @property
    def assay_log_sd(self) -> float:
        """SD of log of the measured INR."""
        if self.inr_assay_log_sd is not None:
            return self.inr_assay_log_sd
        return self.hamberg.residual_inr_log_sd


@dataclass(frozen=True, slots=True, kw_only=True)
class WarfarinScenarioV1(WarfarinScenario):
    """A ``Warfarin-v1`` clinic: as :class:`WarfarinScenario`, calibrated patients by default.

    The default model is ``hamberg2010_iwpc`` (Hamberg 2010 calibrated to the IWPC stable
    doses, :mod:`pkgym.models.warfarin_calibrated`); every other default is v0's.
    """

    model: str = "hamberg2010_iwpc"


SCENARIO_TYPES = {"pkgym/Warfarin-v0": WarfarinScenario,
                  "pkgym/WarfarinPGx-v0": WarfarinScenario,
                  "pkgym/Warfarin-v1": WarfarinScenarioV1,
                  "pkgym/WarfarinPGx-v1": WarfarinScenarioV1}
"""The scenario type (hence the defaults) of each warfarin env id."""


def clinic_parameters(scenario: WarfarinScenario) -> ClinicRules:
    """The scenario's clinic rules for :func:`pkgym.envs.warfarin.kernel.clinic_day`.

    Examples:
        >>> rules = clinic_parameters(WarfarinScenario())
        >>> rules.low_inr, rules.high_inr, rules.n_days
        (2.0, 3.0, 90)
    """
    low, high = scenario.target_inr
    bleed, clot = scenario.events.rates_per_day
    monitoring = scenario.monitoring
    return ClinicRules(float(low), float(high), float(scenario.assay_log_sd),
                       int(scenario.inr_report_decimals), int(scenario.n_days),
                       int(monitoring.interval_days), int(monitoring.in_range_to_extend),
                       float(INR_HIGH), float(bleed), float(clot), *scenario.events.packed(),
                       *monitoring.packed())


def resolve_scenario(scenario: WarfarinScenario | str | os.PathLike | None,
                     env_id: str) -> WarfarinScenario:
    """The scenario from an object, a YAML path or ``None`` (see ``scenarios.resolve_scenario``).

    ``None`` gives the defaults of ``env_id``'s version (:data:`SCENARIO_TYPES`).

    Examples:
        >>> resolve_scenario(None, "pkgym/Warfarin-v0").model
        'hamberg2010'
        >>> resolve_scenario(None, "pkgym/Warfarin-v1").model
        'hamberg2010_iwpc'
    """
    expected = SCENARIO_TYPES.get(env_id, WarfarinScenario)
    resolved = resolve(scenario, expected, env_id)
    if type(resolved) is not expected:
        raise ValueError(f"scenario: a {type(resolved).__name__} cannot configure {env_id}; "
                         f"it needs a {expected.__name__} (a YAML file whose env key names "
                         f"{env_id} or its genotype twin)")
    return resolved


COVARIATE_HIGHS = np.array([120.0, 1.0, 300.0, 250.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
"""Upper bounds of the covariates (age y, female, weight kg, height cm, 4 race flags,
amiodarone, enzyme inducer)."""
COVARIATE_HIGHS_F32 = COVARIATE_HIGHS.astype(np.float32)


class ClinicObservation(ObservationModel):
    """What the anticoagulation clinic knows (float32): covariates, doses, INR results, dates."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        n_days = settings.scenario.n_days

        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        keys: dict[str, spaces.Space] = {"covariates": box(len(COVARIATE_HIGHS), COVARIATE_HIGHS)}
        if settings.genotype_guided:
            keys["genotype"] = box(len(CYP2C9_DIPLOTYPES) + len(VKORC1_GENOTYPES), 1.0)
        keys.update({
            "doses_mg": box(n_days, settings.scenario.max_dose_mg),
            "inr_days": box(n_days, n_days), "inr_values": box(n_days, INR_HIGH),
            "inr_mask": box(n_days, 1.0), "day": box(1, n_days),
            "days_since_last_inr": box(1, n_days),
            "days_to_next_inr": box(1, n_days + MAX_TEST_INTERVAL_DAYS)})
        return spaces.Dict(keys)

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (fresh arrays)."""
        return self.fill(records, settings, self.arrays(records.day.shape[0], settings))

    def arrays(self, n: int, settings: Any) -> dict[str, np.ndarray]:
        """Uninitialised float32 arrays of n patients' observation, in the space's key order."""
        n_days = settings.scenario.n_days
        widths = {"covariates": len(COVARIATE_HIGHS),
                  **({"genotype": len(CYP2C9_DIPLOTYPES) + len(VKORC1_GENOTYPES)}
                     if settings.genotype_guided else {}),
                  "doses_mg": n_days, "inr_days": n_days, "inr_values": n_days,
                  "inr_mask": n_days, "day": 1, "days_since_last_inr": 1, "days_to_next_inr": 1}
        return {key: np.empty((n, width), np.float32) for key, width in widths.items()}

    def fill(self, records: Any, settings: Any,
             out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Write the batched observation into ``out`` (from :meth:`arrays`) and return it.

        One compiled pass (:func:`~pkgym.envs.warfarin.readout.observe_rows`) gives the
        values of ``np.minimum(covariates_f32, COVARIATE_HIGHS_F32)``, copies of the genotype
        and the four daily histories, and the day, ``day - last_test_day`` and
        ``np.maximum(next_test_day - day, 0)`` cast to float32 as ``astype`` casts them.
        """
        guided = settings.genotype_guided
        none = np.empty((0, 0), np.float32)
        sources = (records.covariates_f32, records.genotype_f32 if guided else none,
                   records.doses_f32, records.inr_days, records.inr_values, records.inr_mask,
                   records.day, records.last_test_day, records.next_test_day)
        outs = (out["covariates"], out["genotype"] if guided else none, out["doses_mg"],
                out["inr_days"], out["inr_values"], out["inr_mask"], out["day"],
                out["days_since_last_inr"], out["days_to_next_inr"])
        observe_rows(sources, outs, COVARIATE_HIGHS_F32)
        return out

    def row(self, records: Any, settings: Any, row: int) -> dict[str, np.ndarray]:
        """Patient ``row``'s entries of :meth:`__call__` (the same values), without the batch."""
        out = {"covariates": np.minimum(records.covariates_f32[row], COVARIATE_HIGHS_F32)}
        if settings.genotype_guided:
            out["genotype"] = records.genotype_f32[row].copy()
        day, f32 = int(records.day[row]), np.float32
        out.update({
            "doses_mg": records.doses_f32[row].copy(), "inr_days": records.inr_days[row].copy(),
            "inr_values": records.inr_values[row].copy(),
            "inr_mask": records.inr_mask[row].copy(), "day": np.array([day], dtype=f32),
            "days_since_last_inr": np.array([day - int(records.last_test_day[row])], dtype=f32),
            "days_to_next_inr": np.array([max(int(records.next_test_day[row]) - day, 0)],
                                         dtype=f32)})
        return out
