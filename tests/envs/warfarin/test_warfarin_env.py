"""``pkgym/Warfarin-v0``: the model, monitoring, noise, reward and events (contract elsewhere)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from warfarin_helpers import ENV_ID, ETAS, EVENTFUL, PGX_ID, rollout

import pkgym  # noqa: F401
from pkgym.envs.warfarin.clinic import (
    EventHazards,
    InrRangeReward,
    MonitoringSchedule,
    WarfarinScenario,
)
from pkgym.models.warfarin import Hamberg2007, Hamberg2010
from pkgym.models.warfarin_kernel import simulate_inr
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, VKORC1_GENOTYPES


def assert_same_info(first: dict, second: dict) -> None:
    """Two single-env infos hold the same keys and values (arrays included)."""
    assert first.keys() == second.keys()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def true_inr_course(env: gym.Env, doses: np.ndarray, options: dict | None = None,
                    seed: int = 0) -> np.ndarray:
    """The true INR each morning (info["inr"]) for a fixed sequence of action levels."""
    return np.array([info["inr"] for _, _, info in rollout(env, seed, doses, options)])


def measured_days(trace: list) -> list[int]:
    """Mornings on which the INR was measured, from the infos of a rollout."""
    return [info["day"] for _, _, info in trace if info["inr_tested"]]


def report(true_inr: np.ndarray) -> np.ndarray:
    """The lab's noise-free INR: rounded half up to one decimal, as float32."""
    return (np.floor(np.asarray(true_inr) * 10.0 + 0.5) / 10.0).astype(np.float32)


def patient_parameters(model: Hamberg2010 | Hamberg2007, patients: list[dict]):  # noqa: ANN201
    """The model's parameters for pinned patients, computed without the env."""
    cyp = np.array([CYP2C9_DIPLOTYPES.index(p["cyp2c9"]) for p in patients])
    vk = np.array([VKORC1_GENOTYPES.index(p["vkorc1"]) for p in patients])
    names = model.variability.eta_columns
    etas = np.array([[p.get(name, 0.0) for name in names] for p in patients])
    return model.parameters(cyp, vk, np.array([p["age_years"] for p in patients]), etas)


# ----- env checkers and determinism ------------------------------------------------------------


# ----- vector env ------------------------------------------------------------------------------


def test_warfarin_vector_env__pins_patients_from_a_dataframe(warfarin_patient: dict) -> None:
    """options["patients"] pins one patient per slot: covariates, genotype, truth and INR course."""
    rows = [warfarin_patient, {**warfarin_patient, "cyp2c9": "*2/*2", "vkorc1": "G/G",
                               "age_years": 80.0, "race": "black", "id": 43},
            {**warfarin_patient, "cyp2c9": "*1/*1", "eta_CL": -0.4, "id": 44}]
    vec = gym.make_vec(PGX_ID, num_envs=3, vectorization_mode="vector_entry_point")
    obs, info = vec.reset(seed=0, options={"patients": pd.DataFrame(rows)})
    params = patient_parameters(Hamberg2010(), rows)
    np.testing.assert_allclose(info["clearance_l_per_h"], params.clearance_l_per_h, rtol=1e-12)
    np.testing.assert_allclose(info["ec50_mg_per_l"], params.ec50_mg_per_l, rtol=1e-12)
    assert info["patient_id"].tolist() == [42, 43, 44]
    assert [np.flatnonzero(g).tolist() for g in obs["genotype"]] == [[2, 8], [3, 6], [0, 8]]
    assert obs["covariates"][1, [0, 6]].tolist() == [80.0, 1.0]  # age, race "black"
    inrs = [info["inr"]]
    for _ in range(6):
        inrs.append(vec.step(np.full(3, 12))[4]["inr"])
    expected, _ = simulate_inr(params, Hamberg2010().structure, np.full((3, 6), 6.0))
    np.testing.assert_allclose(np.array(inrs).T, expected, rtol=1e-12)


