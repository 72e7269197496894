"""CGM noise (Breton & Kovatchev 2008 form) and pump quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pkgym.models.glucose_sensor import (
    cgm_noise_streams,
    cgm_sensor,
    initial_noise_latent,
    insulin_pump,
    measure_cgm,
    noise_distribution,
    quantise_basal_u_per_h,
    quantise_bolus_u,
    sample_cgm_noise,
    simglucose_pump_u_per_min,
)


def _noise(seed: int, n: int, samples: int, sensor_name: str = "GuardianRT"):
    sensor = cgm_sensor(sensor_name)
    rngs = cgm_noise_streams(seed, n)
    return sensor, sample_cgm_noise(sensor, rngs, initial_noise_latent(sensor, rngs), samples)[0]


def test_sensor__shipped_values():
    """The three sensors of simglucose's sensor_params.csv."""
    dexcom = cgm_sensor("Dexcom")
    assert (dexcom.pacf, dexcom.gamma, dexcom.lambda_mg_per_dl, dexcom.delta,
            dexcom.xi_mg_per_dl) == (0.7, -0.5444, 15.9574, 1.6898, -5.47)
    assert cgm_sensor("Navigator").min_mg_per_dl == 32.0
    with pytest.raises(ValueError, match="name"):
        cgm_sensor("Libre")


def test_noise__marginal_moments_match_johnson_su():
    """Mean, SD and skewness of 200 000 samples match the analytic Johnson SU law."""
    _, noise = _noise(seed=11, n=4000, samples=50)
    law = noise_distribution(cgm_sensor())
    # a closed form of the mean, as a check on the scipy parametrisation
    s = 0.7 / np.sqrt(1 - 0.49)
    mean = -5.47 - 15.9574 * np.exp(s**2 / (2 * 1.6898**2)) * np.sinh(-0.5444 / 1.6898)
    assert float(law.mean()) == pytest.approx(mean, rel=1e-12)
    # samples of one patient are correlated (effective n ~ 4000 * 50 / 15): 5 standard errors
    se = float(law.std()) / np.sqrt(noise.size / 15)
    assert abs(noise.mean() - float(law.mean())) < 5 * se
    assert noise.std() == pytest.approx(float(law.std()), rel=0.03)
    assert np.quantile(noise, 0.9) == pytest.approx(float(law.ppf(0.9)), rel=0.03)
    ks = stats.kstest(noise[:, 0], law.cdf)  # first samples: independent across patients
    assert ks.pvalue > 1e-3


def test_noise__lag_one_autocorrelation_of_the_latent():
    """The latent (inverted transform) has lag-1 correlation PACF^(dt/15): 0.888 at 5 min."""
    sensor, noise = _noise(seed=3, n=2000, samples=60)
    latent = sensor.gamma + sensor.delta * np.arcsinh(
        (noise - sensor.xi_mg_per_dl) / sensor.lambda_mg_per_dl)
    r = np.corrcoef(latent[:, :-1].ravel(), latent[:, 1:].ravel())[0, 1]
    assert r == pytest.approx(0.7 ** (5 / 15), abs=0.01)
    three = latent[:, :-3].ravel(), latent[:, 3:].ravel()
    assert np.corrcoef(*three)[0, 1] == pytest.approx(0.7, abs=0.015)


def test_noise__reproducible_and_batch_size_invariant():
    """Same seed, same noise; patient k's noise is the same in a batch of 3 or of 50."""
    _, small = _noise(seed=5, n=3, samples=40)
    _, again = _noise(seed=5, n=3, samples=40)
    _, large = _noise(seed=5, n=50, samples=40)
    np.testing.assert_array_equal(small, again)
    np.testing.assert_array_equal(small, large[:3])
    assert not np.allclose(small[0], small[1])


def test_noise__continues_across_calls():
    """Two calls of 20 samples continue the same AR process as one call of 40."""
    sensor = cgm_sensor()
    rngs = cgm_noise_streams(9, 4)
    one, _ = sample_cgm_noise(sensor, rngs, initial_noise_latent(sensor, rngs), 40)
    rngs = cgm_noise_streams(9, 4)
    first, latent = sample_cgm_noise(sensor, rngs, initial_noise_latent(sensor, rngs), 20)
    second, _ = sample_cgm_noise(sensor, rngs, latent, 20)
    np.testing.assert_allclose(np.hstack([first, second]), one, rtol=1e-12)


def test_measure_cgm__clips_to_sensor_range():
    """Readings are glucose + noise within [39, 600] mg/dL (GuardianRT)."""
    got = measure_cgm([20.0, 100.0, 700.0], [0.0, -3.0, 0.0], cgm_sensor())
    assert got.tolist() == [39.0, 97.0, 600.0]


def test_pump__quantise_and_limits():
    """Boluses to 0.05 U within [0, 30] U (Insulet); basal to 0.05 U/h within [0, 35] (Cozmo)."""
    insulet, cozmo = insulin_pump("Insulet"), insulin_pump("Cozmo")
    np.testing.assert_allclose(quantise_bolus_u([0.0, 1.234, 31.0], insulet), [0.0, 1.25, 30.0])
    np.testing.assert_allclose(quantise_basal_u_per_h([0.024, 0.026, 50.0], cozmo),
                               [0.0, 0.05, 35.0])
    with pytest.raises(ValueError, match="bolus_u"):
        quantise_bolus_u([-1.0], insulet)
    # simglucose's arithmetic: rate in U/min * 6000, steps of 0.05, back to U/min, clipped
    got = simglucose_pump_u_per_min([0.02, 40.0], insulet, "bolus")
    np.testing.assert_allclose(got, [np.round(0.02 * 6000 / 0.05) * 0.05 / 6000, 30.0])
    with pytest.raises(ValueError, match="kind"):
        simglucose_pump_u_per_min([0.02], insulet, "square")  # type: ignore[arg-type]
