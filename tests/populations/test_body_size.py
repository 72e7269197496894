"""Joint height and weight by sex: reference means, correlation, bounds and validation."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.populations import US_ADULT_MEN, US_ADULT_WOMEN, BodySize, SexAnthropometry
from pkgym.populations import patient_uniforms as uniforms_for

N = 40_000


@pytest.mark.parametrize(("is_female", "reference"), [(0, US_ADULT_MEN), (1, US_ADULT_WOMEN)])
def test_body_size__matches_reference_moments_by_sex(
    is_female: int, reference: SexAnthropometry
) -> None:
    """Height mean/sd, weight mean and height-log(weight) correlation match the parameters."""
    height, weight = BodySize().from_uniforms(uniforms_for(4, N, 2), np.full(N, is_female))
    assert abs(height.mean() - reference.height_mean_cm) < 0.2
    assert abs(height.std() / reference.height_sd_cm - 1.0) < 0.03
    assert abs(weight.mean() / reference.weight_mean_kg - 1.0) < 0.01
    correlation = np.corrcoef(height, np.log(weight))[0, 1]
    assert abs(correlation - reference.correlation) < 0.03


def test_body_size__respects_bounds() -> None:
    """Heights and weights stay within the spec's bounds."""
    spec = BodySize(height_low_cm=160.0, height_high_cm=180.0, weight_low_kg=60.0,
                    weight_high_kg=90.0)
    height, weight = spec.from_uniforms(uniforms_for(1, N, 2), np.tile([0, 1], N // 2))
    assert height.min() >= 160.0 and height.max() <= 180.0
    assert weight.min() >= 60.0 and weight.max() <= 90.0


def test_body_size__writes_named_columns_from_sex_column() -> None:
    """The spec reads ``female_column`` and writes the height and weight columns."""
    spec = BodySize(female_column="female", height_column="ht_cm", weight_column="wt_kg")
    columns = spec.columns_from_uniforms("body", np.full((2, 2), 0.5), {"female": np.array([0, 1])})
    assert list(columns) == ["ht_cm", "wt_kg"] and spec.required_columns == ("female",)


@pytest.mark.parametrize(
    ("factory", "name"),
    [
        (lambda: SexAnthropometry(height_mean_cm=170, height_sd_cm=-1, weight_mean_kg=70,
                                  log_weight_sd=0.2, correlation=0.4), "height_sd_cm"),
        (lambda: SexAnthropometry(height_mean_cm=170, height_sd_cm=7, weight_mean_kg=70,
                                  log_weight_sd=0.2, correlation=1.0), "correlation"),
        (lambda: BodySize(height_low_cm=200.0, height_high_cm=150.0), "height_high_cm"),
        (lambda: BodySize(weight_low_kg=-5.0), "weight_low_kg"),
        (lambda: BodySize(height_column="is_female"), "female_column"),
    ],
)
def test_body_size__bad_parameters_raise_naming_them(factory: object, name: str) -> None:
    """Negative sds, |rho| >= 1, inverted bounds and clashing names raise ValueError."""
    with pytest.raises(ValueError, match=name):
        factory()


@pytest.mark.parametrize("is_female", [np.array([0, 2]), np.array([0]), np.array([0.0, np.nan])])
def test_body_size__bad_sex_values_raise(is_female: np.ndarray) -> None:
    """Sex values other than 0/1, or of the wrong length, raise ValueError naming is_female."""
    with pytest.raises(ValueError, match="is_female"):
        BodySize().from_uniforms(np.full((2, 2), 0.5), is_female)
