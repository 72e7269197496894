"""Precision dosing with the patient VAE: encode the history, decode each candidate, pick.

At each decision the policy encodes every patient's observed history
(:func:`pkgym.wrappers.observed_history`) to the posterior mean of the latent state, then
decodes, in one batched call for all patients x candidate doses, the exposure course under
the regimen "the doses given so far, then the candidate at every remaining step". It gives
the candidate whose decoded exposure over the next window is closest to the target:

* vancomycin: AUC over the next 24 h (trapezoid over the decoded hourly concentrations,
  from the decoded level now; 0 at the first dose) against the middle of the env's target
  range times the MIC (500 mg*h/L by default, ``core.settings``);
* warfarin: the mean INR of the next 7 mornings (fewer at the end of the horizon) against
  the middle of the target range (2.5).

Each env's window and target are its agent hooks' ``mipd_target``
(:class:`~agents.env_hooks.ExposureTarget`, e.g. :mod:`agents.policies.vancomycin.hooks`).

Ties go to the smaller dose. The policy reads only the observation (no hidden state) and
keeps no memory between steps, so ``reset`` has nothing to forget.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.env_hooks import agent_hooks
from agents.vae.model import PatientVAE, history_tensors, load_vae, single_thread
from pkgym.envs.base import DosingCore
from pkgym.evaluation.cohorts import CohortId
from pkgym.wrappers import history_layout, observed_history

LAYOUT_KEYS = ("n_context", "n_levels", "n_doses", "horizon_h", "interval_h")


def check_vae_matches(vae_config: Mapping[str, Any], core: DosingCore) -> None:
    """Raise ValueError if the VAE was built for another history layout than ``core``'s.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> from agents.vae.training import tiny_config
        >>> check_vae_matches(tiny_config(), gym.make("pkgym/Warfarin-v0").unwrapped.core)
        Traceback (most recent call last):
        ...
        ValueError: the VAE was trained for pkgym/Vancomycin-v0 with layout ...
    """
    layout = history_layout(core)
    saved = vae_config["layout"]
    if any(float(saved[key]) != float(getattr(layout, key)) for key in LAYOUT_KEYS):
        raise ValueError(f"the VAE was trained for {vae_config['env_id']} with layout "
                         f"{ {k: saved[k] for k in LAYOUT_KEYS} }; this env's is "
                         f"{ {k: getattr(layout, k) for k in LAYOUT_KEYS} }")


def check_vae_env(vae_config: Mapping[str, Any], env_id: str,
                  scenario: str | os.PathLike | None) -> str | None:
    """Refuse another env id; return ``"TRAINED -> EVALUATED"`` under another scenario.

    A VAE trained under one scenario file (by SHA-256) and used under another is a *shifted*
    evaluation, as for a trained agent (:mod:`agents.rl.sb3_policy`): allowed when the
    history layout fits the env (:func:`check_vae_matches`), and named so.

    Examples:
        >>> from agents.vae.training import tiny_config
        >>> check_vae_env(tiny_config(), "pkgym/Warfarin-v0", None)
        Traceback (most recent call last):
        ...
        ValueError: the VAE was trained on pkgym/Vancomycin-v0, not pkgym/Warfarin-v0
    """
    if vae_config["env_id"] != env_id:
        raise ValueError(f"the VAE was trained on {vae_config['env_id']}, not {env_id}")
    digest = None if scenario is None else hashlib.sha256(Path(scenario).read_bytes()).hexdigest()
    if vae_config.get("scenario_sha256") == digest:
        return None
    trained = vae_config.get("scenario")
    return (f"{Path(trained).name if trained else 'default scenario'} -> "
            f"{Path(scenario).name if scenario else 'default scenario'}")


def window_weights(grid_times_h: np.ndarray, now_h: np.ndarray, window_h: float,
                   trapezoid: bool) -> np.ndarray:
    """Weights (n, 1 + T) that average a course over ``[now, now + window]``.

    Column 0 is the course at time 0 (drug-free), columns 1.. the grid. ``trapezoid``
    integrates linearly between grid points (the window's ends must lie on the grid or at
    0); otherwise the grid points in ``(now, now + window]`` are averaged. Windows past the
    grid's end are shortened to it.

    Examples:
        >>> window_weights(np.array([1.0, 2.0, 3.0]), np.array([0.0]), 2.0, True).tolist()
        [[0.25, 0.5, 0.25, 0.0]]
        >>> window_weights(np.array([24.0, 48.0]), np.array([24.0]), 168.0, False).tolist()
        [[0.0, 0.0, 1.0]]
    """
    times = np.concatenate([[0.0], grid_times_h])
    now = np.asarray(now_h, dtype=np.float64).reshape(-1, 1)
    end = np.minimum(now + window_h, times[-1])
    if not trapezoid:
        inside = (times[None] > now + 1e-6) & (times[None] <= end + 1e-6)
        return inside / np.maximum(inside.sum(axis=1, keepdims=True), 1)
    inside = (times[None] >= now - 1e-6) & (times[None] <= end + 1e-6)
    widths = np.diff(times)
    weights = np.zeros((now.shape[0], times.size))
    both = inside[:, 1:] & inside[:, :-1]  # segments fully inside the window
    weights[:, :-1] += 0.5 * both * widths
    weights[:, 1:] += 0.5 * both * widths
    return weights / np.maximum(end - now, 1e-9)


class VAEMIPDPolicy:
    """Doses by decoding each candidate's exposure from the VAE posterior mean (module doc).

    Args:
        vae: a trained :class:`~agents.vae.model.PatientVAE` or the path of its ``vae.pt``.
        core: the env's core (layout, dose levels and target are read from it).
        env_id, scenario: the env the policy acts in; if ``env_id`` is given, a VAE trained
            on another env is refused, and one trained under another scenario file (by
            SHA-256) runs as a shifted evaluation, named ``vae_mipd[shifted: A -> B]``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> from agents.vae.training import tiny_config
        >>> env = gym.make_vec("pkgym/Vancomycin-v0", num_envs=2,
        ...                    vectorization_mode="vector_entry_point")
        >>> obs, _ = env.reset(seed=0)
        >>> policy = VAEMIPDPolicy(PatientVAE(tiny_config()), env.unwrapped.core)
        >>> policy.act(obs).shape, policy.target
        ((2,), 500.0)
    """

    name = "vae_mipd"
    reads_hidden_state = False

    def __init__(self, vae: PatientVAE | str | Path, core: DosingCore, *,
                 env_id: str | None = None, scenario: str | os.PathLike | None = None) -> None:
        """Load the VAE if given a path; check it fits the env; read the target."""
        self.vae = vae if isinstance(vae, PatientVAE) else load_vae(vae)
        self.vae.eval()
        check_vae_matches(self.vae.config, core)
        self.shift = None if env_id is None else check_vae_env(self.vae.config, env_id, scenario)
        if self.shift is not None:
            self.name = f"vae_mipd[shifted: {self.shift}]"
        self.belief_name = "a patient VAE" if self.shift is None else \
            f"a patient VAE trained under {self.shift.split(' -> ')[0]}"
        settings: Any = core.settings
        if getattr(settings, "chooses_test_days", False):
            raise ValueError("vae_mipd chooses doses only: use an env without "
                             "choose_test_days")
        self.core, self.candidates_mg = core, np.sort(np.asarray(core.dose_levels_mg, float))
        aim = agent_hooks(core, "vae_mipd").mipd_target(core)
        self.target, self.window_h, self.trapezoid, self.scale = (
            aim.target, aim.window_h, aim.trapezoid, aim.scale)
        self.grid_times_h = np.asarray(self.vae.config["grid_times_h"], dtype=np.float64)
        meta = self.vae.metadata
        self.training_cohorts = tuple(CohortId(c["seed_entropy"], tuple(c["spawn_key"]),
                                               c["start"], c["stop"])
                                      for key in ("training_cohort", "validation_cohort")
                                      if (c := meta.get(key)))

    def reset(self, n_envs: int) -> None:
        """Stateless: nothing to forget."""

    @torch.no_grad()
    def predicted_exposure(self, observation: Mapping[str, np.ndarray]) -> np.ndarray:
        """Decoded windowed exposure (n, n_candidates): AUC24 (mg*h/L) or mean INR."""
        history = observed_history(self.core, observation)
        n, m = history["time_h"].shape[0], self.candidates_mg.size
        given = history["dose_mask"] > 0
        regimens = np.where(given[:, None], history["dose_amounts_mg"][:, None],
                            self.candidates_mg[None, :, None])  # (n, m, K)
        tensors = history_tensors(history)
        with single_thread():
            mu, _ = self.vae.encode(tensors)
            repeated = {"context": tensors["context"].repeat_interleave(m, dim=0)}
            decoded = self.vae.decode(mu.repeat_interleave(m, dim=0), repeated,
                                      torch.as_tensor(regimens.reshape(n * m, -1),
                                                      dtype=torch.float32))
            courses = self.vae.exposure_from_normalised(decoded).numpy().reshape(n, m, -1)
        courses = np.concatenate([np.zeros((n, m, 1)), courses], axis=2)  # drug-free at 0
        weights = window_weights(self.grid_times_h, history["time_h"][:, 0], self.window_h,
                                 self.trapezoid)
        return np.einsum("nmt,nt->nm", courses, weights) * self.scale

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,): the candidate closest to the target."""
        predicted = self.predicted_exposure(observation)
        return self.candidates_mg[np.argmin(np.abs(predicted - self.target), axis=1)]
