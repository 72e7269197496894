# lines: every interval estimator with its validated axes; they share the resampling helpers
"""Bootstrap intervals, paired differences, probability of improvement and profiles.

rliable-style interval estimates over score arrays with documented, validated axes. All
randomness comes from an explicit :class:`numpy.random.Generator`; the same seed gives the
same interval. Intervals are percentile bootstrap intervals by default; :func:`bootstrap_ci`
and :func:`stratified_bootstrap_ci` also give bias-corrected and accelerated ones
(``method="BCa"``), computed by :func:`scipy.stats.bootstrap` (rliable offers the same
methods through ``arch``).

Names follow rliable: :func:`probability_of_improvement` of ``(n_runs, n_tasks)`` arrays is
rliable's ``probability_of_improvement``, ``P(X_m > Y_m) + 0.5 P(X_m = Y_m)`` per task ``m``
averaged over tasks (runs are only compared within a task, never pooled across tasks), and
its interval resamples ``x`` and ``y`` independently, runs within each task (rliable's
``StratifiedIndependentBootstrap``).

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


METHODS = ("percentile", "BCa")
"""Interval methods: percentile bootstrap (the default) or BCa via ``scipy.stats.bootstrap``."""


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")


def _scipy_interval(samples: tuple[np.ndarray, ...], statistic: Metric, point: float, *,
                    reps: int, rng: np.random.Generator, confidence: float) -> Interval:
    """BCa interval of ``statistic(*samples)`` by :func:`scipy.stats.bootstrap`.

    Each sample is resampled independently of the others.
    """
    result = stats.bootstrap(samples, statistic, n_resamples=int(reps), vectorized=False,
                             paired=False, confidence_level=confidence, method="BCa",
                             rng=rng)
    low, high = result.confidence_interval
    return (point, float(low), float(high))


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
    method: str = "percentile",
) -> Interval:
    """Percentile (or BCa) bootstrap interval of ``metric``, resampling patients (axis 0).

    Args:
        scores: Per-patient scores, ``(n_patients,)`` or ``(n_patients, n_scenarios)``.
        metric: Aggregate of a score array to one float (e.g. ``metrics.interquartile_mean``).
        reps: Number of bootstrap replicates.
        rng: Source of randomness.
        confidence: Coverage of the interval, in ``(0, 1)``.
        clusters: One label per patient: resample clusters, then patients within them
            (:func:`resample_indices`); ``None``: resample patients.
        method: ``"percentile"``, or ``"BCa"`` (:func:`scipy.stats.bootstrap`, patients
            resampled as rows; no ``clusters``).

    Returns:
        ``(point, low, high)``.

    Examples:
        >>> from pkgym.evaluation.metrics import mean
        >>> point, low, high = bootstrap_ci(np.arange(10.0), mean, reps=200,
        ...                                 rng=np.random.default_rng(0))
        >>> point, bool(low < point < high)
        (4.5, True)
        >>> point, low, high = bootstrap_ci(np.arange(10.0), mean, reps=200,
        ...                                 rng=np.random.default_rng(0), method="BCa")
        >>> point, bool(low < point < high)
        (4.5, True)
    """
    arr = as_scores(scores)
    _check_bootstrap_args(reps, rng, confidence)
    _check_method(method)
    if method == "BCa":
        if clusters is not None:
            raise ValueError("method='BCa' resamples patients; it does not take clusters")
        rows = np.arange(arr.shape[0], dtype=float)
        return _scipy_interval((rows,), lambda i: metric(arr[i.astype(np.int64)]),
                               float(metric(arr)), reps=reps, rng=rng, confidence=confidence)
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


def _as_task_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as ``(n_runs, n_tasks)`` with the same tasks (a vector: one task)."""
    xs, ys = as_scores(x, "x"), as_scores(y, "y")
    if xs.ndim != ys.ndim:
        bad = "x" if xs.ndim == 2 else "y"
        raise ValueError(f"{bad} must have axes (n_scores,) like the other, or both must have "
                         f"(n_runs, n_tasks); got shapes {xs.shape} and {ys.shape}")
    if xs.ndim == 1:
        return xs[:, None], ys[:, None]
    if xs.shape[1] != ys.shape[1]:
        raise ValueError(f"x and y must have the same tasks (axis 1), got shapes {xs.shape} "
                         f"and {ys.shape}")
    return xs, ys


