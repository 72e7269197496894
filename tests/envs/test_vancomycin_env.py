"""``pkgym/Vancomycin-v0``: the environment contract and the pharmacology it must reproduce."""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pkgym  # noqa: F401
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.models.vancomycin import Goti2018
from pkgym.sim import regular_schedule, simulate_linear

ENV_ID = "pkgym/Vancomycin-v0"


def rollout(env: gym.Env, seed: int, actions: list[int], options: dict | None = None) -> list:
    """Observations, rewards and infos of one episode with fixed actions."""
    obs, info = env.reset(seed=seed, options=options)
    trace = [(obs, 0.0, info)]
    for action in actions:
        obs, reward, _, _, info = env.step(action)
        trace.append((obs, reward, info))
    return trace


def assert_same_trace(first: list, second: list) -> None:
    """Two rollouts are identical (observations, rewards, infos)."""
    for (obs_a, r_a, info_a), (obs_b, r_b, info_b) in zip(first, second, strict=True):
        for key in obs_a:
            np.testing.assert_array_equal(obs_a[key], obs_b[key])
        assert r_a == r_b
        assert info_a == info_b


@pytest.mark.parametrize("continuous", [False, True])
def test_vancomycin_env__passes_both_env_checkers_without_warnings(continuous: bool) -> None:
    """Gymnasium's and Stable-Baselines3's env checkers pass and warn about nothing."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(gym.make(ENV_ID, continuous=continuous).unwrapped)
        sb3_check_env(gym.make(ENV_ID, continuous=continuous).unwrapped)
    assert [str(w.message) for w in caught] == []


def test_vancomycin_env__same_seed_same_episode_and_different_seed_differs(rng) -> None:  # noqa: ANN001
    """Resetting with one seed replays the episode exactly; another seed gives another one."""
    actions = rng.integers(0, 13, size=14).tolist()
    env = gym.make(ENV_ID)
    assert_same_trace(rollout(env, 3, actions), rollout(gym.make(ENV_ID), 3, actions))
    other = rollout(env, 4, actions)
    again = rollout(env, 3, actions)
    assert other[0][0]["covariates"].tolist() != again[0][0]["covariates"].tolist()


def test_vancomycin_env__episode_is_the_same_in_another_process() -> None:
    """A seed gives the same episode in a fresh interpreter (no hidden global state)."""
    code = ("import gymnasium as gym, pkgym; e = gym.make('pkgym/Vancomycin-v0'); e.reset(seed=11);"
            "print(sum(e.step(5)[1] for _ in range(14)))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    env = gym.make(ENV_ID)
    env.reset(seed=11)
    here = sum(env.step(5)[1] for _ in range(14))
    assert runs[0] == runs[1] and float(runs[0]) == pytest.approx(here, rel=1e-12)


def test_vancomycin_vector_env__matches_single_envs_step_by_step(rng) -> None:  # noqa: ANN001
    """Vector slot i with seed s is a single env with seed s + i, through the autoreset too."""
    n, steps = 4, 20  # 14 steps, the autoreset step, then 5 steps of the next patients
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    singles = [gym.make(ENV_ID) for _ in range(n)]
    actions = rng.integers(0, 13, size=(steps, n))
    obs, info = vec.reset(seed=100)
    expected = [env.reset(seed=100 + i) for i, env in enumerate(singles)]
    for step in range(steps + 1):
        for i, (single_obs, single_info) in enumerate(expected):
            for key in single_obs:
                np.testing.assert_allclose(obs[key][i], single_obs[key], rtol=1e-12)
            assert info["auc24_mg_h_per_l"][i] == pytest.approx(single_info["auc24_mg_h_per_l"])
        if step == steps:
            break
        obs, reward, terminated, truncated, info = vec.step(actions[step])
        expected = []
        for i, env in enumerate(singles):
            if step == 14:  # NEXT_STEP: the finished single env is reset, its action ignored
                expected.append(env.reset())
                assert reward[i] == 0.0
                continue
            single_obs, single_reward, _, single_trunc, single_info = env.step(actions[step, i])
            assert reward[i] == pytest.approx(single_reward, rel=1e-12)
            assert truncated[i] == single_trunc
            expected.append((single_obs, single_info))


def test_vancomycin_vector_env__same_step_autoreset_reports_final_observation() -> None:
    """In SAME_STEP mode the last step returns the new patient and keeps the final one in info."""
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point",
                       autoreset_mode="SameStep")
    assert vec.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    obs, _ = vec.reset(seed=0)
    for _ in range(14):
        obs, _, _, truncated, info = vec.step(np.full(3, 4))
    assert truncated.all() and info["_final_obs"].all()
    assert info["final_obs"][0]["time_h"][0] == 168.0 and obs["time_h"][0, 0] == 0.0
    assert info["final_info"]["time_h"][0] == 168.0


def test_vancomycin_env__typical_patient_auc24_equals_the_exact_solution(
        quiet_ward, typical_patient) -> None:  # noqa: ANN001
    """Typical patient, 1000 mg q12h: AUC24 = exact solution -> 2000/CL; exact levels."""
    env = gym.make(ENV_ID, scenario=quiet_ward)
    env.reset(seed=0, options={"patient": typical_patient})
    aucs = [env.step(4)[4]["auc24_mg_h_per_l"] for _ in range(14)]
    model = Goti2018()
    crcl = model.creatinine_clearance_ml_per_min(50.0, 70.0, 1.0, 0)
    params = model.linear_params(weight_kg=np.array([70.0]), on_dialysis=np.array([0]),
                                 creatinine_clearance_ml_per_min=np.array([crcl]))
    doses = regular_schedule(1, amount_mg=1000.0, every_h=12.0, n_doses=14, duration_h=1.0)
    grid = np.arange(0.0, 169.0, 12.0)
    exact = simulate_linear(params, doses, grid).auc_mg_h_per_l[0]
    expected = exact[1:] - np.concatenate([[0.0], exact[:-2]])
    np.testing.assert_allclose(aucs, expected, rtol=1e-9)
    assert aucs[-1] == pytest.approx(2000.0 / params.clearance_l_per_h[0], rel=0.01)
    obs = env.unwrapped.core.observe()
    level_times = obs["level_times_h"][0].astype(float)
    true = simulate_linear(params, doses, np.sort(level_times)).concentration_mg_per_l[0]
    np.testing.assert_allclose(np.sort(obs["levels_mg_per_l"][0]), np.sort(true), rtol=1e-5)
    assert level_times.tolist() == [35.5, 38.0]


def test_vancomycin_env__levels_carry_the_goti_residual_error() -> None:
    """Measured levels scatter around the truth with SD ~ sqrt(3.4^2 + (0.227 C)^2)."""
    vec = gym.make_vec(ENV_ID, num_envs=400, vectorization_mode="vector_entry_point")
    quiet = gym.make_vec(ENV_ID, num_envs=400, vectorization_mode="vector_entry_point",
                         scenario=VancomycinScenario(model=Goti2018(
                             proportional_error_sd=0.0, additive_error_sd_mg_per_l=0.0)))
    for env in (vec, quiet):
        env.reset(seed=5)
        for _ in range(4):
            obs = env.step(np.full(400, 4))[0]
        if env is vec:
            noisy = obs["levels_mg_per_l"][:, 0].astype(float)
        else:
            true = obs["levels_mg_per_l"][:, 0].astype(float)
    z = (noisy - true) / np.sqrt(3.4**2 + (0.227 * true) ** 2)
    assert abs(z.mean()) < 0.2 and 0.8 < z.std() < 1.2


def test_vancomycin_env__pinned_patient_is_observed_and_hidden_truth_stays_in_info(
        typical_patient) -> None:  # noqa: ANN001
    """A pinned patient's covariates appear in the observation; CL only in info."""
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0, options={"patient": {**typical_patient, "eta_CL": 0.5}})
    assert obs["covariates"].tolist() == [50.0, 0.0, 70.0, 175.0, 0.0]
    crcl = Goti2018().creatinine_clearance_ml_per_min(50.0, 70.0, 1.0, 0)
    assert info["clearance_l_per_h"] == pytest.approx(Goti2018().clearance(crcl, 0, 0.5))
    assert info["patient_id"] == 7
    assert not any("clearance_l" in key for key in obs)


