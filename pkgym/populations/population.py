"""Virtual-patient populations: covariate specs sampled into a cohort DataFrame.

A :class:`Population` draws its covariates, in the order given, from the ``"covariates"``
stream of :mod:`pkgym.populations.streams`: covariate ``i`` uses the draws at offsets
``sum(n_draws of covariates before i) ...`` of each patient's stream, so appending a
covariate never changes the earlier ones, and patient k is the same in any cohort size.
Derived covariates (creatinine clearance, BSA, ...) are then computed from the drawn columns.

User cohorts are loaded and validated with :func:`load_cohort` / :func:`validate_cohort`
(defined in :mod:`pkgym.populations.cohort`, re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pkgym.populations.cohort import (
    CohortSchema,
    CohortValidationError,
    ColumnRule,
    load_cohort,
    validate_cohort,
)
from pkgym.populations.distributions import CovariateSpec
from pkgym.populations.frozen import FrozenMap
from pkgym.populations.streams import patient_uniforms, root_seed_sequence
from pkgym.utils import SeedLike

__all__ = [
    "CohortSchema",
    "CohortValidationError",
    "ColumnRule",
    "DerivedCovariate",
    "Population",
    "load_cohort",
    "validate_cohort",
]

DerivedCovariate = Callable[[Mapping[str, np.ndarray]], "np.ndarray | pd.Series"]
"""A function of the columns drawn so far (name -> array) returning one value per patient."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Population:
    """A virtual-patient population: covariate distributions plus derived covariates.

    Attributes:
        covariates: column name -> spec, in draw order; a spec that needs another column
            (``BodySize`` needs sex) must come after it. Stored read-only.
        derived: column name -> function of the columns so far (a mapping name -> array: all
            drawn columns and earlier derived ones) returning one value per patient. Read-only.
    """

    covariates: Mapping[str, CovariateSpec]
    derived: Mapping[str, DerivedCovariate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check names, spec types and draw order; freeze copies of the mappings."""
        if not isinstance(self.covariates, Mapping) or not isinstance(self.derived, Mapping):
            raise ValueError("covariates and derived must be mappings of column name -> spec/fn")
        seen = {"id"}
        for name, spec in self.covariates.items():
            if not isinstance(spec, CovariateSpec):
                raise ValueError(f"covariates[{name!r}] must be a CovariateSpec, got {spec!r}")
            absent = [c for c in spec.required_columns if c not in seen]
            if absent:
                raise ValueError(f"covariates[{name!r}] needs {absent} drawn before it")
            seen = _add_columns(seen, spec.output_columns(name), f"covariates[{name!r}]")
        for name, function in self.derived.items():
            if not callable(function):
                raise ValueError(f"derived[{name!r}] must be callable, got {function!r}")
            seen = _add_columns(seen, (name,), f"derived[{name!r}]")
        object.__setattr__(self, "covariates", FrozenMap(dict(self.covariates)))
        object.__setattr__(self, "derived", FrozenMap(dict(self.derived)))

    @property
    def n_draws(self) -> int:
        """Uniforms drawn per patient from the ``"covariates"`` stream."""
        return sum(spec.n_draws for spec in self.covariates.values())

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of :meth:`sample`: ``id``, the covariates, then the derived covariates."""
        drawn = [c for name, spec in self.covariates.items() for c in spec.output_columns(name)]
        return ("id", *drawn, *self.derived)

    def sample(self, n: int, seed: SeedLike, *, start: int = 0) -> pd.DataFrame:
        """Draw patients ``start .. start+n-1``.

        Args:
            n: number of patients, >= 0.
            seed: root seed: an ``int``, a ``SeedSequence``, a ``Generator`` (128 bits are
                drawn from it) or ``None`` for fresh entropy (recorded in ``attrs``).
            start: index of the first patient, >= 0; ``sample(5, s, start=5)`` equals rows
                5..9 of ``sample(10, s)``.

        Returns:
            One row per patient: ``id`` (= patient index), covariates, derived covariates.
            ``attrs`` holds ``seed_entropy``, ``seed_spawn_key`` and ``start``.

        Examples:
            >>> from pkgym.populations.discrete import Bernoulli
            >>> from pkgym.populations.distributions import Uniform
            >>> population = Population(covariates={"is_female": Bernoulli(p=0.5),
            ...                                     "age_years": Uniform(low=18.0, high=80.0)})
            >>> cohort = population.sample(10, seed=1)
            >>> list(cohort.columns), cohort["id"].tolist()[:3]
            (['id', 'is_female', 'age_years'], [0, 1, 2])
            >>> population.sample(5, seed=1, start=5).equals(cohort.iloc[5:].reset_index(drop=True))
            True
        """
        root = root_seed_sequence(seed)
        uniforms = patient_uniforms(root, n, self.n_draws, start=start, stream="covariates")
        cohort = pd.DataFrame(self.from_uniforms(uniforms, start=start))
        cohort.attrs.update(seed_entropy=root.entropy, seed_spawn_key=root.spawn_key, start=start)
        return cohort

    def from_uniforms(self, uniforms: np.ndarray, *, start: int = 0) -> dict[str, np.ndarray]:
        """Covariates (as arrays) of patients whose uniforms are given, shape (n, n_draws).

        :meth:`sample` uses this with the per-patient ``covariates`` stream; an environment
        uses it with uniforms from its own episode stream, skipping the DataFrame.

        Examples:
            >>> from pkgym.populations.distributions import Uniform
            >>> Population(covariates={"age_years": Uniform(low=20.0, high=40.0)}).from_uniforms(
            ...     np.array([[0.5]]))["age_years"].tolist()
            [30.0]
        """
        uniforms = np.asarray(uniforms, dtype=np.float64)
        n = uniforms.shape[0]
        columns: dict[str, np.ndarray] = {"id": np.arange(start, start + n, dtype=np.int64)}
        offset = 0
        for name, spec in self.covariates.items():
            block = uniforms[:, offset:offset + spec.n_draws]
            columns.update(spec.columns_from_uniforms(name, block, columns))
            offset += spec.n_draws
        for name, function in self.derived.items():
            values = np.asarray(function(columns))
            if values.shape != (n,):
                raise ValueError(f"derived[{name!r}] must return shape ({n},), got {values.shape}")
            columns[name] = values
        return columns


def _add_columns(seen: set[str], new: tuple[str, ...], owner: str) -> set[str]:
    """Return ``seen`` plus ``new``, raising ``ValueError`` naming ``owner`` on a clash."""
    clashes = [c for c in new if c in seen or not isinstance(c, str) or not c]
    if clashes or len(set(new)) != len(new):
        raise ValueError(f"{owner} writes column(s) {list(new)} that clash with {sorted(seen)} "
                         "or are not non-empty strings")
    return seen | set(new)
