"""The truth-vs-belief arena end to end at tiny budgets (``--quick``; slow: trains agents)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from benchmarks import arena


@pytest.mark.slow
def test_arena__quick_vancomycin_writes_every_truth_and_row(tmp_path: Path) -> None:
    """Every truth is a column, every policy a row, every cell a finite mean; reruns reuse."""
    arena.main(["--quick", "--envs", "vancomycin", "--out", str(tmp_path)])
    table = pd.read_csv(tmp_path / "arena.csv")
    plan = arena.ENVS["vancomycin"]
    assert set(table["truth"]) == set(plan.truths)
    rows = {"clinical: label", "VAE-MIPD", "PPO, raw observation", "PPO, VAE latent",
            "oracle (upper bound)", *(f"MAP, prior {t}" for t in plan.truths)}
    assert set(table["policy"]) == rows
    assert table["mean"].notna().all() and len(table) == len(rows) * len(plan.truths)
    text = (tmp_path / "arena.md").read_text()
    assert "**" in text and "Subgroups under goti2018" in text
    first = text.split("Wall time")[0]
    arena.main(["--quick", "--envs", "vancomycin", "--out", str(tmp_path)])
    assert (tmp_path / "arena.md").read_text().split("Wall time")[0] == first
