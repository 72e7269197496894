"""pkgym: Gymnasium environments for drug-dosing decisions on published pharmacometric models.

Importing the package registers every environment (``pkgym/Vancomycin-v0``, ...).
"""

from __future__ import annotations

__version__ = "0.1.0"

import os as _os

import numba as _numba

if "NUMBA_THREADING_LAYER" not in _os.environ:
    # The compiled kernels of large batches run on every core (numba.prange). numba's default
    # choice here is GNU OpenMP, which kills a process forked after a parallel kernel ran
    # (AsyncVectorEnv, multiprocessing): ask for a fork-safe layer (TBB if installed, else
    # numba's workqueue). Set NUMBA_THREADING_LAYER to choose another.
    _numba.config.THREADING_LAYER = "forksafe"  # type: ignore[attr-defined]

from pkgym import envs  # noqa: E402,F401  (registers the environments)
