"""Uncertainty in the published estimates: draw a model's fixed effects from their standard errors.

A published population model gives each fixed effect an estimate and a relative standard error
(RSE, from NONMEM's ``$COV`` step). A parameter set whose fields carry ``metadata["rse"]`` (a
fraction: 0.05 for 5%; for a tuple field a tuple of the same length, ``None`` where an element
has none) can be redrawn: each uncertain element independently from
``Normal(estimate, (rse * |estimate|)^2)``. This is the usual ``$COV``-based simulation of
parameter uncertainty with a **diagonal** covariance: papers publish RSEs, not the correlation
matrix of the estimates, so correlations are taken as 0. Fields without ``rse`` are never
touched. Omega fields (names starting ``omega``) and residual-error fields (names starting
``residual`` or holding ``error_sd``) are random-effect variances, not fixed effects: they are
drawn only with ``include_omegas=True`` and only where they carry an ``rse``.

**Domain.** A positive estimate must stay positive, so a draw <= 0 is redrawn (rejection: the
draw comes from the normal truncated at 0). The chance of a rejection is ``Phi(-1/RSE)``: below
4.3e-4 (1 in 2 300) for RSE < 30%, 3e-7 for RSE < 20%. The mean then moves up by
``RSE * phi(1/RSE) / Phi(1/RSE)`` times the estimate, i.e. by ``phi(1/RSE) * sqrt(n)`` Monte-Carlo
standard errors of an n-replicate mean: for RSE < 30% that is less than one Monte-Carlo SE for
any n below 400 000, and the SD shrinks by less than 0.3%. Larger RSEs (some published EC50s
and covariate effects reach 40-60%) truncate visibly; :func:`summarise_draws` shows by how much.
:func:`draw_parameters` also hands each draw to the dataclass's own ``__post_init__`` and redraws
the whole set when it refuses (a fraction pushed to >= 1, a negative effect it forbids).

**Replicates.** In a simulation with parameter uncertainty each replicate cohort shares one
draw: :func:`replicate_parameters` gives replicate ``k`` of a root seed from its own
``SeedSequence(seed, spawn_key=(UNCERTAINTY_KEY, k))``, so replicate k is the same whether 10 or
10 000 replicates are run, and the stream is disjoint from the per-patient streams of
:mod:`pkgym.populations.streams` (keys ``(k, stream_id)``) of the same seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from pkgym.utils import SeedLike, as_generator, as_seed_sequence

P = TypeVar("P")

UNCERTAINTY_KEY = 0x72736521
"""First spawn-key word of the replicate streams (the bytes of "rse!")."""

MAX_ATTEMPTS = 1000
"""Rejection gives up (ValueError) after this many redraws of one element or parameter set."""


class UncertainElement(NamedTuple):
    """One uncertain scalar: a field, or one element of a tuple field."""

    name: str  # "field" or "field[i]"
    field: str
    position: int | None  # None for a scalar field
    estimate: float
    standard_error: float


class DrawSummary(NamedTuple):
    """Published estimate and SE of one element against the moments of its draws."""

    name: str
    estimate: float
    standard_error: float
    mean: float
    sd: float
    mc_standard_error: float  # SD of draws / sqrt(n draws): the Monte-Carlo SE of ``mean``


def _is_variance(name: str) -> bool:
    return name.startswith(("omega", "residual")) or "error_sd" in name


def _rse_elements(params: Any, f: dataclasses.Field[Any]) -> list[UncertainElement]:
    value, rse = getattr(params, f.name), f.metadata["rse"]
    cls = type(params).__name__
    scalar = not isinstance(value, tuple)
    values, rses = ((value,), (rse,)) if scalar else (value, rse)
    if not isinstance(rses, tuple) or len(rses) != len(values):
        raise ValueError(f"{cls}.{f.name}: rse must be {'a number' if scalar else 'a tuple of '}"
                         f"{'' if scalar else len(values)}, got {rse!r}")
    elements = []
    for i, (v, r) in enumerate(zip(values, rses, strict=True)):
        if r is None and not scalar:
            continue
        if isinstance(r, bool) or not (isinstance(r, (int, float)) and np.isfinite(r) and r > 0):
            raise ValueError(f"{cls}.{f.name}: rse must be a finite fraction > 0, got {r!r}")
        name = f.name if scalar else f"{f.name}[{i}]"
        elements.append(UncertainElement(name, f.name, None if scalar else i, float(v),
                                          float(r) * abs(float(v))))
    return elements


def uncertain_elements(params: Any, *, include_omegas: bool = False
                       ) -> tuple[UncertainElement, ...]:
    """The elements of a parameter set that :func:`draw_parameters` draws, with their SEs.

    Args:
        params: a dataclass instance whose fields may carry ``metadata["rse"]``.
        include_omegas: also list omega and residual-error fields that carry an rse.

    Raises:
        ValueError: (one line, naming the class) no fixed effect carries an rse.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2007
        >>> [(e.name, round(e.standard_error, 4)) for e in uncertain_elements(Hamberg2007())][:2]
        [('clearance_l_per_h', 0.0124), ('clearance_reduction[1]', 0.0435)]
    """
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise ValueError(f"params must be a dataclass instance, got {type(params).__name__}")
    fields = [f for f in dataclasses.fields(params) if "rse" in f.metadata]
    if not any(not _is_variance(f.name) for f in fields):
        raise ValueError(f"{type(params).__name__} has no published RSE on any fixed effect "
                         "(no field metadata 'rse'), so its estimates cannot be drawn")
    return tuple(e for f in fields if include_omegas or not _is_variance(f.name)
                 for e in _rse_elements(params, f))


def uncertain_fields(params: Any, *, include_omegas: bool = False) -> tuple[str, ...]:
    """Names of the fields that carry an rse (omegas and residual errors only if asked).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> uncertain_fields(Hamberg2010())[:3]
        ('clearance_star2_l_per_h', 'clearance_star3_l_per_h', 'age_effect_per_year')
    """
    names = (e.field for e in uncertain_elements(params, include_omegas=include_omegas))
    return tuple(dict.fromkeys(names))


def draw_parameter_values(params: Any, seed: SeedLike, n_draws: int, *,
                          include_omegas: bool = False) -> dict[str, np.ndarray]:
    """``n_draws`` independent draws of every uncertain element, vectorised, positives kept > 0.

    Only the sign check of the module docstring is applied here, not the dataclass's own
    validation (:func:`draw_parameters` adds it). Elements are drawn in field order, each as one
    ``standard_normal(n_draws)`` call, then its rejected entries are redrawn.

    Args:
        params: parameter set with ``rse`` metadata.
        seed: int, SeedSequence, Generator or None (see :func:`pkgym.utils.as_generator`).
        n_draws: number of draws, >= 1.
        include_omegas: also draw omega and residual-error fields that carry an rse.

    Returns:
        Element name (``"field"`` or ``"field[i]"``) -> draws, shape (n_draws,), in the
        field's unit.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> draws = draw_parameter_values(Hamberg2010(), 0, 4)
        >>> draws["volume_l"].shape, bool(np.all(draws["age_effect_per_year"] > 0))
        ((4,), True)
    """
    if int(n_draws) < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    rng = as_generator(seed)
    return {e.name: _draw_element(e, rng, int(n_draws), type(params).__name__)
            for e in uncertain_elements(params, include_omegas=include_omegas)}


def _draw_element(element: UncertainElement, rng: np.random.Generator, n: int,
                  cls: str) -> np.ndarray:
    draws = element.estimate + element.standard_error * rng.standard_normal(n)
    if element.estimate <= 0:
        return draws
    for _ in range(MAX_ATTEMPTS):
        rejected = np.flatnonzero(draws <= 0)
        if rejected.size == 0:
            return draws
        draws[rejected] = element.estimate + element.standard_error * rng.standard_normal(
            rejected.size)
    raise ValueError(f"{cls}.{element.name}: {MAX_ATTEMPTS} redraws stayed <= 0 "
                     f"(estimate {element.estimate}, SE {element.standard_error})")


def parameter_set(params: P, values: Mapping[str, np.ndarray], i: int = 0) -> P:
    """Draw ``i`` of :func:`draw_parameter_values` as a parameter set (``dataclasses.replace``).

    The dataclass's ``__post_init__`` validates it; a ValueError from it passes through.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2007
        >>> p = parameter_set(Hamberg2007(), {"hill": np.array([0.4]), "ec50_mg_per_l[2]":
        ...                                   np.array([2.5])})
        >>> p.hill, p.ec50_mg_per_l
        (0.4, (4.61, 3.02, 2.5))
    """
    changes: dict[str, Any] = {}
    for name, draws in values.items():
        field, _, index = name.partition("[")
        value = float(np.asarray(draws)[i])
        if not index:
            changes[field] = value
            continue
        current = list(changes.get(field, getattr(params, field)))
        current[int(index.rstrip("]"))] = value
        changes[field] = tuple(current)
    return dataclasses.replace(params, **changes)  # type: ignore[type-var]


def draw_parameters(params: P, seed: SeedLike, *, include_omegas: bool = False) -> P:
    """One draw of the parameter set from the published uncertainty of its estimates.

    Each uncertain fixed effect is drawn independently from ``Normal(estimate, (rse *
    |estimate|)^2)`` (diagonal ``$COV`` simulation; correlations are not published), positives
    redrawn until > 0, and the set redrawn whole if the dataclass's ``__post_init__`` refuses it;
    see the module docstring for how rare that is and how little it biases. Fields without an
    rse keep their values.

    Args:
        params: parameter set with ``rse`` metadata (a frozen dataclass).
        seed: int, SeedSequence, Generator (its stream advances) or None.
        include_omegas: also draw omega and residual-error fields that carry an rse.

    Returns:
        A new instance of ``type(params)``.

    Raises:
        ValueError: no fixed effect has an rse (naming the class), or rejection gave up.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> a, b = draw_parameters(Hamberg2010(), 1), draw_parameters(Hamberg2010(), 1)
        >>> a == b, a.volume_l != Hamberg2010().volume_l, a.hill == Hamberg2010().hill
        (True, True, True)
    """
    rng = as_generator(seed)
    for _ in range(MAX_ATTEMPTS):
        values = draw_parameter_values(params, rng, 1, include_omegas=include_omegas)
        try:
            return parameter_set(params, values)
        except ValueError:
            continue
    raise ValueError(f"{type(params).__name__}: {MAX_ATTEMPTS} draws were all refused by its "
                     "validation")


def replicate_seed_sequence(seed: int | np.random.SeedSequence, replicate: int
                            ) -> np.random.SeedSequence:
    """The stream of replicate ``replicate``: ``spawn_key=(*root.spawn_key, UNCERTAINTY_KEY, k)``.

    Examples:
        >>> replicate_seed_sequence(5, 3).spawn_key == (UNCERTAINTY_KEY, 3)
        True
    """
    if isinstance(replicate, bool) or not isinstance(replicate, (int, np.integer)) \
            or replicate < 0:
        raise ValueError(f"replicate must be an int >= 0, got {replicate!r}")
    root = as_seed_sequence(seed)
    return np.random.SeedSequence(root.entropy, pool_size=root.pool_size,
                                  spawn_key=(*root.spawn_key, UNCERTAINTY_KEY, int(replicate)))


def replicate_parameters(params: P, seed: int | np.random.SeedSequence, replicate: int, *,
                         include_omegas: bool = False) -> P:
    """The parameter set shared by every patient of replicate cohort ``replicate``.

    Replicate ``k`` of a root seed is :func:`draw_parameters` on its own stream
    (:func:`replicate_seed_sequence`), so it does not depend on how many replicates are run.

    Args:
        params: parameter set with ``rse`` metadata.
        seed: root seed, an int >= 0 or a SeedSequence (not a Generator: replicates must be
            reproducible from the seed alone).
        replicate: replicate index, >= 0.
        include_omegas: also draw omega and residual-error fields that carry an rse.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> m = Hamberg2010()
        >>> replicate_parameters(m, 7, 2) == replicate_parameters(m, 7, 2)
        True
        >>> replicate_parameters(m, 7, 2) == replicate_parameters(m, 7, 3)
        False
    """
    return draw_parameters(params, np.random.default_rng(replicate_seed_sequence(seed, replicate)),
                           include_omegas=include_omegas)


def summarise_draws(params: Any, draws: Sequence[Any] | Mapping[str, np.ndarray], *,
                    include_omegas: bool = False) -> list[DrawSummary]:
    """Per uncertain element: published estimate and SE, mean and SD of the draws, MC SE.

    Args:
        params: the published parameter set the draws came from.
        draws: drawn parameter sets (from :func:`draw_parameters`), or the arrays of
            :func:`draw_parameter_values`; at least two draws.
        include_omegas: summarise omega and residual-error fields that carry an rse too.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> rows = summarise_draws(Hamberg2010(), draw_parameter_values(Hamberg2010(), 0, 4000))
        >>> row = next(r for r in rows if r.name == "volume_l")
        >>> row.estimate, round(row.standard_error, 3), abs(row.sd / row.standard_error - 1) < 0.05
        (14.3, 0.493, True)
    """
    elements = uncertain_elements(params, include_omegas=include_omegas)
    if isinstance(draws, Mapping):
        columns = {e.name: np.asarray(draws[e.name], dtype=np.float64) for e in elements}
    else:
        columns = {e.name: np.array([_element_value(d, e) for d in draws]) for e in elements}
    rows = []
    for e in elements:
        values = columns[e.name]
        if values.shape[0] < 2:
            raise ValueError(f"summarise_draws needs at least 2 draws, got {values.shape[0]}")
        sd = float(values.std(ddof=1))
        rows.append(DrawSummary(e.name, e.estimate, e.standard_error, float(values.mean()), sd,
                                sd / np.sqrt(values.shape[0])))
    return rows


def _element_value(drawn: Any, element: UncertainElement) -> float:
    value = getattr(drawn, element.field)
    return float(value if element.position is None else value[element.position])
