"""A user's cohort file for one env (``pkgym evaluate --cohort FILE``), checked before a run.

The file (CSV or Parquet) is read by :func:`~pkgym.populations.cohort.load_cohort` against the
env's cohort schema, with the model's random effects (``eta_<name>``, optional) range-checked
by :func:`~pkgym.populations.cohort.eta_rules`; then every row is pinned once, as the env
will pin it, so that a value only the env refuses is reported too. All of this happens before
any output folder exists, and every bad cell is reported at once, naming its row, its file
line and its column.

Columns that the env does not pin (anything but ``id``, the schema's columns, the etas and the
columns of a cohort the env samples itself) are accepted and left out of the env's rows. Ids
may be text (``P001``): the env then pins row positions 0..n-1, and the results are given the
file's ids back (:func:`restore_ids`). Patients without eta columns get random effects drawn
from their noise streams (as a pinned patient does); give every ``eta_<name>`` as 0 for the
typical patient.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pkgym.envs.registry import env_spec
from pkgym.evaluation.cohorts import env_cohort
from pkgym.io import write_atomic
from pkgym.populations.cohort import (
    CohortProblem,
    CohortSchema,
    CohortValidationError,
    eta_rules,
    load_cohort,
)


@dataclass(frozen=True, slots=True)
class CohortFile:
    """A validated cohort file, split into what the env pins and what it does not.

    Attributes:
        patients: the rows the env pins: ``id`` (the file's integer ids, or row positions
            when the file's ids are not integers) and the env's own columns.
        ids: the file's ids, one per row (what the results carry).
        extra_columns: columns of the file that the env does not use.
    """

    patients: pd.DataFrame
    ids: np.ndarray  # (n_patients,)
    extra_columns: tuple[str, ...]

    @property
    def renumbered(self) -> bool:
        """Whether the env pins row positions instead of the file's (non-integer) ids."""
        return not np.array_equal(self.patients["id"].to_numpy(), self.ids)


def read_cohort_file(path: str | os.PathLike[str], env_id: str, core: Any) -> CohortFile:
    r"""Read and validate a cohort file for ``env_id`` (whose batched core is ``core``).

    Args:
        path: a ``.csv`` or ``.parquet`` file, one row per patient, with an ``id`` column.
        env_id: a registered pkgym env id.
        core: the env's :class:`~pkgym.envs.base.DosingCore` (its ``settings`` and
            ``pin_patient``).

    Raises:
        CohortValidationError: listing every bad cell (row, line, column, value, what is
            allowed; at most 20 spelled out), or naming a missing or repeated column.

    Examples:
        >>> import tempfile, pkgym
        >>> from pkgym.scale.evaluation import env_core
        >>> path = Path(tempfile.mkdtemp()) / "cohort.csv"
        >>> _ = path.write_text("id,tumour_at_start,site\nP1,0.3,A\nP2,0.2,B\n")
        >>> file = read_cohort_file(path, "pkgym/ChemoImmune-v0",
        ...                         env_core("pkgym/ChemoImmune-v0"))
        >>> file.patients["id"].tolist(), file.ids.tolist(), file.extra_columns
        ([0, 1], ['P1', 'P2'], ('site',))
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".parquet") or not path.is_file():
        raise ValueError(f"--cohort must be an existing .csv or .parquet file, got {path}")
    schema = env_spec(env_id).cohort_schema or CohortSchema(columns={})
    variability = getattr(getattr(core.settings, "model", None), "variability", None)
    etas = {} if variability is None else eta_rules(variability)
    cohort = load_cohort(path, schema, optional=etas)
    line_offset = None if path.suffix.lower() == ".parquet" else 1
    _check_ids(cohort, line_offset, repr(str(path)))
    pinned = {"id", *schema.columns, *etas, *env_cohort(core.settings, 1, 0).columns}
    columns = [c for c in cohort.columns if c in pinned]
    patients = cohort[columns].reset_index(drop=True)
    ids = cohort["id"].to_numpy()
    if not _integer_ids(cohort["id"]):
        patients["id"] = np.arange(len(patients), dtype=np.int64)
    _check_pinning(patients, core, line_offset, repr(str(path)))
    return CohortFile(patients=patients, ids=ids,
                      extra_columns=tuple(c for c in cohort.columns if c not in pinned))


def restore_ids(results: pd.DataFrame, cohort: CohortFile,
                parquet: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The results with the file's ids in place of row positions (and in ``parquet``, if given).

    The ids are restored row group by row group, so the merged file keeps one group per shard.

    Examples:
        >>> file = CohortFile(pd.DataFrame({"id": [0, 1]}), np.array(["a", "b"]), ())
        >>> restore_ids(pd.DataFrame({"id": [1, 0], "policy": "x"}), file)["id"].tolist()
        ['b', 'a']
    """
    if not cohort.renumbered:
        return results
    restored = results.assign(id=cohort.ids[results["id"].to_numpy(dtype=np.int64)])
    if parquet is not None:
        source = pq.ParquetFile(parquet)

        def write(tmp: Path) -> None:
            tables = [source.read_row_group(k) for k in range(source.num_row_groups)]
            tables = [t.set_column(t.schema.get_field_index("id"), "id", pa.array(
                cohort.ids[t.column("id").to_numpy()].tolist())) for t in tables]
            with pq.ParquetWriter(tmp, tables[0].schema) as writer:
                for table in tables:
                    writer.write_table(table, row_group_size=max(table.num_rows, 1))
        write_atomic(parquet, write)
    return restored


def _integer_ids(ids: pd.Series) -> bool:
    """Whether every id is a whole number (the env's pinned ``id`` is an integer)."""
    if not pd.api.types.is_numeric_dtype(ids) or pd.api.types.is_bool_dtype(ids):
        return False
    values = ids.to_numpy(dtype=np.float64)
    return bool(np.all(np.isfinite(values) & (values == np.round(values))
                       & (np.abs(values) < 2**53)))


def _check_ids(cohort: pd.DataFrame, line_offset: int | None, source: str) -> None:
    """An ``id`` column whose every cell is filled and unique, or every bad cell listed."""
    if "id" not in cohort.columns:
        raise CohortValidationError(
            f"invalid cohort {source}: missing required column(s) ['id']; found: "
            f"{[str(c) for c in cohort.columns]}")
    texts = [None if pd.isna(v) or str(v).strip() == "" else
             str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()
             for v in cohort["id"].tolist()]  # 3.0: a whole id read as float beside a blank
    first: dict[str, int] = {}
    problems = []
    for i, text in enumerate(texts):
        if text is None or text in first:
            problems.append(CohortProblem(
                row=i + 1, line=None if line_offset is None else i + 1 + line_offset,
                column="id", value="a missing value" if text is None else repr(text),
                expected="a unique patient id" + ("" if text is None else
                                                  f" (also row {first[text] + 1})")))
        elif text is not None:
            first[text] = i
    if problems:
        raise CohortValidationError.from_problems(problems, source)


def _check_pinning(patients: pd.DataFrame, core: Any, line_offset: int | None,
                   source: str) -> None:
    """Pin every row as the env will; list the rows (and columns) the env refuses."""
    problems: list[CohortProblem] = []
    for i, row in enumerate(patients.to_dict("records")):
        line = None if line_offset is None else i + 1 + line_offset
        try:
            core.pin_patient(row)
        except ValueError as error:
            found = getattr(error, "problems", ())
            problems += [CohortProblem(row=i + 1, line=line, column=p.column, value=p.value,
                                       expected=p.expected) for p in found]
            if not found:  # the env's own check: name the first column its message names
                named = [c for c in patients.columns if c != "id"
                         and re.search(rf"(?<![A-Za-z0-9_]){re.escape(c)}(?![A-Za-z0-9_])",
                                       str(error))]
                column = named[0] if named else "(row)"
                value = repr(row[column]) if column in row else "this patient"
                problems.append(CohortProblem(row=i + 1, line=line, column=column, value=value,
                                              expected=f"what the env pins ({error})"))
    if problems:
        raise CohortValidationError.from_problems(problems, source)
