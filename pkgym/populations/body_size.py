"""Height and weight drawn jointly by sex: a bivariate normal of height and log(weight).

Sources of the default numbers (US adults aged 20 and over):

* Means of height and weight: NHANES 2015-2018, Fryar CD, Carroll MD, Gu Q, Afful J, Ogden
  CL. *Anthropometric reference data for children and adults: United States, 2015-2018.*
  Vital Health Stat 3(46), National Center for Health Statistics, 2021 (as summarised by
  CDC FastStats "Body Measurements"): men 175.3 cm (69.0 in) and 90.6 kg (199.8 lb); women
  161.3 cm (63.5 in) and 77.5 kg (170.8 lb).
* Standard deviations of height and log(weight) and the height-log(weight) correlation
  within each sex are **assumed** values of typical size for adult survey data; they are not
  taken from Fryar et al. (the report tabulates means, standard errors and percentiles).
  Replace them with your own estimates when the spread matters.

No age dependence: adults only. The log-weight mean is set so the untruncated arithmetic
mean weight matches the reference mean: ``mu = log(mean) - sd**2 / 2``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pkgym.populations.distributions import CovariateSpec, check_uniforms, truncated_normal_ppf
from pkgym.utils import check_positive


@dataclass(frozen=True, slots=True, kw_only=True)
class SexAnthropometry:
    """Joint height/log-weight distribution for one sex.

    Attributes:
        height_mean_cm: mean height, cm.
        height_sd_cm: standard deviation of height, cm.
        weight_mean_kg: arithmetic mean weight, kg.
        log_weight_sd: standard deviation of log(weight in kg).
        correlation: correlation between height and log(weight), in (-1, 1).
    """

    height_mean_cm: float
    height_sd_cm: float
    weight_mean_kg: float
    log_weight_sd: float
    correlation: float

    def __post_init__(self) -> None:
        """Validate the parameters, naming the offending field."""
        for name in ("height_mean_cm", "height_sd_cm", "weight_mean_kg", "log_weight_sd"):
            check_positive(name, getattr(self, name))
        if not -1.0 < self.correlation < 1.0:
            raise ValueError(f"correlation must be in (-1, 1), got {self.correlation}")

    @property
    def log_weight_mean(self) -> float:
        """Mean of log(weight in kg), matching ``weight_mean_kg`` as a log-normal mean."""
        return math.log(self.weight_mean_kg) - self.log_weight_sd**2 / 2.0


US_ADULT_MEN = SexAnthropometry(
    height_mean_cm=175.3,  # Fryar et al. 2021 (NHANES 2015-2018)
    height_sd_cm=7.6,  # assumed
    weight_mean_kg=90.6,  # Fryar et al. 2021 (NHANES 2015-2018)
    log_weight_sd=0.21,  # assumed
    correlation=0.45,  # assumed
)
"""US men aged 20 and over (see the module docstring for sources)."""

US_ADULT_WOMEN = SexAnthropometry(
    height_mean_cm=161.3,  # Fryar et al. 2021 (NHANES 2015-2018)
    height_sd_cm=7.1,  # assumed
    weight_mean_kg=77.5,  # Fryar et al. 2021 (NHANES 2015-2018)
    log_weight_sd=0.25,  # assumed
    correlation=0.30,  # assumed
)
"""US women aged 20 and over (see the module docstring for sources)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BodySize(CovariateSpec):
    """Height (cm) and weight (kg) drawn jointly, by sex, from two uniforms per patient.

    Height is a normal truncated to ``[height_low_cm, height_high_cm]``; log(weight) given
    the drawn height is normal with mean ``mu_w + rho * sd_w * z_height`` and sd
    ``sd_w * sqrt(1 - rho**2)``, truncated to the log of the weight bounds. Both by inverse
    CDF. The spec reads the 0/1 column ``female_column`` (drawn earlier) and writes
    ``height_column`` and ``weight_column``; the name it is registered under is not a column.

    Attributes:
        male: distribution for men (``female_column == 0``).
        female: distribution for women (``female_column == 1``).
        female_column: name of the 0/1 sex column to read.
        height_column: name of the height column to write, cm.
        weight_column: name of the weight column to write, kg.
        height_low_cm: lower height bound, cm.
        height_high_cm: upper height bound, cm.
        weight_low_kg: lower weight bound, kg.
        weight_high_kg: upper weight bound, kg.
    """

    male: SexAnthropometry = US_ADULT_MEN
    female: SexAnthropometry = US_ADULT_WOMEN
    female_column: str = "is_female"
    height_column: str = "height_cm"
    weight_column: str = "weight_kg"
    height_low_cm: float = 135.0
    height_high_cm: float = 215.0
    weight_low_kg: float = 35.0
    weight_high_kg: float = 250.0

    def __post_init__(self) -> None:
        """Validate column names and bounds, naming the offending field."""
        columns = (self.female_column, self.height_column, self.weight_column)
        if any(not isinstance(c, str) or not c for c in columns) or len(set(columns)) != 3:
            raise ValueError(f"female_column, height_column and weight_column must be distinct "
                             f"non-empty strings, got {columns}")
        for low_name, high_name in (("height_low_cm", "height_high_cm"),
                                    ("weight_low_kg", "weight_high_kg")):
            low = float(check_positive(low_name, getattr(self, low_name)))
            if not low < getattr(self, high_name):
                raise ValueError(f"{high_name} must be > {low_name}, got "
                                 f"{getattr(self, high_name)} <= {low}")

    @property
    def n_draws(self) -> int:
        """Two uniforms per patient: height, then weight given height."""
        return 2

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The sex column must be drawn first."""
        return (self.female_column,)

    def output_columns(self, name: str) -> tuple[str, ...]:
        """The height and weight columns (``name`` is not used)."""
        return (self.height_column, self.weight_column)

    def columns_from_uniforms(
        self, name: str, uniforms: np.ndarray, covariates: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Return the height and weight columns, reading ``covariates[female_column]``."""
        height, weight = self.from_uniforms(uniforms, covariates[self.female_column])
        return {self.height_column: height, self.weight_column: weight}

    def from_uniforms(
        self, uniforms: np.ndarray, is_female: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Map uniforms (n, 2) and 0/1 sex (n,) to height_cm (n,) and weight_kg (n,).

        Examples:
            >>> height, weight = BodySize().from_uniforms(np.full((2, 2), 0.5), np.array([0, 1]))
            >>> height.round(1).tolist(), weight.round(1).tolist()
            ([175.3, 161.3], [88.6, 75.1])
        """
        u = check_uniforms(uniforms, 2)
        female = np.asarray(is_female)
        if female.shape != (u.shape[0],) or not np.all(np.isin(female, (0, 1))):
            raise ValueError(f"is_female must be 0/1 with shape ({u.shape[0]},), got shape "
                             f"{female.shape}")
        female = female.astype(bool)

        def per_sex(attribute: str) -> np.ndarray:
            return np.where(female, getattr(self.female, attribute), getattr(self.male, attribute))

        mean_h, sd_h = per_sex("height_mean_cm"), per_sex("height_sd_cm")
        z_height = truncated_normal_ppf(
            u[:, 0], (self.height_low_cm - mean_h) / sd_h, (self.height_high_cm - mean_h) / sd_h
        )
        sd_w, rho = per_sex("log_weight_sd"), per_sex("correlation")
        mean_w = per_sex("log_weight_mean") + rho * sd_w * z_height
        sd_cond = sd_w * np.sqrt(1.0 - rho**2)
        z_weight = truncated_normal_ppf(
            u[:, 1],
            (math.log(self.weight_low_kg) - mean_w) / sd_cond,
            (math.log(self.weight_high_kg) - mean_w) / sd_cond,
        )
        height = np.clip(mean_h + sd_h * z_height, self.height_low_cm, self.height_high_cm)
        weight = np.clip(np.exp(mean_w + sd_cond * z_weight), self.weight_low_kg,
                         self.weight_high_kg)
        return height, weight
