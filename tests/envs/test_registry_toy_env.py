"""The env registry: a toy env defined in the tests runs through every pkgym door unchanged.

``pkgymtest/OneCompartment-v0`` (:mod:`toy_env`) is registered from the test suite alone; then
``pkgym evaluate``, a tiny ``pkgym benchmark`` and the NONMEM-style export run on it through
their ordinary entry points, and :func:`pkgym.envs.registry.spec_of` finds every registered
env's spec from its core.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import toy_env
from gymnasium.utils.env_checker import check_env

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.registry import make_policy
from pkgym.cli import main
from pkgym.envs.registry import UnknownEnvError, env_spec, env_specs, register_env, spec_of
from pkgym.evaluation.cohorts import env_cohort
from pkgym.evaluation.outcomes import outcome_spec

BUILT_IN = ("pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/WarfarinPGx-v0",
            "pkgym/Warfarin-v1", "pkgym/WarfarinPGx-v1", "pkgym/Chemotherapy-v0",
            "pkgym/ChemoImmune-v0", "pkgym/Addiction-v0",
            "pkgym/Depression-v0", "pkgym/DoseFinding-v0")


@pytest.fixture(scope="module")
def toy() -> str:
    """The toy env, registered (twice: the second registration changes nothing)."""
    first = toy_env.register()
    assert toy_env.register() is first and env_spec(toy_env.ENV_ID) is first
    return toy_env.ENV_ID


def test_spec_of__finds_the_spec_of_every_registered_core() -> None:
    """Each registered id's core maps back to its own spec (Warfarin and PGx told apart)."""
    ids = [spec.env_id for spec in env_specs()]
    assert ids[:len(BUILT_IN)] == list(BUILT_IN)
    for env_id in ids:
        core = gym.make(env_id).unwrapped.core  # type: ignore[attr-defined]
        assert spec_of(core).env_id == env_id
        spec = outcome_spec(core)
        assert spec.step_metrics == env_spec(env_id).outcomes(core).step_metrics
        assert set(spec.step_metrics) <= set(core.info())


def test_spec_of__refuses_an_unregistered_core_naming_the_registered_ids() -> None:
    """A core of no registered env is a one-line error listing the ids."""
    class StrayCore:
        """Not a registered core."""

    with pytest.raises(UnknownEnvError, match=r"StrayCore is not the core of a registered env; "
                                              r"registered: \['pkgym/Vancomycin-v0'") as error:
        spec_of(StrayCore())
    assert "\n" not in str(error.value)
    with pytest.raises(UnknownEnvError, match="unknown env 'pkgym/Nothing-v0'; registered"):
        env_spec("pkgym/Nothing-v0")


def test_register_env__refuses_another_spec_under_a_registered_id(toy: str) -> None:
    """Registering is idempotent for the same spec only."""
    other = dataclasses.replace(toy_env.SPEC, reference=None)
    with pytest.raises(ValueError, match="already registered with another spec"):
        register_env(other)
    assert env_spec(toy).reference is not None


def test_toy_env__passes_the_env_checker_and_is_found_by_its_core(toy: str) -> None:
    """The toy env is a valid Gymnasium env whose core leads to its spec and baselines."""
    env = gym.make(toy)
    check_env(env.unwrapped, skip_render_check=True)
    core = env.unwrapped.core  # type: ignore[attr-defined]
    assert spec_of(core) is env_spec(toy)
    assert make_policy("oracle", core).name == "oracle"


def test_pkgym_evaluate__runs_the_toy_env_baselines(toy: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``pkgym evaluate`` scores both baselines on the toy env; the oracle scores higher."""
    out = tmp_path / "eval"
    assert main(["evaluate", "--env", toy, "--policy", "fixed_500mg", "--policy", "oracle",
                 "--n-patients", "12", "--seed", "1", "--out", str(out)]) == 0
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["policy"].unique()) == ["fixed_500mg", "oracle"]
    assert {"in_target_range_fraction", "auc24_mg_h_per_l_4", "return"} <= set(results.columns)
    means = results.groupby("policy")["in_target_range_fraction"].mean()
    assert means["oracle"] > means["fixed_500mg"]
    assert (out / "summary.csv").exists() and (out / "report.html").exists()
    assert "share of days in target" in capsys.readouterr().out


def test_pkgym_benchmark__trains_and_ranks_ppo_on_the_toy_env(toy: str, tmp_path: Path) -> None:
    """A tiny ``pkgym benchmark`` (PPO, 256 steps, one seed) normalises by the toy reference."""
    out = tmp_path / "bench"
    assert main(["benchmark", "--env", toy, "--algo", "ppo", "--seed", "0",
                 "--timesteps", "256", "--out", str(out), "--n-patients", "6", "--n-envs", "4",
                 "--n-training-patients", "16", "--device", "cpu", "--no-baselines"]) == 0
    table = pd.read_csv(out / "OneCompartment-v0.csv")
    assert table["policy"].tolist()[-2:] == ["fixed_500mg", "oracle"]
    assert "ppo" in table["policy"].tolist()
    scores = table.set_index("policy")["normalised_score"]
    assert (scores["fixed_500mg"], scores["oracle"]) == (0.0, 1.0)
    assert (out / "runs/OneCompartment-v0/ppo/seed0/model.zip").exists()
    board = pd.read_csv(out / "leaderboard.csv")
    assert board.loc[board["kind"] == "algorithm", "policy"].tolist() == ["ppo"]


def test_episode_dataset__exports_the_toy_episode_as_nonmem_rows(toy: str) -> None:
    """Pinned patients' boluses and troughs become NONMEM-style rows, in single and vector envs."""
    single = gym.make(toy)
    single.reset(seed=0)
    for action in (2, 3):
        single.step(action)
    rows = single.unwrapped.episode_dataset()  # type: ignore[attr-defined]
    assert rows[["TIME", "AMT", "RATE", "EVID", "MDV"]].values.tolist() == [
        [0.0, 500.0, 0.0, 1, 1], [24.0, 750.0, 0.0, 1, 1], [24.0, 0.0, 0.0, 0, 0],
        [48.0, 0.0, 0.0, 0, 0]]
    vector = gym.make_vec(toy, num_envs=3, vectorization_mode="vector_entry_point")
    core = vector.unwrapped.core  # type: ignore[attr-defined]
    cohort = env_cohort(core.settings, 3, seed=5)
    vector.reset(seed=1, options={"patients": cohort})
    vector.step(np.array([4, 4, 4]))
    table = vector.unwrapped.episode_dataset()  # type: ignore[attr-defined]
    assert table["ID"].tolist() == [0, 0, 1, 1, 2, 2]
    assert table["WT"].tolist() == pytest.approx(np.repeat(cohort["weight_kg"], 2).tolist())
    assert table.loc[table["EVID"] == 0, "DV"].gt(0).all()
