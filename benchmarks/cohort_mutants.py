"""Hostile cohort files: sampled cohorts mutated, each mutant refused by row and column or sound.

The mutations and checks are those of the property test
``tests/evaluation/test_cohort_file_properties.py`` (bad, missing, NaN, infinite or huge
cells, huge etas, a dropped, repeated or extra column, padded header names, blank lines), run
here at the benchmark's size and counted instead of asserted:

    python -m benchmarks.cohort_mutants              # 2 000 mutants over five envs, counts
    python -m benchmarks.cohort_mutants -n 400

Outcomes: ``clear error`` (refused, every bad cell named by row, line and column),
``unclear error`` (refused without that), ``accepted and valid`` (a 10-step rollout of the
patients is finite and inside the observation space), ``accepted but invalid`` and ``crash``
(any other exception). The target is 0 of the last three.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from pkgym.evaluation.cohort_file import read_cohort_file
from pkgym.populations.cohort import CohortValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "evaluation"))
import test_cohort_file_properties as prop  # noqa: E402  (the property test's mutations)


def _outcome(env_id: str, mutations: list[tuple[Any, ...]], folder: Path) -> str:
    """What one mutant of ``env_id``'s sampled cohort gives."""
    core, cells, env = prop._case(env_id)
    rows = cells
    for mutation in mutations:
        rows = prop._apply(rows, mutation)
    path = folder / "cohort.csv"
    prop._write(rows, path)
    try:
        cohort = read_cohort_file(path, env_id, core)
    except CohortValidationError as error:
        try:
            prop._check_refusal(error, rows)
        except AssertionError:
            return "unclear error"
        return "clear error"
    except Exception:  # noqa: BLE001  (counted: the target is none)
        return "crash"
    try:
        prop._rollout(env, cohort.patients)
    except AssertionError:
        return "accepted but invalid"
    except Exception:  # noqa: BLE001
        return "crash"
    return "accepted and valid"


def run(n_mutants: int) -> Counter:
    """Counts of each outcome over ``n_mutants`` mutants, spread evenly over the envs."""
    counts: Counter = Counter()
    per_env = max(1, n_mutants // len(prop.ENVS))
    with tempfile.TemporaryDirectory() as folder:
        for env_id in prop.ENVS:
            _counter(env_id, per_env, counts, Path(folder))()
    return counts


def _counter(env_id: str, n: int, counts: Counter, folder: Path) -> Any:
    """A hypothesis run of ``n`` mutants of ``env_id`` adding each outcome to ``counts``."""
    @settings(max_examples=n, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(mutations=prop._mutations())
    def count(mutations: list[tuple[Any, ...]]) -> None:
        counts[_outcome(env_id, mutations, folder)] += 1

    return count


def main(argv: list[str] | None = None) -> Counter:
    """Run the mutants and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="mutants in all (default 2000)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    counts = run(args.n)
    print(f"{sum(counts.values())} cohort mutants tried over {len(prop.ENVS)} envs in "
          f"{time.perf_counter() - start:.0f} s")
    for outcome in ("clear error", "unclear error", "accepted and valid",
                    "accepted but invalid", "crash"):
        print(f"  {outcome:22s} {counts[outcome]}")
    return counts


if __name__ == "__main__":
    main()
