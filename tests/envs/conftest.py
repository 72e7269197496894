"""Shared fixtures for environment tests."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.envs.warfarin.clinic import EventHazards, WarfarinScenario
from pkgym.models.kidney import KidneyInjuryParams
from pkgym.models.tumour import Claret2009
from pkgym.models.vancomycin import Goti2018

TYPICAL_PATIENT = {"age_years": 50.0, "is_female": 0, "weight_kg": 70.0, "height_cm": 175.0,
                   "on_dialysis": 0, "serum_creatinine_mg_per_dl": 1.0, "eta_CL": 0.0,
                   "eta_V1": 0.0, "eta_V2": 0.0, "id": 7}


@pytest.fixture
def typical_patient() -> dict:
    """A typical 70-kg man, CrCL from creatinine 1.0 mg/dL, zero random effects."""
    return dict(TYPICAL_PATIENT)


@pytest.fixture
def quiet_ward() -> VancomycinScenario:
    """A ward without noise: exact assays, constant creatinine, no kidney injury."""
    return VancomycinScenario(
        model=Goti2018(proportional_error_sd=0.0, additive_error_sd_mg_per_l=0.0),
        kidney=KidneyInjuryParams(baseline_aki_hazard_per_day=0.0, creatinine_cv=0.0),
        creatinine_assay_cv=0.0)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator for random actions."""
    return np.random.default_rng(1234)


WARFARIN_PATIENT = {"age_years": 64.0, "is_female": 1, "weight_kg": 72.0, "height_cm": 165.0,
                    "race": "asian", "cyp2c9": "*1/*3", "vkorc1": "A/A", "amiodarone": 1,
                    "enzyme_inducer": 0, "eta_CL": 0.2, "eta_V": -0.1, "eta_EC50": 0.3,
                    "id": 42}


@pytest.fixture
def warfarin_patient() -> dict:
    """A 64-year-old Asian woman, CYP2C9 *1/*3, VKORC1 A/A, on amiodarone, non-zero etas."""
    return dict(WARFARIN_PATIENT)


@pytest.fixture
def quiet_clinic() -> WarfarinScenario:
    """A warfarin clinic without assay noise or clinical events."""
    return WarfarinScenario(inr_assay_log_sd=0.0, events=EventHazards(enabled=False))


DOCETAXEL_PATIENT = {"is_female": 0, "age_years": 60.0, "height_cm": 180.0, "weight_kg": 64.8,
                     "aag_g_per_l": 1.34, "hepatic_impairment": 0, "baseline_sld_mm": 70.0,
                     "eta_CL": -0.3, "eta_CIRC0": 0.1, "eta_MTT": -0.05, "eta_SLOPE": 0.2,
                     "eta_KL": 0.5, "eta_KD": 0.3, "eta_LAMBDA": -0.2, "id": 7}


@pytest.fixture
def docetaxel_patient() -> dict:
    """A 60-year-old man of BSA 1.8 m2 (180 cm, 64.8 kg), AAG 1.34 g/L, non-zero etas."""
    return dict(DOCETAXEL_PATIENT)


@pytest.fixture
def quiet_oncology() -> ChemotherapyScenario:
    """A docetaxel clinic without assay or scan noise and without febrile neutropenia."""
    return ChemotherapyScenario(anc_assay_log_sd=0.0, tumour=Claret2009(measurement_cv=0.0),
                                febrile_neutropenia_per_day=0.0)
