"""``pkgym/Chemotherapy-v0``: the docetaxel clinic it models (the contract: test_contract.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from contract import rollout_episode as rollout

import pkgym  # noqa: F401
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario, TumourControlReward
from pkgym.models.chemotherapy import DocetaxelPatientModel
from pkgym.models.chemotherapy_kernel import CIRC0, SolverTolerances
from pkgym.models.tumour import Claret2009

ENV_ID = "pkgym/Chemotherapy-v0"
LEVELS_PERCENT = (0.0, 50.0, 75.0, 100.0, 125.0)
MODEL = DocetaxelPatientModel()
KINETIC_ETAS = ("eta_CL", "eta_MTT", "eta_SLOPE", "eta_KL", "eta_KD", "eta_LAMBDA")
"""Random effects that the clinic cannot see at baseline (eta_CIRC0 moves the first count)."""


def pinned_rows(patient: dict) -> np.ndarray:
    """Packed model parameters of a pinned patient, with BSA by Mosteller computed here."""
    covariates = {key: [float(patient[key])] for key in (
        "is_female", "age_years", "aag_g_per_l", "hepatic_impairment", "baseline_sld_mm")}
    covariates["bsa_m2"] = [np.sqrt(patient["height_cm"] * patient["weight_kg"] / 3600.0)]
    etas = np.array([[patient.get(name, 0.0) for name in MODEL.variability.eta_columns]])
    return MODEL.parameters(covariates, etas)


def true_course(patient: dict, levels: list[int], scenario: ChemotherapyScenario
                ) -> tuple[np.ndarray, np.ndarray]:
    """run_cycles' daily ANC (n_cycles, 21) and cycle-end SLD for the levels, outside the env."""
    bsa = np.sqrt(patient["height_cm"] * patient["weight_kg"] / 3600.0)
    doses = np.array([[LEVELS_PERCENT[k] / 100 * 75.0 * bsa for k in levels]])
    anc, sld = MODEL.run_cycles(pinned_rows(patient), np.array([patient["baseline_sld_mm"]]),
                                doses, solver=scenario.solver)
    return anc.reshape(len(levels), 21), sld[0]


# ----- env checkers and determinism -------------------------------------------------------------


# ----- vector env ------------------------------------------------------------------------------


# ----- the patient and the pharmacology --------------------------------------------------------
def test_chemotherapy_env__pinned_patient_has_the_model_parameters_and_exact_anc_course(
        docetaxel_patient: dict, quiet_oncology: ChemotherapyScenario) -> None:
    """Pinned covariates and etas give DocetaxelPatientModel's parameters and run_cycles' course."""
    env = gym.make(ENV_ID, scenario=quiet_oncology)
    levels = [3, 2, 4, 0, 1, 3]
    trace = rollout(env, 0, levels, {"patient": docetaxel_patient})
    rows, info = pinned_rows(docetaxel_patient), trace[0][4]
    expected = {"clearance_l_per_h": rows[0, 0] / rows[0, 5], "circ0_1e9_per_l": rows[0, CIRC0],
                "mtt_h": 4.0 / rows[0, 7], "slope_l_per_mg": rows[0, 10], "gamma": rows[0, 8],
                "tumour_growth_per_h": rows[0, 11], "tumour_kill_l_per_mg_per_h": rows[0, 12],
                "tumour_resistance_per_h": rows[0, 13]}
    for key, value in expected.items():
        assert info[key] == pytest.approx(value, rel=1e-14), key
    cl = 1.8 * (36.8 - 4.6 * 1.34 - 0.14 * 60.0) * np.exp(-0.3)  # BSA 1.8 by Mosteller
    assert info["clearance_l_per_h"] == pytest.approx(cl, rel=1e-12)
    assert info["patient_id"] == 7 and info["anc_1e9_per_l"] == rows[0, CIRC0]
    anc, sld = true_course(docetaxel_patient, levels, quiet_oncology)
    records = env.unwrapped.core.records
    np.testing.assert_allclose(records.daily_anc[0, :, :21], anc, rtol=1e-12, atol=0)
    assert np.all(np.isnan(records.daily_anc[0, :, 21:]))  # no delayed cycle: no extra days
    steps = [step[4] for step in trace[1:]]
    np.testing.assert_allclose([i["sld_mm"] for i in steps], sld, rtol=1e-12)
    np.testing.assert_allclose([i["anc_nadir_1e9_per_l"] for i in steps], anc.min(axis=1),
                               rtol=1e-12)
    assert [i["dose_mg"] for i in steps] == pytest.approx(
        [LEVELS_PERCENT[k] / 100 * 75.0 * 1.8 for k in levels], rel=1e-14)
    assert [i["neutropenia_grade"] for i in steps][2] == 4  # 125% reaches grade 4


