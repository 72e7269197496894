"""YAML scenarios -> typed, frozen configs. Unknown keys and bad values are errors with a path.

A scenario file is a mapping whose ``env`` key names the environment; the rest fills that
environment's scenario dataclass (nested dataclasses for nested mappings)::

    env: pkgym/Vancomycin-v0
    population: renal_impairment
    reward: {aki_penalty: 20.0}
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")
SCENARIO_TYPES: dict[str, type] = {}
"""Scenario dataclass of each environment id (filled by ``pkgym.envs``)."""


def from_mapping(cls: type[T], data: Any, path: str = "scenario") -> T:
    """Build dataclass ``cls`` from a mapping, naming the path of any bad or unknown field.

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
    """
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(typing.cast(Any, cls)) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{path}.{unknown[0]}: unknown field; allowed: {sorted(fields)}")
    values = {key: _convert(hints[key], value, f"{path}.{key}") for key, value in data.items()}
    try:
        return cls(**values)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{path}: {error}") from None


def _convert(hint: Any, value: Any, path: str) -> Any:
    """Coerce one YAML value to the annotated type, or fail naming the path."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, path)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                return _convert(option, value, path)
            except ValueError as error:
                errors.append(str(error))
        raise ValueError(errors[-1])
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{path}: expected a list, got {value!r}")
        args = typing.get_args(hint)
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            raise ValueError(f"{path}: expected {len(items)} items, got {value!r}")
        return tuple(_convert(t, v, f"{path}[{i}]") for i, (t, v) in enumerate(
            zip(items, value, strict=True)))
    return _scalar(hint, value, path)


def _scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is type(None):
        if value is None:
            return None
        raise ValueError(f"{path}: expected null, got {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(f"{path}: expected true or false, got {value!r}")
    if hint in (int, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or (hint is int and float(value) != int(value)):
            raise ValueError(f"{path}: expected {'an integer' if hint is int else 'a number'}, "
                             f"got {value!r}")
        return hint(value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise ValueError(f"{path}: expected a string, got {value!r}")
    raise ValueError(f"{path}: unsupported type {hint!r}")


def read_yaml(path: str | os.PathLike) -> Any:
    """The parsed content of a YAML file; a missing file or bad YAML is a ``ValueError``.

    Examples:
        >>> read_yaml("scenarios/dose_finding_classic.yaml")["target_dlt_rate"]
        0.3
    """
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"scenario file {str(file)!r} does not exist")
    try:
        return yaml.safe_load(file.read_text())
    except yaml.YAMLError as error:
        raise ValueError(f"{file}: not valid YAML: {error}") from None


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
