"""CGM sensor error (Breton & Kovatchev 2008) and insulin pump limits, with simglucose's parameters.

**CGM noise.** Breton M, Kovatchev B (2008), J Diabetes Sci Technol 2(5):853-862: the sensor
error is ``eps = xi + lambda * sinh((e - gamma) / delta)`` (a Johnson SU transform) of a
Gaussian AR(1) latent ``e_n = PACF * (e_{n-1} + v_n)``, ``v_n ~ N(0, 1)``, on a 15-min grid.
Parameters: simglucose 0.2.11's ``params/sensor_params.csv`` (Dexcom, GuardianRT, Navigator:
PACF 0.7, gamma -0.5444, lambda 15.9574 mg/dL, delta 1.6898, xi -5.47 mg/dL), shipped as
``pkgym/models/data/uva_padova_sensor_params.csv`` (MIT).

What pkgym does, and how it differs from simglucose: the latent is the stationary form of that
recursion, ``N(0, s^2)`` with ``s^2 = PACF^2 / (1 - PACF^2)`` (0.96), sampled exactly on the
sensor's own grid of ``dt`` minutes as an AR(1) with coefficient ``phi = PACF^(dt / 15)``
(correlation PACF at 15 min, as in the paper) and started from its stationary law. Every sample
is then exactly Johnson SU: ``johnsonsu(a=gamma/s, b=delta/s, loc=xi, scale=lambda)``
(:func:`noise_distribution`). simglucose instead starts at ``e_1 = v_1`` and cubic-interpolates
blocks of the 15-min sequence to the sensor's sample time, so its marginal is not exactly
Johnson SU; neither reproduces the other's random draws (simglucose uses ``RandomState``).
Each patient has its own Generator (:func:`cgm_noise_streams`): patient k's noise does not
depend on the batch size. Readings are clipped to the sensor's [min, max] (mg/dL).

**Pump.** simglucose's ``params/pump_params.csv`` (Cozmo, Insulet: bolus 0-75 / 0-30 U in
0.05 U steps; basal 0-35 / 0-30 U/h in 0.05 U/h steps, units as in the pumps' manuals).
:func:`quantise_bolus_u` and :func:`quantise_basal_u_per_h` round to those steps and clip to
those limits. simglucose's own ``InsulinPump`` applies the same numbers to a rate in U/min
after multiplying by 6000 (so its step is 0.05 pmol/min, and its limits act on U/min):
:func:`simglucose_pump_u_per_min` reproduces that arithmetic for comparisons.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numba
import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from pkgym.utils import as_seed_sequence, check_finite, check_non_negative

__all__ = ["CgmSensorParameters", "PumpParameters", "cgm_noise_from_normals",
           "cgm_noise_streams", "cgm_sensor",
           "initial_noise_latent", "insulin_pump", "measure_cgm", "noise_distribution",
           "quantise_basal_u_per_h", "quantise_bolus_u", "sample_cgm_noise",
           "simglucose_pump_u_per_min"]

DATA_DIR = Path(__file__).with_name("data")
MODEL_SAMPLE_TIME_MIN = 15.0
"""Sample time at which Breton & Kovatchev's PACF is defined, min."""
BRETON = "Breton & Kovatchev 2008, J Diabetes Sci Technol 2:853 (simglucose sensor_params.csv)"
SIMGLUCOSE_PUMP = "simglucose 0.2.11 params/pump_params.csv"


def _read(name: str) -> dict[str, dict[str, str]]:
    with (DATA_DIR / name).open(newline="") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def _unit(unit: str, source: str) -> Any:
    return field(metadata={"unit": unit, "source": source})


