"""Load and validate a user's cohort (one row per patient) from CSV or a DataFrame.

A :class:`CohortSchema` maps each required column to a :class:`ColumnRule`: a numeric range
with its unit (optionally whole numbers only) or a set of allowed labels. Validation
reports every bad cell at once in a :class:`CohortValidationError` (a ``ValueError``)
naming the 1-based data row, the file line (for CSV files: line 1 is the header), the
column, the bad value and what is allowed. Extra columns are kept (numbers parsed where the
whole column is numeric, text otherwise). A file without patients, or with a column name
given twice, is refused.

Random effects (``eta_<name>`` columns) are range-checked by :func:`eta_rules`: finite and
within ``ETA_SD_LIMIT`` (10) standard deviations of the model's omega. A draw from the model
lies beyond 10 SD with probability 1.5e-23 per eta, and a hand-picked atypical patient (say 6
SD out) is still accepted, while a value on the wrong scale (``eta_CL = 50``: clearance
x 5e21) is refused instead of silently giving finite-looking but meaningless results.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pandas as pd

from pkgym.populations.frozen import FrozenMap

_MAX_REPORTED = 20
"""At most this many problems are spelled out in the error message (all are in .problems)."""
ETA_SD_LIMIT = 10.0
"""A random effect may lie at most this many standard deviations (sqrt of omega's diagonal)
from 0; see :func:`eta_rules`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnRule:
    """What one cohort column may hold.

    Attributes:
        low: smallest allowed value (numeric columns), ``-inf`` for none.
        high: largest allowed value (numeric columns), ``inf`` for none.
        unit: unit of the numeric values, for messages (e.g. ``"kg"``).
        allowed: allowed labels for a categorical column; ``None`` for a numeric column.
        integer: numeric values must be whole numbers (e.g. a 0/1 flag); stored as int64.
    """

    low: float = -math.inf
    high: float = math.inf
    unit: str = ""
    allowed: tuple[str, ...] | None = None
    integer: bool = False

    def __post_init__(self) -> None:
        """Validate the rule, naming the offending field."""
        if math.isnan(self.low) or math.isnan(self.high) or not self.low <= self.high:
            raise ValueError(f"low must be <= high, got low={self.low}, high={self.high}")
        if self.allowed is not None:
            allowed = tuple(self.allowed)
            if not allowed or any(not isinstance(a, str) for a in allowed):
                raise ValueError(f"allowed must be a non-empty tuple of str, got {self.allowed!r}")
            if self.integer or math.isfinite(self.low) or math.isfinite(self.high):
                raise ValueError("a categorical rule (allowed=...) takes no low/high/integer")
            object.__setattr__(self, "allowed", allowed)

    def describe(self) -> str:
        """Return what the rule allows, for error messages.

        Examples:
            >>> ColumnRule(low=20.0, high=300.0, unit="kg").describe()
            'a number in [20.0, 300.0] kg'
            >>> ColumnRule(allowed=("*1/*1", "*1/*3")).describe()
            "one of ['*1/*1', '*1/*3']"
        """
        if self.allowed is not None:
            return f"one of {list(self.allowed)}"
        kind = "a whole number" if self.integer else "a number"
        return f"{kind} in [{self.low}, {self.high}]" + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortSchema:
    """Required cohort columns and their rules.

    Attributes:
        columns: column name -> rule, in the order they are reported; stored read-only.
    """

    columns: Mapping[str, ColumnRule]

    def __post_init__(self) -> None:
        """Validate the mapping and freeze a copy of it."""
        if not isinstance(self.columns, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, ColumnRule) for k, v in self.columns.items()
        ):
            raise ValueError("columns must map non-empty column names to ColumnRule")
        object.__setattr__(self, "columns", FrozenMap(dict(self.columns)))

    @property
    def required_columns(self) -> tuple[str, ...]:
        """The column names every cohort must have."""
        return tuple(self.columns)


@dataclass(frozen=True, slots=True, kw_only=True)
class CohortProblem:
    """One bad cell of a cohort.

    Attributes:
        row: 1-based data row (the first row after the header is 1).
        line: line of the CSV file (header = line 1), or ``None`` for a DataFrame.
        column: column name.
        value: the offending value as text.
        expected: what the rule allows.
    """

    row: int
    line: int | None
    column: str
    value: str
    expected: str

    def __str__(self) -> str:
        """Return e.g. ``row 3 (line 4), column 'weight_kg': got 'abc', expected ...``."""
        where = f"row {self.row}" + (f" (line {self.line})" if self.line is not None else "")
        return f"{where}, column {self.column!r}: got {self.value}, expected {self.expected}"


