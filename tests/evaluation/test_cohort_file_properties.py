"""Property: a mutated cohort file is refused naming row and column, or it runs finitely.

Sampled cohorts of five envs are written as CSV, then mutated (bad, missing, NaN, infinite
or huge cells, huge etas, a dropped, repeated or extra column, padded header names, blank
lines). :func:`~pkgym.evaluation.cohort_file.read_cohort_file` must either refuse the file
with a :class:`~pkgym.populations.cohort.CohortValidationError` naming each bad cell's row,
line and column (or the header's column), or accept it, and then a 10-step rollout of its
patients stays finite and inside the observation space.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pkgym.evaluation.cohort_file import read_cohort_file
from pkgym.evaluation.cohorts import env_cohort
from pkgym.populations.cohort import CohortValidationError
from pkgym.scale.evaluation import env_core

ENVS = ["pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/Chemotherapy-v0",
        "pkgym/Depression-v0", "pkgym/ChemoImmune-v0"]
N = 3
CELLS = ["", "nan", "NA", "inf", "-inf", "abc", "1e308", "-1e308", "50", "-50", "0", " 0.1 ",
         "1e-300", "-0", "1", "2", "0.5", "*1/*3", "white", "P001"]


@cache
def _case(env_id: str) -> tuple[Any, list[list[str]], Any]:
    """The env's core, a sampled cohort as CSV cells (header first) and a vector env of N."""
    core = env_core(env_id)
    cohort = env_cohort(core.settings, N, 11)
    cells = [list(cohort.columns)] + [[repr(v) if isinstance(v, float) else str(v)
                                       for v in row] for row in cohort.itertuples(index=False)]
    env = gym.make_vec(env_id, num_envs=N, vectorization_mode="vector_entry_point")
    return core, cells, env


def _mutations() -> st.SearchStrategy[list[tuple[Any, ...]]]:
    cell = st.one_of(st.sampled_from(CELLS), st.floats(allow_nan=True).map(repr))
    one = st.one_of(
        st.tuples(st.just("cell"), st.integers(1, N), st.integers(0, 40), cell),
        st.tuples(st.just("drop"), st.integers(0, 40)),
        st.tuples(st.just("repeat"), st.integers(0, 40), st.integers(0, 40)),
        st.tuples(st.just("blank"), st.integers(1, N + 1)),
        st.tuples(st.just("extra"), cell),
        st.tuples(st.just("pad"), st.integers(0, 40)))
    return st.lists(one, min_size=1, max_size=3)


def _apply(cells: list[list[str]], mutation: tuple[Any, ...]) -> list[list[str]]:
    """The cells after one mutation (row 0 is the header; a blank line is an empty list)."""
    rows = [list(row) for row in cells]
    width = len(rows[0])
    kind = mutation[0]
    if kind == "cell" and mutation[1] < len(rows) and rows[mutation[1]]:
        rows[mutation[1]][mutation[2] % width] = mutation[3]
    elif kind == "drop" and width > 1:
        k = mutation[1] % width
        rows = [row[:k] + row[k + 1:] if row else row for row in rows]
    elif kind == "repeat":
        rows[0][mutation[1] % width] = rows[0][mutation[2] % width]
    elif kind == "blank":
        rows.insert(min(mutation[1], len(rows)), [])
    elif kind == "extra":
        rows = [row + (["note"] if i == 0 else [mutation[1]]) if row else row
                for i, row in enumerate(rows)]
    elif kind == "pad":
        rows[0][mutation[1] % width] = f"  {rows[0][mutation[1] % width]} "
    return rows


def _write(rows: list[list[str]], path: Path) -> None:
    def quote(cell: str) -> str:
        return f'"{cell}"' if "," in cell or '"' in cell else cell
    path.write_text("\n".join(",".join(quote(c) for c in row) for row in rows) + "\n")


def _check_refusal(error: CohortValidationError, rows: list[list[str]]) -> None:
    """Each bad cell names a data row, its line and a header column; a header error a column."""
    message = str(error)
    header = [name.strip() for name in rows[0]]
    if not error.problems:
        assert any(f"'{name}'" in message for name in [*header, "id"]) or "no patients" in \
            message, message
        return
    for problem in error.problems:
        assert 1 <= problem.row <= len(rows) - 1 and problem.line == problem.row + 1
        assert problem.column in header or problem.column == "(row)", message
    first = error.problems[0]
    assert f"row {first.row} (line {first.line}), column '{first.column}'" in message


def _rollout(env: Any, patients: Any) -> None:
    """Ten steps of the pinned patients: finite observations inside the space, finite rewards."""
    obs, _ = env.reset(seed=0, options={"patients": patients})
    env.action_space.seed(0)
    for _ in range(10):
        assert env.observation_space.contains(obs)
        leaves = obs.values() if isinstance(obs, dict) else [obs]
        assert all(np.all(np.isfinite(np.asarray(leaf, dtype=np.float64))) for leaf in leaves)
        obs, reward, *_ = env.step(env.action_space.sample())
        assert np.all(np.isfinite(reward))


@pytest.mark.parametrize("env_id", ENVS)
@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutations=_mutations())
def test_cohort_file__mutated_cohort_is_refused_by_row_and_column_or_runs_finitely(
        env_id: str, mutations: list[tuple[Any, ...]], tmp_path: Path) -> None:
    """Refused naming row, line and column; or accepted with a finite, in-space rollout."""
    core, cells, env = _case(env_id)
    rows = cells
    for mutation in mutations:
        rows = _apply(rows, mutation)
    path = tmp_path / "cohort.csv"
    _write(rows, path)
    try:
        cohort = read_cohort_file(path, env_id, core)
    except CohortValidationError as error:
        _check_refusal(error, rows)
        event("refused")
        return
    event("accepted")
    assert len(cohort.patients) == N
    _rollout(env, cohort.patients)
