"""Pinned patients: the fast validation of ``pkgym.envs.pinning.validate_pinned``."""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.envs.pinning import validate_pinned
from pkgym.evaluation.cohorts import TRAINING, sample_cohort
from pkgym.populations.chemotherapy import CHEMOTHERAPY_COHORT_SCHEMA
from pkgym.populations.cohort import CohortSchema, ColumnRule, validate_cohort
from pkgym.populations.vancomycin import VANCOMYCIN_COHORT_SCHEMA
from pkgym.populations.warfarin import WARFARIN_COHORT_SCHEMA

VALID = {"age_years": 50.0, "is_female": 1, "weight_kg": 70.0, "height_cm": 170.0,
         "on_dialysis": 0, "serum_creatinine_mg_per_dl": 1.0, "race": "white",
         "cyp2c9": "*1/*1", "vkorc1": "G/A", "amiodarone": 0, "enzyme_inducer": 1,
         "aag_g_per_l": 1.0, "hepatic_impairment": 0, "baseline_sld_mm": 70.0,
         "label": "ok", "any": 1.0}
ODD = CohortSchema(columns={"label": ColumnRule(allowed=("ok", "NA", " x", "none")),
                            "any": ColumnRule()})
VALUES = [0, 1, 2, -1, 0.0, 1.0, 0.5, 16, 15.999, 70.3, 1e300, 2**63, 10**400, True,
          np.bool_(False), None, np.nan, pd.NA, float("inf"), np.float64(70.1),
          np.float32(70.1), np.float16(1.0), np.int64(1), np.int32(0), np.uint8(1), "70",
          " 70 ", "abc", "", "NA", "white", " white", "WHITE", "*1/*1", "G/A", "ok", " x",
          "none", np.str_("white"), b"1", [1]]


def _one_row(given: dict[str, Any], schema: CohortSchema) -> Any:
    """What pinning gave before the fast path: ``validate_cohort`` of a one-row DataFrame."""
    try:
        frame = validate_cohort(pd.DataFrame([{k: given.get(k) for k in schema.columns}]),
                                schema)
    except ValueError as error:
        return f"{type(error).__name__}: {error}"
    return {key: frame[key].iloc[0] for key in schema.columns}


def _pinned(given: dict[str, Any], schema: CohortSchema) -> Any:
    try:
        return validate_pinned(given, schema)
    except ValueError as error:
        return f"{type(error).__name__}: {error}"


@pytest.mark.parametrize("schema", [VANCOMYCIN_COHORT_SCHEMA, WARFARIN_COHORT_SCHEMA,
                                    CHEMOTHERAPY_COHORT_SCHEMA, ODD])
def test_validate_pinned__equals_a_one_row_validate_cohort_value_and_error(
        schema: CohortSchema) -> None:
    """Every value (plain, numpy, text, missing, bad): same result, same types, same error."""
    cases = [{**VALID, column: value} for column, value in
             itertools.product(schema.columns, VALUES)]
    cases += [{k: v for k, v in VALID.items() if k != column} for column in schema.columns]
    for given in cases:
        expected, got = _one_row(given, schema), _pinned(given, schema)
        assert got == expected, given
        if isinstance(expected, dict):
            assert [type(v) for v in got.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize(("env_id", "field", "value", "match"), [
    ("pkgym/Vancomycin-v0", "is_female", 0.5,
     r"row 1, column 'is_female': got '0.5', expected a whole number in \[0, 1\]"),
    ("pkgym/Vancomycin-v0", "weight_kg", np.nan, r"column 'weight_kg': got a missing value"),
    ("pkgym/Warfarin-v0", "race", "martian",
     r"column 'race': got 'martian', expected one of \['white', 'asian', 'black', 'other'\]"),
    ("pkgym/Chemotherapy-v0", "age_years", 5, r"column 'age_years': got '5', expected a number")])
def test_vector_reset__a_bad_patient_in_a_pinned_batch_names_the_field(
        env_id: str, field: str, value: Any, match: str) -> None:
    """One bad patient among good ones: the cohort error naming the field and allowed values."""
    env = gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point")
    settings = env.unwrapped.core.settings
    rows = sample_cohort(settings.population, settings.model.variability, 3, 0,
                         TRAINING).to_dict("records")
    env.reset(seed=0, options={"patients": rows})
    rows[1] = {**rows[1], field: value}
    with pytest.raises(ValueError, match=match):
        env.reset(seed=0, options={"patients": rows})


PINNED = {"age_years": 60.0, "is_female": 0, "weight_kg": 80.0, "height_cm": 175.0,
          "on_dialysis": 0, "serum_creatinine_mg_per_dl": 1.1}
TRUE_PARAMETERS = ("clearance_l_per_h", "central_volume_l", "peripheral_volume_l")


def _true_parameters(patient: dict[str, Any], seed: int) -> tuple[float, ...]:
    """The pinned vancomycin patient's true CL, V1, V2 after a reset with ``seed``."""
    env = gym.make("pkgym/Vancomycin-v0")
    _, info = env.reset(seed=seed, options={"patient": patient})
    return tuple(float(info[key]) for key in TRUE_PARAMETERS)


def test_pinned_patient__without_etas_draws_them_and_zero_etas_give_the_typical_patient() -> None:
    """No eta columns: random effects drawn per seed. All etas 0: the same typical patient.

    The typical patient is the model's covariate prediction: an eta of 0.2 multiplies it by
    exp(0.2), so eta 0 is exactly the typical value.
    """
    drawn = [_true_parameters(PINNED, seed) for seed in (1, 2)]
    assert drawn[0] != drawn[1]
    typical = {**PINNED, "eta_CL": 0.0, "eta_V1": 0.0, "eta_V2": 0.0}
    assert _true_parameters(typical, 1) == _true_parameters(typical, 2)
    shifted = _true_parameters({**typical, "eta_CL": 0.2, "eta_V1": -0.1}, 1)
    expected = _true_parameters(typical, 1)
    np.testing.assert_allclose(shifted[:2], [expected[0] * np.exp(0.2), expected[1] * np.exp(-0.1)],
                               rtol=1e-12)