@dataclass(frozen=True, slots=True, kw_only=True)
class CgmSensorParameters:
    """One CGM's error model (module docstring); values from :func:`cgm_sensor`."""

    name: str
    pacf: float = _unit("- (latent autocorrelation at 15 min)", BRETON)
    gamma: float = _unit("- (Johnson SU shape)", BRETON)
    lambda_mg_per_dl: float = _unit("mg/dL (Johnson SU scale)", BRETON)
    delta: float = _unit("- (Johnson SU shape)", BRETON)
    xi_mg_per_dl: float = _unit("mg/dL (Johnson SU location)", BRETON)
    sample_time_min: float = _unit("min", BRETON)
    min_mg_per_dl: float = _unit("mg/dL (lowest reading)", BRETON)
    max_mg_per_dl: float = _unit("mg/dL (highest reading)", BRETON)

    def __post_init__(self) -> None:
        """PACF in (0, 1); scales and sample time > 0; min < max."""
        if not 0.0 < self.pacf < 1.0:
            raise ValueError(f"pacf must be in (0, 1), got {self.pacf}")
        for name in ("lambda_mg_per_dl", "delta", "sample_time_min"):
            if not getattr(self, name) > 0.0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.min_mg_per_dl < self.max_mg_per_dl:
            raise ValueError(f"min_mg_per_dl must be < max_mg_per_dl, got {self.min_mg_per_dl}")

    @property
    def latent_sd(self) -> float:
        """Stationary SD of the latent ``e``: ``PACF / sqrt(1 - PACF^2)``."""
        return float(self.pacf / np.sqrt(1.0 - self.pacf**2))


@dataclass(frozen=True, slots=True, kw_only=True)
class PumpParameters:
    """One insulin pump's limits and steps (module docstring); values from :func:`insulin_pump`."""

    name: str
    min_bolus_u: float = _unit("U", SIMGLUCOSE_PUMP)
    max_bolus_u: float = _unit("U", SIMGLUCOSE_PUMP)
    inc_bolus_u: float = _unit("U (step)", SIMGLUCOSE_PUMP)
    min_basal_u_per_h: float = _unit("U/h", SIMGLUCOSE_PUMP)
    max_basal_u_per_h: float = _unit("U/h", SIMGLUCOSE_PUMP)
    inc_basal_u_per_h: float = _unit("U/h (step)", SIMGLUCOSE_PUMP)
    sample_time_min: float = _unit("min", SIMGLUCOSE_PUMP)


def _shipped_row(file_name: str, name: str) -> dict[str, str]:
    """The row ``name`` of a shipped device table (ValueError listing the names otherwise)."""
    rows = _read(file_name)
    if name not in rows:
        raise ValueError(f"name must be one of {sorted(rows)}, got {name!r}")
    return rows[name]


@functools.cache
def cgm_sensor(name: str = "GuardianRT") -> CgmSensorParameters:
    """A shipped sensor: ``"Dexcom"`` (3 min), ``"GuardianRT"`` (5 min) or ``"Navigator"`` (1 min).

    Read once per name (the parameters are frozen).

    Examples:
        >>> cgm_sensor("Dexcom").sample_time_min
        3.0
    """
    row = _shipped_row("uva_padova_sensor_params.csv", name)
    return CgmSensorParameters(
        name=name, pacf=float(row["PACF"]), gamma=float(row["gamma"]),
        lambda_mg_per_dl=float(row["lambda"]), delta=float(row["delta"]),
        xi_mg_per_dl=float(row["xi"]), sample_time_min=float(row["sample_time"]),
        min_mg_per_dl=float(row["min"]), max_mg_per_dl=float(row["max"]))


@functools.cache
def insulin_pump(name: str = "Insulet") -> PumpParameters:
    """A shipped pump: ``"Cozmo"`` or ``"Insulet"`` (read once per name; frozen).

    Examples:
        >>> insulin_pump("Cozmo").max_bolus_u
        75.0
    """
    row = _shipped_row("uva_padova_pump_params.csv", name)
    return PumpParameters(
        name=name, min_bolus_u=float(row["min_bolus"]), max_bolus_u=float(row["max_bolus"]),
        inc_bolus_u=float(row["inc_bolus"]), min_basal_u_per_h=float(row["min_basal"]),
        max_basal_u_per_h=float(row["max_basal"]), inc_basal_u_per_h=float(row["inc_basal"]),
        sample_time_min=float(row["sample_time"]))


