"""Pinned patients (``reset(options={"patient": ...})``), validated cheaply, one by one.

A pinned patient's covariates are checked against the drug's cohort schema exactly as a
one-row cohort would be (:func:`~pkgym.populations.cohort.validate_cohort`), but without
building a DataFrame per patient when every value is plainly valid: a vector env re-pinned
every episode (SB3 training on a finite cohort) then pays microseconds, not milliseconds,
per patient. Any other value takes the DataFrame path, so errors read exactly as before.

A pinned patient's random effects (``eta_<name>``) are optional: those given are checked by
:func:`validate_pinned_etas` (finite, within 10 SD of the model's omega, as in a cohort file);
those not given are drawn from the slot's stream, so pin every eta at 0 for the typical patient.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from pkgym.populations.cohort import (
    CohortSchema,
    CohortValidationError,
    ColumnRule,
    eta_rules,
    validate_cohort,
)

_PLAIN_NUMBERS = (float, int, np.float64, np.float32, np.int64, np.int32)
"""Types whose value ``validate_cohort`` reads exactly as ``float(value)`` (``bool`` is not)."""


def validate_pinned(given: Mapping[str, Any], schema: CohortSchema) -> dict[str, Any]:
    """A pinned patient's ``schema`` columns, validated as a one-row cohort.

    Gives exactly what :func:`~pkgym.populations.cohort.validate_cohort` gives for a one-row
    DataFrame of ``given`` (float64, int64 for whole-number rules, the label for categorical
    ones), and raises its error for a bad patient, naming the column and what it allows.
    Plain valid values (numbers within range, allowed labels) are checked directly, in
    microseconds; anything else (a missing, NaN, text or out-of-range value) goes through
    ``validate_cohort`` itself, which converts it or raises.

    Args:
        given: the pinned patient's fields (a dict or a pandas row); extra keys are ignored.
        schema: the drug's cohort schema (required columns and their rules).

    Examples:
        >>> schema = CohortSchema(columns={"weight_kg": ColumnRule(low=20, high=300, unit="kg")})
        >>> validate_pinned({"weight_kg": 70}, schema)
        {'weight_kg': np.float64(70.0)}
        >>> validate_pinned({"weight_kg": "70.5 "}, schema)
        {'weight_kg': np.float64(70.5)}
        >>> validate_pinned({"weight_kg": 700}, schema)
        Traceback (most recent call last):
        ...
        pkgym.populations.cohort.CohortValidationError: invalid cohort DataFrame: 1 problem(s):
          row 1, column 'weight_kg': got '700', expected a number in [20, 300] kg
    """
    out: dict[str, Any] = {}
    for name, rule in schema.columns.items():
        value = _plain_valid(given.get(name), rule)
        if value is None:
            frame = validate_cohort(pd.DataFrame([{key: given.get(key) for key in schema.columns}]),
                                    schema)
            return {key: frame[key].iloc[0] for key in schema.columns}
        out[name] = value
    return out


def validate_pinned_etas(given: Mapping[str, Any], variability: Any) -> dict[str, float]:
    """The random effects a pinned patient gives, validated as a one-row cohort's etas.

    Only the ``eta_<name>`` keys present are checked (:func:`~pkgym.populations.cohort.eta_rules`:
    finite and within 10 SD of the model's omega); the others are drawn by the env.

    Args:
        given: the pinned patient's fields (a dict or a pandas row).
        variability: the model's between-subject variability (``eta_columns``, ``omega``).

    Examples:
        >>> from pkgym.populations import BetweenSubjectVariability
        >>> bsv = BetweenSubjectVariability(names=("CL", "V"), omega=np.diag([0.09, 0.04]))
        >>> validate_pinned_etas({"eta_CL": 0.2, "weight_kg": 70}, bsv)
        {'eta_CL': 0.2}
        >>> validate_pinned_etas({"eta_CL": 50}, bsv)
        Traceback (most recent call last):
        ...
        pkgym.populations.cohort.CohortValidationError: invalid cohort DataFrame: 1 problem(s):
          row 1, column 'eta_CL': got '50', expected a number in [-3.0, 3.0] (10 SD of the \
model's omega, 0.3)
    """
    rules = {name: rule for name, rule in eta_rules(variability).items() if name in given}
    if not rules:
        return {}
    etas = validate_pinned(given, CohortSchema(columns=rules))
    return {name: float(value) for name, value in etas.items()}


def pinned_numbers(given: Mapping[str, Any], allowed: tuple[str, ...],
                   variability: Any) -> dict[str, float]:
    """A pinned patient of plain numeric fields: only ``allowed`` keys, finite, etas in range.

    Args:
        given: the pinned patient's fields (a dict or a pandas row).
        allowed: the field names the env accepts (etas and ``id`` included).
        variability: the model's between-subject variability (for the eta ranges).

    Examples:
        >>> from pkgym.populations import BetweenSubjectVariability
        >>> bsv = BetweenSubjectVariability(names=("CL",), omega=np.diag([0.09]))
        >>> pinned_numbers({"eta_CL": 0.2, "id": 3}, ("eta_CL", "id"), bsv)
        {'eta_CL': 0.2, 'id': 3.0}
        >>> pinned_numbers({"dose": 1}, ("eta_CL", "id"), bsv)
        Traceback (most recent call last):
        ...
        ValueError: unknown patient field(s) ['dose']; allowed: ('eta_CL', 'id')
    """
    row = dict(given.items())
    unknown = sorted(set(row) - set(allowed))
    if unknown:
        raise ValueError(f"unknown patient field(s) {unknown}; allowed: {allowed}")
    etas = validate_pinned_etas(row, variability)
    out: dict[str, float] = {}
    for key, value in row.items():
        if key in etas:
            out[key] = etas[key]
            continue
        number = float(value)
        if not np.isfinite(number):
            raise ValueError(f"patient field {key} must be finite, got {value!r}")
        out[key] = number
    return out


def _plain_valid(value: Any, rule: ColumnRule) -> Any:
    """``value`` converted as ``validate_cohort`` would, if it is plainly valid; else None."""
    if rule.allowed is not None:
        return value if type(value) is str and value in _plain_labels(rule) else None
    if type(value) not in _PLAIN_NUMBERS:
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range: let validate_cohort report it
        return None
    if not (math.isfinite(number) and rule.low <= number <= rule.high):
        return None
    if rule.integer:
        return np.int64(number) if number.is_integer() and abs(number) < 2**63 else None
    return np.float64(number)


@cache
def _plain_labels(rule: ColumnRule) -> frozenset[str]:
    """The labels ``validate_cohort`` accepts unchanged under ``rule`` (in practice: all)."""
    labels = [label for label in rule.allowed or () if label == label.strip()]
    try:
        validate_cohort(pd.DataFrame({"label": labels}), CohortSchema(columns={"label": rule}))
    except CohortValidationError as error:
        return frozenset(labels) - {labels[problem.row - 1] for problem in error.problems}
    return frozenset(labels)
