"""Row-wise selection and update of batched state: frozen dataclasses of (n, ...) arrays.

The simulator works on chunks of patients and a vector env resets or steps only some of
them; these helpers take those rows out of a (possibly nested) dataclass of arrays and write
them back, so every kernel stays batch-only.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

import numpy as np

T = TypeVar("T")


def take_rows(tree: T, rows: np.ndarray | slice, *, copy: bool = False) -> T:
    """The same dataclass with every array field indexed by ``rows`` on its first axis.

    ``copy=True`` makes every array fresh even where ``rows`` is a slice (a view otherwise).
    Field names are looked up once per dataclass type (this runs at every single-env reset).

    Examples:
        >>> from pkgym.models.kidney import initial_kidney_state
        >>> take_rows(initial_kidney_state(np.array([1.0, 2.0])), np.array([1])).injury_factor
        array([1.])
    """
    node: Any = tree
    kind = type(node)
    if kind is np.ndarray:
        part = node[rows]
        return cast(T, part.copy() if copy and isinstance(rows, slice) else part)
    names = _field_names(kind)
    if names is not None:
        return cast(T, kind(**{name: take_rows(getattr(node, name), rows, copy=copy)
                               for name in names}))
    if isinstance(node, np.ndarray | list):
        part = np.asarray(node)[rows]
        return cast(T, part.copy() if copy and isinstance(rows, slice) else part)
    return tree


_FIELD_NAMES: dict[type, tuple[str, ...] | None] = {}


def _field_names(kind: type) -> tuple[str, ...] | None:
    """The init fields of dataclass type ``kind`` (None for any other type), cached."""
    try:
        return _FIELD_NAMES[kind]
    except KeyError:
        names = (tuple(f.name for f in dataclasses.fields(kind))
                 if dataclasses.is_dataclass(kind) else None)
        _FIELD_NAMES[kind] = names
        return names


def put_rows(tree: T, rows: np.ndarray, part: T) -> T:
    """A copy of ``tree`` whose ``rows`` are replaced by ``part`` (same structure).

    Examples:
        >>> from pkgym.models.kidney import initial_kidney_state
        >>> whole = initial_kidney_state(np.array([1.0, 2.0]))
        >>> put_rows(whole, np.array([0]), initial_kidney_state(np.array([5.0]))
        ...          ).creatinine_mg_per_dl.tolist()
        [5.0, 2.0]
    """
    node: Any = tree
    if dataclasses.is_dataclass(node):
        values = {f.name: put_rows(getattr(node, f.name), rows, getattr(part, f.name))
                  for f in dataclasses.fields(node)}
        build: Any = type(node)
        return cast(T, build(**values))
    if isinstance(node, np.ndarray):
        out = node.copy()
        out[rows] = part
        return cast(T, out)
    return tree

def write_rows(target: Any, rows: np.ndarray, part: Any, skip: tuple[str, ...] = ()) -> None:
    """Write ``part``'s per-patient arrays into ``rows`` of ``target``'s, in place.

    Walks dataclasses and named tuples (except fields named in ``skip``) and dicts down to
    their arrays.

    Examples:
        >>> target = {"dose": np.zeros(3), "level": np.zeros((3, 2))}
        >>> write_rows(target, np.array([1]), {"dose": np.ones(1), "level": np.ones((1, 2))})
        >>> target["dose"].tolist()
        [0.0, 1.0, 0.0]
    """
    names = getattr(target, "__dataclass_fields__", getattr(target, "_fields", None))
    if names is not None:
        for name in names:
            if name not in skip:
                write_rows(getattr(target, name), rows, getattr(part, name), skip)
    elif isinstance(target, dict):
        for key, value in target.items():
            write_rows(value, rows, part[key], skip)
    elif isinstance(target, np.ndarray):
        target[rows] = part
    else:
        raise TypeError(f"cannot write rows into {type(target).__name__}")
