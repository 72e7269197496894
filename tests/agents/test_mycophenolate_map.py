"""MAP estimation of MPA exposure with the true EHC prior and the no-EHC standard prior."""

from __future__ import annotations

import numpy as np
import pytest

from agents.policies.mycophenolate.map import MapPolicy
from agents.vae.profile_map import fit_map, nearest_target_dose, predict_steady
from agents.vae.profile_priors import Visits, make_prior
from pkgym.models import mycophenolate as mpa

RICH_TIMES_H = np.array([-0.2, 0.5, 1.0, 2.0, 4.0, 6.0, 8.2, 8.6, 9.5, 11.0])
"""Noise-free samples around one dose, dense enough to identify the etas and the EHC peak."""


@pytest.fixture(scope="module")
def noise_free() -> dict:
    """Four tacrolimus patients (EHC active) at moderate etas, sampled without noise."""
    cov = {"albumin_g_per_l": np.array([35.0, 40.0, 38.0, 42.0]),
           "creatinine_clearance_ml_per_min": np.array([40.0, 70.0, 55.0, 80.0]),
           "ciclosporin": np.zeros(4)}
    sd = np.sqrt(np.diag(mpa.DeWinter2009().omega))
    etas = np.array([[0.3, -0.4, 0.2, -0.3, 0.4, -0.1, 0.3],
                     [-0.2, 0.3, -0.3, 0.2, -0.2, 0.1, -0.3],
                     [0.1, 0.2, 0.4, 0.1, 0.0, -0.2, 0.2],
                     [-0.3, -0.1, -0.2, -0.4, 0.3, 0.0, 0.1]])
    etas = etas * sd / sd.max() * 1.5  # well inside the prior
    doses = np.array([1000.0, 750.0, 1250.0, 1500.0])
    times = np.broadcast_to(RICH_TIMES_H, (4, RICH_TIMES_H.size))
    visits = Visits.steady_state(cov, doses, times, np.ones(times.shape))
    truth = make_prior("true").sample_concentrations(visits, etas)
    visits = Visits.steady_state(cov, doses, times, truth)
    return {"cov": cov, "etas": etas, "doses": doses, "visits": visits, "truth": truth}


def test_map_true__recovers_the_profile_on_noise_free_data(noise_free: dict) -> None:
    """With its own model and tight residuals, MAP finds each patient's AUC0-12 within 5 %."""
    fit = fit_map("true", noise_free["visits"], iterations=25, residual_sd_log=0.02)
    _, auc = predict_steady("true", fit.etas, noise_free["cov"], noise_free["doses"])
    _, true_auc = predict_steady("true", noise_free["etas"], noise_free["cov"],
                                 noise_free["doses"])
    assert np.all(np.abs(auc / true_auc - 1.0) < 0.05)


def test_map_no_ehc__cannot_draw_the_secondary_peak(noise_free: dict) -> None:
    """On the same data the two-compartment prior misfits 6-12 h far more than the truth."""
    late = RICH_TIMES_H >= 6.0
    rms = {}
    for prior in ("true", "no_ehc"):
        model = make_prior(prior)
        fit = fit_map(model, noise_free["visits"], iterations=25, residual_sd_log=0.02)
        fitted = model.sample_concentrations(noise_free["visits"], fit.etas)
        residual = np.log(fitted[:, late]) - np.log(noise_free["truth"][:, late])
        rms[prior] = float(np.sqrt(np.mean(residual**2)))
    assert rms["no_ehc"] > 3.0 * rms["true"]
    assert rms["no_ehc"] > 0.1


def test_fit_map__without_samples_gives_the_prior_mode() -> None:
    """No sample taken: every eta stays 0 (the typical patient)."""
    visits = Visits(covariates={"albumin_g_per_l": np.full((2, 1), 38.0),
                                "creatinine_clearance_ml_per_min": np.full((2, 1), 60.0),
                                "ciclosporin": np.zeros((2, 1))},
                    doses_mg=np.full((2, 1), 1000.0), sample_times_h=np.zeros((2, 3)),
                    concentrations_mg_per_l=np.zeros((2, 3)), sample_mask=np.zeros((2, 3), bool))
    assert np.all(fit_map("true", visits, iterations=3).etas == 0.0)


def test_nearest_target_dose__refuses_unsorted_levels() -> None:
    """Dose levels must ascend."""
    with pytest.raises(ValueError, match="dose_levels_mg"):
        nearest_target_dose(np.ones((1, 2)), np.array([500.0, 250.0]))


def test_map_policy__doses_env_patients_from_the_observation() -> None:
    """Both priors give one of the env's levels to every patient, at day 0 and day 3."""
    import gymnasium as gym

    import pkgym  # noqa: F401

    env = gym.make_vec("pkgym/Mycophenolate-v0", num_envs=2,
                       vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=3)
    for prior, name in (("true", "map"), ("no_ehc", "map_no_ehc")):
        policy = MapPolicy(prior, iterations=3)
        policy.reset(2)
        assert policy.name == name
        assert np.isin(policy.act(obs), policy.dose_levels_mg).all()
    obs, *_ = env.step(np.full(2, 3))
    doses = MapPolicy("true", iterations=3).act(obs)
    assert np.isin(doses, np.arange(250.0, 2001.0, 250.0)).all()
    env.close()
