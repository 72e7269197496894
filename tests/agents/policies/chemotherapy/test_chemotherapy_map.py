"""Docetaxel MAP dosing, paired evaluation of the baselines, and their registry and CLI."""

from __future__ import annotations

import functools
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pandas as pd
import pytest
from chemotherapy_helpers import (
    ENV_ID,
    LEVELS,
    MAP_ETAS,
    N_CYCLES,
    _label_doses,
    _observation,
    _patients,
    _row,
    _vector_env,
)

import pkgym  # noqa: F401  (registers pkgym/Chemotherapy-v0)
from agents.policies.chemotherapy.baselines import (
    FixedPercentPolicy,
    LabelRulesPolicy,
    forecast_nadir,
)
from agents.policies.chemotherapy.map import ChemoMapPolicy
from agents.policies.registry import CHEMOTHERAPY_BASELINES, make_policy
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.outcomes import CHEMOTHERAPY_OUTCOMES
from pkgym.evaluation.policy import Policy
from pkgym.models.tumour import Claret2009

# ----- MAP ----------------------------------------------------------------------------------

@functools.cache
def _map_rollout() -> tuple[ChemoMapPolicy, list[dict[str, np.ndarray]], np.ndarray,
                            dict[str, np.ndarray]]:
    """Three cycles of MAP dosing of the MAP_ETAS patients (assay SD 0.05 of log)."""
    scenario = ChemotherapyScenario(anc_assay_log_sd=0.05)
    env = _vector_env(len(MAP_ETAS), scenario=scenario)
    core = env.unwrapped.core
    policy = ChemoMapPolicy(scenario)
    patients = _patients(MAP_ETAS, eta_CL=0.0, eta_KL=-1.0)  # CL typical, as the MAP assumes
    observation, info = env.reset(seed=0, options={"patients": patients})
    policy.reset(len(MAP_ETAS))
    seen, decisions = [], []
    for _ in range(3):
        seen.append({k: np.array(v) for k, v in observation.items()})
        decisions.append(policy.act(observation, info))
        observation, _, terminated, truncated, info = env.step(
            core.encode_decisions(decisions[-1], False))
        assert not np.any(terminated | truncated)
    seen.append({k: np.array(v) for k, v in observation.items()})
    return policy, seen, np.array(decisions).T, info


def test_map_policy__estimates_the_friberg_etas_better_than_the_prior():
    """After 3 cycles the MAP etas (CIRC0, MTT, Slope) lie far closer to the truth than 0 does."""
    policy, seen, _, _ = _map_rollout()
    last = seen[-1]
    cycle = last["cycle"][:, 0].astype(np.int64)
    estimate = policy._estimate(last, policy._covariates(last), cycle)
    assert estimate.shape == MAP_ETAS.shape
    errors = np.linalg.norm(estimate - MAP_ETAS, axis=1)
    assert np.all(errors < 0.5 * np.linalg.norm(MAP_ETAS, axis=1)), (estimate, errors)
    for j in (0, 2):  # CIRC0 and Slope: every patient's true eta is far from 0
        assert np.all(np.abs(estimate[:, j] - MAP_ETAS[:, j]) < np.abs(MAP_ETAS[:, j]) / 2)


def test_map_policy__forecasts_the_next_nadir_better_than_the_prior():
    """Next cycle at 100%: the MAP forecast nadir is nearer the true one than the prior's."""
    policy, seen, _, info = _map_rollout()
    last = seen[-1]
    cycle = last["cycle"][:, 0].astype(np.int64)
    covariates = policy._covariates(last)
    dose = 75.0 * covariates["bsa_m2"]
    truth = forecast_nadir(info["model_parameters"], info["state"], info["time_h"], dose, 1.0,
                           21)
    forecasts = []
    for estimated in (policy._estimate(last, covariates, cycle), np.zeros(MAP_ETAS.shape)):
        etas = np.zeros((cycle.size, 7))
        etas[:, 1:4] = estimated
        params = policy.model.parameters(covariates, etas)
        states, times, _ = policy._history(params, last, cycle)
        np.testing.assert_allclose(times, info["time_h"])  # the same clock as the env
        forecasts.append(forecast_nadir(params, states, times, dose, 1.0, 21))
    map_error, prior_error = (np.abs(np.log(f / truth)) for f in forecasts)
    assert np.all(map_error < prior_error / 3), (truth, forecasts)
    np.testing.assert_allclose(forecasts[0], truth, rtol=0, atol=0.05)  # x10^9/L
    np.testing.assert_array_equal(forecasts[0] < 0.5, truth < 0.5)  # grade 4 foreseen


