"""Bootstrap intervals, paired differences, probability of improvement and profiles.

rliable-style interval estimates over score arrays with documented, validated axes. All
randomness comes from an explicit :class:`numpy.random.Generator`; the same seed gives the
same interval. Intervals are percentile bootstrap intervals.

Axes:

- per-patient scores: ``(n_patients,)`` or ``(n_patients, n_scenarios)``; patients (axis 0)
  are resampled, or, given ``clusters`` (one label per patient, e.g. the parameter-uncertainty
  replicate a patient was simulated in), clusters are resampled and then patients within each
  drawn cluster (the two-stage bootstrap of nested data, Davison & Hinkley 1997, sect. 3.8);
- stratified scores: ``(n_runs, n_tasks)``; runs are resampled independently within each task.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats

from pkgym.evaluation.metrics import SCORE_AXES, Metric, as_scores

Interval = tuple[float, float, float]
"""``(point, low, high)``: the metric on the data and the bootstrap interval bounds."""


def _check_bootstrap_args(reps: int, rng: np.random.Generator, confidence: float) -> None:
    if int(reps) < 1:
        raise ValueError(f"reps must be >= 1, got {reps}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def _percentiles(replicates: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.percentile(replicates, [50.0 * alpha, 100.0 * (1.0 - alpha / 2.0)])
    return float(low), float(high)


def resample_indices(n: int, reps: int, rng: np.random.Generator,
                     clusters: np.ndarray | None = None) -> list[np.ndarray]:
    """Bootstrap index sets over ``n`` patients: plain, or two-stage within ``clusters``.

    Without clusters: ``reps`` rows of ``n`` indices drawn with replacement (one draw of shape
    ``(reps, n)``). With clusters (one label per patient, ``(n,)``): each set draws as many
    clusters as there are, with replacement, then within each drawn cluster as many patients
    as it has, with replacement, so a set's length is the sum of its drawn clusters' sizes.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> [len(i) for i in resample_indices(4, 2, rng)]
        [4, 4]
        >>> sets = resample_indices(6, 50, rng, np.array([0, 0, 1, 1, 2, 2]))
        >>> all(np.all(i // 2 == np.repeat(i[::2] // 2, 2)) for i in sets)  # pairs stay whole
        True
    """
    if clusters is None:
        return list(rng.integers(0, n, size=(int(reps), n)))
    labels = np.asarray(clusters)
    if labels.shape != (n,):
        raise ValueError(f"clusters must hold one label per patient, shape ({n},), got "
                         f"{labels.shape}")
    order = np.argsort(labels, kind="stable")
    _, starts, sizes = np.unique(labels[order], return_index=True, return_counts=True)
    sets = []
    for _ in range(int(reps)):
        chosen = rng.integers(0, sizes.size, size=sizes.size)
        size = np.repeat(sizes[chosen], sizes[chosen])
        within = np.floor(rng.random(size.size) * size).astype(np.int64)
        sets.append(order[np.repeat(starts[chosen], sizes[chosen]) + within])
    return sets


def bootstrap_ci(
    scores: np.ndarray,
    metric: Metric,
    *,
    reps: int = 2000,
    rng: np.random.Generator,
    confidence: float = 0.95,
    clusters: np.ndarray | None = None,
) -> Interval:
    """Percentile bootstrap interval of ``metric``, resampling patients (axis 0).

    Args:
        scores: Per-patient scores, ``(n_patients,)`` or ``(n_patients, n_scenarios)``.
        metric: Aggregate of a score array to one float (e.g. ``metrics.interquartile_mean``).
        reps: Number of bootstrap replicates.
        rng: Source of randomness.
        confidence: Coverage of the interval, in ``(0, 1)``.
        clusters: One label per patient: resample clusters, then patients within them
            (:func:`resample_indices`); ``None``: resample patients.

    Returns:
        ``(point, low, high)``.

    Examples:
        >>> from pkgym.evaluation.metrics import mean
        >>> point, low, high = bootstrap_ci(np.arange(10.0), mean, reps=200,
        ...                                 rng=np.random.default_rng(0))
        >>> point, bool(low < point < high)
        (4.5, True)
    """
    arr = as_scores(scores)
    _check_bootstrap_args(reps, rng, confidence)
    idx = resample_indices(arr.shape[0], reps, rng, clusters)
    replicates = np.array([metric(arr[i]) for i in idx])
    return (float(metric(arr)), *_percentiles(replicates, confidence))


def _as_score_dict(scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = {name: as_scores(s, f"scores[{name!r}]") for name, s in scores.items()}
    if not arrays:
        raise ValueError("scores must hold at least one method")
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1:
        raise ValueError(f"scores must hold arrays of equal shape (same patients on axis 0 of "
                         f"{SCORE_AXES}), got shapes "
                         f"{ {k: a.shape for k, a in arrays.items()} }")
    return arrays


def paired_difference_ci(
    scores: Mapping[str, np.ndarray],
    reference: str,
    metric: Metric,
    *,
    reps: int = 2000,
    rng: np.random.Generator,
    confidence: float = 0.95,
    clusters: np.ndarray | None = None,
) -> dict[str, Interval]:
    """Paired bootstrap interval of ``metric(policy) - metric(reference)`` for each policy.

    All methods are scored on the same patients, so each replicate resamples patient indices
    once and applies them to every method (a paired bootstrap).

    Args:
        scores: Per-patient scores by method, each ``(n_patients,)`` or
            ``(n_patients, n_scenarios)``, all of the same shape.
        reference: Key of ``scores`` to subtract.
        metric: Aggregate of a score array to one float.
        reps: Number of bootstrap replicates.
        rng: Source of randomness.
        confidence: Coverage of the interval, in ``(0, 1)``.
        clusters: One label per patient: resample clusters, then patients within them
            (:func:`resample_indices`); ``None``: resample patients.

    Returns:
        ``{name: (point, low, high)}`` for every method other than ``reference``.

    Examples:
        >>> from pkgym.evaluation.metrics import mean
        >>> s = {"ref": np.array([1.0, 2.0, 3.0]), "same": np.array([1.0, 2.0, 3.0])}
        >>> paired_difference_ci(s, "ref", mean, reps=100, rng=np.random.default_rng(0))
        {'same': (0.0, 0.0, 0.0)}
    """
    arrays = _as_score_dict(scores)
    if reference not in arrays:
        raise ValueError(f"reference must be a key of scores {sorted(arrays)}, got {reference!r}")
    _check_bootstrap_args(reps, rng, confidence)
    ref = arrays[reference]
    idx = resample_indices(ref.shape[0], reps, rng, clusters)
    ref_reps = np.array([metric(ref[i]) for i in idx])
    out: dict[str, Interval] = {}
    for name, arr in arrays.items():
        if name == reference:
            continue
        diffs = np.array([metric(arr[i]) for i in idx]) - ref_reps
        out[name] = (float(metric(arr) - metric(ref)), *_percentiles(diffs, confidence))
    return out


def _as_vector(x: np.ndarray, name: str) -> np.ndarray:
    arr = as_scores(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must have axes (n_scores,), got shape {arr.shape}")
    return arr


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """Mann-Whitney probability of improvement ``P(X > Y) + 0.5 P(X = Y)`` (as in rliable).

    Args:
        x: Scores of method X, ``(n_x,)``.
        y: Scores of method Y, ``(n_y,)``.

    Returns:
        The fraction of pairs ``(x_i, y_j)`` with ``x_i > y_j``, ties counting one half.

    Examples:
        >>> probability_of_improvement(np.array([1.0, 3.0]), np.array([2.0, 3.0]))
        0.375
    """
    xs, ys = _as_vector(x, "x"), _as_vector(y, "y")
    ranks = stats.rankdata(np.concatenate([xs, ys]))
    u_stat = ranks[: xs.size].sum() - xs.size * (xs.size + 1) / 2.0
    return float(u_stat / (xs.size * ys.size))


def probability_of_improvement_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    reps: int = 2000,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> Interval:
    """Bootstrap interval of :func:`probability_of_improvement`.

    As in rliable, ``x`` and ``y`` are resampled independently of each other.

    Args:
        x: Scores of method X, ``(n_x,)``.
        y: Scores of method Y, ``(n_y,)``.
        reps: Number of bootstrap replicates.
        rng: Source of randomness.
        confidence: Coverage of the interval, in ``(0, 1)``.

    Returns:
        ``(point, low, high)``.

    Examples:
        >>> probability_of_improvement_ci(np.array([2.0, 3.0]), np.array([0.0, 1.0]),
        ...                               reps=50, rng=np.random.default_rng(0))
        (1.0, 1.0, 1.0)
    """
    xs, ys = _as_vector(x, "x"), _as_vector(y, "y")
    _check_bootstrap_args(reps, rng, confidence)
    ix = rng.integers(0, xs.size, size=(int(reps), xs.size))
    iy = rng.integers(0, ys.size, size=(int(reps), ys.size))
    pairs = zip(ix, iy, strict=True)
    replicates = np.array([probability_of_improvement(xs[i], ys[j]) for i, j in pairs])
    return (probability_of_improvement(xs, ys), *_percentiles(replicates, confidence))


def normalised_scores(
    scores: np.ndarray, low: float | np.ndarray, high: float | np.ndarray
) -> np.ndarray:
    """Normalise scores per task: ``(score - low) / (high - low)``.

    ``low`` is the baseline (e.g. label dosing, 0) and ``high`` the oracle (1).

    Args:
        scores: ``(n_scores,)`` or ``(n_runs, n_tasks)``.
        low: Scalar, or ``(n_tasks,)`` baseline per task.
        high: Scalar, or ``(n_tasks,)`` oracle per task; must differ from ``low`` everywhere.

    Returns:
        Normalised scores, same shape as ``scores``.

    Examples:
        >>> normalised_scores(np.array([[0.5, 30.0]]), np.array([0.0, 10.0]), np.array([1.0, 50.0]))
        array([[0.5, 0.5]])
    """
    arr = as_scores(scores)
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    n_tasks = arr.shape[-1]
    for name, bound in (("low", lo), ("high", hi)):
        if bound.ndim > 1 or (bound.ndim == 1 and bound.shape[0] != n_tasks):
            raise ValueError(f"{name} must be a scalar or have axes (n_tasks,) = ({n_tasks},), "
                             f"got shape {bound.shape}")
    if np.any(hi == lo):
        raise ValueError("high must differ from low for every task")
    return (arr - lo) / (hi - lo)


def stratified_bootstrap_ci(
    scores: np.ndarray,
    metric: Metric,
    *,
    reps: int = 2000,
    rng: np.random.Generator,
    confidence: float = 0.95,
) -> Interval:
    """Stratified bootstrap (rliable): resample runs independently within each task.

    Args:
        scores: ``(n_runs, n_tasks)``.
        metric: Aggregate of a ``(n_runs, n_tasks)`` array to one float.
        reps: Number of bootstrap replicates.
        rng: Source of randomness.
        confidence: Coverage of the interval, in ``(0, 1)``.

    Returns:
        ``(point, low, high)``.

    Examples:
        >>> from pkgym.evaluation.metrics import mean
        >>> s = np.array([[1.0, 10.0], [1.0, 10.0]])
        >>> stratified_bootstrap_ci(s, mean, reps=50, rng=np.random.default_rng(0))
        (5.5, 5.5, 5.5)
    """
    arr = as_scores(scores)
    if arr.ndim != 2:
        raise ValueError(f"scores must have axes (n_runs, n_tasks), got shape {arr.shape}")
    _check_bootstrap_args(reps, rng, confidence)
    n_runs, n_tasks = arr.shape
    idx = rng.integers(0, n_runs, size=(int(reps), n_runs, n_tasks))
    cols = np.arange(n_tasks)
    replicates = np.array([metric(arr[i, cols]) for i in idx])
    return (float(metric(arr)), *_percentiles(replicates, confidence))


def performance_profile(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of scores strictly above each threshold ``tau`` (rliable's score distribution).

    Args:
        scores: ``(n_scores,)`` or ``(n_runs, n_tasks)``; all entries count equally.
        thresholds: ``(n_thresholds,)``.

    Returns:
        ``(n_thresholds,)`` fractions in ``[0, 1]``, non-increasing in ``tau`` when sorted.

    Examples:
        >>> performance_profile(np.array([0.1, 0.5, 0.9, 0.5]), np.array([0.0, 0.5, 1.0]))
        array([1.  , 0.25, 0.  ])
    """
    arr = as_scores(scores).ravel()
    tau = np.asarray(thresholds, dtype=float)
    if tau.ndim != 1:
        raise ValueError(f"thresholds must have axes (n_thresholds,), got shape {tau.shape}")
    return np.mean(arr[None, :] > tau[:, None], axis=1)


def performance_profiles(
    scores: Mapping[str, np.ndarray], thresholds: np.ndarray
) -> dict[str, np.ndarray]:
    """:func:`performance_profile` of each method.

    Examples:
        >>> performance_profiles({"a": np.array([1.0, 2.0])}, np.array([1.5]))
        {'a': array([0.5])}
    """
    return {name: performance_profile(s, thresholds) for name, s in scores.items()}
