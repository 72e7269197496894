"""``pkgym/Chemotherapy-v0`` on patients at the edges of its cohort schema (issue 17)."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from pkgym.envs.chemotherapy.records import check_model_covariates
from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import KTR, PatientSimulationError
from pkgym.models.docetaxel import Bruno1996

ENV_ID = "pkgym/Chemotherapy-v0"
ISSUE_PATIENT = {"is_female": 1, "age_years": 100.0, "height_cm": 120.0, "weight_kg": 250.0,
                 "aag_g_per_l": 5.0, "hepatic_impairment": 0, "baseline_sld_mm": 500.0}
"""The issue's patient: every covariate at a bound the cohort schema accepts."""
ORDINARY = {"is_female": 0, "age_years": 60.0, "height_cm": 175.0, "weight_kg": 80.0,
            "aag_g_per_l": 1.34, "hepatic_impairment": 0, "baseline_sld_mm": 70.0}


def _extreme_rows() -> pd.DataFrame:
    """The issue's patient with its clearance, Circ0, MTT and tumour etas at +-3 SD."""
    variability = DocetaxelPatientModel().variability
    sd = dict(zip(variability.eta_columns, np.sqrt(np.diag(variability.omega)), strict=True))
    rows = []
    for k, (cl, circ0, mtt, tumour) in enumerate(itertools.product((-3, 3), repeat=4)):
        rows.append({**ISSUE_PATIENT, "id": k, "hepatic_impairment": k % 2,
                     "eta_CL": cl * sd["eta_CL"], "eta_CIRC0": circ0 * sd["eta_CIRC0"],
                     "eta_MTT": mtt * sd["eta_MTT"], "eta_KL": tumour * sd["eta_KL"],
                     "eta_KD": tumour * sd["eta_KD"], "eta_LAMBDA": -tumour * sd["eta_LAMBDA"]})
    rows.append({**ORDINARY, "id": 99})
    return pd.DataFrame(rows).fillna(0.0)


def _episode(rows: pd.DataFrame, level: int, seed: int = 5) -> tuple[list, list]:
    """Observations and infos of one full episode of ``rows`` at dose level ``level``."""
    env = gym.make_vec(ENV_ID, num_envs=len(rows), vectorization_mode="vector_entry_point")
    obs, info = env.reset(seed=seed, options={"patients": rows})
    observations, infos = [obs], [info]
    for _ in range(6):
        obs, reward, terminated, truncated, info = env.step(np.full(len(rows), level))
        assert np.all(np.isfinite(reward))
        observations.append(obs)
        infos.append(info)
        if np.all(terminated | truncated):
            break
    space = env.single_observation_space
    for obs in observations:
        for k in range(len(rows)):
            assert space.contains({key: value[k] for key, value in obs.items()}), k
    env.close()
    return observations, infos


def test_chemotherapy__extreme_schema_patient_at_125_percent_stays_finite_and_in_bounds() -> None:
    """Patients the schema accepts, dosed at 125%, stay finite, non-negative, in the space.

    Their Friberg state once ran to -9e76 (an explicit step crossed zero and the feedback
    amplified it); the cycle is now rerun in log space for that patient only, and the
    ordinary patient in the same batch gets exactly what it gets alone.
    """
    rows = _extreme_rows()
    _, infos = _episode(rows, level=4)
    for info in infos:
        for key, value in info.items():
            array = np.asarray(value)
            if array.dtype.kind == "f":
                assert np.all(np.isfinite(array)), key
        assert np.all(info["state"][:, 3:] >= 0.0)
    last = len(rows) - 1  # the ordinary patient, alone in slot 0 with its batch slot's seed
    _, alone = _episode(rows.iloc[[last]].reset_index(drop=True), level=4, seed=5 + last)
    for batched, single in zip(infos, alone, strict=False):  # until it finishes alone
        assert np.array_equal(batched["state"][last], single["state"][0])


def test_chemotherapy__bad_bsa_names_only_its_own_patient() -> None:
    """230 cm and 250 kg (Mosteller 4.0 m2, beyond the PK model's 3.5) names patient 11 only."""
    rows = pd.DataFrame([{**ORDINARY, "id": 10}, {**ORDINARY, "id": 11, "height_cm": 230.0,
                                                  "weight_kg": 250.0},
                         {**ORDINARY, "id": 12, "height_cm": 120.0, "weight_kg": 30.0}])
    env = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match=r"patient 11: BSA 3.997 m2") as caught:
        env.reset(seed=0, options={"patients": rows})
    message = str(caught.value)
    assert "patient 10" not in message and "patient 12" not in message
    assert "1.000" not in message and "1.972" not in message  # the others' BSA
    covariates = {"bsa_m2": np.array([1.9, 3.9, 1.0]), "height_cm": np.array([175.0, 230, 120]),
                  "weight_kg": np.array([80.0, 240, 30]), "aag_g_per_l": np.ones(3),
                  "age_years": np.full(3, 60.0), "hepatic_impairment": np.zeros(3)}
    with pytest.raises(ValueError, match=r"patient 11: bsa_m2 3.9") as caught:
        check_model_covariates(covariates, np.array([10, 11, 12]))
    assert "patient 10" not in str(caught.value) and "patient 12" not in str(caught.value)
    with pytest.raises(ValueError, match=r"got \[3.9\] \(rows \[1\]\)"):
        Bruno1996().parameters(covariates["bsa_m2"], np.ones(3), np.full(3, 60.0), np.zeros(3))


def test_chemotherapy__unsimulable_patient_raises_naming_its_id_never_a_silent_nan() -> None:
    """A patient neither integration can simulate (here: a NaN rate) is named, alone."""
    rows = pd.DataFrame([{**ORDINARY, "id": 5}, {**ORDINARY, "id": 6}])
    env = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point")
    env.reset(seed=0, options={"patients": rows})
    env.unwrapped.core.records.params[1, KTR] = np.nan
    with pytest.raises(PatientSimulationError, match=r"patient 6 \(slot 1\)") as caught:
        env.step(np.array([3, 3]))
    assert "patient 5" not in str(caught.value)
    assert caught.value.rows.tolist() == [1]