def noise_distribution(sensor: CgmSensorParameters) -> Any:
    """The exact marginal law of each noise sample, a frozen ``scipy.stats.johnsonsu``, mg/dL.

    Examples:
        >>> round(float(noise_distribution(cgm_sensor()).mean()), 3)
        0.719
    """
    s = sensor.latent_sd
    return stats.johnsonsu(a=sensor.gamma / s, b=sensor.delta / s, loc=sensor.xi_mg_per_dl,
                           scale=sensor.lambda_mg_per_dl)


def cgm_noise_streams(seed: int | np.random.SeedSequence | None,
                      n_patients: int) -> list[np.random.Generator]:
    """One Generator per patient, child k of ``SeedSequence(seed)`` (batch-size invariant)."""
    if int(n_patients) != n_patients or n_patients < 0:
        raise ValueError(f"n_patients must be an int >= 0, got {n_patients}")
    return [np.random.default_rng(child) for child in as_seed_sequence(seed).spawn(n_patients)]


def initial_noise_latent(sensor: CgmSensorParameters,
                         rngs: list[np.random.Generator]) -> np.ndarray:
    """Latent ``e`` drawn from its stationary law N(0, s^2), one draw per patient's stream, (n,)."""
    return np.array([rng.standard_normal() for rng in rngs]) * sensor.latent_sd


