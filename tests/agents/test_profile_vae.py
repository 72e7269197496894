"""The MPA profile VAE: simulated data, a few training steps, predictions and intervals."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.mycophenolate.vae_dosing import VaeDosingPolicy
from agents.vae.profile_data import GRID_H, simulate_profiles, ward_sample_times
from agents.vae.profiles import (
    ProfilePredictor,
    calibrate_interval_scale,
    hybrid_features,
    load_profile_vae,
    profile_inputs,
    save_profile_vae,
    train_profile_vae,
)

LEVELS = np.arange(250.0, 2001.0, 250.0)


@pytest.fixture(scope="module")
def data():
    """Twenty simulated patients (true EHC model, ward sampling, assay error)."""
    return simulate_profiles(np.random.default_rng(5), 20)


def test_simulate_profiles__targets_match_the_observed_dose(data) -> None:
    """The first target is the sampled dose's profile: its trapezoid AUC is the exact one."""
    trapezoid = np.trapezoid(data.profiles_mg_per_l[:, 0], GRID_H, axis=1)
    assert np.allclose(trapezoid, data.aucs[:, 0], rtol=0.02)
    assert np.isin(data.doses_mg, LEVELS).all()


def test_ward_sample_times__within_the_plan() -> None:
    """C0 up to 30 min before the dose; C0.5 and C2 within 15 min of nominal."""
    t = ward_sample_times(np.random.default_rng(0), 500)
    assert (t[:, 0] <= 0).all() and (t[:, 0] >= -0.5).all()
    assert np.all(np.abs(t[:, 1:] - [0.5, 2.0]) <= 0.25 + 1e-12)


@pytest.mark.parametrize("hybrid", [False, True])
def test_train_profile_vae__a_few_steps_then_predict(data, hybrid, tmp_path) -> None:
    """Train briefly; decoded profiles and AUCs have the right shapes; save/load round-trips."""
    train, val = data.rows(slice(0, 16)), data.rows(slice(16, 20))
    feats = [hybrid_features(d.covariates, d.doses_mg[:, 0], d.sample_times_h,
                             d.concentrations_mg_per_l, iterations=2) if hybrid else None
             for d in (train, val)]
    vae = train_profile_vae(train, val, hybrid=hybrid, train_hybrid=feats[0],
                            validation_hybrid=feats[1], epochs=2, batch_size=8)
    batch = profile_inputs(val.covariates, val.doses_mg[:, 0], val.sample_times_h,
                           val.concentrations_mg_per_l, hybrid=feats[1])
    predictor = ProfilePredictor(vae)
    profiles, aucs = predictor.predict(batch, np.broadcast_to(LEVELS, (4, 8)), feats[1])
    assert profiles.shape == (4, 8, GRID_H.size) and aucs.shape == (4, 8)
    assert np.all(np.isfinite(aucs)) and np.all(aucs > 0)
    median, low, high = predictor.auc_interval(batch, val.doses_mg[:, 0], feats[1], n_draws=10)
    assert np.all(low <= median) and np.all(median <= high)
    save_profile_vae(vae, tmp_path)
    again = ProfilePredictor(load_profile_vae(tmp_path)).predict(batch, val.doses_mg[:, 0],
                                                                 feats[1])
    before = predictor.predict(batch, val.doses_mg[:, 0], feats[1])[1]
    assert np.allclose(again[1][:, 0], before[:, 0])
    _doses_two_visits(VaeDosingPolicy(tmp_path), "vae_hybrid" if hybrid else "vae")


def _doses_two_visits(policy: VaeDosingPolicy, name: str) -> None:
    """The saved VAE (plain or hybrid) doses env patients at day 0 and from day 3's samples."""
    env = gym.make_vec("pkgym/Mycophenolate-v0", num_envs=3,
                       vectorization_mode="vector_entry_point")
    obs, info = env.reset(seed=0)
    policy.reset(3)
    for _ in range(2):
        doses = policy.act(obs, info)
        assert policy.name == name and np.isin(doses, LEVELS).all()
        obs, *_, info = env.step(np.searchsorted(LEVELS, doses))


def test_calibrate_interval_scale__reaches_the_level() -> None:
    """The fitted scale makes 90 % of widened intervals cover the truth."""
    rng = np.random.default_rng(1)
    truth = np.exp(rng.normal(0.0, 0.5, 400))
    median = np.ones(400)
    scale = calibrate_interval_scale(median, median / 1.1, median * 1.1, truth)
    covered = (truth >= np.exp(-scale * np.log(1.1))) & (truth <= np.exp(scale * np.log(1.1)))
    assert scale > 1.0 and 0.89 <= covered.mean() <= 0.92