# ----- what the clinic sees --------------------------------------------------------------------
def test_chemotherapy_env__observation_holds_only_what_the_clinic_knows(
        docetaxel_patient: dict) -> None:
    """Covariates, counts, scans and the dosing history only: hidden etas never show at baseline."""
    env = gym.make(ENV_ID)
    obs, info = env.reset(seed=0, options={"patient": docetaxel_patient})
    assert set(obs) == {"covariates", "anc_1e9_per_l", "anc_mask", "sld_mm", "sld_mask",
                        "dose_percent", "delayed", "febrile_neutropenia", "cycle"}
    assert obs["covariates"].tolist() == pytest.approx([60.0, 0.0, 64.8, 180.0, 1.8, 1.34, 0.0])
    assert all(value.dtype == np.float32 for value in obs.values())
    other = {**docetaxel_patient, **dict.fromkeys(KINETIC_ETAS, 0.9)}
    obs_other, info_other = env.reset(seed=0, options={"patient": other})
    for key in obs:
        np.testing.assert_array_equal(obs[key], obs_other[key], err_msg=key)
    assert info_other["clearance_l_per_h"] > 3 * info["clearance_l_per_h"]


def test_chemotherapy_env__anc_is_measured_on_days_1_8_15_into_slot_3c_plus_k(
        docetaxel_patient: dict, quiet_oncology: ChemotherapyScenario) -> None:
    """Noise-free counts: the pre-dose count, then 7 and 14 days after each dose, slot 3c + k."""
    env = gym.make(ENV_ID, scenario=quiet_oncology)
    levels = [3, 4, 2, 3, 1, 3]
    trace = rollout(env, 0, levels, {"patient": docetaxel_patient})
    anc, _ = true_course(docetaxel_patient, levels, quiet_oncology)
    first = trace[0][0]
    assert first["anc_mask"].tolist() == [1.0] + [0.0] * 17
    assert first["anc_1e9_per_l"][0] == np.float32(pinned_rows(docetaxel_patient)[0, CIRC0])
    for c, (obs, *_, info) in enumerate(trace[1:]):
        values = obs["anc_1e9_per_l"]
        assert values[3 * c + 1] == np.float32(anc[c, 6])  # 168 h after the dose
        assert values[3 * c + 2] == np.float32(anc[c, 13])  # 336 h after the dose
        if c < 5:  # the next cycle's pre-dose count is the count at the end of this one
            assert values[3 * c + 3] == np.float32(anc[c, 20]) == np.float32(
                info["anc_1e9_per_l"])
        assert obs["anc_mask"].sum() == min(3 * c + 4, 18)
        assert np.all(values[obs["anc_mask"] == 0] == 0.0)


def test_chemotherapy_env__scans_at_baseline_and_after_every_second_cycle(
        docetaxel_patient: dict, quiet_oncology: ChemotherapyScenario) -> None:
    """Noise-free scans are the true SLD rounded to 1 mm, at baseline and after cycles 2, 4, 6."""
    env = gym.make(ENV_ID, scenario=quiet_oncology)
    levels = [3] * 6
    trace = rollout(env, 0, levels, {"patient": docetaxel_patient})
    _, sld = true_course(docetaxel_patient, levels, quiet_oncology)
    assert trace[0][0]["sld_mm"].tolist() == [70.0, 0.0, 0.0, 0.0]
    for c, (obs, *_) in enumerate(trace[1:]):
        assert obs["sld_mask"].sum() == 1 + (c + 1) // 2
    final = trace[-1][0]["sld_mm"]
    assert final[1:].tolist() == np.round(sld[[1, 3, 5]]).tolist()
    assert len(set(final.tolist())) == 4  # the tumour changed enough to tell the scans apart


