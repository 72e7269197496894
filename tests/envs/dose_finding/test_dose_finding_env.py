"""``pkgym/DoseFinding-v0``: the phase I trial it runs (the shared contract: test_contract.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from contract import rollout_episode as rollout

import pkgym  # noqa: F401
from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario, DoseFindingReward
from pkgym.models.dose_toxicity import RandomDoseToxicity
from pkgym.scenarios import load_scenario
from pkgym.trials import BoinDesign, DoseFindingScenario, TrialState, simulate_trials

ENV_ID = "pkgym/DoseFinding-v0"
TRUTH = (0.10, 0.25, 0.40, 0.55, 0.70)
"""The classic scenario of scenarios/dose_finding_classic.yaml: true MTD level 1 (0.25)."""
SHORT = DoseFindingEnvScenario(max_sample_size=12)
STOP = 5


def make_vec(n: int, **kwargs: object) -> gym.vector.VectorEnv:
    """The native vector env of ``n`` trials."""
    return gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)


def test_dose_finding_env__staying_at_the_start_level_runs_max_cohorts_steps() -> None:
    """A pinned truth and 'always level 0': 12 steps, 36 patients at level 0, selection 0."""
    env = gym.make(ENV_ID)
    pin = {"true_dlt_probabilities": TRUTH, "id": 5}
    trace = rollout(env, 1, [0] * 20, options={"patient": pin})
    assert len(trace) - 1 == 12
    assert [t[2] for t in trace[1:]] == [False] * 11 + [True]
    last = trace[-1][4]
    assert last["selected"] == 0 and last["true_mtd"] == 1 and not last["correct_selection"]
    assert last["true_dlt_probabilities"].tolist() == list(TRUTH) and last["trial_id"] == 5
    assert trace[-1][0]["patients"].tolist() == [36.0, 0, 0, 0, 0]
    assert [t[4]["selected"] for t in trace[:-1]] == [-1] * 12


def test_dose_finding_env__recommendation_is_the_last_assigned_action() -> None:
    """The step after the trial is full recommends its (assigned) level and pays the bonus."""
    env = gym.make(ENV_ID, scenario=DoseFindingEnvScenario(true_dlt_probabilities=TRUTH))
    trace = rollout(env, 2, [1] * 11 + [1])
    assert trace[-1][4]["selected"] == 1 and trace[-1][4]["correct_selection"]
    assert trace[-1][1] == 1.0 and trace[-1][0]["patients"].sum() == 36


def test_dose_finding_env__never_recommends_a_level_no_patient_received() -> None:
    """Asking for level 4 after 36 patients at level 0 recommends level 0, the highest tried."""
    env = gym.make(ENV_ID)
    trace = rollout(env, 3, [0] * 11 + [4], options={"patient": {"true_dlt_probabilities": TRUTH}})
    assert trace[-1][4]["requested_level"] == 4 and trace[-1][4]["selected"] == 0


def test_dose_finding_env__stop_ends_the_trial_without_a_recommendation() -> None:
    """Action n_doses terminates at once with selected -1, no bonus, no new patients."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(STOP)
    assert terminated and not truncated and reward == 0.0
    assert info["selected"] == -1 and info["requested_level"] == STOP
    assert info["n_patients"] == 3 and not info["correct_selection"]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


@pytest.mark.parametrize(("skipping", "expected"), [(False, [1, 2, 2]), (True, [4, 4, 2])])
def test_dose_finding_env__skipping_is_blocked_unless_allowed(skipping: bool,
                                                              expected: list) -> None:
    """Asking for level 4 from level 0 gives level 1, then 2; allow_skipping gives 4."""
    env = gym.make(ENV_ID, scenario=DoseFindingEnvScenario(allow_skipping=skipping))
    env.reset(seed=0, options={"patient": {"true_dlt_probabilities": [0.01] * 5}})
    infos = [env.step(4)[4], env.step(4)[4], env.step(2)[4]]
    assert [i["assigned_level"] for i in infos] == expected
    assert [i["requested_level"] for i in infos] == [4, 4, 2]


def test_dose_finding_env__reward_is_the_weighted_overdose_dlts_and_selection() -> None:
    """Each reward = -w_over x new patients above MTD - w_dlt x new DLTs + bonus at the end."""
    weights = DoseFindingReward(correct_selection=2.0, overdose_per_patient=0.05,
                                dlt_per_patient=0.1)
    env = gym.make(ENV_ID, reward_fn=weights)
    pin = {"true_dlt_probabilities": [0.3, 0.5, 0.6, 0.7, 0.8]}
    trace = rollout(env, 9, [1, 2, 3, 3, 2, 1, 1, 0, 0, 0, 1, 0], options={"patient": pin})
    for (_, _, _, _, before), (_, reward, _, _, after) in zip(trace, trace[1:], strict=False):
        expected = (-0.05 * (after["patients_above_mtd"] - before["patients_above_mtd"])
                    - 0.1 * (after["n_dlts"] - before["n_dlts"])
                    + 2.0 * after["correct_selection"])
        assert reward == pytest.approx(expected, abs=1e-12)
    last = trace[-1][4]
    assert last["patients_above_mtd"] == 3 * 8 and last["selected"] == 0
    total = sum(t[1] for t in trace[1:])
    assert total == pytest.approx(2.0 - 0.05 * 24 - 0.1 * (last["n_dlts"] - trace[0][4]["n_dlts"]))


