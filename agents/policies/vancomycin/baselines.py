"""Baseline vancomycin dosing policies: the label protocol and trough-guided TDM.

Both satisfy :class:`pkgym.evaluation.policy.Policy`: they take the batched observation
(and info) of ``pkgym/Vancomycin-v0`` with a leading ``n_envs`` axis and return doses in mg,
shape ``(n_envs,)``. An env whose ``time_h`` is 0 holds a new patient (a reset, or an
autoreset of a vector env), and the policy forgets what it knew about that env.

* :class:`LabelDosingPolicy`: the CAMERA2 protocol by weight and renal function.
* :class:`TroughGuidedPolicy`: the label, then proportional adjustment to measured troughs.

The oracle (exact AUC control from the hidden truth) lives in
:mod:`agents.policies.vancomycin.oracle`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from pkgym.models.vancomycin_course import TROUGH_BEFORE_H
from pkgym.units import HOURS_PER_DAY
from pkgym.utils import check_finite, check_non_negative, check_positive

DOSE_STEP_MG, MAX_DOSE_MG = 250.0, 3000.0
REFERENCE_WEIGHT_KG = 70.0
"""CAMERA2's band doses are for 70 kg; they are scaled by actual weight / 70."""
LOADING_MG_PER_KG = 25.0
CAMERA2_BANDS = ((90.0, 1500.0, 12.0), (60.0, 1000.0, 12.0), (20.0, 1000.0, 24.0),
                 (0.0, 1000.0, 48.0))
"""(lowest CrCL mL/min, dose mg at 70 kg, interval h); the first band is CrCL > 90, the
others CrCL >= their bound (60-90, 20-<60, <20 or dialysis)."""
TARGET_TROUGH_MG_PER_L = 15.0
"""Middle of the 10-20 mg/L trough range of the 2009 ASHP/IDSA/SIDP consensus."""
DEFAULT_CANDIDATE_DOSES_MG = np.arange(0.0, MAX_DOSE_MG + 1.0, DOSE_STEP_MG)
DEFAULT_CANDIDATE_DOSES_MG.setflags(write=False)
_TIME_TOLERANCE_H = 1e-3  # observations are float32


def round_dose_mg(doses_mg: np.ndarray, low_mg: float = DOSE_STEP_MG,
                  high_mg: float = MAX_DOSE_MG) -> np.ndarray:
    """Doses rounded half up to 250 mg and clipped to ``[low_mg, high_mg]``.

    Examples:
        >>> round_dose_mg(np.array([124.0, 1625.0, 5000.0])).tolist()
        [250.0, 1750.0, 3000.0]
    """
    rounded = DOSE_STEP_MG * np.floor(np.asarray(doses_mg, dtype=np.float64) / DOSE_STEP_MG + 0.5)
    return np.clip(rounded, low_mg, high_mg)


def camera2_loading_dose_mg(weight_kg: np.ndarray) -> np.ndarray:
    """CAMERA2 loading dose: 25 mg/kg actual body weight, rounded to 250 mg, at most 3000 mg.

    Args:
        weight_kg: actual body weight, kg, shape (n,).

    Examples:
        >>> camera2_loading_dose_mg(np.array([70.0, 95.0, 150.0])).tolist()
        [1750.0, 2500.0, 3000.0]
    """
    weight = check_positive("weight_kg", weight_kg)
    return round_dose_mg(LOADING_MG_PER_KG * weight)