def test_chemotherapy_env__assay_and_scan_noise_have_their_spread_and_keep_the_patients() -> None:
    """1000 baselines: log ANC error SD 0.424, scan CV 10%; noise off gives the same patients."""
    runs = {}
    for name, scenario in (("noisy", ChemotherapyScenario()),
                           ("quiet", ChemotherapyScenario(anc_assay_log_sd=0.0,
                                                          tumour=Claret2009(measurement_cv=0.0)))):
        vec = gym.make_vec(ENV_ID, num_envs=1000, vectorization_mode="vector_entry_point",
                           scenario=scenario)
        runs[name] = vec.reset(seed=7)
    (noisy, noisy_info), (quiet, quiet_info) = runs["noisy"], runs["quiet"]
    np.testing.assert_array_equal(noisy["covariates"], quiet["covariates"])
    np.testing.assert_array_equal(noisy_info["clearance_l_per_h"], quiet_info["clearance_l_per_h"])
    np.testing.assert_array_equal(quiet["anc_1e9_per_l"][:, 0],
                                  quiet_info["anc_1e9_per_l"].astype(np.float32))
    np.testing.assert_array_equal(quiet["sld_mm"][:, 0], np.round(quiet_info["sld_mm"]))
    log_ratio = np.log(noisy["anc_1e9_per_l"][:, 0] / noisy_info["anc_1e9_per_l"])
    assert abs(log_ratio.mean()) < 0.05 and 0.395 < log_ratio.std() < 0.455
    scan_error = noisy["sld_mm"][:, 0] / noisy_info["sld_mm"] - 1.0
    assert abs(scan_error.mean()) < 0.01 and 0.093 < scan_error.std() < 0.107


# ----- delays, reward and events ---------------------------------------------------------------
def test_chemotherapy_env__delay_shifts_the_dose_by_7_days_and_the_cycle_lasts_28(
        docetaxel_patient: dict, quiet_oncology: ChemotherapyScenario) -> None:
    """[100%, wait]: 7 drug-free days, the 21-day course shifted, 672 h, dose intensity 0.75."""
    env = gym.make(ENV_ID, scenario=quiet_oncology, allow_delay=True)
    trace = rollout(env, 0, [np.array([3, 1]), np.array([3, 0])], {"patient": docetaxel_patient})
    (obs, *_, info), (obs2, *_, info2) = trace[1], trace[2]
    assert (info["time_h"], info2["time_h"]) == (28 * 24.0, 49 * 24.0)
    assert info["relative_dose_intensity"] == pytest.approx(21 / 28, rel=1e-12)
    assert info2["relative_dose_intensity"] == pytest.approx(2 * 21 / 49, rel=1e-12)
    assert obs2["delayed"].tolist()[:2] == [1.0, 0.0] and info["dose_mg"] == pytest.approx(135.0)
    daily = env.unwrapped.core.records.daily_anc[0]
    circ0 = pinned_rows(docetaxel_patient)[0, CIRC0]
    assert np.all(daily[0, :7] == circ0)
    undelayed, _ = true_course(docetaxel_patient, [3], quiet_oncology)
    np.testing.assert_allclose(daily[0, 7:28], undelayed[0], rtol=1e-6)
    assert obs["anc_1e9_per_l"][1] == np.float32(daily[0, 13])  # 7 days after the late dose
    assert obs["anc_1e9_per_l"][3] == np.float32(daily[0, 27])  # the next pre-dose count


def expected_reward(weights: TumourControlReward, before: dict, after: tuple) -> float:
    """The env card's per-cycle reward, from the infos around one step and its flags."""
    *_, terminated, _, info = after
    return (weights.shrinkage_weight * (before["sld_relative"] - info["sld_relative"])
            + weights.progression_free_bonus * (not info["progressed"])
            - weights.progression_penalty * terminated
            - weights.grade4_penalty_per_day * info["grade4_days"]
            - weights.febrile_neutropenia_penalty * info["febrile_neutropenia"])