def test_dose_finding_env__continuous_actions_map_to_levels_and_stop() -> None:
    """Action -1 is level 0, -0.2 is round(2) = level 2 (after level 0), 1 stops."""
    env = gym.make(ENV_ID, continuous=True, scenario=DoseFindingEnvScenario(allow_skipping=True))
    env.reset(seed=0)
    levels = [env.step(np.array([a], np.float32))[4]["assigned_level"] for a in (-1.0, -0.2)]
    assert levels == [0, 2]
    _, _, terminated, _, info = env.step(np.array([1.0], np.float32))
    assert terminated and info["selected"] == -1


def _boin_actions(design: BoinDesign, obs: dict, n_doses: int) -> np.ndarray:
    """The env actions of a BOIN design: stop, recommend when full, else the next dose."""
    state = TrialState.from_counts(obs["patients"].astype(np.int64),
                                   obs["dlts"].astype(np.int64), obs["level"].argmax(axis=1))
    selected = design.select_mtd(state)
    recommend = np.where(selected < 0, n_doses, selected)
    full = obs["enrolled_fraction"][:, 0] >= 1.0
    actions = np.where(full, recommend, design.next_dose(state))
    return np.where(design.stop(state), n_doses, actions)


def _run_boin(vec: gym.vector.VectorEnv, n: int, seed: int) -> dict[str, np.ndarray]:
    """Run one BOIN trial per slot to its end; patients, DLTs and selection of each."""
    design, obs = BoinDesign(target=0.3), vec.reset(seed=seed)[0]
    out = {"patients": np.zeros((n, 5), np.int64), "dlts": np.zeros((n, 5), np.int64),
           "selected": np.full(n, -2)}
    ended = np.zeros(n, bool)
    while not ended.all():
        obs, _, terminated, _, info = vec.step(_boin_actions(design, obs, 5))
        new = terminated & ~ended
        out["patients"][new] = obs["patients"][new]
        out["dlts"][new] = obs["dlts"][new]
        out["selected"][new] = info["selected"][new]
        ended |= terminated
    return out


def test_dose_finding_env__boin_through_the_env_equals_simulate_trials_exactly(
        monkeypatch) -> None:  # noqa: ANN001
    """Fed simulate_trials' DLT uniforms, BOIN via the env gives the same trials, one by one."""
    n, seed = 300, 11
    scenario = DoseFindingScenario(true_dlt_probabilities=TRUTH, target_dlt_rate=0.3)
    reference = simulate_trials(BoinDesign(target=0.3), scenario, n, seed)
    vec = make_vec(n, scenario=DoseFindingEnvScenario(true_dlt_probabilities=TRUTH))
    core = vec.unwrapped.core

    def trial_draws(streams) -> dict:  # noqa: ANN001
        k = int(streams.seed_entropy) - seed  # slot k is seeded with seed + k
        child = np.random.SeedSequence(seed, spawn_key=(k,))
        return {"truth": np.asarray(TRUTH), "uniforms": np.random.default_rng(child).random(
            (scenario.max_cohorts, scenario.cohort_size))}

    monkeypatch.setattr(core, "episode_draws", trial_draws)
    ours = _run_boin(vec, n, seed)
    np.testing.assert_array_equal(ours["patients"], reference.patients)
    np.testing.assert_array_equal(ours["dlts"], reference.dlts)
    np.testing.assert_array_equal(ours["selected"], reference.selected)


def test_dose_finding_env__boin_selection_frequencies_match_simulate_trials() -> None:
    """With the env's own DLT draws, BOIN's selection shares agree within 4 MC SEs."""
    n = 4000
    scenario = DoseFindingScenario(true_dlt_probabilities=TRUTH, target_dlt_rate=0.3)
    reference = simulate_trials(BoinDesign(target=0.3), scenario, n, seed=5).selected
    vec = make_vec(n, scenario=DoseFindingEnvScenario(true_dlt_probabilities=TRUTH))
    ours = _run_boin(vec, n, seed=123)["selected"]
    for level in range(-1, 5):
        a, b = (ours == level).mean(), (reference == level).mean()
        se = np.sqrt((a * (1 - a) + b * (1 - b)) / n)
        assert abs(a - b) <= 4 * se + 1e-9, (level, a, b)