def camera2_regimen(creatinine_clearance_ml_per_min: np.ndarray, on_dialysis: np.ndarray,
                    weight_kg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CAMERA2 maintenance dose (mg) and interval (h) by renal band, scaled to weight.

    CrCL > 90 mL/min: 1500 mg q12h; 60-90: 1000 mg q12h; 20-<60: 1000 mg q24h; < 20 or on
    dialysis: 1000 mg q48h (Tong et al., Trials 2016;17:170, Table 1). The band dose is for
    70 kg; pkgym scales it by ``weight / 70``, rounds to 250 mg and caps it at 3000 mg.

    Args:
        creatinine_clearance_ml_per_min: the latest measured CrCL, mL/min, shape (n,).
        on_dialysis: 1 for patients on haemodialysis, shape (n,).
        weight_kg: actual body weight, kg, shape (n,).

    Examples:
        >>> dose, interval = camera2_regimen(np.array([100.0, 90.0, 40.0, 100.0]),
        ...                                  np.array([0, 0, 0, 1]), np.full(4, 70.0))
        >>> dose.tolist(), interval.tolist()
        ([1500.0, 1000.0, 1000.0, 1000.0], [12.0, 12.0, 24.0, 48.0])
    """
    crcl = check_non_negative("creatinine_clearance_ml_per_min", creatinine_clearance_ml_per_min)
    weight = check_positive("weight_kg", weight_kg)
    bounds = [bound for bound, _, _ in CAMERA2_BANDS]
    band = (crcl <= bounds[0]).astype(np.int64) + (crcl < bounds[1]) + (crcl < bounds[2])
    band = np.where(np.asarray(on_dialysis) > 0.5, len(CAMERA2_BANDS) - 1, band)
    doses = np.array([dose for _, dose, _ in CAMERA2_BANDS])[band]
    intervals = np.array([interval for _, _, interval in CAMERA2_BANDS])[band]
    return round_dose_mg(doses * weight / REFERENCE_WEIGHT_KG), intervals


def _check_interval(interval_h: float) -> float:
    """``interval_h`` as a float that divides a day; ValueError naming it otherwise."""
    interval = float(check_positive("interval_h", interval_h))
    if abs(HOURS_PER_DAY / interval - round(HOURS_PER_DAY / interval)) > 1e-9:
        raise ValueError(f"interval_h must divide 24 h, got {interval_h}")
    return interval


def _check_n_envs(n_envs: int) -> int:
    if n_envs < 1:
        raise ValueError(f"n_envs must be >= 1, got {n_envs}")
    return int(n_envs)


def _ward_view(observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Time (h), weight, dialysis and today's latest measured CrCL of each env, each (n,).

    CrCL is read from the days up to today (``time_h // 24``), so a band changes only when a
    day starts; days with 0 (not measured) are skipped.
    """
    for key in ("covariates", "creatinine_clearance_ml_per_min", "time_h"):
        if key not in observation:
            raise ValueError(f"observation lacks {key!r}")
    covariates = check_finite("covariates", observation["covariates"])
    if covariates.ndim != 2 or covariates.shape[1] != 5:
        raise ValueError(f"observation['covariates'] must have shape (n_envs, 5), got "
                         f"{covariates.shape}")
    n = covariates.shape[0]
    time_h = check_non_negative("time_h", observation["time_h"]).reshape(n)
    crcl = check_non_negative("creatinine_clearance_ml_per_min",
                              observation["creatinine_clearance_ml_per_min"]).reshape(n, -1)
    today = np.minimum(time_h // HOURS_PER_DAY, crcl.shape[1] - 1).astype(np.int64)
    known = (crcl > 0) & (np.arange(crcl.shape[1])[None] <= today[:, None])
    if not np.all(known.any(axis=1)):
        raise ValueError("creatinine_clearance_ml_per_min has no measured day for some env")
    latest = crcl.shape[1] - 1 - np.argmax(known[:, ::-1], axis=1)
    return {"time_h": time_h, "weight_kg": covariates[:, 2], "on_dialysis": covariates[:, 4],
            "crcl": crcl[np.arange(n), latest]}


def _steps_between_doses(regimen_interval_h: np.ndarray, interval_h: float) -> np.ndarray:
    """Env steps from one dose of a regimen to the next (at least 1), each (n,)."""
    return np.maximum(1, np.round(regimen_interval_h / interval_h)).astype(np.int64)


def _on_grid(time_h: np.ndarray, dose_mg: np.ndarray, regimen_interval_h: np.ndarray,
             interval_h: float) -> np.ndarray:
    """Doses of a regimen on the env's step grid: the dose every ``regimen / interval`` steps.

    The regimen repeats from time 0 (the loading dose). A regimen shorter than the env's
    interval gives its dose times ``interval / regimen`` (same amount per day).
    """
    every = _steps_between_doses(regimen_interval_h, interval_h)
    scale = every * interval_h / regimen_interval_h
    per_dose = np.where(scale == 1.0, dose_mg, round_dose_mg(dose_mg * scale))
    step = np.round(time_h / interval_h).astype(np.int64)
    return np.where(step % every == 0, per_dose, 0.0)


class LabelDosingPolicy:
    """Label dosing by the CAMERA2 protocol, scaled to actual body weight.

    Loading dose 25 mg/kg actual body weight (at most 3000 mg, rounded to 250 mg) at time 0;
    then maintenance by the latest measured CrCL: > 90 mL/min 1500 mg q12h; 60-90 1000 mg
    q12h; 20-<60 1000 mg q24h; < 20 or on dialysis 1000 mg q48h, each band dose scaled by
    weight / 70 kg (rounded to 250 mg, at most 3000 mg). Tong SYC et al., Trials 2016;17:170,
    doi:10.1186/s13063-016-1295-3, Table 1. A q24h or q48h regimen gives its dose at the
    steps 24 or 48 h apart from the loading dose and 0 at the others; the band is re-read
    each day, as protocols re-assess renal function.

    Args:
        interval_h: the env's dosing interval (one decision step), h; must divide 24.

    Examples:
        >>> obs = {"covariates": np.array([[60.0, 0, 70, 175, 0]]),
        ...        "creatinine_clearance_ml_per_min": np.array([[40.0, 0]]),
        ...        "time_h": np.array([[0.0]])}
        >>> policy = LabelDosingPolicy()
        >>> [float(policy.act({**obs, "time_h": np.array([[t]])})[0]) for t in (0, 12, 24)]
        [1750.0, 0.0, 1000.0]
    """

    name = "label"
    reads_hidden_state = False

    def __init__(self, interval_h: float = 12.0) -> None:
        """Store the env's dosing interval (validated)."""
        self.interval_h = _check_interval(interval_h)
        self.n_envs = 0

    def reset(self, n_envs: int) -> None:
        """Start ``n_envs`` new patients (label dosing keeps no other state)."""
        self.n_envs = _check_n_envs(n_envs)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,); ``info`` is not read."""
        ward = _ward_view(observation)
        dose, regimen_h = camera2_regimen(ward["crcl"], ward["on_dialysis"], ward["weight_kg"])
        return self._give(ward, dose, regimen_h)

    def _give(self, ward: Mapping[str, np.ndarray], dose_mg: np.ndarray,
              regimen_h: np.ndarray) -> np.ndarray:
        """The loading dose at time 0, else the regimen's dose on the step grid."""
        self.n_envs = ward["time_h"].size
        maintenance = _on_grid(ward["time_h"], dose_mg, regimen_h, self.interval_h)
        first = ward["time_h"] < _TIME_TOLERANCE_H
        return np.where(first, camera2_loading_dose_mg(ward["weight_kg"]), maintenance)


class TroughGuidedPolicy(LabelDosingPolicy):
    """Label dosing, then the maintenance dose scaled to each new trough (target 15 mg/L).

    After each new measured trough (a level 0.5 h before a dose time of the current label
    regimen: a level before a step that a q24h or q48h regimen skips is not one), the
    maintenance dose becomes ``dose * 15 / trough`` rounded to 250 mg and clipped to 250-3000
    mg, aiming at the middle of the 10-20 mg/L troughs of the 2009 ASHP/IDSA/SIDP consensus
    (Rybak et al., Am J Health Syst Pharm 2009;66:82). The label interval (by CrCL band) is
    kept.

    Args:
        interval_h: the env's dosing interval (one decision step), h; must divide 24.

    Examples:
        >>> obs = {"covariates": np.array([[60.0, 0, 70, 175, 0]]),
        ...        "creatinine_clearance_ml_per_min": np.array([[75.0, 75.0]]),
        ...        "level_times_h": np.array([[35.5]]), "levels_mg_per_l": np.array([[20.0]]),
        ...        "level_mask": np.array([[1.0]]), "time_h": np.array([[36.0]])}
        >>> TroughGuidedPolicy().act(obs).tolist()  # 1000 mg * 15 / 20
        [750.0]
    """

    name = "trough_guided"
    reads_hidden_state = False

    def __init__(self, interval_h: float = 12.0) -> None:
        """Store the env's dosing interval (validated); no patient is known yet."""
        super().__init__(interval_h)
        self.reset(1)

    def reset(self, n_envs: int) -> None:
        """Forget every patient's adjusted dose and the troughs already used."""
        super().reset(n_envs)
        self.adjusted_dose_mg = np.full(self.n_envs, np.nan)  # NaN: still the label dose
        self.last_trough_h = np.full(self.n_envs, -np.inf)

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,); ``info`` is not read."""
        ward = _ward_view(observation)
        if ward["time_h"].size != self.adjusted_dose_mg.size:
            self.reset(ward["time_h"].size)
        new = ward["time_h"] < _TIME_TOLERANCE_H
        self.adjusted_dose_mg[new], self.last_trough_h[new] = np.nan, -np.inf
        label, regimen_h = camera2_regimen(ward["crcl"], ward["on_dialysis"], ward["weight_kg"])
        dose = np.where(np.isnan(self.adjusted_dose_mg), label, self.adjusted_dose_mg)
        period_h = self.interval_h * _steps_between_doses(regimen_h, self.interval_h)
        for times, troughs in self._troughs(observation, ward["time_h"], period_h):
            fresh = times > self.last_trough_h
            scaled = round_dose_mg(dose * TARGET_TROUGH_MG_PER_L / np.maximum(troughs, 1e-3))
            dose = np.where(fresh, scaled, dose)
            self.adjusted_dose_mg = np.where(fresh, dose, self.adjusted_dose_mg)
            self.last_trough_h = np.where(fresh, times, self.last_trough_h)
        return self._give(ward, dose, regimen_h)

    def _troughs(self, observation: Mapping[str, np.ndarray], time_h: np.ndarray,
                 period_h: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Measured troughs as columns in time order: (times h, levels mg/L), each (n,).

        A trough is a level 0.5 h before a dose time, a multiple of the regimen's
        ``period_h`` (n,); entries that are not measured troughs by ``time_h`` get time -inf.
        """
        for key in ("level_times_h", "levels_mg_per_l", "level_mask"):
            if key not in observation:
                raise ValueError(f"observation lacks {key!r}")
        n = time_h.size
        times = check_finite("level_times_h", observation["level_times_h"]).reshape(n, -1)
        levels = check_finite("levels_mg_per_l", observation["levels_mg_per_l"]).reshape(n, -1)
        mask = np.asarray(observation["level_mask"]).reshape(n, -1) > 0.5
        phase = np.mod(times + TROUGH_BEFORE_H, period_h[:, None])
        on_time = np.minimum(phase, period_h[:, None] - phase) < _TIME_TOLERANCE_H
        trough = mask & on_time & (times <= time_h[:, None])
        order = np.argsort(np.where(trough, times, np.inf), axis=1, kind="stable")
        times = np.take_along_axis(np.where(trough, times, -np.inf), order, axis=1)
        levels = np.take_along_axis(levels, order, axis=1)
        return [(times[:, j], levels[:, j]) for j in range(times.shape[1])]
