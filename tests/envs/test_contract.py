"""The environment contract (docs/architecture.md), one test for every registered environment.

Every id in the registry, with each of its keyword variants, must pass both env checkers
without warnings, replay a seed exactly (here and in a fresh interpreter), give the same
trajectories in its native vector env as in single envs through both autoreset modes, pin
patients from a cohort, refuse bad actions with an error naming the action, render as text
and as an image, and export the episode as a NONMEM-style dataset. Env-specific behaviour
(the pharmacology, rewards, scenarios) is tested beside each env.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from contract import contract_cases
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pkgym  # noqa: F401  (registers the envs)
from pkgym.evaluation.cohorts import TRAINING, env_cohort

ROOT = Path(__file__).resolve().parents[2]
NONMEM_COLUMNS = ["ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT"]
CASES = contract_cases()
IDS = sorted({env_id for env_id, _ in CASES})


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    env_id, kwargs = case
    return env_id.split("/")[-1] + "".join(
        f"-{k}={v}" if isinstance(v, bool | int | str) else f"-{k}" for k, v in kwargs.items())


def _same(a: Any, b: Any, what: str) -> None:
    """Two observations or infos (arrays, dicts of arrays or scalars) are identical."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), what
        for key in a:
            _same(a[key], b[key], f"{what}[{key}]")
    else:
        np.testing.assert_array_equal(a, b, err_msg=what)


def _rollout(env: gym.Env, seed: int, n_steps: int,
             options: dict[str, Any] | None = None) -> list[tuple]:
    """Seeded random actions until the episode ends or ``n_steps``: every transition."""
    obs, info = env.reset(seed=seed, options=options)
    env.action_space.seed(seed)
    trace: list[tuple] = [(obs, 0.0, False, False, info)]
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return trace


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_env__passes_both_env_checkers_without_warnings(case: tuple[str, dict]) -> None:
    """Gymnasium's and SB3's checkers pass and warn about nothing."""
    env_id, kwargs = case
    with warnings.catch_warnings():  # gym.make says a v0 with a v1 beside it is out of date
        warnings.simplefilter("ignore", DeprecationWarning)
        envs = gym.make(env_id, **kwargs).unwrapped, gym.make(env_id, **kwargs).unwrapped
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(envs[0])
        sb3_check_env(envs[1])
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_env__same_seed_same_episode_other_seed_differs(case: tuple[str, dict]) -> None:
    """A seed replays patient, actions, noise and events; another seed gives another episode."""
    env_id, kwargs = case
    first = _rollout(gym.make(env_id, **kwargs), 3, 40)
    second = _rollout(gym.make(env_id, **kwargs), 3, 40)
    assert len(first) == len(second)
    for step, (a, b) in enumerate(zip(first, second, strict=True)):
        _same(a[0], b[0], f"obs {step}")
        assert a[1:4] == b[1:4]
        _same(a[4], b[4], f"info {step}")
    other = _rollout(gym.make(env_id, **kwargs), 4, 40)
    assert any(not np.array_equal(np.asarray(a[4][k]), np.asarray(b[4][k]))
               for a, b in zip(first, other, strict=False) for k in a[4]
               if np.asarray(a[4][k]).dtype.kind in "biuf")


