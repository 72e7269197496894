"""Which array library runs an env's batched numerics: numpy (default) or torch (CPU or CUDA).

The numpy path (:mod:`pkgym.sim`) is the reference and stays byte-identical whatever is chosen
elsewhere. The torch path (:mod:`pkgym.accel.interval_torch`) computes the same closed forms
on float64 tensors, on CUDA when it is present, and hands numpy arrays back. This module does
not import torch until a device is resolved, so ``import pkgym`` never loads it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

BACKENDS = ("numpy", "torch")
"""The array libraries a ``backend=`` keyword accepts."""


def check_backend(backend: str) -> str:
    """Return ``backend`` if it is one of :data:`BACKENDS`, else raise a ``ValueError``.

    Examples:
        >>> check_backend("torch")
        'torch'
        >>> check_backend("jax")
        Traceback (most recent call last):
        ...
        ValueError: backend must be one of ('numpy', 'torch'), got 'jax'
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


def load_torch() -> ModuleType:
    """Import torch for ``backend="torch"``, with an error that says what to install.

    Examples:
        >>> load_torch().__name__
        'torch'
    """
    try:
        return importlib.import_module("torch")
    except ImportError as error:
        raise ImportError('backend="torch" needs PyTorch: pip install torch (or use '
                          'backend="numpy")') from error


def resolve_device(device: str | None = None) -> str:
    """The torch device to run on: ``device`` if given, else ``"cuda"`` when available.

    Imports torch (see :func:`load_torch`); asking for CUDA where torch sees no GPU is a
    ``ValueError`` now rather than a failure at the first step.

    Examples:
        >>> resolve_device("cpu")
        'cpu'
        >>> resolve_device() in ("cpu", "cuda")
        True
    """
    torch = load_torch()
    if device is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    return str(chosen)
