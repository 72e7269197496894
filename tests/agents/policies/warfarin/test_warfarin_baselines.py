"""Warfarin baselines: MPC dose choice, the oracle, MAP-Bayesian dosing, registry, evaluation."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401  (registers the warfarin envs)
from agents.policies.registry import WARFARIN_BASELINES, make_policy
from agents.policies.warfarin.map import (
    WarfarinMapPolicy,
    genotype_log_effects,
    genotype_probabilities,
)
from agents.policies.warfarin.mpc import (
    DEFAULT_DOSES_MG,
    HORIZON_DAYS,
    TARGET_INR,
    WarfarinOraclePolicy,
    best_constant_dose,
)
from pkgym.envs.base import doses_to_actions
from pkgym.envs.warfarin.clinic import WarfarinScenario
from pkgym.envs.warfarin.records import PLACEHOLDER
from pkgym.evaluation.cohorts import sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.evaluation.policy import Policy
from pkgym.models.warfarin import Hamberg2010
from pkgym.models.warfarin_kernel import day_constants, initial_state, run_days, simulate_inr
from pkgym.populations.warfarin import ALLELE_FREQUENCIES_1000G, CYP2C9_DIPLOTYPES, VKORC1_GENOTYPES

ENV_ID, PGX_ENV_ID = "pkgym/Warfarin-v0", "pkgym/WarfarinPGx-v0"
MODEL = Hamberg2010()
# Hamberg 2010 by hand: CL sums per-allele values (*1 0.174, *2 0.0879, *3 0.0422 L/h), EC50
# sums per-allele values (G 2.05, A 0.96 mg/L), in CYP2C9_DIPLOTYPES / VKORC1_GENOTYPES order.
HAND_CL = (0.348, 0.174 + 0.0879, 0.174 + 0.0422, 2 * 0.0879, 0.0879 + 0.0422, 2 * 0.0422)
HAND_EC50 = (4.10, 2.05 + 0.96, 1.92)
HAND_LOG_CL, HAND_LOG_EC50 = np.log(np.array(HAND_CL) / 0.348), np.log(np.array(HAND_EC50) / 4.1)
# East Asian (1000 Genomes): *2 0.001, *3 0.034, *1 0.965; VKORC1 A 0.885.
HAND_ASIAN_CYP = (0.965**2, 2 * 0.965 * 0.001, 2 * 0.965 * 0.034, 0.001**2, 2 * 0.001 * 0.034,
                  0.034**2)
HAND_ASIAN_VK = (0.115**2, 2 * 0.885 * 0.115, 0.885**2)
# Pinned patients with known etas (CL, V, EC50) for the MAP tests; the last one is typical.
KNOWN_ETAS = np.array([[0.4, 0.0, -0.3], [-0.4, 0.1, -0.5], [0.3, -0.2, 0.6], [0.0, 0.0, 0.0]])


def _patients(etas: np.ndarray, **covariates: object) -> pd.DataFrame:
    """Pinned 60-year-old white *1/*1 G/A patients (unless overridden) with these etas."""
    rows = [{**PLACEHOLDER, **covariates, "id": i, "eta_CL": e[0], "eta_V": e[1],
             "eta_EC50": e[2]} for i, e in enumerate(np.asarray(etas, dtype=np.float64))]
    return pd.DataFrame(rows)


def _vector_env(env_id: str, n: int, **kwargs: object) -> gymnasium.vector.VectorEnv:
    """``n`` patients of ``env_id`` in its native vector env."""
    return gymnasium.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                              **kwargs)


def _rollout(env: gymnasium.vector.VectorEnv, policy: Policy, patients: pd.DataFrame,
             n_days: int, seed: int = 0) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """Run ``policy`` on pinned ``patients`` for ``n_days``; its observations and doses."""
    observation, info = env.reset(seed=seed, options={"patients": patients})
    policy.reset(env.num_envs)
    levels = env.unwrapped.core.dose_levels_mg
    seen, doses = [], []
    for _ in range(n_days):
        seen.append({key: np.array(value) for key, value in observation.items()})
        dose = policy.act(observation, info)
        doses.append(dose)
        observation, _, _, _, info = env.step(doses_to_actions(dose, levels, False))
    return seen, np.array(doses).T


def _row(observation: Mapping[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Env ``i`` of a batched observation as a batch of one."""
    return {key: value[i:i + 1] for key, value in observation.items()}


def _forecast_errors(params_etas: np.ndarray, true_etas: np.ndarray, ages: np.ndarray,
                     doses_mg: np.ndarray) -> np.ndarray:
    """RMS log-INR error per patient of reference-genotype patients with ``params_etas``."""
    codes = np.zeros(ages.size, dtype=np.int64)
    courses = [simulate_inr(MODEL.parameters(codes, codes, ages, etas), MODEL.structure,
                            doses_mg)[0] for etas in (params_etas, true_etas)]
    return np.sqrt(((np.log(courses[0]) - np.log(courses[1])) ** 2).mean(axis=1))


def test_genotype_log_effects__match_per_allele_hand_values():
    """log(CL / 0.348) per diplotype and log(EC50 / 4.1) per VKORC1 genotype, by hand."""
    cl, ec50 = genotype_log_effects(MODEL)
    np.testing.assert_allclose(cl, HAND_LOG_CL, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ec50, HAND_LOG_EC50, rtol=0, atol=1e-12)


def test_genotype_probabilities__hardy_weinberg_by_hand():
    """East Asian CYP2C9 and VKORC1 genotype probabilities equal p^2, 2pq, q^2 by hand."""
    cyp, vk = genotype_probabilities(ALLELE_FREQUENCIES_1000G["asian"])
    np.testing.assert_allclose(cyp, HAND_ASIAN_CYP, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vk, HAND_ASIAN_VK, rtol=0, atol=1e-12)


@pytest.mark.parametrize("history_mg", [(), (5.0, 5.0, 7.5, 10.0)])
def test_best_constant_dose__no_candidate_forecasts_closer_to_target(history_mg):
    """Each candidate simulated alone from the same history: none beats the chosen dose."""
    patients = MODEL.parameters(np.array([2, 0]), np.array([1, 1]), np.array([68.0, 45.0]),
                                np.array([[0.2, -0.1, 0.3], [-0.3, 0.2, 0.0]]))
    pk, chains = initial_state(2)
    history = np.tile(np.asarray(history_mg, dtype=np.float64), (2, 1))
    run_days(day_constants(patients, MODEL.structure), MODEL.structure, pk, chains, history)
    state = pk.copy(), chains.copy()
    chosen = best_constant_dose(patients, MODEL.structure, pk, chains)
    np.testing.assert_array_equal(pk, state[0])  # the planner must not advance the state
    np.testing.assert_array_equal(chains, state[1])
    k, start = DEFAULT_DOSES_MG.size, history.shape[1] + 1
    for i in range(2):
        alone = patients.row(i)
        repeated = type(alone)(*(np.repeat(a, k) for a in (
            alone.clearance_l_per_h, alone.central_volume_l,
            alone.intercompartmental_clearance_l_per_h, alone.peripheral_volume_l,
            alone.ec50_mg_per_l, alone.hill, alone.mtt1_h, alone.mtt2_h)))
        doses = np.column_stack([np.tile(history[i], (k, 1)),
                                 np.repeat(DEFAULT_DOSES_MG[:, None], HORIZON_DAYS, axis=1)])
        inr, _ = simulate_inr(repeated, MODEL.structure, doses)
        errors = ((inr[:, start:] - TARGET_INR) ** 2).mean(axis=1)
        assert errors[DEFAULT_DOSES_MG == chosen[i]][0] <= errors.min() + 1e-9
        assert 0.0 < chosen[i] < DEFAULT_DOSES_MG.max()  # an interior optimum, not a clip


def test_best_constant_dose__sensitive_genotype_gets_lower_dose():
    """*3/*3 A/A (low CL, low EC50) is given less than *1/*1 G/G at the same age."""
    codes = (np.array([CYP2C9_DIPLOTYPES.index("*3/*3"), 0]),
             np.array([VKORC1_GENOTYPES.index("A/A"), 0]))
    params = MODEL.parameters(*codes, np.array([70.0, 70.0]))
    sensitive, typical = best_constant_dose(params, MODEL.structure, *initial_state(2))
    assert sensitive < typical / 2


def test_oracle__reads_hidden_state_and_schedules_tests():
    """Flagged as reading the truth; with test_every_days, [its dose, the interval] per env."""
    env = _vector_env(PGX_ENV_ID, 3)
    observation, info = env.reset(seed=4)
    plain = WarfarinOraclePolicy(MODEL.structure)
    scheduling = WarfarinOraclePolicy(MODEL.structure, test_every_days=28)
    assert plain.reads_hidden_state and isinstance(plain, Policy)
    pairs = scheduling.act(observation, info)
    assert pairs.shape == (3, 2)
    np.testing.assert_array_equal(pairs[:, 0], plain.act(observation, info))
    np.testing.assert_array_equal(pairs[:, 1], 28.0)


def test_oracle__without_info_raises():
    """The oracle refuses to dose without the env's info (and names the missing keys)."""
    env = _vector_env(ENV_ID, 1)
    observation, info = env.reset(seed=0)
    oracle = WarfarinOraclePolicy(MODEL.structure)
    with pytest.raises(ValueError, match="needs the env's info"):
        oracle.act(observation)
    with pytest.raises(ValueError, match="ec50_mg_per_l"):
        oracle.act(observation, {k: v for k, v in info.items() if k != "ec50_mg_per_l"})


def test_oracle__keeps_a_typical_patient_in_range_after_week_one():
    """Noise-free assay, typical *1/*1 G/A patient: true INR in 2-3, near 2.5, on days 8-90."""
    oracle = WarfarinOraclePolicy(MODEL.structure)
    results = evaluate([oracle], PGX_ENV_ID, _patients(np.zeros((1, 3))), seed=0,
                       env_kwargs={"scenario": WarfarinScenario(inr_assay_log_sd=0.0)})
    inr = results[[f"inr_{k}" for k in range(7, 90)]].to_numpy()[0]  # mornings 8..90
    assert np.all((inr >= 2.0) & (inr <= 3.0))
    assert abs(inr.mean() - TARGET_INR) < 0.1


def test_map_policy__estimate_predicts_the_true_inr_better_than_the_prior():
    """After 4 weeks of MAP dosing, its etas reproduce past and future INR better than the prior.

    INR identifies log CL + log EC50 (the steady-state exposure/potency ratio) far better
    than either alone, so that combination is the eta-level claim.
    """
    patients, days = _patients(KNOWN_ETAS), 28
    scenario = WarfarinScenario(inr_assay_log_sd=0.02, inr_report_decimals=2)
    env = _vector_env(PGX_ENV_ID, len(patients), scenario=scenario)
    policy = WarfarinMapPolicy(MODEL, env.unwrapped.core.dose_levels_mg, inr_log_sd=0.02)
    _, doses = _rollout(env, policy, patients, days)
    truth = KNOWN_ETAS + [0.0, 0.0, HAND_LOG_EC50[1]]  # G/A, as reference-genotype etas
    np.testing.assert_allclose(policy.prior_mean[:, 2], HAND_LOG_EC50[1], atol=1e-12)
    moved = slice(0, 3)  # the last patient is typical: the prior is already right
    combined = [np.abs(e[moved, 0] + e[moved, 2] - truth[moved, 0] - truth[moved, 2])
                for e in (policy.eta, policy.prior_mean)]
    assert np.all(combined[0] < combined[1] / 3)
    assert np.all(combined[0] < 0.05)
    ages = np.asarray(patients["age_years"], dtype=np.float64)
    course = np.column_stack([doses, np.full((len(patients), 21), 5.0)])  # then 3 weeks at 5 mg
    map_errors = _forecast_errors(policy.eta, truth, ages, course)
    prior_errors = _forecast_errors(policy.prior_mean, truth, ages, course)
    assert np.all(map_errors[moved] < prior_errors[moved] / 5)
    assert np.all(map_errors < 0.03)


def test_map_policy__batched_equals_per_env_decisions():
    """The same observations split into single-env batches give the same doses and etas."""
    patients = _patients(KNOWN_ETAS, race="asian", vkorc1="A/A")
    env = _vector_env(PGX_ENV_ID, len(patients))
    batched = WarfarinMapPolicy(MODEL, env.unwrapped.core.dose_levels_mg)
    observations, doses = _rollout(env, batched, patients, 30)
    assert np.unique(doses).size > 3  # the doses do change with the INRs
    for i in range(len(patients)):
        alone = WarfarinMapPolicy(MODEL, env.unwrapped.core.dose_levels_mg)
        alone.reset(1)
        single = [alone.act(_row(o, i))[0] for o in observations]
        np.testing.assert_array_equal(single, doses[i])
        np.testing.assert_allclose(alone.eta[0], batched.eta[i], rtol=0, atol=1e-9)


def test_map_policy__reset_forgets_the_previous_patient():
    """After a 3-week course of one patient, reset() then another: a fresh policy's doses."""
    env = _vector_env(PGX_ENV_ID, 1)
    levels = env.unwrapped.core.dose_levels_mg
    used, fresh = WarfarinMapPolicy(MODEL, levels), WarfarinMapPolicy(MODEL, levels)
    _rollout(env, used, _patients(KNOWN_ETAS[1:2], cyp2c9="*3/*3"), 21)
    assert np.any(used.eta != 0)
    second = _patients(KNOWN_ETAS[2:3])
    observations, expected = _rollout(env, fresh, second, 21, seed=1)
    used.reset(1)
    np.testing.assert_array_equal(used.eta, 0.0)
    np.testing.assert_array_equal([used.act(o)[0] for o in observations], expected[0])


def test_map_policy__prior_without_genotype_is_wider_by_the_genotype_mixture():
    """Warfarin-v0: omega plus the HWE variance of the genotype effect; PGx: omega, centred."""
    patients = _patients(np.zeros((2, 3)), race="asian", cyp2c9="*1/*3", vkorc1="A/A")
    priors = {}
    for env_id in (ENV_ID, PGX_ENV_ID):
        policy = WarfarinMapPolicy(MODEL)
        _rollout(_vector_env(env_id, 2), policy, patients, 1)
        priors[env_id] = policy.prior_mean[0], policy.prior_var[0]
    omega = np.array([MODEL.omega_clearance, MODEL.omega_volume, MODEL.omega_ec50])
    mean, var = priors[PGX_ENV_ID]
    np.testing.assert_allclose(mean, [HAND_LOG_CL[2], 0.0, HAND_LOG_EC50[2]], atol=1e-12)
    np.testing.assert_allclose(var, omega, atol=1e-12)
    mean, var = priors[ENV_ID]
    centres = [np.dot(HAND_ASIAN_CYP, HAND_LOG_CL), np.dot(HAND_ASIAN_VK, HAND_LOG_EC50)]
    extra = [np.dot(HAND_ASIAN_CYP, (HAND_LOG_CL - centres[0]) ** 2),
             np.dot(HAND_ASIAN_VK, (HAND_LOG_EC50 - centres[1]) ** 2)]
    np.testing.assert_allclose(mean, [centres[0], 0.0, centres[1]], atol=1e-12)
    np.testing.assert_allclose(var, omega + [extra[0], 0.0, extra[1]], atol=1e-12)
    assert var[0] > omega[0] and var[2] > omega[2]


def _mean_ttr(env_id: str, names: tuple[str, ...], n: int = 60,
              env_kwargs: Mapping[str, object] | None = None) -> pd.Series:
    """Mean true-INR TTR per registry policy on one held-out cohort (paired evaluation)."""
    core = gymnasium.make(env_id, **dict(env_kwargs or {})).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability, n, seed=3)
    policies = [make_policy(name, core) for name in names]
    results = evaluate(policies, env_id, cohort, seed=1, env_kwargs=env_kwargs)
    return results.groupby("policy", sort=False)["time_in_therapeutic_range"].mean()


def test_evaluate__pgx_map_and_iwpc_beat_fixed_dose_and_oracle_is_best():
    """PGx env, 60 patients x 90 days: MAP and IWPC-PGx+Aurora beat 5 mg daily; oracle tops."""
    ttr = _mean_ttr(PGX_ENV_ID, ("fixed_5mg", "iwpc_pgx+aurora", "map", "oracle"))
    assert ttr["map_bayesian"] > ttr["fixed_5mg"] + 0.3
    assert ttr["iwpc_pgx+aurora"] > ttr["fixed_5mg"] + 0.2
    assert ttr["oracle"] == ttr.max()
    assert ttr["oracle"] > ttr.drop("oracle").max()


def test_evaluate__map_without_genotype_still_beats_fixed_dose():
    """Warfarin-v0 (genotype unobserved), 60 patients x 90 days: MAP beats 5 mg daily."""
    ttr = _mean_ttr(ENV_ID, ("fixed_5mg", "map"))
    assert ttr["map_bayesian"] > ttr["fixed_5mg"] + 0.3


def test_make_policy__builds_every_warfarin_baseline_for_the_pgx_env():
    """Each name gives a Policy whose first doses lie on the env's 0-15 mg grid."""
    env = _vector_env(PGX_ENV_ID, 3)
    core = env.unwrapped.core
    observation, info = env.reset(seed=2)
    for name in WARFARIN_BASELINES:
        policy = make_policy(name, core)
        assert isinstance(policy, Policy)
        policy.reset(3)
        doses = np.asarray(policy.act(observation, info))
        assert doses.shape == (3,), name
        assert np.all(np.isin(doses, core.dose_levels_mg)), (name, doses)


def test_make_policy__pgx_arm_in_warfarin_v0_names_the_pgx_env():
    """A genotype-reading arm without the genotype points to pkgym/WarfarinPGx-v0."""
    core = gymnasium.make(ENV_ID).unwrapped.core
    for name in ("iwpc_pgx+aurora", "eupact_pgx+intermountain"):
        with pytest.raises(ValueError, match="pkgym/WarfarinPGx-v0"):
            make_policy(name, core)
    assert make_policy("iwpc_clinical+aurora", core).name == "iwpc_clinical+aurora"


@pytest.mark.parametrize("name", ["no_such_policy", "label", "trough"])
def test_make_policy__unknown_warfarin_name_is_a_value_error(name):
    """Unknown names and vancomycin baselines are ValueErrors; a made-up one lists the names."""
    core = gymnasium.make(PGX_ENV_ID).unwrapped.core
    with pytest.raises(ValueError) as error:
        make_policy(name, core)
    if name == "no_such_policy":
        assert all(allowed in str(error.value) for allowed in WARFARIN_BASELINES)


def test_make_policy__test_day_env_gets_dose_and_interval_pairs():
    """With choose_test_days, every baseline returns (n, 2): a grid dose and 1-28 days."""
    env = _vector_env(PGX_ENV_ID, 3, choose_test_days=True)
    core = env.unwrapped.core
    observation, info = env.reset(seed=2)
    for name in WARFARIN_BASELINES:
        policy = make_policy(name, core)
        policy.reset(3)
        decisions = np.asarray(policy.act(observation, info))
        assert decisions.shape == (3, 2), name
        assert np.all(np.isin(decisions[:, 0], core.dose_levels_mg)), name
        assert np.all((decisions[:, 1] >= 1) & (decisions[:, 1] <= 28)), name


def test_evaluate__test_day_env_runs_map_oracle_and_iwpc_end_to_end():
    """choose_test_days: MAP tests weekly (13 INRs in 90 days), the oracle every 4 weeks (4)."""
    kwargs = {"choose_test_days": True}
    core = gymnasium.make(PGX_ENV_ID, **kwargs).unwrapped.core
    cohort = sample_cohort(core.settings.population, core.settings.model.variability, 6, seed=5)
    policies = [make_policy(name, core) for name in ("map", "oracle", "iwpc_pgx+aurora")]
    results = evaluate(policies, PGX_ENV_ID, cohort, seed=2, env_kwargs=kwargs)
    tests = results.groupby("policy")["inr_tests"].agg(["min", "max"])
    assert tests.loc["map_bayesian"].tolist() == [13.0, 13.0]  # days 0, 7, ..., 84
    assert tests.loc["oracle"].tolist() == [4.0, 4.0]  # days 0, 28, 56, 84
    assert tests.loc["iwpc_pgx+aurora", "min"] >= 2
    ttr = results.groupby("policy", sort=False)["time_in_therapeutic_range"].mean()
    assert ttr["oracle"] > 0.8 and ttr["map_bayesian"] > 0.5
