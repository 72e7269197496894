"""Generic compartment models: named parameters and allometric scaling."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.catalogue import cohort_model
from pkgym.models.compartmental import CompartmentalModel


def test_compartmental_model__allometric_scaling_follows_holford() -> None:
    """Doubling weight multiplies CL and Q by 2^0.75 and volumes by 2."""
    model = CompartmentalModel.from_named("two-compartment", {"CL": 4.0, "V1": 30.0, "Q2": 6.0,
                                                              "V2": 45.0})
    params = model.linear_params(np.array([70.0, 140.0]))
    assert params.clearance_l_per_h[1] / params.clearance_l_per_h[0] == pytest.approx(2**0.75)
    assert params.peripheral_volume_l[1, 0] == pytest.approx(90.0)
    assert params.intercompartmental_clearance_l_per_h[1, 0] == pytest.approx(6.0 * 2**0.75)


def test_compartmental_model__unknown_or_missing_names_are_errors() -> None:
    """Parameter names are checked against the model kind, naming what is allowed."""
    with pytest.raises(ValueError, match="Q3"):
        CompartmentalModel.from_named("one-compartment", {"CL": 1.0, "V1": 1.0, "Q3": 1.0})
    with pytest.raises(ValueError, match="V2"):
        CompartmentalModel.from_named("two-compartment", {"CL": 1.0, "V1": 1.0, "Q2": 1.0})
    with pytest.raises(ValueError, match="model"):
        cohort_model("four-compartment", {})


def test_cohort_model__cohort_draws_variability_around_the_typical_patient() -> None:
    """Sampled clearances scatter log-normally (omega^2 0.09) around weight-scaled typical CL."""
    model = cohort_model("one-compartment", {"CL": 5.0, "V1": 50.0})
    cohort = model.sample_cohort(4000, seed=11)
    params = model.to_params(cohort)
    size = cohort["weight_kg"].to_numpy() / 70.0
    log_ratio = np.log(params.clearance_l_per_h / (5.0 * size**0.75))
    assert log_ratio.mean() == pytest.approx(0.0, abs=0.02)
    assert log_ratio.var() == pytest.approx(0.09, rel=0.08)
    assert model.to_params(model.typical_cohort()).clearance_l_per_h.tolist() == [5.0]
