"""Self-supervised training data for the patient VAE (:mod:`agents.vae.model`), simulated in batch.

Virtual patients of a pinned cohort are dosed by virtual clinicians: most follow a random
piecewise-constant regimen (a base dose drawn over the clinically plausible part of the
action range, changed at random steps, now and then a loading dose or a held dose), the
rest follow the env's label-like protocols (vancomycin: CAMERA2 label, trough-guided;
warfarin: fixed 5 mg, Aurora, IWPC + Aurora; mycophenolate: the trough protocol). During each
episode the canonical history (:func:`pkgym.wrappers.observed_history`) is kept at random
decision points (:func:`n_decisions`: one per dose slot, or per visit where the hooks say so),
more often where a level has just been measured (and at the first dose, where only
covariates are known); after the episode the full regimen and the true exposure course
(:func:`pkgym.wrappers.true_exposure`) are kept once per patient. Only the kept cuts are
stored, so memory is about ``cuts per patient x history size`` (Warfarin's 90-slot
histories included). Each env's clinicians (:class:`~agents.env_hooks.Behaviour`) are its
agent hooks' ``VAE_BEHAVIOUR`` (e.g. :mod:`agents.policies.vancomycin.hooks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import gymnasium as gym
import numpy as np
import pandas as pd
from gymnasium.vector import AutoresetMode

from agents.env_hooks import Behaviour, agent_hooks, find_spec, make_baseline
from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.wrappers import (
    HISTORY_KEYS,
    exposure_grid,
    history_layout,
    observed_history,
    true_exposure,
)


def default_behaviour(core: DosingCore) -> Behaviour:
    """The virtual clinicians of the env of ``core`` (``VAE_BEHAVIOUR`` of its agent hooks).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> default_behaviour(gym.make("pkgym/Warfarin-v0").unwrapped.core).label_policies[0]
        'fixed_5mg'
    """
    history_layout(core)  # ValueError naming the supported envs for any other
    return agent_hooks(core, "the VAE's training data").VAE_BEHAVIOUR


def n_decisions(core: DosingCore) -> int:
    """Decision steps of one episode: the hooks' ``n_steps(core)``, else one per dose slot.

    An env that decides once per dose slot (vancomycin, warfarin) needs no hook; one whose
    decision fixes several administrations (mycophenolate: 6 visits, 56 doses) defines
    ``n_steps`` in its agent hooks (:mod:`agents.env_hooks`).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> n_decisions(gym.make("pkgym/Mycophenolate-v0").unwrapped.core)
        6
        >>> n_decisions(gym.make("pkgym/Vancomycin-v0").unwrapped.core)
        14
    """
    spec = find_spec(core)
    if spec is not None and spec.agent_hooks is not None:
        steps = getattr(agent_hooks(core, "the VAE's training data"), "n_steps", None)
        if steps is not None:
            return int(steps(core))
    return history_layout(core).n_doses


@dataclass(frozen=True, slots=True)
class VAEData:
    """Histories cut at decision points, with each patient's full regimen and true course.

    Attributes:
        histories: canonical histories at the cuts (:data:`pkgym.wrappers.HISTORY_KEYS`),
            float32.  # each (n_samples, ...)
        patient_index: row of ``regimens_mg``/``exposures`` of each cut.  # (n_samples,)
        cut_step: decision steps taken before the cut.  # (n_samples,)
        log_clearance: true log clearance (L/h) at the cut, for probing.  # (n_samples,)
        regimens_mg: dose given in every dose slot of the episode.  # (n_patients, n_doses)
        exposures: true exposure on the grid.  # (n_patients, n_grid)
        grid_times_h: the exposure grid (h since the first dose).  # (n_grid,)
        unit: the exposure's unit (``"mg/L"`` or ``"INR"``).
    """

    histories: dict[str, np.ndarray]
    patient_index: np.ndarray
    cut_step: np.ndarray
    log_clearance: np.ndarray
    regimens_mg: np.ndarray
    exposures: np.ndarray
    grid_times_h: np.ndarray
    unit: str

    @property
    def n_samples(self) -> int:
        """Number of kept cuts."""
        return int(self.patient_index.size)


class RandomRegimens:
    """Per-patient random piecewise-constant doses (the random virtual clinicians)."""

    def __init__(self, behaviour: Behaviour, levels_mg: np.ndarray, n: int,
                 rng: np.random.Generator) -> None:
        """Draw each of ``n`` patients' base dose."""
        self.behaviour, self.levels, self.rng = behaviour, np.asarray(levels_mg), rng
        self.current_mg = self._fresh(n)
        self.step = 0

    def _fresh(self, n: int) -> np.ndarray:
        low, high = np.log(self.behaviour.dose_range_mg)
        return np.exp(self.rng.uniform(low, high, n))

    def next_doses(self) -> np.ndarray:
        """This step's doses (mg, on the dose levels) of every patient."""
        b, rng, n = self.behaviour, self.rng, self.current_mg.size
        if self.step > 0:
            change = rng.random(n) < b.change_probability
            factor = np.exp(rng.normal(0.0, b.change_log_sd, n))
            fresh = rng.random(n) < 0.3
            proposal = np.where(fresh, self._fresh(n), self.current_mg * factor)
            self.current_mg = np.where(change, proposal, self.current_mg)
        doses = self.current_mg.copy()
        if self.step == 0:
            doses *= np.where(rng.random(n) < b.loading_probability, rng.uniform(1.5, 2.0, n), 1)
        doses = np.where(rng.random(n) < b.hold_probability, 0.0, doses)
        self.step += 1
        nearest = np.abs(doses[:, None] - self.levels[None]).argmin(axis=1)
        return self.levels[nearest]