def _pair_probability(xs: np.ndarray, ys: np.ndarray) -> float:
    """``P(X > Y) + 0.5 P(X = Y)`` of two vectors by the Mann-Whitney U statistic."""
    ranks = stats.rankdata(np.concatenate([xs, ys]))
    u_stat = ranks[: xs.size].sum() - xs.size * (xs.size + 1) / 2.0
    return float(u_stat / (xs.size * ys.size))


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """Probability of improvement of X over Y, as rliable defines it.

    Per task ``m``, the Mann-Whitney ``P(X_m > Y_m) + 0.5 P(X_m = Y_m)``: the fraction of
    pairs of runs ``(x_im, y_jm)`` with ``x_im > y_jm``, ties counting one half; then the
    mean over tasks. Runs of different tasks are never compared (pooling all runs of all
    tasks, as a single ``(n_scores,)`` call on flattened arrays would, is not rliable's
    statistic).

    Args:
        x: Scores of method X, ``(n_x,)`` (one task) or ``(n_runs_x, n_tasks)``.
        y: Scores of method Y, ``(n_y,)`` or ``(n_runs_y, n_tasks)``, the same tasks.

    Returns:
        The probability, in ``[0, 1]``.

    Examples:
        >>> probability_of_improvement(np.array([1.0, 3.0]), np.array([2.0, 3.0]))
        0.375
        >>> probability_of_improvement(np.array([[1.0, 0.0], [3.0, 0.0]]),
        ...                            np.array([[2.0, 5.0], [3.0, 5.0]]))
        0.1875
    """
    xs, ys = _as_task_pair(x, y)
    return float(np.mean([_pair_probability(xs[:, m], ys[:, m]) for m in range(xs.shape[1])]))


def _probability_of_improvement_1d(x: np.ndarray, y: np.ndarray) -> float:
    """The one-task probability of improvement of two vectors."""
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

    As in rliable, ``x`` and ``y`` are resampled independently of each other, and, for
    ``(n_runs, n_tasks)`` arrays, runs within each task (stratified).

    Args:
        x: Scores of method X, ``(n_x,)`` or ``(n_runs_x, n_tasks)``.
        y: Scores of method Y, ``(n_y,)`` or ``(n_runs_y, n_tasks)``.
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
    _check_bootstrap_args(reps, rng, confidence)
    if np.ndim(x) == 1 and np.ndim(y) == 1:  # one task: the draws pkgym always made
        xs, ys = _as_vector(x, "x"), _as_vector(y, "y")
        ix = rng.integers(0, xs.size, size=(int(reps), xs.size))
        iy = rng.integers(0, ys.size, size=(int(reps), ys.size))
        pairs = zip(ix, iy, strict=True)
        replicates = np.array([_probability_of_improvement_1d(xs[i], ys[j]) for i, j in pairs])
        return (probability_of_improvement(xs, ys), *_percentiles(replicates, confidence))
    xs2, ys2 = _as_task_pair(x, y)
    cols = np.arange(xs2.shape[1])
    ix = rng.integers(0, xs2.shape[0], size=(int(reps), *xs2.shape))
    iy = rng.integers(0, ys2.shape[0], size=(int(reps), *ys2.shape))
    replicates = np.array([probability_of_improvement(xs2[i, cols], ys2[j, cols])
                           for i, j in zip(ix, iy, strict=True)])
    return (probability_of_improvement(xs2, ys2), *_percentiles(replicates, confidence))


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
    method: str = "percentile",
) -> Interval:
    """Stratified bootstrap (rliable): resample runs independently within each task.

    Args:
        scores: ``(n_runs, n_tasks)``.
        metric: Aggregate of a ``(n_runs, n_tasks)`` array to one float.
        reps: Number of bootstrap replicates.
        rng: Source of randomness.
        confidence: Coverage of the interval, in ``(0, 1)``.
        method: ``"percentile"``, or ``"BCa"``: :func:`scipy.stats.bootstrap` with each
            task's runs as one independently resampled sample (the same stratification).
            BCa's jackknife leaves one run of one task out, so ``metric`` then sees the
            pooled entries ``(n_scores,)``: use it with metrics of the pooled scores
            (:func:`~pkgym.evaluation.metrics.mean`, ``interquartile_mean``,
            ``optimality_gap``).

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
    _check_method(method)
    if method == "BCa":
        columns = tuple(arr[:, m] for m in range(arr.shape[1]))

        def statistic(*cols: np.ndarray) -> float:
            if len({c.size for c in cols}) == 1:
                return metric(np.column_stack(cols))
            return metric(np.concatenate(cols))  # a jackknife sample: pooled entries

        return _scipy_interval(columns, statistic, float(metric(arr)), reps=reps, rng=rng,
                               confidence=confidence)
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
