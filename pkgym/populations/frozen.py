"""A read-only mapping that pickles and deep-copies (``types.MappingProxyType`` does neither).

Population and covariate specs freeze their mappings so users cannot change a spec after it
was validated. ``MappingProxyType`` gives that, but ``pickle`` and ``copy.deepcopy`` refuse it
("cannot pickle 'mappingproxy' object"), which broke pickling every env that holds a
population, and with it ``AsyncVectorEnv`` and any multiprocessing. :class:`FrozenMap` is
read-only in the same way and round-trips through both.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

K = TypeVar("K")
V = TypeVar("V")

__all__ = ["FrozenMap"]


class FrozenMap(Mapping[K, V]):
    """A read-only view of a private copy of a mapping; picklable and deep-copyable.

    Unlike ``MappingProxyType`` it owns its copy, so the caller's dict can change afterwards
    without changing it. Like ``MappingProxyType`` it has no item assignment or deletion,
    keeps insertion order, compares equal to an equal ``dict`` and is unhashable.

    Examples:
        >>> import copy, pickle
        >>> frozen = FrozenMap({"a": 1, "b": 2})
        >>> frozen["a"], list(frozen), frozen == {"a": 1, "b": 2}
        (1, ['a', 'b'], True)
        >>> frozen["c"] = 3
        Traceback (most recent call last):
        ...
        TypeError: 'FrozenMap' object does not support item assignment
        >>> pickle.loads(pickle.dumps(frozen)) == frozen == copy.deepcopy(frozen)
        True
        >>> frozen | {"c": 3}
        {'a': 1, 'b': 2, 'c': 3}
    """

    __slots__ = ("_data",)
    _data: dict[K, V]

    def __init__(self, data: Mapping[K, V] | None = None) -> None:
        """Copy ``data`` (a mapping, or ``None`` for empty) into the new read-only map."""
        if data is not None and not isinstance(data, Mapping):
            raise ValueError(f"data must be a mapping, got {type(data).__name__}")
        object.__setattr__(self, "_data", dict(data) if data is not None else {})

    def __getitem__(self, key: K) -> V:
        """The value stored under ``key``."""
        return self._data[key]

    def __iter__(self) -> Iterator[K]:
        """The keys in insertion order."""
        return iter(self._data)

    def __len__(self) -> int:
        """The number of entries."""
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` is present."""
        return key in self._data

    def __repr__(self) -> str:
        """``FrozenMap({...})``."""
        return f"{type(self).__name__}({self._data!r})"

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse attribute assignment: the map is read-only."""
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        """Refuse attribute deletion: the map is read-only."""
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __reduce__(self) -> tuple[type[FrozenMap[K, V]], tuple[dict[K, V]]]:
        """Pickle (and deep-copy) as the class applied to a plain ``dict`` of the entries."""
        return (type(self), (dict(self._data),))

    def copy(self) -> dict[K, V]:
        """A shallow, mutable ``dict`` copy (as ``MappingProxyType.copy`` returns)."""
        return dict(self._data)

    def __or__(self, other: Mapping[K, V]) -> dict[K, V]:
        """``self | other`` as a new ``dict`` (as for ``MappingProxyType``)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**self._data, **other}

    def __ror__(self, other: Mapping[K, V]) -> dict[K, V]:
        """``other | self`` as a new ``dict``."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return {**other, **self._data}
