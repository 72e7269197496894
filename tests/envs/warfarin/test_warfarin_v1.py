"""``pkgym/Warfarin-v1`` and ``WarfarinPGx-v1``: calibrated patients, scenario versions, scores."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from contract import assert_slot

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from pkgym.envs.registry import spec_of
from pkgym.envs.warfarin.clinic import SCENARIO_TYPES, WarfarinScenario, WarfarinScenarioV1
from pkgym.envs.warfarin.views import warfarin_scores
from pkgym.evaluation.outcomes import outcome_spec
from pkgym.models.warfarin import Hamberg2010
from pkgym.models.warfarin_calibrated import Hamberg2010Iwpc

V0 = ("pkgym/Warfarin-v0", "pkgym/WarfarinPGx-v0")
V1 = ("pkgym/Warfarin-v1", "pkgym/WarfarinPGx-v1")


def _make(env_id: str, **kwargs) -> gym.Env:  # noqa: ANN003
    """gym.make, silencing the expected 'upgrade to v1' DeprecationWarning of v0 ids."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make(env_id, **kwargs)


def _make_vec(env_id: str, n: int, **kwargs):  # noqa: ANN003, ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                            **kwargs)


@pytest.mark.parametrize("env_id", V0 + V1)
def test_warfarin_v1__default_model_and_spec_lookup(env_id: str) -> None:
    """v1 defaults to Hamberg2010Iwpc, v0 to Hamberg2010; spec_of finds each id, single and vec."""
    env = _make(env_id)
    settings = env.unwrapped.core.settings
    expected = Hamberg2010Iwpc if env_id in V1 else Hamberg2010
    assert type(settings.model) is expected
    assert type(settings.scenario) is SCENARIO_TYPES[env_id]
    assert spec_of(env.unwrapped.core).env_id == env_id
    assert spec_of(_make_vec(env_id, 2).unwrapped.core).env_id == env_id


def test_warfarin_v1__scenario_versions_do_not_mix() -> None:
    """A v0 scenario cannot configure v1 and a v1 scenario cannot configure v0."""
    with pytest.raises(ValueError, match="WarfarinScenarioV1"):
        _make(V1[0], scenario=WarfarinScenario())
    with pytest.raises(ValueError, match="WarfarinScenario"):
        _make(V0[0], scenario=WarfarinScenarioV1())
    with pytest.raises(ValueError, match="scenario"):
        _make_vec(V1[1], 2, scenario=WarfarinScenario())


def test_warfarin_v1__yaml_file_configures_v1(tmp_path) -> None:  # noqa: ANN001
    """A YAML file naming the v1 env sets its population, with v1's calibrated model."""
    path = tmp_path / "v1.yaml"
    path.write_text("env: pkgym/Warfarin-v1\npopulation: iwpc_2009\nn_days: 30\n")
    settings = _make(V1[0], scenario=str(path)).unwrapped.core.settings
    assert type(settings.scenario) is WarfarinScenarioV1
    assert settings.scenario.population == "iwpc_2009" and settings.scenario.n_days == 30
    assert type(settings.model) is Hamberg2010Iwpc


def test_warfarin_v1__outcomes_add_daily_inr_ttr() -> None:
    """Only v1's outcome spec has ttr_daily_inr."""
    for env_id in V1:
        assert "ttr_daily_inr" in outcome_spec(_make(env_id).unwrapped.core).scores
    for env_id in V0:
        assert "ttr_daily_inr" not in outcome_spec(_make(env_id).unwrapped.core).scores


