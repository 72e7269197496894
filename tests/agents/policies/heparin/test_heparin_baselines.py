"""Heparin baselines: Raschke's table and mapping, the fixed floor, MAP fits, oracle, ranking."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.heparin import BASELINES, make_baseline
from agents.policies.heparin.baselines import RaschkePolicy
from pkgym.envs.heparin.clinic import HeparinScenario
from pkgym.models.heparin_alsallami2016 import AlSallami2016

ENV_ID = "pkgym/Heparin-v0"


def _observation(aptt: list[float], rate: float = 18.0,
                 target: tuple[float, float] = (60.0, 100.0)) -> dict[str, np.ndarray]:
    n = len(aptt)
    values, mask = np.zeros((n, 13)), np.zeros((n, 13))
    values[:, :2], mask[:, :2] = np.column_stack([np.full(n, 30.0), aptt]), 1.0
    return {"aptt_s": values, "aptt_mask": mask,
            "current_rate_u_per_kg_per_h": np.full((n, 1), rate),
            "target_aptt_s": np.tile(target, (n, 1))}


def test_raschke__table_in_its_own_seconds_when_the_target_is_46_to_70() -> None:
    """With the paper's own range (46-70 s) the bands are Raschke's Table 1 exactly."""
    policy = RaschkePolicy()
    out = policy.act(_observation([30.0, 40.0, 46.0, 70.0, 80.0, 90.0, 95.0], 18.0,
                                  (46.0, 70.0)))
    assert out.tolist() == [[80.0, 0.0, 22.0], [40.0, 0.0, 20.0], [0.0, 0.0, 18.0],
                            [0.0, 0.0, 18.0], [0.0, 0.0, 16.0], [0.0, 0.0, 16.0],
                            [0.0, 1.0, 15.0]]


def test_raschke__bands_mapped_onto_60_to_100_and_the_start() -> None:
    """60-100 s: edges 41.7, 60, 100, 133 s; the first decision is 80 U/kg and 18 U/kg/h."""
    policy = RaschkePolicy()
    out = policy.act(_observation([41.0, 42.0, 100.0, 101.0, 133.0, 134.0], 2.0))
    assert out[:, 0].tolist() == [80.0, 40.0, 0.0, 0.0, 0.0, 0.0]
    assert out[:, 2].tolist() == [6.0, 4.0, 2.0, 0.0, 0.0, 0.0]  # floors at 0 U/kg/h
    assert out[-1, 1] == 1.0
    first = _observation([30.0])
    first["aptt_mask"][:, 1] = 0.0
    assert policy.act(first).tolist() == [[80.0, 0.0, 18.0]]


def _episode(name: str, n: int = 40, seed: int = 2, scenario: HeparinScenario | None = None
             ) -> dict[str, np.ndarray]:
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    core = env.unwrapped.core
    policy = make_baseline(name, core)
    policy.reset(n)
    obs, info = env.reset(seed=seed)
    for _ in range(core.settings.scenario.n_steps):
        obs, _, _, _, info = env.step(core.encode_decisions(policy.act(obs, info), False))
    return info


def test_baselines__ranked_oracle_map_raschke_fixed_on_time_in_range() -> None:
    """On 40 drawn patients the time in range ranks oracle > map > raschke > fixed."""
    assert set(BASELINES) == {"raschke", "fixed", "map", "oracle"}
    tir = {name: _episode(name)["time_in_range_fraction"].mean() for name in BASELINES}
    assert tir["oracle"] > tir["map"] > tir["raschke"] > tir["fixed"], tir
    assert tir["oracle"] > 0.9 and tir["raschke"] > 0.6


def test_map__recovers_the_true_parameters_without_assay_error() -> None:
    """Without assay error and with informative dosing the MAP etas approach the true ones."""
    scenario = HeparinScenario(model=AlSallami2016(aptt_residual_cv=0.0))
    env = gym.make_vec(ENV_ID, num_envs=20, vectorization_mode="vector_entry_point",
                       scenario=scenario)
    core = env.unwrapped.core
    policy = make_baseline("map", core)
    obs, info = env.reset(seed=4)
    for _ in range(6):
        obs, _, _, _, info = env.step(core.encode_decisions(policy.act(obs, info), False))
    fitted = policy.fit(obs)  # type: ignore[attr-defined]
    error = np.abs(fitted - info["etas"])
    prior_error = np.abs(info["etas"])
    assert np.median(error[:, 2]) < 0.5 * np.median(prior_error[:, 2])
    assert np.median(np.abs(fitted[:, 2] - fitted[:, 0] - info["etas"][:, 2]
                            + info["etas"][:, 0])) < 0.05  # SLOPE/CL: the steady state


def test_raschke__exceeds_the_threshold_within_24h_as_in_the_trial() -> None:
    """Measured aPTT > 1.5 x control within 24 h: Raschke 1993 had 60 of 62 (97 %, CI 89-100 %)."""
    n = 300
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    policy = make_baseline("raschke", core)
    obs, info = env.reset(seed=11)
    for _ in range(4):  # decisions at 0, 6, 12, 18 h; aPTTs at 6, 12, 18, 24 h
        obs, _, _, _, info = env.step(core.encode_decisions(policy.act(obs, info), False))
    measured, control = obs["aptt_s"][:, 1:5], obs["patient"][:, 4:5]
    share = float(np.mean(np.any(measured > 1.5 * control, axis=1)))
    assert 0.888 <= share <= 1.0, share
