"""The env stage of benchmarks.beyond_odes: every policy in the table, finite paired CIs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.vae.profile_data import simulate_profiles
from agents.vae.profiles import hybrid_features, save_profile_vae, train_profile_vae
from benchmarks.beyond_odes_env import (
    COMPARISONS,
    PAIRED_SCORES,
    SCORES,
    env_markdown,
    run_env_stage,
)

POLICIES = ["fixed", "protocol", "map", "map_no_ehc", "vae", "vae_hybrid", "oracle"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny plain VAE and a tiny hybrid, saved as the benchmark saves them (OUT/vae, hybrid)."""
    out = tmp_path_factory.mktemp("bo")
    data = simulate_profiles(np.random.default_rng(3), 12)
    train, val = data.rows(slice(0, 8)), data.rows(slice(8, 12))
    for name, hybrid in (("vae", False), ("hybrid", True)):
        feats = [hybrid_features(d.covariates, d.doses_mg[:, 0], d.sample_times_h,
                                 d.concentrations_mg_per_l, iterations=2) if hybrid else None
                 for d in (train, val)]
        vae = train_profile_vae(train, val, hybrid=hybrid, train_hybrid=feats[0],
                                validation_hybrid=feats[1], epochs=1, batch_size=8)
        save_profile_vae(vae, out / name)
    return out


def test_run_env_stage__every_policy_and_finite_paired_differences(models, tmp_path) -> None:
    """Three patients: a row per policy and score, finite paired CIs, both subgroup levels."""
    env = run_env_stage(models, tmp_path / "env", n_patients=3, seed=0, reps=50)
    assert env["policies"] == POLICIES
    assert all(set(env["summary"][p]) == set(SCORES) for p in POLICIES)
    for column in PAIRED_SCORES:
        diffs = env["paired"][column]
        assert set(diffs) == {f"{a} - {b}" for a, b in COMPARISONS}
        assert all(math.isfinite(x) for d in diffs.values() for x in d)
        for pair, (point, low, high) in diffs.items():
            a, b = pair.split(" - ")
            assert point == pytest.approx(env["summary"][a][column][0]
                                          - env["summary"][b][column][0])
            assert low <= point + 1e-12 and point <= high + 1e-12
    assert set(env["gap_closed_days_in_target"]) == {"vae", "vae_hybrid"}
    assert {r["policy"] for r in env["by_ciclosporin"]} == set(POLICIES)
    assert sum(r["n"] for r in env["by_ciclosporin"] if r["policy"] == "vae") == 3
    text = env_markdown(env)
    assert all(f"| {p} |" in text for p in POLICIES)
    assert (tmp_path / "env" / "results.parquet").exists()
