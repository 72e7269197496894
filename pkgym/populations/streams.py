"""Per-patient random streams: patient k is the same patient in a cohort of 10 or 10 000.

Every random number a virtual patient uses is a function of three things only: the root
seed, the patient index ``k`` and the stream name. The patient's stream is the
``SeedSequence``::

    np.random.SeedSequence(entropy=root.entropy, spawn_key=(*root.spawn_key, k, STREAM_IDS[stream]),
                           pool_size=root.pool_size)

(for an integer root seed ``root.spawn_key`` is empty, so the key is ``(k, stream_id)``).
The four streams (``covariates``, ``bsv``, ``residual``, ``events``) are independent, so
switching assay noise on or off never changes which patients are drawn.

Two ways to consume a stream:

* :func:`patient_generators` builds one ``numpy.random.Generator`` (PCG64) per patient from
  that ``SeedSequence``: any distribution, any number of draws, but about 9 us per patient
  to construct (~0.9 s for 100 000 patients), so it suits per-patient consumers such as a
  single environment's assay noise.
* :func:`patient_uniforms` / :func:`patient_normals` give a fixed number of draws per
  patient for a whole cohort at once. Draw ``j`` of patient ``k`` is the first 64-bit word
  of the ``j``-th spawned child of the patient's stream, ``SeedSequence(entropy,
  spawn_key=(..., k, stream_id, j)).generate_state(1, np.uint64)``, mapped to the open
  interval (0, 1) by ``((word >> 11) + 0.5) / 2**53``. The SeedSequence hash is evaluated
  for all patients and draws at once with vectorised uint32 arithmetic; the tests check it
  bit for bit against ``numpy.random.SeedSequence``. Each draw has its own fully mixed
  128-bit pool, so draws within a patient are independent (cycling the 4-word output of a
  single ``generate_state`` call would repeat pool words after two 64-bit draws). Draws are
  prefix-stable: asking for more draws never changes the earlier ones. Normals come from
  the inverse normal CDF, ``scipy.special.ndtri``. 100 000 patients x 10 draws take ~0.04 s.

Randomness is never taken from module-level state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from pkgym.populations.frozen import FrozenMap
from pkgym.utils import SeedLike, as_seed_sequence

STREAM_IDS = FrozenMap({"covariates": 0, "bsv": 1, "residual": 2, "events": 3})
"""Stream name -> last spawn-key word of a patient's ``SeedSequence``."""

MAX_PATIENTS = 2**32
"""Patient indices must be below 2**32 (one uint32 word of the spawn key)."""

# Constants of numpy's SeedSequence (O'Neill's seed_seq_fe, numpy/random/bit_generator.pyx).
_MASK32 = 0xFFFFFFFF
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = np.uint32(16)