@pytest.mark.parametrize("env_id", IDS)
def test_env__episode_is_the_same_in_another_process(env_id: str) -> None:
    """A seed gives the same rewards in a fresh interpreter (no hidden process state)."""
    code = ("import sys; sys.path.insert(0, 'tests/envs'); import toy_env; toy_env.register()\n"
            f"import gymnasium as gym, pkgym; e = gym.make({env_id!r}); e.reset(seed=11); "
            "e.action_space.seed(11); r = []\n"
            "for _ in range(30):\n"
            "    o, x, te, tr, i = e.step(e.action_space.sample()); r.append(x)\n"
            "    if te or tr: break\n"
            "print(repr([float(x) for x in r]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    here = [float(step[1]) for step in _rollout(gym.make(env_id), 11, 30)[1:]]
    assert eval(out) == here  # noqa: S307  (a list of floats printed by repr)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_vector_env__matches_single_envs_through_autoresets(case: tuple[str, dict],
                                                           mode: str) -> None:
    """Slot i of a vector env seeded s is a single env seeded s + i, across autoresets."""
    env_id, kwargs = case
    n = 3
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       autoreset_mode=mode, **kwargs)
    assert vec.metadata["autoreset_mode"].value == mode
    singles = [gym.make(env_id, **kwargs).unwrapped for _ in range(n)]
    obs, info = vec.reset(seed=100)
    expected = [env.reset(seed=100 + i) for i, env in enumerate(singles)]
    vec.action_space.seed(7)
    done, reset, after = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool), 0
    for step in range(400):
        after += bool(reset.all())
        if after > 3:
            break
        for i, (single_obs, single_info) in enumerate(expected):
            _same({k: obs[k][i] for k in obs}, single_obs, f"obs step {step} slot {i}")
            _same({k: info[k][i] for k in single_info}, single_info, f"info step {step} slot {i}")
        actions = vec.action_space.sample()
        obs, reward, terminated, truncated, info = vec.step(actions)
        expected = []
        for i, env in enumerate(singles):
            if mode == "NextStep" and done[i]:  # the finished slot resets; its action is ignored
                assert (reward[i], terminated[i], truncated[i]) == (0.0, False, False)
                expected.append(env.reset())
                reset[i] = True
                continue
            single_obs, single_reward, single_term, single_trunc, single_info = env.step(
                actions[i])
            assert (reward[i], terminated[i], truncated[i]) == (single_reward, single_term,
                                                                 single_trunc)
            if mode == "SameStep" and (single_term or single_trunc):
                assert info["_final_obs"][i] and info["_final_info"][i]
                final, final_info = info["final_obs"][i], info["final_info"]
                _same({k: final[k] for k in single_obs}, single_obs, f"final_obs slot {i}")
                _same({k: final_info[k][i] for k in single_info}, single_info,
                      f"final_info slot {i}")
                single_obs, single_info = env.reset()
                reset[i] = True
            expected.append((single_obs, single_info))
        done = terminated | truncated
    assert reset.all(), "the rollout must cross an autoreset in every slot"


@pytest.mark.parametrize("env_id", IDS)
def test_vector_env__pins_a_cohort_as_single_envs_pin_its_rows(env_id: str) -> None:
    """``options={"patients": cohort}`` gives slot i the patient a single env pins from row i."""
    n = 3
    vec = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point")
    rows = env_cohort(vec.unwrapped.core.settings, n, 0, TRAINING).to_dict("records")
    obs, info = vec.reset(seed=5, options={"patients": rows})
    for i, row in enumerate(rows):
        single_obs, single_info = gym.make(env_id).unwrapped.reset(seed=5 + i,
                                                                    options={"patient": row})
        _same({k: obs[k][i] for k in obs}, single_obs, f"pinned obs slot {i}")
        _same({k: info[k][i] for k in single_info}, single_info, f"pinned info slot {i}")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_env__bad_actions_raise_an_error_naming_the_action(case: tuple[str, dict]) -> None:
    """Out-of-range, non-integer, NaN and mis-shaped actions are one-line errors."""
    env_id, kwargs = case
    env = gym.make(env_id, **kwargs).unwrapped
    env.reset(seed=0)
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
        bad: list[Any] = [int(space.n), -1, 1.5, np.array([0, 1])]
    elif isinstance(space, gym.spaces.Box):
        bad = [np.full(space.shape, np.nan), space.high + 1.0, np.zeros(space.shape[0] + 1)]
    else:
        bad = [np.full(len(space.nvec), -1), np.append(space.nvec, 1)]
    for action in bad:
        with pytest.raises(ValueError, match="action") as error:
            env.step(action)
        assert "\n" not in str(error.value)


@pytest.mark.parametrize("env_id", IDS)
def test_env__renders_text_and_image_and_exports_a_nonmem_dataset(env_id: str) -> None:
    """Text and image renders have content; the episode is a NONMEM-style table."""
    text_env = gym.make(env_id, render_mode="ansi")
    _rollout(text_env, 2, 3)
    assert isinstance(text_env.render(), str) and text_env.render()
    table = text_env.unwrapped.episode_dataset()
    assert list(table.columns[:8]) == NONMEM_COLUMNS
    assert (table["EVID"] == 1).any() and table["ID"].notna().all()
    assert set(table["MDV"]) <= {0, 1}
    assert all(times.is_monotonic_increasing for _, times in table.groupby("ID")["TIME"])
    image_env = gym.make(env_id, render_mode="rgb_array")
    _rollout(image_env, 2, 3)
    image = image_env.render()
    assert image.ndim == 3 and image.shape[2] == 3 and image.std() > 0
