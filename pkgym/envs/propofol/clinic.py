"""The operating theatre: scenario, BIS target and reward, observation model, step outcome.

Configuration flows one way (STYLE 11): a YAML file or keyword arguments give a frozen
:class:`PropofolScenario`, which :func:`pkgym.envs.propofol.records.clinic_settings` turns
into the core's settings.

Sources: the BIS target 40-60 for general anaesthesia is the manufacturer's range and the
one of the B-Aware and B-Unaware trials (Myles PS et al. Lancet 2004;363:1757; Avidan MS et
al. N Engl J Med 2008;358:1097); closed-loop studies score time in 40-60 (Absalom AR et al.
Anesthesiology 2002;96:67; Soltesz K et al. Biomed Signal Process Control 2013;8:500).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces

from pkgym.envs.base import ObservationModel, RewardFn
from pkgym.envs.propofol.kernel import observe_rows
from pkgym.scenarios import check_fields
from pkgym.scenarios import resolve_scenario as resolve

BIS_TARGET = (40.0, 60.0)
"""The clinical BIS band of general anaesthesia."""
RATE_LEVELS_MG_PER_KG_PER_H = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0,
                               30.0, 45.0, 60.0, 90.0, 120.0, 160.0)
"""Default infusion rates of the action levels, mg/kg/h (see the env card)."""
STIMULATION_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "none": ((0.0,), (0.0,)),
    "realistic": (
        (0.0, 9.9, 10.0, 12.0, 13.0, 19.9, 20.2, 21.0, 21.5, 26.0, 27.0, 28.0, 36.0, 37.0,
         37.5, 38.0, 41.0, 41.5, 42.0, 43.0, 47.0, 47.5, 50.0, 51.0, 56.0, 56.5),
        (0.0, 0.0, 20.0, 20.0, 0.0, 0.0, 20.0, 20.0, 0.0, -20.0, 20.0, 10.0, 10.0, 30.0,
         30.0, 10.0, 10.0, 30.0, 30.0, 10.0, 10.0, 30.0, 30.0, 10.0, 10.0, 0.0))}
"""Surgical stimulation as BIS points added to the drug's BIS, (minutes, BIS) linearly
interpolated (0 after the last point). ``realistic``: the BIS column of the "realistic"
disturbance of Python_Anesthesia_Simulator (Aubouin-Pairault B et al., J Open Source Softw
2023; ``disturbances.py``), itself after the standard stimulus profile of Ionescu CM et al.
IEEE Trans Biomed Eng 2008;55:2161 (intubation at 10 min, incision at 20 min, a lull, then
continuous surgery with short stronger stimuli, withdrawal at 56.5 min)."""
COVARIATE_HIGHS = np.array([120.0, 300.0, 250.0, 1.0, 1.0], dtype=np.float32)
"""Upper bounds of ``covariates``: age y, weight kg, height cm, female 0/1, opioid 0/1."""


@dataclass(frozen=True, slots=True)
class StepOutcome:
    """One step's clinical outcome of every patient (true BIS at the step's end).

    Attributes:
        bis: true (undelayed, noise-free) BIS (n,).
        rate_mg_per_kg_per_h: the infusion rate of the step (n,).
    """

    bis: np.ndarray
    rate_mg_per_kg_per_h: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class BisReward(RewardFn):
    """Reward per step on the TRUE BIS at the step's end: in range, minus depth and dose.

    ``in_range_weight * [40 <= BIS <= 60] - deep_weight * (40 - BIS)+ / 10 - light_weight *
    (BIS - 60)+ / 10 - dose_weight * rate / 10``.

    Attributes:
        in_range_weight: reward of a step in 40-60 (1).
        deep_weight: per 10 BIS units below 40 (1; deep anaesthesia: hypotension, burst
            suppression; ours).
        light_weight: per 10 BIS units above 60 (1; awareness; ours). The induction's first
            minutes are light whatever the policy does.
        dose_weight: per 10 mg/kg/h of the step's rate (0.01: small, breaks ties towards less
            propofol; ours).
    """

    in_range_weight: float = 1.0
    deep_weight: float = 1.0
    light_weight: float = 1.0
    dose_weight: float = 0.01

    def __post_init__(self) -> None:
        """Weights >= 0."""
        for name in ("in_range_weight", "deep_weight", "light_weight", "dose_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"reward.{name} must be >= 0, got {getattr(self, name)}")

    def __call__(self, outcome: StepOutcome, doses_mg: np.ndarray) -> np.ndarray:
        """Reward of each patient for one step (``doses_mg``: rates, mg/kg/h, unused)."""
        bis, (low, high) = outcome.bis, BIS_TARGET
        in_range = ((bis >= low) & (bis <= high)).astype(np.float64)
        return (self.in_range_weight * in_range
                - self.deep_weight * np.maximum(low - bis, 0.0) / 10.0
                - self.light_weight * np.maximum(bis - high, 0.0) / 10.0
                - self.dose_weight * outcome.rate_mg_per_kg_per_h / 10.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PropofolScenario:
    """Everything that defines the theatre (YAML fields have the same names).

    Attributes:
        n_minutes: episode length, min (30: induction and early maintenance).
        step_seconds: seconds per decision (10: the update interval of TCI pumps).
        rate_levels_mg_per_kg_per_h: infusion rates of the action levels.
        opioid_probability: share of drawn patients with remifentanil co-administered
            (Eleveld's opioid covariate; 1: propofol-remifentanil TIVA).
        bis_noise_scale: multiplies the BIS residual error (1: Eleveld's; 0: noise-free).
        stimulation: surgical stimulation added to the BIS (:data:`STIMULATION_PROFILES`;
            ``none`` by default; ``realistic`` spans 60 min).
        history_steps: BIS samples and rates observed (30 = 5 min).
        age_mean_years, age_sd_years: the adult age distribution (normal truncated to 18-85;
            chosen, see the env card).
        reward: the reward weights.
    """

    n_minutes: int = 30
    step_seconds: int = 10
    rate_levels_mg_per_kg_per_h: tuple[float, ...] = RATE_LEVELS_MG_PER_KG_PER_H
    opioid_probability: float = 1.0
    bis_noise_scale: float = 1.0
    stimulation: str = "none"
    history_steps: int = 30
    age_mean_years: float = 50.0
    age_sd_years: float = 17.0
    reward: BisReward = field(default_factory=BisReward)

    def __post_init__(self) -> None:
        """Validate every field, naming it."""
        check_fields(self)
        if not 1 <= self.n_minutes <= 600:
            raise ValueError(f"n_minutes must be in 1..600, got {self.n_minutes}")
        if self.step_seconds not in (1, 2, 5, 10, 15, 20, 30, 60):
            raise ValueError(f"step_seconds must be one of 1, 2, 5, 10, 15, 20, 30, 60, got "
                             f"{self.step_seconds}")
        levels = np.asarray(self.rate_levels_mg_per_kg_per_h)
        if levels.size < 2 or levels[0] != 0 or np.any(np.diff(levels) <= 0) or levels[-1] > 400:
            raise ValueError(f"rate_levels_mg_per_kg_per_h must rise strictly from 0 to at most "
                             f"400, got {self.rate_levels_mg_per_kg_per_h}")
        if not 0.0 <= self.opioid_probability <= 1.0:
            raise ValueError(f"opioid_probability must be in [0, 1], got "
                             f"{self.opioid_probability}")
        if not 0.0 <= self.bis_noise_scale <= 5.0:
            raise ValueError(f"bis_noise_scale must be in [0, 5], got {self.bis_noise_scale}")
        if self.stimulation not in STIMULATION_PROFILES:
            raise ValueError(f"stimulation must be one of {tuple(STIMULATION_PROFILES)}, got "
                             f"{self.stimulation!r}")
        if not 1 <= self.history_steps <= 360:
            raise ValueError(f"history_steps must be in 1..360, got {self.history_steps}")
        if not 18.0 <= self.age_mean_years <= 85.0 or not 0 < self.age_sd_years <= 50:
            raise ValueError("age_mean_years must be in [18, 85] and age_sd_years in (0, 50]")

    @property
    def n_steps(self) -> int:
        """Decisions per episode."""
        return self.n_minutes * 60 // self.step_seconds

    @property
    def step_min(self) -> float:
        """Minutes per decision."""
        return self.step_seconds / 60.0


def stimulation_bis(scenario: PropofolScenario, minutes: np.ndarray) -> np.ndarray:
    """The stimulation's BIS points at ``minutes`` (0 before time 0 and after the profile).

    Examples:
        >>> s = PropofolScenario(stimulation="realistic")
        >>> stimulation_bis(s, np.array([5.0, 11.0, 26.0, 70.0])).tolist()
        [0.0, 20.0, -20.0, 0.0]
    """
    times, points = STIMULATION_PROFILES[scenario.stimulation]
    return np.interp(minutes, times, points, left=0.0, right=0.0)


@functools.lru_cache(maxsize=64)
def stimulation_by_step(scenario: PropofolScenario) -> np.ndarray:
    """:func:`stimulation_bis` at every step end ``k * step_min``, k = 0 ... n_steps (read-only).

    Examples:
        >>> stimulation_by_step(PropofolScenario(stimulation="realistic"))[[0, 66, 156]].tolist()
        [0.0, 20.0, -20.0]
    """
    table = stimulation_bis(scenario, np.arange(scenario.n_steps + 1) * scenario.step_min)
    table.flags.writeable = False
    return table


def resolve_scenario(scenario: PropofolScenario | str | os.PathLike | None,
                     env_id: str) -> PropofolScenario:
    """The scenario from an object, a YAML path or ``None``.

    Examples:
        >>> resolve_scenario(None, "any id").n_steps
        180
    """
    return resolve(scenario, PropofolScenario, env_id)


class ClinicObservation(ObservationModel):
    """What the anaesthetist knows (float32): BIS history, rates given, covariates, time."""

    def space(self, settings: Any) -> spaces.Dict:
        """The observation space of one patient under ``settings``."""
        s = settings.scenario
        n, top = s.history_steps, float(s.rate_levels_mg_per_kg_per_h[-1])

        def box(size: int, high: float | np.ndarray) -> spaces.Box:
            return spaces.Box(0.0, np.broadcast_to(np.float32(high), (size,)), dtype=np.float32)

        return spaces.Dict({
            "bis": box(n, 100.0), "bis_mask": box(n, 1.0),
            "rates_mg_per_kg_per_h": box(n, top), "covariates": box(5, COVARIATE_HIGHS),
            "elapsed_min": box(1, float(s.n_minutes))})

    def __call__(self, records: Any, settings: Any) -> dict[str, np.ndarray]:
        """Batched observation of all patients (fresh float32 arrays, clipped to the space).

        Compiled (:func:`pkgym.envs.propofol.kernel.observe_rows`): the last
        ``history_steps`` monitor samples and the rates before each, 0 before the start.
        """
        s = settings.scenario
        bis, mask, rates, covariates, elapsed = observe_rows(
            records.bis_measured, records.rates, records.covariates, records.step,
            s.history_steps, float(s.rate_levels_mg_per_kg_per_h[-1]), s.step_min,
            float(s.n_minutes), COVARIATE_HIGHS)
        return {"bis": bis, "bis_mask": mask, "rates_mg_per_kg_per_h": rates,
                "covariates": covariates, "elapsed_min": elapsed}
