"""Physics written once: numpy on arrays in Python, compiled on floats inside numba kernels.

A function decorated with :func:`elementwise` is an ordinary Python function of floats or
numpy arrays, built from arithmetic, numpy ufuncs (``np.exp``, ``np.minimum``, ...) and
:func:`where`. Called from Python it runs on numpy arrays; called from ``numba.njit`` code it
is compiled for floats from the same source (a numba ``overload``). Models write a formula
this way once and both their batched numpy functions and the compiled ward kernels use it.

The two paths keep their own elementary functions: numpy's ufuncs (SIMD ``exp``, ``log`` and
``pow`` on arrays) in Python, the C library's in compiled code, so they agree to rounding
(about 1e-16 relative), not bit for bit, as they did when each path had its own copy.

Numba caches a compiled kernel on disk keyed on the kernel's own source file: after editing a
function decorated here, remove the callers' ``__pycache__`` numba files (``*.nbi``, ``*.nbc``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

import numpy as np
from numba.extending import overload

JIT_OPTIONS: Any = {"error_model": "numpy"}
"""Compiled like the kernels that call them: division by zero gives inf/NaN, as numpy does."""

FloatOrArray: TypeAlias = Any
"""What an elementwise function takes and returns: numpy arrays in Python, floats in kernels
(``Any`` to mypy, which cannot tell the two calls apart)."""

F = TypeVar("F", bound=Callable[..., Any])


def elementwise(function: F) -> F:
    """Make ``function`` its own compiled implementation inside numba code; return it unchanged.

    Args:
        function: a function of floats or arrays that numba can compile for floats.

    Examples:
        >>> import numba
        >>> @elementwise
        ... def halve(x):
        ...     return 0.5 * x
        >>> halve(np.array([2.0, 4.0])).tolist(), numba.njit(lambda x: halve(x))(3.0)
        ([1.0, 2.0], 1.5)
    """
    def typer(*args: Any, **kwargs: Any) -> F:
        return function

    typer.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    overload(function, jit_options=JIT_OPTIONS)(typer)
    return function


def where(condition: Any, x: Any, y: Any) -> Any:
    """``np.where`` on arrays; inside numba code the scalar ``x if condition else y``.

    Examples:
        >>> where(np.array([True, False]), 1.0, 2.0).tolist()
        [1.0, 2.0]
    """
    return np.where(condition, x, y)


@overload(where, jit_options=JIT_OPTIONS)
def _where_compiled(condition: Any, x: Any, y: Any) -> Callable[..., Any]:
    """The compiled :func:`where`: a conditional expression (``np.where`` gives a 0-d array)."""
    def select(condition: Any, x: Any, y: Any) -> Any:
        return x if condition else y

    return select