def root_seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Normalise a seed into the root ``SeedSequence`` whose entropy identifies a cohort.

    Args:
        seed: ``None`` (fresh OS entropy), a non-negative ``int``, a ``SeedSequence`` (used
            as is), or a ``Generator`` (128 bits are drawn from it to form the entropy, so
            the generator advances).

    Returns:
        The root ``SeedSequence``; record its ``entropy`` to reproduce the cohort.

    Examples:
        >>> root_seed_sequence(7).entropy
        7
        >>> gen = np.random.default_rng(0)
        >>> root_seed_sequence(gen).entropy == root_seed_sequence(np.random.default_rng(0)).entropy
        True
    """
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int.from_bytes(seed.bytes(16), "little"))
    return as_seed_sequence(seed)


def patient_seed_sequences(
    seed: SeedLike, n: int, *, start: int = 0, stream: str = "covariates"
) -> list[np.random.SeedSequence]:
    """Return the ``SeedSequence`` of stream ``stream`` for patients ``start .. start+n-1``.

    Args:
        seed: root seed (see :func:`root_seed_sequence`).
        n: number of patients, >= 0.
        start: index of the first patient, >= 0.
        stream: one of ``STREAM_IDS``.

    Examples:
        >>> [s.spawn_key for s in patient_seed_sequences(1, 2, start=5, stream="bsv")]
        [(5, 1), (6, 1)]
    """
    root = root_seed_sequence(seed)
    stream_id = _check_stream_args(n, start, stream)
    return [
        np.random.SeedSequence(
            root.entropy, spawn_key=(*root.spawn_key, k, stream_id), pool_size=root.pool_size
        )
        for k in range(start, start + n)
    ]


def patient_generators(
    seed: SeedLike, n: int, *, start: int = 0, stream: str = "covariates"
) -> list[np.random.Generator]:
    """Return one independent ``Generator`` per patient, built from its stream ``SeedSequence``.

    Args:
        seed: root seed (see :func:`root_seed_sequence`).
        n: number of patients, >= 0.
        start: index of the first patient, >= 0.
        stream: one of ``STREAM_IDS``.

    Examples:
        >>> a = patient_generators(3, 10, stream="residual")[7].normal()
        >>> b = patient_generators(3, 1, start=7, stream="residual")[0].normal()
        >>> a == b
        True
    """
    return [np.random.default_rng(s) for s in patient_seed_sequences(seed, n, start=start,
                                                                      stream=stream)]


def patient_uniforms(
    seed: SeedLike, n: int, n_draws: int, *, start: int = 0, stream: str = "covariates"
) -> np.ndarray:
    """Return uniforms on the open interval (0, 1), one row per patient.

    Row ``i`` belongs to patient ``start + i`` and depends only on (root seed, patient index,
    stream): the same patient gets the same row whatever ``n`` and ``start`` are.

    Args:
        seed: root seed (see :func:`root_seed_sequence`).
        n: number of patients, >= 0.
        n_draws: draws per patient, >= 0.
        start: index of the first patient, >= 0.
        stream: one of ``STREAM_IDS``.

    Returns:
        float64 array of shape (n, n_draws).

    Examples:
        >>> many = patient_uniforms(42, 10, 3)
        >>> few = patient_uniforms(42, 5, 3, start=5)
        >>> bool(np.array_equal(many[5:], few))
        True
    """
    root = root_seed_sequence(seed)
    stream_id = _check_stream_args(n, start, stream)
    n_draws = _check_count("n_draws", n_draws)
    if n_draws >= MAX_PATIENTS:
        raise ValueError(f"n_draws must be < 2**32, got {n_draws}")
    patients = np.arange(start, start + n, dtype=np.uint32).reshape(n, 1)
    draws = np.arange(n_draws, dtype=np.uint32).reshape(1, n_draws)
    entropy = root.entropy if root.entropy is not None else 0  # never None once created
    prefix = [*_int_words(entropy), *_int_words(root.spawn_key)]
    run_length = len(_int_words(entropy))
    if run_length < root.pool_size:  # numpy pads the run entropy when a spawn key is present
        prefix[run_length:run_length] = [0] * (root.pool_size - run_length)
    words = [np.array([w], dtype=np.uint32) for w in prefix]
    words += [patients, np.array([stream_id], dtype=np.uint32), draws]
    low, high = _seed_sequence_state(words, root.pool_size)
    mantissa = (high.astype(np.uint64) << np.uint64(21)) | (low.astype(np.uint64) >> np.uint64(11))
    uniforms = (mantissa.astype(np.float64) + 0.5) * 2.0**-53
    return np.broadcast_to(uniforms, (n, n_draws)).copy()


def patient_normals(
    seed: SeedLike, n: int, n_draws: int, *, start: int = 0, stream: str = "covariates"
) -> np.ndarray:
    """Return standard normals, ``ndtri`` of :func:`patient_uniforms` (same arguments).

    Examples:
        >>> patient_normals(0, 4, 2, stream="bsv").shape
        (4, 2)
    """
    return ndtri(patient_uniforms(seed, n, n_draws, start=start, stream=stream))


def _check_stream_args(n: int, start: int, stream: str) -> int:
    """Validate patient count, offset and stream name; return the stream id."""
    n = _check_count("n", n)
    start = _check_count("start", start)
    if start + n > MAX_PATIENTS:
        raise ValueError(f"start + n must be <= 2**32, got start={start}, n={n}")
    if stream not in STREAM_IDS:
        raise ValueError(f"stream must be one of {sorted(STREAM_IDS)}, got {stream!r}")
    return STREAM_IDS[stream]


def _check_count(name: str, value: int) -> int:
    """Return ``value`` as an int, raising ``ValueError`` naming ``name`` unless it is >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return int(value)


def _int_words(value: int | Sequence[int] | np.ndarray) -> list[int]:
    """Split an int, or each int of a sequence, into little-endian uint32 words (numpy's rule)."""
    if isinstance(value, (int, np.integer)):
        value = int(value)
        if value < 0:
            raise ValueError(f"seed entropy must be non-negative, got {value}")
        words = [value & _MASK32]
        while value > _MASK32:
            value >>= 32
            words.append(value & _MASK32)
        return words
    if isinstance(value, np.ndarray) and value.dtype == np.uint32:
        return [int(v) for v in value.ravel()]
    if isinstance(value, (str, bytes)):
        raise ValueError(f"seed entropy must be an int or a sequence of ints, got {value!r}")
    return [w for item in value for w in _int_words(item)]


def _hashmix(value: np.ndarray, const: int) -> tuple[np.ndarray, int]:
    """SeedSequence ``hashmix`` on uint32 arrays; returns the hash and the next constant."""
    value = value ^ np.uint32(const)
    const = (const * _MULT_A) & _MASK32
    value = value * np.uint32(const)
    return value ^ (value >> _XSHIFT), const


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """SeedSequence ``mix`` of two uint32 arrays."""
    result: Any = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
    return result ^ (result >> _XSHIFT)


def _seed_sequence_state(words: list[np.ndarray], pool_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Mix entropy words (broadcastable uint32 arrays) as SeedSequence does; return words 0, 1.

    Constant words are shape-(1,) arrays, so the shared part of the hash runs once and only
    the per-patient and per-draw words are evaluated at full size. Array (not scalar)
    arithmetic wraps modulo 2**32 silently, as the C code does.
    """
    const = _INIT_A
    pool = []
    for i in range(pool_size):
        value = words[i] if i < len(words) else np.zeros(1, dtype=np.uint32)
        mixed, const = _hashmix(value, const)
        pool.append(mixed)
    for i_src in range(pool_size):
        for i_dst in range(pool_size):
            if i_src != i_dst:
                hashed, const = _hashmix(pool[i_src], const)
                pool[i_dst] = _mix(pool[i_dst], hashed)
    for word in words[pool_size:]:
        for i_dst in range(pool_size):
            hashed, const = _hashmix(word, const)
            pool[i_dst] = _mix(pool[i_dst], hashed)
    const = _INIT_B
    state = []
    for i in range(2):
        value = pool[i] ^ np.uint32(const)
        const = (const * _MULT_B) & _MASK32
        value = value * np.uint32(const)
        state.append(value ^ (value >> _XSHIFT))
    return state[0], state[1]
