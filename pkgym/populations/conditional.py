"""A covariate whose distribution depends on an earlier categorical or 0/1 covariate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pkgym.populations.distributions import CovariateSpec, ScalarCovariateSpec
from pkgym.populations.frozen import FrozenMap


@dataclass(frozen=True, slots=True, kw_only=True)
class ByGroup(CovariateSpec):
    """Draw from ``specs[group]`` where ``group`` is the patient's value of ``column``.

    Every patient consumes the same number of uniforms (the largest of the specs'), so
    patient k's later covariates do not depend on its group. The column is float64, or an
    object array of labels when a spec writes labels (``Categorical``, ``Genotype``).

    Attributes:
        column: the earlier covariate that selects the distribution (e.g. ``on_dialysis``).
        specs: group value -> scalar spec; every value the column takes must be present.

    Examples:
        >>> from pkgym.populations.distributions import Uniform
        >>> spec = ByGroup(column="on_dialysis", specs={0: Uniform(low=0.5, high=1.5),
        ...                                             1: Uniform(low=5.0, high=9.0)})
        >>> spec.columns_from_uniforms("scr", np.array([[0.5], [0.5]]),
        ...                            {"on_dialysis": np.array([0, 1])})["scr"].tolist()
        [1.0, 7.0]
        >>> from pkgym.populations.discrete import Genotype
        >>> by_race = ByGroup(column="race", specs={
        ...     "white": Genotype(allele_frequencies={"G": 0.6, "A": 0.4}),
        ...     "asian": Genotype(allele_frequencies={"G": 0.1, "A": 0.9})})
        >>> by_race.columns_from_uniforms("vkorc1", np.array([[0.5, 0.5], [0.5, 0.5]]),
        ...     {"race": np.array(["white", "asian"], dtype=object)})["vkorc1"].tolist()
        ['G/G', 'A/A']
    """

    column: str
    specs: Mapping[int | str, ScalarCovariateSpec]
    _labels: bool = field(init=False, repr=False, compare=False, default=False)

    def __post_init__(self) -> None:
        """Check the specs, freeze them and note whether they write labels."""
        if not self.specs or not all(isinstance(s, ScalarCovariateSpec)
                                     for s in self.specs.values()):
            raise ValueError("specs must map each group value to a scalar covariate spec")
        object.__setattr__(self, "specs", FrozenMap(dict(self.specs)))
        probes = (spec.from_uniforms(np.full((1, spec.n_draws), 0.5))
                  for spec in self.specs.values())
        object.__setattr__(self, "_labels", not all(p.dtype.kind in "biuf" for p in probes))

    @property
    def n_draws(self) -> int:
        """The largest number of uniforms any group's spec needs."""
        return max(spec.n_draws for spec in self.specs.values())

    @property
    def output_dtype(self) -> type:
        """``np.float64``, or ``object`` when any spec writes non-numeric values (labels)."""
        return object if self._labels else np.float64

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The grouping column must be drawn first."""
        return (self.column,)

    def columns_from_uniforms(self, name: str, uniforms: np.ndarray,
                              covariates: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each patient's value from its group's spec."""
        groups = np.asarray(covariates[self.column])
        unknown = sorted(set(np.unique(groups).tolist()) - set(self.specs))
        if unknown:
            raise ValueError(f"{name}: no spec for {self.column} value(s) {unknown}; "
                             f"specs exist for {sorted(self.specs)}")
        out: np.ndarray = np.empty(groups.shape[0], dtype=self.output_dtype)
        for value, spec in self.specs.items():
            rows = groups == value
            if rows.any():
                out[rows] = spec.from_uniforms(uniforms[rows, :spec.n_draws])
        return {name: out}