def simulate_vae_data(env_id: str, cohort: pd.DataFrame, rng: np.random.Generator, *,
                      env_kwargs: Mapping[str, Any] | None = None,
                      behaviour: Behaviour | None = None,
                      chunk_size: int = 2000) -> VAEData:
    """Dose ``cohort`` (one episode per row) and keep histories, regimens and true courses.

    Args:
        env_id: an env with the canonical history (:func:`pkgym.wrappers.history_env_ids`).
        cohort: patients to pin (:func:`pkgym.evaluation.cohorts.sample_cohort`).
        rng: source of the regimens, the cuts and the env's noise seeds.
        env_kwargs: extra ``make_vec`` arguments (e.g. ``scenario``).
        behaviour: the virtual clinicians (default: :func:`default_behaviour`).
        chunk_size: patients simulated at once (bounds memory).

    Examples:
        >>> import pkgym
        >>> from pkgym.evaluation.cohorts import TRAINING, sample_cohort
        >>> from pkgym.models.vancomycin import Goti2018
        >>> from pkgym.populations.vancomycin import ADULT_INPATIENTS
        >>> cohort = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, 8, 0, TRAINING)
        >>> data = simulate_vae_data("pkgym/Vancomycin-v0", cohort, np.random.default_rng(0))
        >>> data.regimens_mg.shape, data.exposures.shape, data.n_samples > 8
        ((8, 14), (8, 168), True)
    """
    if len(cohort) == 0:
        raise ValueError("cohort must hold at least one patient")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    parts = [_simulate_chunk(env_id, cohort.iloc[start:start + chunk_size], start, rng,
                             dict(env_kwargs or {}), behaviour)
             for start in range(0, len(cohort), chunk_size)]
    first = parts[0]
    return VAEData(
        histories={key: np.concatenate([p.histories[key] for p in parts]) for key in HISTORY_KEYS},
        patient_index=np.concatenate([p.patient_index for p in parts]),
        cut_step=np.concatenate([p.cut_step for p in parts]),
        log_clearance=np.concatenate([p.log_clearance for p in parts]),
        regimens_mg=np.concatenate([p.regimens_mg for p in parts]),
        exposures=np.concatenate([p.exposures for p in parts]),
        grid_times_h=first.grid_times_h, unit=first.unit)


