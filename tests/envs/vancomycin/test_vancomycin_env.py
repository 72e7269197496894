"""``pkgym/Vancomycin-v0``: the pharmacology it must reproduce (the contract: test_contract.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401
from pkgym.envs.vancomycin.clinic import VancomycinScenario
from pkgym.models.vancomycin import Goti2018
from pkgym.sim import regular_schedule, simulate_linear

ENV_ID = "pkgym/Vancomycin-v0"


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