@pytest.mark.parametrize(
    ("kwargs", "action", "match"),
    [({}, 13, "action"), ({}, -1, "action"), ({}, 2.5, "action"),
     ({"continuous": True}, np.array([np.nan]), "action"),
     ({"continuous": True}, np.array([1.5]), r"\[-1, 1\]")],
)
def test_vancomycin_env__bad_actions_raise_a_clear_error(kwargs: dict, action, match: str) -> None:  # noqa: ANN001
    """Out-of-range levels, non-integers, NaN and out-of-bounds continuous actions are errors."""
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.unwrapped.step(action)


def test_vancomycin_env__bad_patient_and_options_name_the_field(typical_patient) -> None:  # noqa: ANN001
    """Unknown patient fields, out-of-range covariates and unknown options are errors."""
    env = gym.make(ENV_ID)
    with pytest.raises(ValueError, match="weight"):
        env.reset(options={"patient": {**typical_patient, "weight_kg": 3.0}})
    with pytest.raises(ValueError, match="shoe_size"):
        env.reset(options={"patient": {**typical_patient, "shoe_size": 42}})
    with pytest.raises(ValueError, match="patien"):
        env.reset(options={"patien": {}})


def test_vancomycin_env__scenario_files_load_and_bad_fields_name_their_path(tmp_path) -> None:  # noqa: ANN001
    """Both shipped scenarios load; unknown keys and bad values fail naming path and allowed."""
    for name in ("vancomycin_adult", "vancomycin_renal_impairment"):
        gym.make(ENV_ID, scenario=f"scenarios/{name}.yaml").reset(seed=0)
    cases = {"reward:\n  aki_penalti: 3": "reward.aki_penalti: unknown field",
             "population: kids": "adult_inpatients", "interval_h: 7": "interval_h",
             "n_steps: many": "n_steps: expected an integer"}
    for text, message in cases.items():
        path = tmp_path / "bad.yaml"
        path.write_text(f"env: {ENV_ID}\n{text}\n")
        with pytest.raises(ValueError, match=message):
            gym.make(ENV_ID, scenario=str(path))