def test_map_policy__batched_equals_per_env_decisions():
    """The rollout's observations split into single-env batches give the same doses."""
    _, seen, decisions, _ = _map_rollout()
    assert np.unique(decisions).size >= 3  # individualised doses
    for i in range(len(MAP_ETAS)):
        alone = ChemoMapPolicy(ChemotherapyScenario(anc_assay_log_sd=0.05))
        alone.reset(1)
        np.testing.assert_array_equal([alone.act(_row(o, i))[0] for o in seen[:3]], decisions[i])


# ----- paired evaluation --------------------------------------------------------------------

PROGRESSING = ChemotherapyScenario(tumour=Claret2009(growth_per_week=0.03), scan_every_cycles=1)
"""Fast-growing tumours scanned every cycle: most, not all, patients progress within 6 cycles."""
EVALUATION_SEED = 1


@functools.cache
def _evaluation() -> tuple[pd.DataFrame, pd.DataFrame]:
    """30 held-out patients under oracle, fixed 100% and label rules (paired); and the cohort."""
    core = gymnasium.make(ENV_ID, scenario=PROGRESSING).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability, 30, seed=7)
    policies = [make_policy(name, core) for name in ("oracle", "fixed_100", "label")]
    results = evaluate(policies, ENV_ID, cohort, seed=EVALUATION_SEED,
                       env_kwargs={"scenario": PROGRESSING})
    return results, cohort


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_evaluate__oracle_avoids_grade4_and_label_stays_within_the_label_dose():
    """Oracle: the lowest grade 4 share (below fixed 100%); label: RDI <= 1, no more febrile."""
    results, cohort = _evaluation()
    assert results.groupby("policy").size().to_dict() == {"fixed_100": 30, "label": 30,
                                                          "oracle": 30}
    means = results.groupby("policy")[list(CHEMOTHERAPY_OUTCOMES.scores)].mean()
    grade4 = means["grade4_neutropenia"]
    assert grade4["oracle"] < grade4.drop("oracle").min()
    assert grade4["oracle"] < grade4["fixed_100"] - 0.3
    label = results[results["policy"] == "label"]
    assert np.all(label["relative_dose_intensity"] <= 1.0 + 1e-12)
    assert label["relative_dose_intensity"].min() < 1.0  # the rules did reduce someone
    febrile = results.groupby("policy")["febrile_neutropenia_events"].sum()
    assert febrile["label"] <= febrile["fixed_100"]
    fixed = results[results["policy"] == "fixed_100"]
    np.testing.assert_array_equal(fixed["relative_dose_intensity"], 1.0)
    hidden = results.groupby("policy")["reads_hidden_state"].first()
    assert hidden.to_dict() == {"fixed_100": False, "label": False, "oracle": True}


def test_evaluate__progressed_patients_keep_their_own_results():
    """Progressed patients: NaN steps after progression; return = their episode replayed alone."""
    results, cohort = _evaluation()
    fixed = results[results["policy"] == "fixed_100"].reset_index(drop=True)
    np.testing.assert_array_equal(fixed["id"], cohort["id"])
    doses = fixed[[f"dose_percent_{k}" for k in range(N_CYCLES)]].to_numpy()
    progressed = fixed[[f"progressed_{k}" for k in range(N_CYCLES)]].to_numpy()
    n_given = (~np.isnan(doses)).sum(axis=1)
    assert 0 < (fixed["progressed"] == 1).sum() < 30  # some, not all, progressed
    for i in range(30):
        k = n_given[i]
        assert np.all(~np.isnan(doses[i, :k])) and np.all(np.isnan(doses[i, k:]))
        if k < N_CYCLES:  # an early end is a progression at the patient's last cycle
            assert progressed[i, k - 1] == 1 and fixed["progressed"][i] == 1
        assert fixed["final_sld_relative"][i] == fixed[f"sld_relative_{k - 1}"][i]
    for i in np.flatnonzero(n_given < N_CYCLES)[:3]:  # replay progressed patients alone
        env = gymnasium.make(ENV_ID, scenario=PROGRESSING)
        env.reset(seed=EVALUATION_SEED + int(i), options={"patient": dict(cohort.iloc[i])})
        total, terminated, steps = 0.0, False, 0
        while not terminated:
            _, reward, terminated, truncated, _ = env.step(3)  # 100% of the label dose
            total, steps = total + reward, steps + 1
            assert not truncated
        assert steps == n_given[i]
        assert fixed["return"][i] == pytest.approx(total, rel=1e-12, abs=1e-12)


