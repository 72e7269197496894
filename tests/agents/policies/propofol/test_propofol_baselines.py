"""Propofol baselines: effect-site TCI timing against the published peak time, oracle, PID, MAP."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.propofol import make_baseline
from agents.policies.propofol.map import CE50_GRID_SD
from agents.policies.propofol.tci import EffectSiteTci, typical_target_ug_per_ml
from pkgym.envs.propofol.clinic import PropofolScenario
from pkgym.models.propofol_tci_models import marsh_pk, schnider_pk

ENV_ID = "pkgym/Propofol-v0"
REFERENCE = {"age_years": 35.0, "weight_kg": 70.0, "height_cm": 170.0, "is_female": 0,
             "opioid": 1, **{f"eta_{name}": 0.0 for name in ("V1", "V2", "V3", "CL", "Q2",
                                                               "Q3", "KE0", "CE50", "BIS")}}


def _tci_course(pk: object, target: float, top_mg_per_min: float, minutes: float = 10.0
                ) -> tuple[np.ndarray, np.ndarray]:
    """Times (min) and Ce of a pump whose model is also the patient (belief = truth)."""
    tci = EffectSiteTci(pk, 1.0 / 6.0)  # type: ignore[arg-type]
    state, ce = np.zeros((1, 4)), []
    for _ in range(int(minutes * 6)):
        rate = tci.rate_mg_per_min(state, np.array([target]), np.array([top_mg_per_min]))
        state = tci.advance(state, rate)
        ce.append(state[0, 3])
    return (np.arange(len(ce)) + 1) / 6.0, np.array(ce)


@pytest.mark.parametrize(("name", "pk", "weight"), [
    ("schnider", schnider_pk(np.array([53.0]), np.array([77.0]), np.array([177.0]),
                             np.array([0.0])), 77.0),
    ("marsh", marsh_pk(np.array([70.0])), 70.0)])
def test_tci__effect_site_reaches_target_at_the_published_peak_time(name: str, pk: object,
                                                                   weight: float) -> None:
    """Schnider (ke0 0.456) and modified Marsh (1.2): Ce hits 3 ug/mL at ~1.6 min, no overshoot."""
    times, ce = _tci_course(pk, 3.0, 1e6)  # an unlimited pump: a bolus in the first 10 s
    reached = times[np.argmax(ce >= 0.999 * 3.0)]
    assert reached == pytest.approx(1.6, abs=0.1), name
    assert ce.max() <= 3.0 * (1 + 1e-9) and abs(ce[-1] - 3.0) < 1e-6
    limited_times, limited = _tci_course(pk, 3.0, 160.0 * weight / 60.0)
    assert limited_times[np.argmax(limited >= 0.999 * 3.0)] <= 2.0 and limited.max() <= 3.0001


def test_tci_eleveld__on_its_own_typical_patient_holds_the_bis_at_50() -> None:
    """Belief = truth (reference patient, etas 0, noise-free, Box): BIS 50 from ~3 min on."""
    env = gym.make(ENV_ID, continuous=True, scenario=PropofolScenario(bis_noise_scale=0.0,
                                                                       n_minutes=10))
    policy = make_baseline("tci_eleveld", env.unwrapped.core)
    policy.reset(1)
    obs, info = env.reset(seed=0, options={"patient": REFERENCE})
    target = typical_target_ug_per_ml(np.array([[35.0, 70.0, 170.0, 0.0, 1.0]]))[0]
    ces = []
    for _ in range(60):
        rate = policy.act({k: v[None] for k, v in obs.items()})[0]
        obs, _, _, _, info = env.step(np.array([rate / 80.0 - 1.0], dtype=np.float32))
        ces.append(info["ce_ug_per_ml"])
    assert max(ces) <= target * 1.001 and ces[-1] == pytest.approx(target, rel=1e-3)
    assert info["bis"] == pytest.approx(50.0, abs=0.1)
    assert info["induction_time_min"] <= 3.0


def test_oracle__keeps_drawn_patients_in_range() -> None:
    """Noise-free or not, TCI on the true patient holds BIS 40-60 once induced (8 patients)."""
    env = gym.make_vec(ENV_ID, num_envs=8, vectorization_mode="vector_entry_point",
                       continuous=True, scenario=PropofolScenario(n_minutes=10))
    policy = make_baseline("oracle", env.unwrapped.core)
    assert policy.reads_hidden_state
    policy.reset(8)
    obs, info = env.reset(seed=5)
    for _ in range(60):
        rate = policy.act(obs, info)
        obs, _, _, _, info = env.step((rate / 80.0 - 1.0)[:, None].astype(np.float32))
    assert info["time_below_40_fraction"].max() == 0.0
    assert np.median(info["time_in_range_fraction"]) > 0.8 and info["in_range"].all()
    with pytest.raises(ValueError, match="info"):
        policy.act(obs, None)


def test_pid__induces_and_names_are_checked() -> None:
    """PID on the monitor's BIS induces the reference patient within 5 min; bad names refused."""
    env = gym.make(ENV_ID, continuous=True, scenario=PropofolScenario(n_minutes=10))
    core = env.unwrapped.core
    policy = make_baseline("pid", core)
    policy.reset(1)
    obs, info = env.reset(seed=0, options={"patient": REFERENCE})
    for _ in range(60):
        rate = policy.act({k: v[None] for k, v in obs.items()})[0]
        assert 0.0 <= rate <= 160.0
        obs, _, _, _, info = env.step(np.array([rate / 80.0 - 1.0], dtype=np.float32))
    assert 0 < info["induction_time_min"] <= 5.0 and info["time_in_range_fraction"] > 0.4
    with pytest.raises(ValueError, match="baseline must be one of"):
        make_baseline("manual", core)


def test_map__finds_a_resistant_patient_and_brings_the_bis_to_50() -> None:
    """Ce50 x 1.65 (eta 0.5), noise-free: after 10 min the posterior mode is near it, BIS ~50."""
    env = gym.make(ENV_ID, continuous=True, scenario=PropofolScenario(bis_noise_scale=0.0,
                                                                       n_minutes=10))
    policy = make_baseline("map", env.unwrapped.core)
    policy.reset(1)
    obs, info = env.reset(seed=0, options={"patient": {**REFERENCE, "eta_CE50": 0.5}})
    for _ in range(60):
        rate = policy.act({k: v[None] for k, v in obs.items()})[0]
        obs, _, _, _, info = env.step(np.array([rate / 80.0 - 1.0], dtype=np.float32))
    best = (policy.loglik + policy.prior[None])[0]
    _, j = np.unravel_index(best.argmax(), best.shape)
    assert CE50_GRID_SD[j] * policy.sd_ce50 == pytest.approx(0.5, abs=0.13)
    assert info["bis"] == pytest.approx(50.0, abs=5.0) and info["induction_time_min"] < 4.0