def test_warfarin_scores__daily_ttr_is_the_share_of_mornings_1_to_n_minus_1_in_range() -> None:
    """Mornings 1 .. n - 1 (not day 0, not the morning after the last day) count."""
    steps = {"inr": np.array([[1.5, 2.5, 2.9, 3.5, 9.0], [2.0, 3.0, 1.0, 1.9, 2.5]]),
             "inr_tested": np.zeros((2, 5)), "inr_measured": np.zeros((2, 5)),
             "bleeding_event": np.zeros((2, 5)), "thromboembolic_event": np.zeros((2, 5))}
    first = {"inr": np.array([2.5, 2.5]), "inr_measured": np.zeros(2),
             "inr_tested": np.array([False, False])}
    scores = warfarin_scores(steps, first, (2.0, 3.0), daily=True)
    # mornings 1..4 are steps 0..3: [1.5, 2.5, 2.9, 3.5] -> 2/4; [2.0, 3.0, 1.0, 1.9] -> 2/4
    np.testing.assert_allclose(scores["ttr_daily_inr"], [0.5, 0.5])
    steps["inr"][1, 2] = 2.2
    assert warfarin_scores(steps, first, (2.0, 3.0), daily=True)["ttr_daily_inr"][1] == 0.75
    assert "ttr_daily_inr" not in warfarin_scores(steps, first, (2.0, 3.0))


@pytest.mark.parametrize("env_id", V1)
def test_warfarin_v1__vector_slots_match_single_envs(env_id: str) -> None:
    """Slot i of a v1 vector env seeded s follows a single v1 env seeded s + i."""
    n, steps = 3, 20
    vec = _make_vec(env_id, n)
    singles = [_make(env_id).unwrapped for _ in range(n)]
    obs, info = vec.reset(seed=11)
    expected = [env.reset(seed=11 + i) for i, env in enumerate(singles)]
    actions = np.random.default_rng(0).integers(0, 21, (steps, n))
    for step in range(steps):
        for i, (single_obs, single_info) in enumerate(expected):
            assert_slot(obs, info, i, single_obs, single_info)
        obs, reward, _, _, info = vec.step(actions[step])
        results = [env.step(int(actions[step, i])) for i, env in enumerate(singles)]
        expected = [(r[0], r[4]) for r in results]
        np.testing.assert_array_equal(reward, [r[1] for r in results])


def _clearance(env_id: str, patient: dict) -> float:
    _, info = _make(env_id).reset(seed=3, options={"patient": patient})
    return float(info["clearance_l_per_h"])


def test_warfarin_v1__amiodarone_lowers_clearance_in_v1_only(warfarin_patient: dict) -> None:
    """The same pinned patient with and without amiodarone: CL x factor in v1, equal in v0."""
    on, off = {**warfarin_patient, "amiodarone": 1}, {**warfarin_patient, "amiodarone": 0}
    factor = Hamberg2010Iwpc().amiodarone_clearance_factor
    assert factor < 1.0
    assert _clearance(V1[0], on) == pytest.approx(factor * _clearance(V1[0], off), rel=1e-12)
    assert _clearance(V1[1], on) == pytest.approx(factor * _clearance(V1[1], off), rel=1e-12)
    assert _clearance(V0[0], on) == _clearance(V0[0], off)


def _prior_mean(env_id: str, patient: dict) -> np.ndarray:
    env = _make(env_id)
    policy = make_policy("map", env.unwrapped.core)
    obs, _ = env.reset(seed=0, options={"patient": patient})
    batched = {key: np.asarray(value)[None] for key, value in obs.items()}
    policy.update(batched)
    return policy.prior_mean[0].copy()


def test_warfarin_map__prior_mean_carries_amiodarone_in_v1_only(warfarin_patient: dict) -> None:
    """The MAP baseline's prior log CL falls by log(factor) on amiodarone in v1, not in v0."""
    on, off = {**warfarin_patient, "amiodarone": 1}, {**warfarin_patient, "amiodarone": 0}
    shift = _prior_mean(V1[0], on) - _prior_mean(V1[0], off)
    factor = Hamberg2010Iwpc().amiodarone_clearance_factor
    assert np.count_nonzero(shift) == 1
    assert shift[np.flatnonzero(shift)[0]] == pytest.approx(np.log(factor), rel=1e-12)
    np.testing.assert_array_equal(_prior_mean(V0[0], on), _prior_mean(V0[0], off))
