"""Precision dosing with the patient VAE: valid doses, target attainment, env checks."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.registry import make_policy
from agents.vae.mipd import VAEMIPDPolicy, window_weights
from agents.vae.model import PatientVAE, single_thread
from agents.vae.training import _cohort, tiny_config
from pkgym.evaluation.cohorts import LeakageError, check_no_leakage, sample_cohort
from pkgym.evaluation.runner import run_policy

VANCOMYCIN, WARFARIN = "pkgym/Vancomycin-v0", "pkgym/Warfarin-v0"


@pytest.fixture(autouse=True)
def _one_torch_thread():  # noqa: ANN202
    """Tiny networks: one torch thread (several stall on busy shared cores)."""
    with single_thread():
        yield


def _vector(env_id: str, n: int) -> gym.vector.VectorEnv:
    return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")


class FixedDose:
    """The same dose for everyone."""

    reads_hidden_state = False

    def __init__(self, dose_mg: float) -> None:
        """Remember the dose, mg."""
        self.dose_mg, self.name = dose_mg, f"fixed_{dose_mg:g}"

    def reset(self, n_envs: int) -> None:
        """Remember the batch size."""
        self.n = n_envs

    def act(self, observation: dict, info: dict | None = None) -> np.ndarray:
        """The fixed dose."""
        return np.full(self.n, self.dose_mg)


@pytest.mark.parametrize("env_id", [VANCOMYCIN, pytest.param(WARFARIN, marks=pytest.mark.slow)])
def test_vae_mipd__returns_valid_doses_through_an_episode(env_id: str) -> None:
    """Every decision is one of the env's dose levels, one per patient."""
    env = _vector(env_id, 3)
    core = env.unwrapped.core
    torch.manual_seed(0)
    policy = VAEMIPDPolicy(PatientVAE(tiny_config(env_id)), core)
    obs, info = env.reset(seed=0)
    policy.reset(3)
    for _ in range(10):
        doses = policy.act(obs, info)
        assert doses.shape == (3,) and np.isin(doses, core.dose_levels_mg).all()
        obs, _, _, _, info = env.step(core.encode_decisions(doses, False))


def test_vae_mipd__beats_a_fixed_dose_on_auc_attainment(tiny_vae_path: Path) -> None:
    """Trained briefly, it keeps AUC24 in 400-600 more often than 1 g q12h on held-out patients."""
    core = _vector(VANCOMYCIN, 1).unwrapped.core
    settings = core.settings
    cohort = sample_cohort(settings.population, settings.model.variability, 80, seed=3)
    scores = {policy.name: run_policy(policy, VANCOMYCIN, cohort, 0)
              for policy in (VAEMIPDPolicy(tiny_vae_path, core), FixedDose(1000.0))}
    vae, fixed = (scores[name]["in_target_range_fraction"].mean()
                  for name in ("vae_mipd", "fixed_1000"))
    assert vae > fixed + 0.1


def test_vae_mipd__predicted_auc_rises_with_the_dose(tiny_vae_path: Path) -> None:
    """At the first dose the decoded next-day AUC is higher for 3 g than for 250 mg."""
    env = _vector(VANCOMYCIN, 8)
    obs, _ = env.reset(seed=1)
    predicted = VAEMIPDPolicy(tiny_vae_path, env.unwrapped.core).predicted_exposure(obs)
    assert predicted.shape == (8, 13)
    assert np.all(predicted[:, -1] > 2 * predicted[:, 1])


def test_vae_mipd__registry_spec_and_leakage_guard(tiny_vae_path: Path) -> None:
    """'vae_mipd:PATH' builds it; its training cohort is refused as an evaluation cohort."""
    core = _vector(VANCOMYCIN, 1).unwrapped.core
    policy = make_policy(f"vae_mipd:{tiny_vae_path}", core, env_id=VANCOMYCIN)
    assert policy.name == "vae_mipd" and policy.reads_hidden_state is False
    with pytest.raises(LeakageError):
        check_no_leakage(_cohort(core, 10, 0, 500), policy.training_cohorts)


def test_vae_mipd__another_env_is_refused(tiny_vae_path: Path) -> None:
    """A vancomycin VAE cannot dose warfarin, nor a vancomycin scenario it was not trained on."""
    with pytest.raises(ValueError, match="layout"):
        VAEMIPDPolicy(tiny_vae_path, _vector(WARFARIN, 1).unwrapped.core)
    core = _vector(VANCOMYCIN, 1).unwrapped.core
    with pytest.raises(ValueError, match="trained on pkgym/Vancomycin-v0"):
        make_policy(f"vae_mipd:{tiny_vae_path}", core, env_id=WARFARIN)


def test_window_weights__trapezoid_integrates_a_line_exactly() -> None:
    """Trapezoid weights average a linear course exactly; they sum to 1."""
    grid = np.arange(1.0, 169.0)
    course = np.concatenate([[0.0], grid]) * 2.0 + 1.0  # value at t: 2t + 1 (t = 0, 1, ...)
    weights = window_weights(grid, np.array([0.0, 36.0, 160.0]), 24.0, trapezoid=True)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(weights @ course, [25.0, 97.0, 329.0])  # mean of 2t + 1


def test_window_weights__point_average_of_the_next_week() -> None:
    """Warfarin: the mean of the next 7 mornings (fewer at the horizon)."""
    grid = 24.0 * np.arange(1, 91)
    weights = window_weights(grid, np.array([0.0, 86 * 24.0]), 168.0, trapezoid=False)
    assert np.count_nonzero(weights[0]) == 7 and np.count_nonzero(weights[1]) == 4
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
