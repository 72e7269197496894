"""YAML scenarios -> typed, frozen configs. Unknown keys and bad values are errors with a path.

A scenario file is a mapping whose ``env`` key names the environment; the rest fills that
environment's scenario dataclass (nested dataclasses for nested mappings)::

    env: pkgym/Vancomycin-v0
    population: renal_impairment
    reward: {aki_penalty: 20.0}
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml

T = TypeVar("T")
SCENARIO_TYPES: dict[str, type] = {}
"""Scenario dataclass of each environment id (filled by ``pkgym.envs``)."""


INT_LIMIT = 2**53
"""Largest magnitude of an integer field (exact as a float); fields that size arrays have
tighter bounds in their dataclasses."""


def from_mapping(cls: type[T], data: Any, path: str = "scenario") -> T:
    """Build dataclass ``cls`` from a mapping, naming the path of any bad or unknown field.

    Every bad field of the mapping is reported, one line each: unknown keys, values of the
    wrong type, non-finite numbers and non-integer or huge integers.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Dose:
        ...     amount_mg: float = 1.0
        >>> from_mapping(Dose, {"amount_mg": 5})
        Dose(amount_mg=5.0)
        >>> from_mapping(Dose, {"amount": 5})
        Traceback (most recent call last):
        ...
        ValueError: scenario.amount: unknown field; allowed: ['amount_mg']
        >>> from_mapping(Dose, {"amount_mg": float("nan")})
        Traceback (most recent call last):
        ...
        ValueError: scenario.amount_mg: expected a finite number, got nan
    """
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls)) if f.init}
    hints = _hints(cls)
    errors = [f"{path}.{key}: unknown field; allowed: {sorted(fields)}"
              for key in data if key not in fields]
    values = {}
    for key, value in data.items():
        if key in fields:
            try:
                values[key] = _convert(hints[key], value, f"{path}.{key}")
            except ValueError as error:
                errors.append(str(error))
    if errors:
        raise ValueError("\n".join(errors))
    try:
        return cls(**values)
    except (ValueError, TypeError, ArithmeticError) as error:
        raise ValueError(f"{path}: {error}") from None


def _hints(cls: Any) -> dict[str, Any]:
    """The resolved field annotations of a dataclass (cached: scenarios are built often)."""
    return _cached_hints(cls)


@functools.cache
def _cached_hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def check_fields(obj: Any, path: str = "") -> None:
    """Refuse non-finite floats and non-integer ints anywhere in a (nested) dataclass.

    What :func:`from_mapping` checks in YAML, for a scenario built in Python; every bad
    field is named with its path, one line each.

    Args:
        obj: a dataclass instance (nested dataclasses and tuples are walked).
        path: prefix of the field paths in the message.

    Examples:
        >>> @dataclasses.dataclass(frozen=True)
        ... class Dose:
        ...     amount_mg: float = 1.0
        ...     repeats: int = 1
        >>> check_fields(Dose(amount_mg=float("inf"), repeats=True))
        Traceback (most recent call last):
        ...
        ValueError: amount_mg: expected a finite number, got inf
        repeats: expected an integer in [-2**53, 2**53], got True
    """
    errors = _field_errors(obj, path)
    if errors:
        raise ValueError("\n".join(errors))


def _field_errors(obj: Any, path: str) -> list[str]:
    errors = []
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        name = f"{path}.{f.name}" if path else f.name
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            errors += _field_errors(value, name)
            continue
        if _numeric(hints.get(f.name, Any)):
            try:
                _convert(hints[f.name], value, name)
            except ValueError as error:
                errors.append(str(error))
    return errors


def _numeric(hint: Any) -> bool:
    """Whether an annotation is ``int`` or ``float``, or a tuple or union holding one."""
    if hint in (int, float):
        return True
    if typing.get_origin(hint) in (tuple, typing.Union, types.UnionType):
        return any(_numeric(arg) for arg in typing.get_args(hint) if arg is not Ellipsis)
    return False


def _convert(hint: Any, value: Any, path: str) -> Any:
    """Coerce one YAML value to the annotated type, or fail naming the path."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        return from_mapping(hint, value, path)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(hint, value, path)
    if origin is tuple:
        if not isinstance(value, list | tuple | np.ndarray):
            raise ValueError(f"{path}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            raise ValueError(f"{path}: expected {len(items)} items, got {value!r}")
        return tuple(_convert(t, v, f"{path}[{i}]") for i, (t, v) in enumerate(
            zip(items, value, strict=True)))
    return _scalar(hint, value, path)


def _convert_union(hint: Any, value: Any, path: str) -> Any:
    """The first option of a union that takes the value; else what each option expected."""
    errors = []
    for option in typing.get_args(hint):
        try:
            return _convert(option, value, path)
        except ValueError as error:
            errors.append(str(error))
    prefix, suffix = f"{path}: expected ", f", got {value!r}"
    if all(e.startswith(prefix) and e.endswith(suffix) for e in errors):
        wanted = " or ".join(e[len(prefix):-len(suffix)] for e in errors)
        raise ValueError(f"{prefix}{wanted}{suffix}")
    raise ValueError(next(e for e in errors if not e.startswith(prefix)))


def _scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is Any:
        return value
    if hint is type(None):
        if value is None:
            return None
        raise ValueError(f"{path}: expected null, got {value!r}")
    if hint is bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        raise ValueError(f"{path}: expected true or false, got {value!r}")
    if hint is int:
        return _integer(value, path)
    if hint is float:
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(
                value, bool | np.bool_) and math.isfinite(value):
            return float(value)
        raise ValueError(f"{path}: expected a finite number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{path}: expected a string, got {value!r}")
    raise ValueError(f"{path}: unsupported type {hint!r}")


def _integer(value: Any, path: str) -> int:
    """An integer-valued number of magnitude at most ``INT_LIMIT`` (not a bool)."""
    number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_)
    if number and math.isfinite(value) and float(value).is_integer() and abs(
            value) <= INT_LIMIT:
        return int(value)
    raise ValueError(f"{path}: expected an integer in [-2**53, 2**53], got {value!r}")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader reading YAML 1.2 floats too: ``1e-4`` is a number, not a string.

    PyYAML follows YAML 1.1, whose floats need a dot (``1.0e-4``); a tolerance written
    ``1e-4`` would reach a float field as the string ``'1e-4'`` and be refused.
    """


_Loader.yaml_implicit_resolvers = {
    key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def read_yaml(path: str | os.PathLike) -> Any:
    """The parsed content of a YAML file; a missing file, bad YAML or a repeated key fails.

    Each failure is a ``ValueError``. A key repeated in one mapping (at any depth) is
    refused with its path and lines, rather than the last value silently winning.

    Examples:
        >>> read_yaml("scenarios/dose_finding_classic.yaml")["target_dlt_rate"]
        0.3
    """
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"scenario file {str(file)!r} does not exist")
    loader = _Loader(file.read_text())
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        duplicates = _duplicate_keys(node, file.name)
        if duplicates:
            raise ValueError("\n".join(duplicates))
        return loader.construct_document(node)
    except yaml.YAMLError as error:
        raise ValueError(f"{file}: not valid YAML: {error}") from None
    finally:
        loader.dispose()


def _duplicate_keys(node: yaml.Node, path: str) -> list[str]:
    """One line per key repeated in a mapping of this node tree, with its path and lines."""
    errors = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, Any], int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else f"<{key.tag}>"
            line = key.start_mark.line + 1
            if (key.tag, name) in seen:
                errors.append(f"{path}.{name}: duplicate key on line {line} (first on line "
                              f"{seen[key.tag, name]}); each key may appear once")
            else:
                seen[key.tag, name] = line
            errors += _duplicate_keys(value, f"{path}.{name}")
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            errors += _duplicate_keys(item, f"{path}[{i}]")
    return errors


def load_scenario(path: str | os.PathLike, env_id: str | None = None) -> Any:
    """Read a scenario YAML file into its environment's frozen scenario dataclass.

    Args:
        path: the YAML file.
        env_id: the expected environment; the file's ``env`` key must match it if given.

    Examples:
        >>> import pkgym
        >>> load_scenario("scenarios/vancomycin_adult.yaml").reward.aki_penalty
        10.0
    """
    file = Path(path)
    data = read_yaml(file)
    if not isinstance(data, dict) or "env" not in data:
        raise ValueError(f"{file}: a scenario is a mapping with an 'env' key naming the "
                         f"environment, one of {sorted(SCENARIO_TYPES)}")
    data = dict(data)
    env = data.pop("env")
    if env not in SCENARIO_TYPES or (env_id is not None and env != env_id):
        allowed = [env_id] if env_id else sorted(SCENARIO_TYPES)
        raise ValueError(f"{file}: env: {env!r} is not allowed here; allowed: {allowed}")
    return from_mapping(SCENARIO_TYPES[env], data, path=file.name)


def resolve_scenario(scenario: Any, scenario_type: type[T], env_id: str) -> T:
    """A scenario object from an instance, a YAML path, or ``None`` (the defaults).

    A YAML file may name any environment whose scenario type is ``scenario_type`` (a
    warfarin file configures both warfarin environments).

    Examples:
        >>> import pkgym
        >>> from pkgym.envs.vancomycin.clinic import VancomycinScenario
        >>> resolve_scenario("scenarios/vancomycin_renal_impairment.yaml", VancomycinScenario,
        ...                  "pkgym/Vancomycin-v0").population
        'renal_impairment'
    """
    if scenario is None:
        return scenario_type()
    if isinstance(scenario, scenario_type):
        return scenario
    if not isinstance(scenario, str | os.PathLike):
        raise ValueError(f"scenario must be a {scenario_type.__name__}, a YAML path or None, "
                         f"got {type(scenario).__name__}")
    loaded = load_scenario(scenario)
    if not isinstance(loaded, scenario_type):
        raise ValueError(f"{scenario}: a {type(loaded).__name__} cannot configure {env_id}; "
                         f"its env key must name an environment configured by "
                         f"{scenario_type.__name__}")
    return loaded