# ----- registry and CLI ---------------------------------------------------------------------

def test_make_policy__builds_every_chemotherapy_baseline():
    """Each name gives a Policy whose first decisions are dose levels of the env."""
    env = _vector_env(3)
    core = env.unwrapped.core
    observation, info = env.reset(seed=2)
    names = {}
    for name in CHEMOTHERAPY_BASELINES:
        policy = make_policy(name, core)
        assert isinstance(policy, Policy)
        policy.reset(3)
        decisions = np.asarray(policy.act(observation, info))
        assert decisions.shape == (3,) and np.all(np.isin(decisions, LEVELS)), (name, decisions)
        names[name] = policy.name
    assert names == {"label": "label", "map": "map_bayesian", "oracle": "oracle",
                     "fixed_100": "fixed_100"}
    assert isinstance(make_policy("fixed_100", core), FixedPercentPolicy)


def test_make_policy__delay_env_gets_dose_and_delay_pairs():
    """allow_delay=True: every baseline returns (n, 2), a dose level and a 0/1 delay, twice."""
    env = _vector_env(3, allow_delay=True)
    core = env.unwrapped.core
    observation, info = env.reset(seed=2)
    policies = {name: make_policy(name, core) for name in CHEMOTHERAPY_BASELINES}
    for policy in policies.values():
        policy.reset(3)
    for _ in range(2):  # cycle 0, then after one cycle (the MAP estimates from counts)
        decided = {name: np.asarray(p.act(observation, info)) for name, p in policies.items()}
        for name, decisions in decided.items():
            assert decisions.shape == (3, 2), name
            assert np.all(np.isin(decisions[:, 0], LEVELS)), (name, decisions)
            assert np.all(np.isin(decisions[:, 1], (0.0, 1.0))), (name, decisions)
        observation, _, _, _, info = env.step(core.encode_decisions(decided["label"], False))


@pytest.mark.slow  # trimmed from the default suite (10-minute budget); -m slow runs it
def test_cli_evaluate__label_and_oracle_write_chemotherapy_scores(tmp_path: Path):
    """``pkgym evaluate`` in a subprocess: summary.csv scores both policies on chemo outcomes."""
    result = subprocess.run(
        [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", ENV_ID, "--policy", "label",
         "--policy", "oracle", "--n-patients", "4", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert set(summary["policy"]) == {"label", "oracle"}
    for policy, group in summary.groupby("policy"):
        assert set(group["score"]) == set(CHEMOTHERAPY_OUTCOMES.scores), policy
    scores = summary.set_index(["policy", "score"])
    assert scores.loc[("oracle", "grade4_neutropenia"), "mean"] == 0.0
    assert bool(scores.loc[("oracle", "grade4_neutropenia"), "upper_bound"])
    assert scores.loc[("label", "relative_dose_intensity"), "mean"] <= 1.0
    assert len(pd.read_csv(tmp_path / "results.csv")) == 8


def test_label_rules__a_finished_episode_and_unmeasured_slots_are_handled():
    """A finished episode (cycle == n_cycles) gets a decision; unmeasured zeros are not low."""
    policy = LabelRulesPolicy(LEVELS)
    finished = _observation(N_CYCLES - 1)
    finished["cycle"][:] = N_CYCLES
    assert np.asarray(policy.act(finished)).shape == (1,)
    unmeasured = _observation(2)
    unmeasured["anc_mask"][0, 4:6], unmeasured["anc_1e9_per_l"][0, 4:6] = 0.0, 0.0
    assert _label_doses(LabelRulesPolicy(LEVELS), [unmeasured]) == [[100.0]]


def test_label_rules__reads_the_day_0_count_whatever_the_order_of_lab_days():
    """With lab_days (7, 14, 0) the pre-dose count is slot 2 of each cycle, not slot 0."""
    observation = _observation(1)
    observation["anc_1e9_per_l"][0, 3:6] = (4.0, 4.0, 1.0)  # day 7, day 14, day 0 of cycle 1
    observation["anc_mask"][0, 3:6] = 1.0
    policy = LabelRulesPolicy(LEVELS, (7, 14, 0), allow_delay=True)
    assert np.asarray(policy.act(observation))[0].tolist() == [100.0, 1.0]
    with pytest.raises(ValueError, match="day 0"):
        LabelRulesPolicy(LEVELS, (7, 14))