@pytest.mark.parametrize("weights", [
    TumourControlReward(),
    TumourControlReward(shrinkage_weight=3.0, progression_free_bonus=0.25,
                        progression_penalty=40.0, grade4_penalty_per_day=2.0,
                        febrile_neutropenia_penalty=7.0)])
def test_chemotherapy_env__reward_is_the_documented_formula(
        weights: TumourControlReward, docetaxel_patient: dict) -> None:
    """Reward = shrinkage + progression-free bonus - progression - grade 4 days - febrile events."""
    scenario = ChemotherapyScenario(
        febrile_neutropenia_per_day=0.3, scan_every_cycles=1, reward=weights,
        tumour=Claret2009(growth_per_week=0.03, measurement_cv=0.0))
    trace = rollout(gym.make(ENV_ID, scenario=scenario), 5, [4, 4, 3, 0, 0, 0],
                    {"patient": docetaxel_patient})
    for before, after in zip(trace[:-1], trace[1:], strict=True):
        assert after[1] == pytest.approx(expected_reward(weights, before[4], after), abs=1e-12)
    infos = [step[4] for step in trace[1:]]
    assert any(i["grade4_days"] > 0 for i in infos) and any(i["febrile_neutropenia"] for i in infos)
    assert infos[2]["sld_relative"] < 0.8 and trace[-1][2]  # shrank, regrew off drug, progressed
    assert len(trace) == 6 and not any(step[2] for step in trace[:-1])


def test_chemotherapy_env__febrile_neutropenia_follows_its_daily_hazard_on_grade_4_days() -> None:
    """Hazard 1/day: P(event) = 1 - e^-(grade 4 days), none without grade 4; 0/day: none."""
    scenario = {"n_cycles": 6, "scan_every_cycles": 6}
    seen = {}
    for rate in (1.0, 0.0):
        vec = gym.make_vec(ENV_ID, num_envs=63, vectorization_mode="vector_entry_point",
                           scenario=ChemotherapyScenario(febrile_neutropenia_per_day=rate,
                                                         **scenario))
        vec.reset(seed=21)
        infos = [vec.step(np.full(63, 4))[4] for _ in range(6)]
        seen[rate] = (np.array([i["grade4_days"] for i in infos]),
                      np.array([i["febrile_neutropenia"] for i in infos]))
    days, febrile = seen[1.0]
    np.testing.assert_array_equal(days, seen[0.0][0])  # events never move the patients
    assert not seen[0.0][1].any() and not febrile[days == 0].any()
    p = -np.expm1(-days[days > 0].astype(float))
    assert (days > 0).sum() > 150 and (days == 0).sum() > 50
    assert abs(febrile[days > 0].sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())
    # a hazard of 1/day is a daily probability of 1 - e^-1, not a certainty: some grade 4
    # cycles (expected sum of e^-n, about 12 here) pass without an episode
    assert (~febrile[days > 0]).sum() >= 4


# ----- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "action", "match"), [
    ({}, 5, r"in 0\.\.4"), ({}, -1, r"in 0\.\.4"), ({}, 2.5, r"integer level\(s\) in 0\.\.4"),
    ({}, np.nan, "integer level"), ({}, np.array([1, 2]), "1 integer"),
    ({"continuous": True}, np.array([np.nan]), "finite"),
    ({"continuous": True}, np.array([1.5]), r"\[-1, 1\]"),
    ({"allow_delay": True}, np.array([1, 2]), r"dose level 0\.\.4, delay 0 or 1"),
    ({"allow_delay": True}, np.array([5, 0]), r"in 0\.\.4"),
    ({"allow_delay": True}, 3, r"integer pair\(s\)"),
    ({"allow_delay": True}, np.array([1.0, 0.0]), r"integer pair\(s\)")])
def test_chemotherapy_env__bad_actions_raise_a_clear_error(kwargs: dict, action,  # noqa: ANN001
                                                           match: str) -> None:
    """Out-of-range, NaN, non-integer and wrongly shaped actions name what is allowed."""
    env = gym.make(ENV_ID, **kwargs)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        env.unwrapped.step(action)