class CohortValidationError(ValueError):
    """A cohort failed validation; ``problems`` lists every bad cell (empty for a bad header)."""

    def __init__(self, message: str, problems: tuple[CohortProblem, ...] = ()) -> None:
        """Store the problems; ``message`` is the full error text."""
        super().__init__(message)
        self.problems = problems

    @classmethod
    def from_problems(cls, problems: list[CohortProblem], source: str) -> CohortValidationError:
        """Build the error listing the first problems."""
        shown = "\n  ".join(str(p) for p in problems[:_MAX_REPORTED])
        more = len(problems) - _MAX_REPORTED
        suffix = f"\n  ... and {more} more" if more > 0 else ""
        message = f"invalid cohort {source}: {len(problems)} problem(s):\n  {shown}{suffix}"
        return cls(message, tuple(problems))


def load_cohort(path_or_buffer: str | os.PathLike[str] | IO[str], schema: CohortSchema, *,
                optional: Mapping[str, ColumnRule] | None = None) -> pd.DataFrame:
    r"""Read a cohort CSV (header line, one patient per line) or Parquet file and validate it.

    Every CSV cell is read as text first, so blank cells, ``NA`` and non-numeric text are
    reported exactly as written. Header names are stripped of surrounding spaces; a name
    given twice is refused (pandas would rename the second ``name.1``). Blank lines inside
    the data are not skipped (they are rows of missing values, which keeps file line = data
    row + 1); blank lines at the end are dropped. Line numbers assume no quoted field spans
    several lines. A file with a header but no patients is refused. A path ending in
    ``.parquet`` is read as Parquet (errors then name rows only: a Parquet file has no lines).

    Args:
        path_or_buffer: path of the CSV or Parquet file, or an open text buffer (CSV).
        schema: the required columns and their rules.
        optional: rules of columns checked only where the file has them (e.g. the etas of
            :func:`eta_rules`).

    Returns:
        The validated cohort: numeric rule columns as float64 (int64 when ``integer``),
        categorical ones as text, extra columns kept.

    Examples:
        >>> import io
        >>> schema = CohortSchema(columns={"weight_kg": ColumnRule(low=20.0, high=300.0)})
        >>> cohort = load_cohort(io.StringIO("id,weight_kg\n1,70.5\n2,81\n"), schema)
        >>> cohort["weight_kg"].tolist(), cohort["id"].tolist()
        ([70.5, 81.0], [1, 2])
    """
    if not isinstance(schema, CohortSchema):
        raise ValueError(f"schema must be a CohortSchema, got {type(schema)!r}")
    source = repr(os.fspath(path_or_buffer)) if isinstance(path_or_buffer, (str, os.PathLike)) \
        else "(buffer)"
    parquet = isinstance(path_or_buffer, (str, os.PathLike)) and \
        os.fspath(path_or_buffer).lower().endswith(".parquet")
    raw = pd.read_parquet(path_or_buffer) if parquet else _read_csv_text(path_or_buffer, source)
    names = [str(c).strip() for c in raw.columns]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise CohortValidationError(f"invalid cohort {source}: column(s) {twice} appear more "
                                    f"than once in the header; found: {names}")
    raw.columns = names
    if len(raw) == 0:
        raise CohortValidationError(f"invalid cohort {source}: no patients (a header but no "
                                    "data rows)")
    rules = schema if not optional else CohortSchema(columns={
        **schema.columns, **{k: r for k, r in optional.items() if k in names and
                             k not in schema.columns}})
    return _validate(raw, rules, line_offset=None if parquet else 1, source=source,
                     required=schema.required_columns)


def _read_csv_text(path_or_buffer: str | os.PathLike[str] | IO[str], source: str
                   ) -> pd.DataFrame:
    """Every cell of a CSV as text (trailing blank lines dropped); the header as written."""
    if isinstance(path_or_buffer, (str, os.PathLike)):
        with open(path_or_buffer, newline="", encoding="utf-8-sig") as file:
            text = file.read()
    else:
        text = path_or_buffer.read()
    header = next(csv.reader(io.StringIO(text)), None)
    if not header or not any(name.strip() for name in header):
        raise CohortValidationError(f"invalid cohort {source}: no header line (the first line "
                                    "must name the columns)")
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                      skip_blank_lines=False)
    if len(header) == len(raw.columns):  # as written: pandas renames repeats "x.1"
        raw.columns = pd.Index(header, dtype=object)
    filled = np.flatnonzero(~(raw == "").all(axis=1).to_numpy())
    return raw.iloc[: filled[-1] + 1 if filled.size else 0]