def _simulate_chunk(env_id: str, cohort: pd.DataFrame, offset: int, rng: np.random.Generator,
                    env_kwargs: dict[str, Any], behaviour: Behaviour | None) -> VAEData:
    """One batched episode of the patients of ``cohort`` (rows ``offset ..`` of the data)."""
    n = len(cohort)
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=AutoresetMode.NEXT_STEP, **env_kwargs)
    shell = cast(DosingVectorEnv, vec.unwrapped)
    core = shell.core
    behaviour = default_behaviour(core) if behaviour is None else behaviour
    obs, info = vec.reset(seed=int(rng.integers(2**31)),
                          options={"patients": cohort.reset_index(drop=True)})
    clinicians = VirtualClinicians(behaviour, core, n, rng)
    kept: list[tuple[dict[str, np.ndarray], np.ndarray, int, np.ndarray]] = []
    measured = np.zeros(n)
    for k in range(n_decisions(core)):
        history = observed_history(core, obs)
        now = history["level_mask"].sum(axis=1)
        fresh = (now > measured) | (k == 0)
        measured = now
        chance = np.where(fresh, behaviour.measured_cut_probability, behaviour.cut_probability)
        rows = np.flatnonzero(rng.random(n) < chance)
        kept.append(({key: value[rows] for key, value in history.items()}, rows, k,
                     np.log(np.asarray(info["clearance_l_per_h"], dtype=np.float64)[rows])))
        doses = clinicians.doses(obs, info, k)
        obs, _, _, _, info = vec.step(core.encode_decisions(doses, shell.continuous))
    times, unit = exposure_grid(core)
    data = VAEData(
        histories={key: np.concatenate([h[key] for h, *_ in kept]) for key in HISTORY_KEYS},
        patient_index=np.concatenate([rows for _, rows, _, _ in kept]) + offset,
        cut_step=np.concatenate([np.full(rows.size, k) for _, rows, k, _ in kept]),
        log_clearance=np.concatenate([cl for *_, cl in kept]),
        regimens_mg=observed_history(core, obs)["dose_amounts_mg"],
        exposures=true_exposure(core).astype(np.float32), grid_times_h=times, unit=unit)
    vec.close()
    return data


class VirtualClinicians:
    """Each patient's clinician: a random regimen, or one of the label-like protocols."""

    def __init__(self, behaviour: Behaviour, core: DosingCore, n: int,
                 rng: np.random.Generator) -> None:
        """Assign each of ``n`` patients a clinician (``behaviour.label_fraction`` protocols)."""
        self.labels = [make_baseline(name, core) for name in behaviour.label_policies]
        for policy in self.labels:
            policy.reset(n)
        self.kind = np.where(rng.random(n) < behaviour.label_fraction,
                             rng.integers(1, len(self.labels) + 1, n) if self.labels else 0, 0)
        self.random = RandomRegimens(behaviour, core.dose_levels_mg, n, rng)
        self.core, self.rng = core, rng
        hooks = agent_hooks(core, "the VAE's training data")
        self.to_decisions = getattr(hooks, "vae_decisions", None)

    def doses(self, observation: Mapping[str, np.ndarray],
              info: Mapping[str, np.ndarray], step: int = 0) -> np.ndarray:
        """This step's dose of every patient, mg (or the env's decisions, (n, ...)).

        An env whose decision is more than one dose (``pkgym/Heparin-v0``: bolus, hold,
        rate) turns the random regimens' doses into decisions by its hooks' ``vae_decisions``.
        """
        doses = self.random.next_doses()
        if self.to_decisions is not None:
            doses = np.asarray(self.to_decisions(self.core, doses, step, self.rng), np.float64)
        for j, policy in enumerate(self.labels, start=1):
            chosen = np.asarray(policy.act(observation, info), np.float64)
            pick = (self.kind == j).reshape((-1,) + (1,) * (chosen.ndim - 1))
            doses = np.where(pick, chosen, doses)
        return doses