def test_chemotherapy_env__stepping_after_the_end_asks_for_reset() -> None:
    """After n_cycles (truncated) or a progression (terminated), a further step is an error."""
    env = gym.make(ENV_ID, scenario=ChemotherapyScenario(n_cycles=2))
    env.reset(seed=0)
    assert [env.step(3)[2:4] for _ in range(2)] == [(False, False), (False, True)]
    with pytest.raises(RuntimeError, match=r"episode is over.*call reset\(\)"):
        env.step(3)
    fast = gym.make(ENV_ID, scenario=ChemotherapyScenario(
        scan_every_cycles=1, tumour=Claret2009(growth_per_week=0.3)))
    fast.reset(seed=0)
    assert fast.step(0)[2:4] == (True, False)
    with pytest.raises(RuntimeError, match=r"progressed.*call reset\(\)"):
        fast.step(0)
    assert fast.reset()[1]["cycle"] == 0


def test_chemotherapy_env__bad_options_and_pinned_patients_name_the_field(
        docetaxel_patient: dict) -> None:
    """Unknown options and patient fields, out-of-range covariates: errors naming the field."""
    env = gym.make(ENV_ID)
    cases = [({"patien": {}}, r"unknown reset option\(s\) \['patien'\]"),
             ({"patient": {**docetaxel_patient, "shoe_size": 42}},
              r"unknown patient field\(s\) \['shoe_size'\].*eta_LAMBDA"),
             ({"patient": {**docetaxel_patient, "eta_V1": 0.1}}, r"\['eta_V1'\]"),
             ({"patient": {**docetaxel_patient, "age_years": 5.0}}, "age_years"),
             ({"patient": {**docetaxel_patient, "hepatic_impairment": 2}}, "hepatic_impairment")]
    for options, match in cases:
        with pytest.raises(ValueError, match=match):
            env.reset(seed=0, options=options)
    missing = {k: v for k, v in docetaxel_patient.items() if k != "aag_g_per_l"}
    with pytest.raises(ValueError, match="aag_g_per_l"):
        env.reset(seed=0, options={"patient": missing})
    with pytest.raises(ValueError, match="discrete actions"):
        gym.make(ENV_ID, continuous=True, allow_delay=True)


@pytest.mark.parametrize(("fields", "match"), [
    ({"n_cycles": 0}, r"n_cycles must be in 1\.\.50.*got 0"),
    ({"cycle_days": 5}, r"cycle_days in 7\.\.56"),
    ({"lab_days": (7, 14)}, r"lab_days must be distinct days in 0\.\.20 and include 0"),
    ({"lab_days": (0, 7, 7)}, r"lab_days must be distinct"),
    ({"lab_days": (0, 21)}, r"lab_days must be distinct days in 0\.\.20"),
    ({"dose_levels_percent": (0.0, 75.0, 50.0)}, r"dose_levels_percent must rise strictly"),
    ({"dose_levels_percent": (0.0, 250.0)}, r"dose_levels_percent.*\[0, 200\]"),
    ({"population": "kids"}, r"population: 'kids' is not one of \['docetaxel_patients'\]"),
    ({"scan_every_cycles": 7}, r"scan_every_cycles must be in 1\.\.n_cycles"),
    ({"anc_assay_log_sd": -0.1}, r"anc_assay_log_sd must be in \[0, 2\]"),
    ({"febrile_neutropenia_per_day": 1.5}, r"febrile_neutropenia_per_day must be in \[0, 1\]"),
    ({"delay_days": 0}, r"delay_days in 1\.\.28")])
def test_chemotherapy_scenario__bad_fields_name_the_field(fields: dict, match: str) -> None:
    """Scenario fields out of their domain raise, naming the field and what is allowed."""
    with pytest.raises(ValueError, match=match):
        ChemotherapyScenario(**fields)