def eta_rules(variability: Any, limit: float = ETA_SD_LIMIT) -> dict[str, ColumnRule]:
    """Rules of the ``eta_<name>`` columns: finite, within ``limit`` SD of the model's omega.

    The bound of each eta is ``limit * sqrt(omega[j, j])``, rounded up to 3 decimals (an eta
    without variability, omega 0, must be 0). Etas are on the model's own scale (for most
    parameters log: ``P = P_typical * exp(eta)``), so a fixed bound would be far too loose
    for a parameter that varies little and too tight for one that varies a lot.

    Args:
        variability: the model's :class:`~pkgym.populations.BetweenSubjectVariability`
            (``eta_columns`` and ``omega``).
        limit: the number of standard deviations allowed (default 10).

    Examples:
        >>> from pkgym.populations import BetweenSubjectVariability
        >>> bsv = BetweenSubjectVariability(names=("CL",), omega=np.array([[0.09]]))
        >>> eta_rules(bsv)["eta_CL"].describe()
        "a number in [-3.0, 3.0] (10 SD of the model's omega, 0.3)"
    """
    sds = np.sqrt(np.diag(np.asarray(variability.omega, dtype=np.float64)))
    rules = {}
    for name, sd in zip(variability.eta_columns, sds, strict=True):
        bound = math.ceil(float(limit * sd) * 1000.0) / 1000.0
        rules[name] = ColumnRule(low=-bound, high=bound,
                                 unit=f"({limit:g} SD of the model's omega, {float(sd):.3g})")
    return rules


def validate_cohort(frame: pd.DataFrame, schema: CohortSchema) -> pd.DataFrame:
    """Validate a cohort DataFrame against ``schema`` and return a converted copy.

    Args:
        frame: one row per patient; rows are reported 1-based in their current order.
        schema: the required columns and their rules.

    Examples:
        >>> schema = CohortSchema(columns={"is_female": ColumnRule(low=0, high=1, integer=True)})
        >>> validate_cohort(pd.DataFrame({"is_female": [0.0, 1.0]}), schema)["is_female"].tolist()
        [0, 1]
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"frame must be a pandas DataFrame, got {type(frame)!r}")
    if not isinstance(schema, CohortSchema):
        raise ValueError(f"schema must be a CohortSchema, got {type(schema)!r}")
    return _validate(frame, schema, line_offset=None, source="DataFrame")


def _validate(frame: pd.DataFrame, schema: CohortSchema, *, line_offset: int | None,
              source: str, required: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Check columns then every cell; convert rule columns and infer extra text columns."""
    required = schema.required_columns if required is None else required
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CohortValidationError(
            f"invalid cohort {source}: missing required column(s) {missing}; required columns: "
            f"{list(required)}; found: {[str(c) for c in frame.columns]}")
    result = frame.copy()
    problems: list[CohortProblem] = []
    for name, rule in schema.columns.items():
        converted, bad = _check_column(frame[name], rule)
        problems += [CohortProblem(row=i + 1, column=name, value=text, expected=rule.describe(),
                                   line=None if line_offset is None else i + 1 + line_offset)
                     for i, text in bad.items()]
        result[name] = converted
    if problems:
        problems.sort(key=lambda p: p.row)
        raise CohortValidationError.from_problems(problems, source)
    if line_offset is not None:  # read as text: give extra columns their natural dtype
        for name in result.columns:
            if name not in schema.columns:
                result[name] = _infer_text_column(result[name])
    return result


def _cell_texts(column: pd.Series) -> list[str | None]:
    """Return each cell as stripped text, ``None`` for a missing cell (NaN, None, blank, NA)."""
    texts: list[str | None] = []
    for value in column.tolist():
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            texts.append(None)
            continue
        text = str(value).strip()
        texts.append(None if text.lower() in {"", "na", "nan", "n/a", "null", "none"} else text)
    return texts


def _check_column(column: pd.Series, rule: ColumnRule) -> tuple[pd.Series, dict[int, str]]:
    """Return the converted column and {0-based position: description of the bad value}."""
    bad: dict[int, str] = {}
    texts = _cell_texts(column)
    if rule.allowed is not None:
        for i, text in enumerate(texts):
            if text is None or text not in rule.allowed:
                bad[i] = "a missing value" if text is None else repr(text)
        return pd.Series(texts, index=column.index), bad
    numbers = np.full(len(texts), np.nan)
    for i, text in enumerate(texts):
        try:
            numbers[i] = float(text) if text is not None else np.nan
        except ValueError:
            bad[i] = f"non-numeric text {text!r}"
            continue
        if text is None:
            bad[i] = "a missing value (blank/NaN)"
        elif not _number_allowed(float(numbers[i]), rule):
            bad[i] = repr(text)
    dtype = np.int64 if rule.integer and not bad else np.float64
    return pd.Series(numbers, index=column.index).astype(dtype), bad


def _number_allowed(value: float, rule: ColumnRule) -> bool:
    """True if ``value`` is finite, within the rule's range and whole when required."""
    in_range = math.isfinite(value) and rule.low <= value <= rule.high
    return in_range and (not rule.integer or value.is_integer())


def _infer_text_column(column: pd.Series) -> pd.Series:
    """Parse a text column as numbers when every non-missing cell is numeric."""
    texts = pd.Series(_cell_texts(column), index=column.index, dtype=object)
    try:
        return pd.to_numeric(texts)
    except (ValueError, TypeError):
        return column
