"""Small shared helpers: seed normalisation and argument validation."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

SeedLike = int | np.random.Generator | np.random.SeedSequence | None


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Normalise a seed, SeedSequence or Generator into a ``numpy.random.Generator``.

    Args:
        seed: ``None`` (fresh entropy), an ``int``, a ``SeedSequence`` or a ``Generator``
            (returned unchanged, so callers share its stream).

    Examples:
        >>> bool(as_generator(1).integers(10) == as_generator(1).integers(10))
        True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed}")
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be an int, SeedSequence, Generator or None, got {type(seed)!r}")


def as_seed_sequence(seed: int | np.random.SeedSequence | None) -> np.random.SeedSequence:
    """Normalise a root seed into a ``SeedSequence`` (for spawning per-patient streams).

    Examples:
        >>> as_seed_sequence(3).entropy
        3
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None or (isinstance(seed, (int, np.integer)) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed}")
        return np.random.SeedSequence(seed)
    raise ValueError(f"seed must be an int, SeedSequence or None, got {type(seed)!r}")


def check_finite(name: str, values: ArrayLike) -> np.ndarray:
    """Return ``values`` as float64, raising ``ValueError`` naming ``name`` if any is NaN or inf.

    Examples:
        >>> check_finite("dose_mg", [1.0, 2.0]).tolist()
        [1.0, 2.0]
    """
    array = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {array.ravel()[:5]}")
    return array


def check_positive(name: str, values: ArrayLike) -> np.ndarray:
    """Return ``values`` as float64, raising ``ValueError`` naming ``name`` unless all are > 0.

    Examples:
        >>> check_positive("volume_l", 10.0).item()
        10.0
    """
    array = check_finite(name, values)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got min {array.min()}")
    return array


def check_non_negative(name: str, values: ArrayLike) -> np.ndarray:
    """Return ``values`` as float64, raising ``ValueError`` naming ``name`` unless all are >= 0.

    Examples:
        >>> check_non_negative("dose_mg", [0.0, 5.0]).tolist()
        [0.0, 5.0]
    """
    array = check_finite(name, values)
    if np.any(array < 0):
        raise ValueError(f"{name} must be >= 0, got min {array.min()}")
    return array


def plain_label(text: object) -> str:
    r"""``text`` as a matplotlib label shown as typed: ``$`` starts no mathtext.

    Examples:
        >>> plain_label("$5 mg")
        '\\$5 mg'
    """
    return str(text).replace("$", "\\$")