def test_vancomycin_env__exports_episode_as_nonmem_dataset_and_renders(typical_patient) -> None:  # noqa: ANN001
    """The episode is a NONMEM-style table; ansi and rgb_array renders work."""
    env = gym.make(ENV_ID, render_mode="ansi")
    env.reset(seed=2, options={"patient": typical_patient})
    for _ in range(8):
        env.step(4)
    table = env.unwrapped.episode_dataset()
    assert list(table.columns[:8]) == ["ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT"]
    assert (table["EVID"] == 1).sum() == 8 and (table["EVID"] == 0).sum() == 2
    assert table.loc[table["EVID"] == 1, "RATE"].eq(1000.0).all() and table["ID"].eq(7).all()
    assert "AUC24" in env.render()
    frame = gym.make(ENV_ID, render_mode="rgb_array")
    frame.reset(seed=2)
    frame.step(4)
    image = frame.render()
    assert image.ndim == 3 and image.shape[2] == 3 and image.std() > 0


def test_vancomycin_env__assay_noise_never_changes_the_patient() -> None:
    """Turning assay noise off leaves the patient and its true exposures unchanged."""
    quiet = VancomycinScenario(model=Goti2018(proportional_error_sd=0.0,
                                              additive_error_sd_mg_per_l=0.0))
    noisy_env, quiet_env = gym.make(ENV_ID), gym.make(ENV_ID, scenario=quiet)
    for env in (noisy_env, quiet_env):
        env.reset(seed=9)
    for _ in range(14):
        noisy = noisy_env.step(5)[4]
        clean = quiet_env.step(5)[4]
        assert noisy["auc24_mg_h_per_l"] == clean["auc24_mg_h_per_l"]
        assert noisy["creatinine_mg_per_dl"] == clean["creatinine_mg_per_dl"]