# ----- the patient and the pharmacology --------------------------------------------------------
def test_warfarin_env__pinned_patient_has_hamberg_parameters_and_exact_inr_course(
        warfarin_patient: dict, quiet_clinic: WarfarinScenario, rng) -> None:  # noqa: ANN001
    """A pinned patient's true CL, V, EC50 and INR course are Hamberg 2010's, to 1e-12."""
    env = gym.make(ENV_ID, scenario=quiet_clinic)
    levels = rng.integers(0, 31, size=40)
    trace = rollout(env, 0, levels, {"patient": warfarin_patient})
    info = trace[0][2]
    params = patient_parameters(Hamberg2010(), [warfarin_patient])
    for key in ("clearance_l_per_h", "central_volume_l", "ec50_mg_per_l", "mtt1_h", "mtt2_h"):
        assert info[key] == pytest.approx(getattr(params, key)[0], rel=1e-12), key
    cl = (0.174 + 0.0422) * (1 - 0.00571 * (64 - 71)) * np.exp(0.2)  # *1/*3, age 64, eta 0.2
    assert info["clearance_l_per_h"] == pytest.approx(cl, rel=1e-12)
    assert (info["patient_id"], info["cyp2c9"], info["vkorc1"]) == (42, 2, 2)
    expected_inr, expected_conc = simulate_inr(params, Hamberg2010().structure,
                                               0.5 * levels[None, :].astype(float))
    np.testing.assert_allclose([i["inr"] for _, _, i in trace], expected_inr[0],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose([i["s_warfarin_mg_per_l"] for _, _, i in trace],
                               expected_conc[0], rtol=1e-12, atol=1e-15)
    assert [i["dose_mg"] for _, _, i in trace[1:]] == (0.5 * levels).tolist()


def test_warfarin_env__hamberg2007_scenario_runs_its_own_model(warfarin_patient: dict) -> None:
    """model="hamberg2007" gives the 2007 INR course (to 1e-12), unlike 2010's, same doses."""
    covariates = {k: v for k, v in warfarin_patient.items() if k not in ETAS}
    levels = np.array([20] * 3 + [10] * 25)
    courses = {}
    for name, model in (("hamberg2010", Hamberg2010()), ("hamberg2007", Hamberg2007())):
        patient = {**covariates, **dict.fromkeys(model.variability.eta_columns, 0.0)}
        env = gym.make(ENV_ID, scenario=WarfarinScenario(model=name))
        courses[name] = true_inr_course(env, levels, {"patient": patient})
        expected, _ = simulate_inr(patient_parameters(model, [patient]), model.structure,
                                   0.5 * levels[None, :].astype(float))
        np.testing.assert_allclose(courses[name], expected[0], rtol=1e-12, atol=1e-12)
    assert np.abs(courses["hamberg2007"] - courses["hamberg2010"]).max() > 0.2
    assert courses["hamberg2007"][-1] > 1.5 and courses["hamberg2010"][-1] > 1.5


# ----- what the clinic sees --------------------------------------------------------------------
def test_warfarin_env__observation_holds_only_what_the_clinic_knows(
        warfarin_patient: dict) -> None:
    """No genotype or true parameters in Warfarin-v0; PGx adds the pinned patient's one-hots."""
    clinic = {"covariates", "doses_mg", "inr_days", "inr_values", "inr_mask", "day",
              "days_since_last_inr", "days_to_next_inr"}
    obs, info = gym.make(ENV_ID).reset(seed=0, options={"patient": warfarin_patient})
    assert set(obs) == clinic and "clearance_l_per_h" in info
    # age, female, weight, height, race one-hot (white, asian, black, other), amiodarone, inducer
    assert obs["covariates"].tolist() == [64.0, 1.0, 72.0, 165.0, 0, 1, 0, 0, 1.0, 0.0]
    pgx, _ = gym.make(PGX_ID).reset(seed=0, options={"patient": warfarin_patient})
    assert set(pgx) == clinic | {"genotype"}
    assert np.flatnonzero(pgx["genotype"]).tolist() == [2, 6 + 2]  # *1/*3, then A/A
    assert pgx["genotype"].sum() == 2.0


def test_warfarin_env__default_schedule_tests_on_days_0_3_5_8_11_14_then_weekly(
        quiet_clinic: WarfarinScenario) -> None:
    """With no warfarin (INR out of range) INR is measured on 0, 3, 5, 8, 11, 14, 21, 28, ..."""
    env = gym.make(ENV_ID, scenario=quiet_clinic)
    trace = rollout(env, 0, [0] * 60)
    days = [0, 3, 5, 8, 11, 14, 21, 28, 35, 42, 49, 56]
    assert measured_days(trace) == days
    obs, info = trace[0][0], trace[0][2]
    assert info["inr_tested"] and info["inr_measured"] == pytest.approx(1.0)
    assert obs["inr_mask"].sum() == 1 and obs["inr_values"][0] == 1.0 and obs["inr_days"][0] == 0
    final = trace[-1][0]
    assert final["inr_days"][:len(days)].tolist() == days and final["inr_mask"].sum() == len(days)
    assert trace[15][0]["days_since_last_inr"][0] == 1 and trace[15][0]["days_to_next_inr"][0] == 6
    noisy = rollout(gym.make(ENV_ID), 0, [0] * 60)
    counts = [int(obs["inr_mask"].sum()) for obs, _, _ in noisy]
    assert np.diff(counts).tolist() == [int(info["inr_tested"]) for _, _, info in noisy[1:]]
    for obs, _, info in noisy:
        n = int(obs["inr_mask"].sum())
        assert (obs["days_since_last_inr"][0] == 0.0) == info["inr_tested"]
        if info["inr_tested"]:
            assert obs["inr_days"][n - 1] == info["day"]
            assert obs["inr_values"][n - 1] == np.float32(info["inr_measured"])
    values = noisy[-1][0]["inr_values"][:counts[-1]]
    assert len(set(values.tolist())) > 3  # noisy results scatter around the true INR of 1


def test_warfarin_env__schedule_extends_after_in_range_results(quiet_clinic: WarfarinScenario
                                                               ) -> None:
    """Each next test day follows MonitoringSchedule from the measured INRs (up to 4 weeks)."""
    patient = {"age_years": 64.0, "is_female": 0, "weight_kg": 80.0, "height_cm": 178.0,
               "race": "white", "cyp2c9": "*1/*1", "vkorc1": "G/A", "amiodarone": 0,
               "enzyme_inducer": 0, **dict.fromkeys(ETAS, 0.0)}
    env = gym.make(ENV_ID, scenario=quiet_clinic)
    obs = rollout(env, 0, [10] * 90, {"patient": patient})[-1][0]
    days = obs["inr_days"][obs["inr_mask"] > 0].astype(int)
    values = obs["inr_values"][obs["inr_mask"] > 0]
    streak, schedule = 0, MonitoringSchedule()
    for day, value, next_day in zip(days[:-1], values[:-1], days[1:], strict=True):
        streak = streak + 1 if 2.0 <= value <= 3.0 else 0
        assert next_day == schedule.next_test_day(np.array([day]), np.array([streak]))[0]
    assert np.diff(days).max() == 28


def test_warfarin_env__chosen_test_interval_sets_the_next_test_and_each_test_costs() -> None:
    """A choice k on a test morning puts the next test k days on; others are ignored; -test_cost."""
    scenario = WarfarinScenario(inr_assay_log_sd=0.0, events=EventHazards(enabled=False),
                                reward=InrRangeReward(test_cost=0.7))
    env = gym.make(ENV_ID, scenario=scenario, choose_test_days=True)
    choices = [3, 0, 0, 0, 1, 0, 6] + [0] * 13  # on test days 0, 4, 6: 4, 2, 7 days to the next
    trace = rollout(env, 0, [np.array([0, k]) for k in choices])
    assert measured_days(trace) == [0, 4, 6, 13, 14, 15, 16, 17, 18, 19, 20]
    assert trace[1][0]["days_to_next_inr"][0] == 3
    for (_, _, before), (_, reward, _) in zip(trace[:-1], trace[1:], strict=True):
        # INR stays 1 without warfarin: -1 per INR unit below 2, -1 below 1.5, -0.7 per test
        assert reward == pytest.approx(-2.0 - 0.7 * before["inr_tested"], abs=1e-12)


# ----- assay noise -----------------------------------------------------------------------------
def test_warfarin_env__assay_noise_is_log_normal_sd_020_and_never_changes_the_patient() -> None:
    """log(measured / true) has SD ~0.20; noise off: rounded truth; patients unchanged."""
    quiet = WarfarinScenario(n_days=20, inr_assay_log_sd=0.0)
    noisy = WarfarinScenario(n_days=20)
    runs = {}
    for name, scenario in (("noisy", noisy), ("quiet", quiet)):
        vec = gym.make_vec(ENV_ID, num_envs=300, vectorization_mode="vector_entry_point",
                           scenario=scenario)
        obs, info = vec.reset(seed=7)
        infos, covariates = [info], obs["covariates"]
        for _ in range(20):
            infos.append(vec.step(np.full(300, 12))[4])
        inr = np.array([i["inr"] for i in infos])
        tested = np.array([i["inr_tested"] for i in infos])
        measured = np.array([i["inr_measured"] for i in infos])
        runs[name] = (covariates, inr, measured[tested], inr[tested])
    np.testing.assert_array_equal(runs["noisy"][0], runs["quiet"][0])
    np.testing.assert_array_equal(runs["noisy"][1], runs["quiet"][1])
    _, _, measured, true = runs["quiet"]
    np.testing.assert_array_equal(measured.astype(np.float32), report(true))
    _, _, measured, true = runs["noisy"]
    log_ratio = np.log(measured / true)
    assert measured.size > 1500 and abs(log_ratio.mean()) < 0.02
    assert 0.19 < log_ratio.std() < 0.215


# ----- reward and events -----------------------------------------------------------------------
def expected_reward(weights: InrRangeReward, low: float, high: float, before: dict,
                    after: dict) -> float:
    """The env card's reward computed from the infos around one step."""
    inr = after["inr"]
    distance = max(low - inr, 0.0) + max(inr - high, 0.0)
    return (weights.in_range_bonus * (low <= inr <= high)
            - weights.distance_penalty_per_inr * distance
            - weights.high_inr_penalty * (inr > weights.high_inr_threshold)
            - weights.low_inr_penalty * (inr < weights.low_inr_threshold)
            - weights.bleeding_penalty * after["bleeding_event"]
            - weights.thromboembolism_penalty * after["thromboembolic_event"]
            - weights.test_cost * before["inr_tested"])


@pytest.mark.parametrize("weights", [
    InrRangeReward(),
    InrRangeReward(in_range_bonus=2.0, distance_penalty_per_inr=0.5, high_inr_threshold=3.5,
                   high_inr_penalty=5.0, low_inr_threshold=1.8, low_inr_penalty=0.25,
                   bleeding_penalty=100.0, thromboembolism_penalty=30.0, test_cost=0.4)])
def test_warfarin_env__reward_is_the_documented_formula(weights: InrRangeReward,
                                                       warfarin_patient: dict) -> None:
    """Reward = bonus in range - distance - high/low penalties - events - test cost, from info."""
    scenario = WarfarinScenario(target_inr=(2.0, 3.0), events=EVENTFUL, reward=weights)
    levels = np.r_[[30] * 8, [0] * 12, [12] * 30, [4] * 40]  # overshoot, fall, settle, fall
    trace = rollout(gym.make(ENV_ID, scenario=scenario), 5, levels,
                    {"patient": warfarin_patient})
    for (_, _, before), (_, reward, after) in zip(trace[:-1], trace[1:], strict=True):
        assert reward == pytest.approx(expected_reward(weights, 2.0, 3.0, before, after),
                                       abs=1e-12)
    infos = [info for _, _, info in trace[1:]]
    inr = np.array([i["inr"] for i in infos])
    assert (inr > 4).any() and (inr < 1.5).any() and ((inr >= 2) & (inr <= 3)).any()
    assert infos[-1]["bleeding_events"] > 0 and infos[-1]["thromboembolic_events"] > 0


def test_warfarin_env__events_follow_their_hazards_and_their_own_stream() -> None:
    """Huge rates give an event every day, counted; disabled none; the INR course never moves."""
    levels = np.full(30, 10)
    traces = {name: rollout(gym.make(ENV_ID, scenario=WarfarinScenario(events=events)), 2, levels)
              for name, events in (
                  ("default", EventHazards()),
                  ("bleeding", EventHazards(bleeding_per_year_in_range=1e4)),
                  ("clots", EventHazards(thromboembolism_per_year_in_range=1e4)),
                  ("off", EventHazards(bleeding_per_year_in_range=1e4,
                                       thromboembolism_per_year_in_range=1e4, enabled=False)))}
    last = {name: trace[-1][2] for name, trace in traces.items()}
    assert (last["bleeding"]["bleeding_events"], last["clots"]["thromboembolic_events"]) == (30, 30)
    assert all(info["bleeding_event"] for _, _, info in traces["bleeding"][1:])
    assert last["bleeding"]["thromboembolic_events"] == last["default"]["thromboembolic_events"]
    assert last["off"]["bleeding_events"] == last["off"]["thromboembolic_events"] == 0
    for trace in traces.values():
        for (obs, _, info), (ref_obs, _, ref_info) in zip(trace, traces["default"], strict=True):
            assert info["inr"] == ref_info["inr"]
            np.testing.assert_array_equal(obs["inr_values"], ref_obs["inr_values"])


@pytest.mark.parametrize("env_id", [ENV_ID, PGX_ID, "pkgym/Warfarin-v1"])
def test_step_one__the_same_as_the_base_step_of_row_0(env_id: str) -> None:
    """The core's single-env step gives the base's observation, reward, flags and info."""
    from pkgym.envs.base import DosingCore

    envs = [gym.make(env_id).unwrapped for _ in range(2)]
    steps = (envs[0].core.step_one, lambda d: DosingCore.step_one(envs[1].core, d))
    rng = np.random.default_rng(4)
    for env in envs:
        env.reset(seed=12)
    for _ in range(envs[0].core.settings.scenario.n_days):
        action = int(rng.integers(envs[0].action_space.n))
        mine, base = (step(env.core.decode_actions(action, env.continuous, 1))
                      for env, step in zip(envs, steps, strict=True))
        assert mine[1:4] == base[1:4] and type(mine[1]) is type(base[1])
        assert envs[0].core.records.reward[0] == envs[1].core.records.reward[0]
        for got, want in ((mine[0], base[0]), (mine[4], base[4])):
            assert got.keys() == want.keys()
            for key in got:
                assert np.array_equal(got[key], want[key]), key
    assert mine[3] is True
    with pytest.raises(RuntimeError, match="episode is over"):
        steps[0](envs[0].core.decode_actions(0, envs[0].continuous, 1))