# ----- scenario files, render and dataset ------------------------------------------------------
def test_chemotherapy_env__yaml_scenario_configures_the_env(tmp_path) -> None:  # noqa: ANN001
    """A YAML file sets cycles, levels, labs and nested model fields; typos are refused."""
    path = tmp_path / "clinic.yaml"
    path.write_text(f"env: {ENV_ID}\nn_cycles: 3\nscan_every_cycles: 1\n"
                    "label_dose_mg_per_m2: 100.0\ndose_levels_percent: [0, 60, 100]\n"
                    "lab_days: [0, 10]\ntumour:\n  growth_per_week: 0.03\n"
                    "reward:\n  grade4_penalty_per_day: 1.5\nsolver:\n  rtol: 1.0e-8\n")
    env = gym.make(ENV_ID, scenario=str(path))
    assert env.unwrapped.core.settings.scenario == ChemotherapyScenario(
        n_cycles=3, scan_every_cycles=1, label_dose_mg_per_m2=100.0,
        dose_levels_percent=(0.0, 60.0, 100.0), lab_days=(0, 10),
        tumour=Claret2009(growth_per_week=0.03),
        reward=TumourControlReward(grade4_penalty_per_day=1.5),
        solver=SolverTolerances(rtol=1e-8))
    assert env.action_space == gym.spaces.Discrete(3)
    assert env.observation_space["anc_1e9_per_l"].shape == (6,)
    assert env.observation_space["sld_mm"].shape == (4,)
    env.reset(seed=0)
    info = env.step(1)[4]
    assert info["dose_mg"] == pytest.approx(60.0 * info["bsa_m2"])
    for text, message in {"n_cyclez: 3": r"clinic\.yaml\.n_cyclez: unknown field",
                          "tumour:\n  growth: 1": r"clinic\.yaml\.tumour\.growth: unknown field",
                          "n_cycles: 0": "n_cycles must be in 1..50"}.items():
        bad = tmp_path / "clinic.yaml"
        bad.write_text(f"env: {ENV_ID}\n{text}\n")
        with pytest.raises(ValueError, match=message):
            gym.make(ENV_ID, scenario=str(bad))


def test_chemotherapy_env__renders_text_and_rgb(docetaxel_patient: dict) -> None:
    """The ansi render states the cycle, last dose and ANC; rgb_array is a non-blank image."""
    env = gym.make(ENV_ID, render_mode="ansi")
    trace = rollout(env, 0, [3, 4], {"patient": docetaxel_patient})
    text = env.render()
    assert text.startswith("cycle 2/6  last dose 125%")
    assert f"ANC {trace[-1][4]['anc_1e9_per_l']:.2f}" in text
    frame = gym.make(ENV_ID, render_mode="rgb_array")
    frame.reset(seed=2)
    frame.step(3)
    image = frame.render()
    assert image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8
    assert image.std() > 0


def test_chemotherapy_env__episode_dataset_has_infusions_and_anc_rows_at_their_times(
        docetaxel_patient: dict) -> None:
    """Infusions (CMT 1, RATE = AMT / 1 h) at the dose times, ANC (CMT 8) DV = observed counts."""
    env = gym.make(ENV_ID, allow_delay=True)
    actions = [np.array([3, 0]), np.array([0, 0]), np.array([4, 1])]
    obs = rollout(env, 4, actions, {"patient": docetaxel_patient})[-1][0]
    table = env.unwrapped.episode_dataset()
    doses, counts = table[table["EVID"] == 1], table[table["EVID"] == 0]
    assert doses["TIME"].tolist() == [0.0, (42 + 7) * 24.0]  # the 0% cycle has no row
    assert doses["AMT"].tolist() == pytest.approx([75.0 * 1.8, 1.25 * 75.0 * 1.8])
    assert (doses["RATE"] == doses["AMT"] / 1.0).all() and doses["CMT"].eq(1).all()
    assert counts["CMT"].eq(8).all() and table["ID"].eq(7).all()
    days = [0, 7, 14, 21, 28, 35, 42, 49 + 7, 49 + 14, 70]  # cycle 3 waits 7 days: labs follow
    assert counts["TIME"].tolist() == [24.0 * d for d in days]
    np.testing.assert_allclose(counts["DV"], obs["anc_1e9_per_l"][obs["anc_mask"] > 0],
                               rtol=1e-6)
    assert table.loc[table["TIME"] == 0.0, "EVID"].tolist() == [0, 1]  # pre-dose count first
