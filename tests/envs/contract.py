"""Rollouts and assertions shared by the environment contract tests (one copy for every env)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import toy_env

from pkgym.envs.chemo_immune.clinic import ChemoImmuneScenario
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.envs.heparin.clinic import HeparinScenario
from pkgym.envs.registry import env_specs
from pkgym.envs.warfarin.clinic import EventHazards, WarfarinScenario
from pkgym.models.tumour import Claret2009


def assert_slot(obs: dict | np.ndarray, info: dict, i: int, single_obs: dict,
                single_info: dict) -> None:
    """Slot i of a vector env's observation (or final_obs) and info equals a single env's."""
    slot_obs = obs[i] if isinstance(obs, np.ndarray) else {key: obs[key][i] for key in obs}
    assert slot_obs.keys() == single_obs.keys()
    for key in single_obs:
        np.testing.assert_array_equal(slot_obs[key], single_obs[key], err_msg=key)
    for key in single_info:
        np.testing.assert_array_equal(info[key][i], single_info[key], err_msg=key)


def rollout_episode(env: gym.Env, seed: int, actions: list, options: dict | None = None) -> list:
    """(observation, reward, terminated, truncated, info) of each step until the episode ends."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, False, False, info)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return trace




def rollout_fixed(env: gym.Env, seed: int, actions: list, options: dict | None = None) -> list:
    """(observation, reward, info) after reset and after each of ``actions``, played through."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, _, _, info = env.step(action)
        trace.append((obs, reward, info))
    return trace

def assert_same_trace(first: list, second: list) -> None:
    """Two rollouts are identical: observations, rewards, flags and infos (arrays included)."""
    assert len(first) == len(second)
    for (obs_a, *rest_a, info_a), (obs_b, *rest_b, info_b) in zip(first, second, strict=True):
        assert obs_a.keys() == obs_b.keys() and info_a.keys() == info_b.keys()
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key], err_msg=key)
        assert rest_a == rest_b
        for key in info_a:
            np.testing.assert_array_equal(info_a[key], info_b[key], err_msg=key)


VARIANTS: dict[str, tuple[dict, ...]] = {
    "pkgym/Vancomycin-v0": ({"continuous": True},),
    "pkgym/Warfarin-v0": ({"continuous": True}, {"choose_test_days": True},
                          {"scenario": WarfarinScenario(events=EventHazards(
                              bleeding_per_year_in_range=15.0,
                              thromboembolism_per_year_in_range=15.0))}),
    "pkgym/WarfarinPGx-v0": ({"choose_test_days": True},),
    "pkgym/Chemotherapy-v0": ({"continuous": True}, {"allow_delay": True},
                              {"allow_delay": True, "scenario": ChemotherapyScenario(
                                  n_cycles=2, scan_every_cycles=1,
                                  tumour=Claret2009(growth_per_week=0.05))}),
    "pkgym/ChemoImmune-v0": ({"continuous": True},
                              {"scenario": ChemoImmuneScenario(n_days=12, stop_below_floor=True,
                                                               normal_cell_floor=0.8)}),
    "pkgym/Depression-v0": ({"continuous": True},),
    "pkgym/DoseFinding-v0": ({"continuous": True},),
    "pkgym/DoseFindingEffTox-v0": ({"continuous": True},),
    "pkgym/Mycophenolate-v0": ({"continuous": True},),
    "pkgym/Insulin-v0": ({"continuous": True}, {"scenario": "scenarios/insulin_hovorka.yaml"}),
    "pkgym/Propofol-v0": ({"continuous": True}, {"scenario": "scenarios/propofol_no_opioid.yaml"}),
    "pkgym/Heparin-v0": ({"continuous": True},
                         {"scenario": HeparinScenario(target="control_ratio", horizon_h=24.0)}),
    toy_env.ENV_ID: ({"continuous": True},),
}
"""Constructor keywords that change an env's spaces, decisions or episode ends (frequent clinical
events, progression and termination), each run through the contract."""


def contract_cases() -> list[tuple[str, dict]]:
    """(env id, constructor kwargs) of every registered env, the toy one included.

    Each env runs with its defaults, then with each of its :data:`VARIANTS`.
    """
    toy_env.register()
    ids = [spec.env_id for spec in env_specs()]
    return [(env_id, kwargs) for env_id in ids for kwargs in ({}, *VARIANTS.get(env_id, ()))]