def test_dose_finding_vector_env__pins_trials_and_random_truths_have_their_mtd() -> None:
    """options['patients'] pins each slot's curve; drawn curves' MTD is the closest level."""
    vec = make_vec(3)
    pins = [{"true_dlt_probabilities": TRUTH}, None, {"true_dlt_probabilities": [0.3] * 5}]
    _, info = vec.reset(seed=0, options={"patients": pins})
    assert info["true_dlt_probabilities"][0].tolist() == list(TRUTH)
    assert info["true_mtd"].tolist()[::2] == [1, 0]
    drawn = info["true_dlt_probabilities"][1]
    assert info["true_mtd"][1] == np.abs(drawn - 0.3).argmin()
    assert np.all(np.diff(drawn) > 0)


@pytest.mark.parametrize("action", [6, -1, 1.5, np.array([1, 2])])
def test_dose_finding_env__bad_actions_raise_a_clear_error(action) -> None:  # noqa: ANN001
    """Out-of-range, non-integer or wrongly shaped actions name what is allowed."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(action)


@pytest.mark.parametrize("action", [np.nan, 1.5, -3.0])
def test_dose_finding_env__bad_continuous_actions_raise(action: float) -> None:
    """NaN or out-of-range Box actions fail, naming the mapping."""
    env = gym.make(ENV_ID, continuous=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be finite and in \[-1, 1\]"):
        env.step(np.array([action], np.float32))


@pytest.mark.parametrize(("fields", "message"), [
    ({"n_doses": 1}, "n_doses"), ({"cohort_size": 0}, "cohort_size"),
    ({"max_sample_size": 10}, "max_sample_size"), ({"start_level": 5}, "start_level"),
    ({"true_dlt_probabilities": (0.1, 0.2)}, "true_dlt_probabilities"),
    ({"true_dlt_probabilities": (0.5, 0.4, 0.6, 0.7, 0.8)}, "non-decreasing"),
    ({"n_doses": 4}, "random_truth.n_doses")])
def test_dose_finding_env_scenario__bad_fields_are_named(fields: dict, message: str) -> None:
    """Each invalid scenario field raises a ValueError naming it."""
    with pytest.raises(ValueError, match=message):
        DoseFindingEnvScenario(**fields)
    with pytest.raises(ValueError, match="reward.overdose_per_patient"):
        DoseFindingReward(overdose_per_patient=-1.0)


def test_dose_finding_env__bad_pins_and_unknown_yaml_keys_are_errors(tmp_path) -> None:  # noqa: ANN001
    """Wrong-length or unknown pinned fields and unknown YAML keys fail, naming the field."""
    env = gym.make(ENV_ID)
    with pytest.raises(ValueError, match="n_doses=5 values, got 3"):
        env.reset(seed=0, options={"patient": {"true_dlt_probabilities": [0.1, 0.2, 0.3]}})
    with pytest.raises(ValueError, match="unknown patient field"):
        env.reset(seed=0, options={"patient": {"true_dlt_probabilities": TRUTH, "mtd": 1}})
    with pytest.raises(ValueError, match="lie in"):
        env.reset(seed=0, options={"patient": {"true_dlt_probabilities": [0.0] * 5}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: pkgym/DoseFinding-v0\nrandom_truth: {sigma: 3}\n")
    with pytest.raises(ValueError, match="random_truth.sigma"):
        gym.make(ENV_ID, scenario=str(bad))


def test_dose_finding_env__yaml_scenario_is_the_defaults() -> None:
    """scenarios/dose_finding_env.yaml equals DoseFindingEnvScenario() (random truth)."""
    scenario = load_scenario("scenarios/dose_finding_env.yaml")
    assert scenario == DoseFindingEnvScenario()
    assert scenario.true_dlt_probabilities is None
    assert scenario.random_truth == RandomDoseToxicity()


def test_dose_finding_env__renders_text_and_image_and_writes_a_nonmem_dataset() -> None:
    """Ansi is a table per level; rgb is an image; the dataset has a dose and a DLT per patient."""
    env = gym.make(ENV_ID, render_mode="ansi")
    env.reset(seed=1, options={"patient": {"true_dlt_probabilities": TRUTH}})
    env.step(1)
    info = env.step(2)[4]
    text = env.render()
    assert text.startswith("trial: 9/36 patients, cohort 3/12")
    assert "    2   0.250   3" in text
    image = gym.make(ENV_ID, render_mode="rgb_array")
    image.reset(seed=1)
    frame = image.render()
    assert frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
    data = env.unwrapped.episode_dataset()
    doses, outcomes = data[data["EVID"] == 1], data[data["EVID"] == 0]
    assert doses["AMT"].tolist() == [1.0] * 3 + [2.0] * 3 + [3.0] * 3
    assert doses["TIME"].tolist() == [0.0] * 3 + [28.0] * 3 + [56.0] * 3
    assert outcomes["DV"].sum() == info["n_dlts"] and set(outcomes["DV"]) <= {0.0, 1.0}
    assert (outcomes["TIME"].to_numpy() - doses["TIME"].to_numpy()).tolist() == [28.0] * 9
    assert list(data.columns[:8]) == ["ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT"]
    assert {"DOSE_LEVEL", "COHORT", "TRIAL"} <= set(data.columns)