def sample_cgm_noise(sensor: CgmSensorParameters, rngs: list[np.random.Generator],
                     latent: ArrayLike, n_samples: int,
                     sample_time_min: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The next ``n_samples`` CGM errors of each patient, one sample time apart.

    Args:
        sensor: the sensor's error model.
        rngs: one Generator per patient (:func:`cgm_noise_streams`).
        latent: (n,) latent after the previous sample (:func:`initial_noise_latent` at start).
        n_samples: samples to draw, >= 0.
        sample_time_min: spacing, min (default: the sensor's own).

    Returns:
        ``(noise_mg_per_dl (n, n_samples), latent (n,))``; pass the latent to the next call.

    Examples:
        >>> sensor, rngs = cgm_sensor(), cgm_noise_streams(0, 2)
        >>> noise, latent = sample_cgm_noise(sensor, rngs, initial_noise_latent(sensor, rngs), 12)
        >>> noise.shape
        (2, 12)
    """
    e = check_finite("latent", latent).reshape(-1).copy()
    if e.shape != (len(rngs),):
        raise ValueError(f"latent must have shape ({len(rngs)},), got {e.shape}")
    if int(n_samples) != n_samples or n_samples < 0:
        raise ValueError(f"n_samples must be an int >= 0, got {n_samples}")
    dt = sensor.sample_time_min if sample_time_min is None else float(sample_time_min)
    if not dt > 0.0:
        raise ValueError(f"sample_time_min must be > 0, got {sample_time_min}")
    z = np.empty((len(rngs), int(n_samples)))
    for i, rng in enumerate(rngs):
        rng.standard_normal(out=z[i])
    return cgm_noise_from_normals(sensor, e, z, dt)


def cgm_noise_from_normals(sensor: CgmSensorParameters, latent: np.ndarray, z: np.ndarray,
                           sample_time_min: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sample_cgm_noise` of the innovations ``z`` (n, n_samples) already drawn.

    ``latent`` (n,) float64 is overwritten with the latent after the last sample.

    Examples:
        >>> noise, _ = cgm_noise_from_normals(cgm_sensor(), np.zeros(1), np.zeros((1, 2)), 5.0)
        >>> noise.round(3).tolist()
        [[-0.24, -0.24]]
    """
    phi = sensor.pacf ** (sample_time_min / MODEL_SAMPLE_TIME_MIN)
    innovation_sd = sensor.latent_sd * np.sqrt(1.0 - phi**2)
    latents = np.empty_like(z)
    _ar1(latent, z, float(phi), float(innovation_sd), latents)
    noise = sensor.xi_mg_per_dl + sensor.lambda_mg_per_dl * np.sinh(
        (latents - sensor.gamma) / sensor.delta)
    return noise, latent


@numba.njit(cache=True, nogil=True, error_model="numpy")
def _ar1(latent: np.ndarray, z: np.ndarray, phi: float, innovation_sd: float,
         out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``e = phi * e + innovation_sd * z[:, k]`` sample after sample, each ``e`` into ``out``."""
    for k in range(z.shape[1]):
        for i in range(z.shape[0]):
            latent[i] = phi * latent[i] + innovation_sd * z[i, k]
            out[i, k] = latent[i]


def measure_cgm(glucose_mg_per_dl: ArrayLike, noise_mg_per_dl: ArrayLike,
                sensor: CgmSensorParameters) -> np.ndarray:
    """CGM readings: glucose plus noise, clipped to the sensor's range, mg/dL.

    Examples:
        >>> measure_cgm([30.0, 120.0], [0.0, 5.0], cgm_sensor()).tolist()
        [39.0, 125.0]
    """
    reading = check_finite("glucose_mg_per_dl", glucose_mg_per_dl) + check_finite(
        "noise_mg_per_dl", noise_mg_per_dl)
    return np.clip(reading, sensor.min_mg_per_dl, sensor.max_mg_per_dl)


def _quantise(amount: np.ndarray, step: float, low: float, high: float) -> np.ndarray:
    return np.clip(np.round(amount / step) * step, low, high)


def quantise_bolus_u(bolus_u: ArrayLike, pump: PumpParameters) -> np.ndarray:
    """Bolus the pump can give: nearest step (half to even), clipped to its limits, U.

    Examples:
        >>> quantise_bolus_u([3.12, 80.0], insulin_pump("Cozmo")).tolist()
        [3.1, 75.0]
    """
    amount = check_non_negative("bolus_u", bolus_u)
    return _quantise(amount, pump.inc_bolus_u, pump.min_bolus_u, pump.max_bolus_u)


def quantise_basal_u_per_h(basal_u_per_h: ArrayLike, pump: PumpParameters) -> np.ndarray:
    """Basal rate the pump can run: nearest step (half to even), clipped to its limits, U/h.

    Examples:
        >>> quantise_basal_u_per_h([0.83, 40.0], insulin_pump("Insulet")).round(9).tolist()
        [0.85, 30.0]
    """
    amount = check_non_negative("basal_u_per_h", basal_u_per_h)
    return _quantise(amount, pump.inc_basal_u_per_h, pump.min_basal_u_per_h,
                     pump.max_basal_u_per_h)


def simglucose_pump_u_per_min(amount_u_per_min: ArrayLike, pump: PumpParameters,
                              kind: Literal["basal", "bolus"]) -> np.ndarray:
    """The arithmetic of simglucose's ``InsulinPump.basal``/``bolus`` on a rate in U/min.

    Examples:
        >>> simglucose_pump_u_per_min([0.0123456], insulin_pump("Insulet"), "basal").tolist()
        [0.012341666666666666]
    """
    if kind not in ("basal", "bolus"):
        raise ValueError(f"kind must be 'basal' or 'bolus', got {kind!r}")
    amount = check_non_negative("amount_u_per_min", amount_u_per_min) * 6000.0
    if kind == "bolus":
        step, low, high = pump.inc_bolus_u, pump.min_bolus_u, pump.max_bolus_u
    else:
        step, low, high = pump.inc_basal_u_per_h, pump.min_basal_u_per_h, pump.max_basal_u_per_h
    return np.clip(np.round(amount / step) * step / 6000.0, low, high)
