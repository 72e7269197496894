"""Clinician-titrated TCI: follows a resistant patient, waits review_s, refuses bad options."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.propofol import make_baseline
from agents.policies.propofol.tci import typical_target_ug_per_ml
from agents.policies.propofol.titrated import MAX_TARGET_UG_PER_ML, MIN_TARGET_UG_PER_ML
from agents.policies.registry import make_policy
from pkgym.envs.propofol.clinic import PropofolScenario

ENV_ID = "pkgym/Propofol-v0"
RESISTANT = {"age_years": 35.0, "weight_kg": 70.0, "height_cm": 170.0, "is_female": 0,
             "opioid": 1, **{f"eta_{name}": 0.0 for name in ("V1", "V2", "V3", "CL", "Q2",
                                                               "Q3", "KE0", "BIS")},
             "eta_CE50": 0.7}
"""Eleveld's reference man with Ce50 x 2.0 (6.2 ug/mL; eta 0.7, 1.4 SD): typical targets fail."""


def _run(name: str, minutes: int = 30, **options: str) -> tuple[list[float], list[float], object]:
    """Monitor-noisy course of the resistant patient: true BIS and the pump's target per step."""
    env = gym.make(ENV_ID, continuous=True, scenario=PropofolScenario(n_minutes=minutes))
    policy = make_baseline(name, env.unwrapped.core, **options)
    policy.reset(1)
    obs, info = env.reset(seed=3, options={"patient": RESISTANT})
    bis, targets = [], []
    for _ in range(minutes * 6):
        rate = policy.act({k: v[None] for k, v in obs.items()})[0]
        obs, _, _, _, info = env.step(np.array([rate / 80.0 - 1.0], dtype=np.float32))
        bis.append(float(info["bis"]))
        targets.append(float(policy.target[0]))  # type: ignore[attr-defined]
    return bis, targets, policy


def test_titrated__raises_the_target_and_brings_a_resistant_patient_below_60() -> None:
    """Ce50 x 2: open-loop TCI never gets BIS < 60 in 30 min; the titrated pump does, by 15 min."""
    open_bis, open_targets, _ = _run("tci_eleveld")
    assert min(open_bis) > 60.0 and len(set(open_targets)) == 1
    bis, targets, _ = _run("tci_eleveld_titrated")
    typical = typical_target_ug_per_ml(np.array([[35.0, 70.0, 170.0, 0.0, 1.0]]))[0]
    assert targets[0] == pytest.approx(typical) and max(targets) >= typical + 1.0
    below = np.flatnonzero(np.array(bis) < 60.0)
    assert below.size and (below[0] + 1) / 6.0 <= 15.0
    assert np.mean(np.array(bis[-60:]) <= 60.0) > 0.7  # the last 10 min mostly in range


@pytest.mark.parametrize("review_s", ["60", "150"])
def test_titrated__never_changes_a_target_sooner_than_review_s(review_s: str) -> None:
    """12 drawn patients (vector env), 30 min: successive target changes >= review_s apart."""
    env = gym.make_vec(ENV_ID, num_envs=12, vectorization_mode="vector_entry_point",
                       continuous=True, scenario=PropofolScenario(n_minutes=30))
    policy = make_baseline("tci_schnider_titrated", env.unwrapped.core, review_s=review_s)
    assert policy.name == f"tci_schnider_titrated[review_s={review_s}]"
    policy.reset(12)
    obs, info = env.reset(seed=8)
    targets = []
    for _ in range(180):
        rate = policy.act(obs)
        targets.append(policy.target.copy())  # type: ignore[attr-defined]
        obs, _, _, _, info = env.step((rate / 80.0 - 1.0)[:, None].astype(np.float32))
    course = np.array(targets)  # (steps, patients), the target the step was planned with
    changes = np.diff(course, axis=0) != 0
    assert changes.any()
    assert course.min() >= MIN_TARGET_UG_PER_ML and course.max() <= MAX_TARGET_UG_PER_ML
    for patient in range(12):
        steps = np.flatnonzero(changes[:, patient]) + 1  # decisions where it changed
        gaps_s = np.diff(np.concatenate([[0], steps])) * 10.0
        assert (gaps_s >= float(review_s) - 1e-9).all()


@pytest.mark.parametrize(("options", "message"), [
    ({"review_s": "fast"}, r"review_s must be a number in \[10, 1800\], got 'fast'"),
    ({"step_ug_per_ml": "0"}, r"step_ug_per_ml must be a number in \[0.05, 2\]"),
    ({"window_s": "nan"}, "window_s must be a number"),
    ({"gain": "2"}, "titrated TCI options are")])
def test_titrated__bad_options_are_refused_in_one_line(options: dict[str, str],
                                                       message: str) -> None:
    """Non-numbers, values out of range and unknown keys: a one-line ValueError naming them."""
    core = gym.make(ENV_ID).unwrapped.core
    with pytest.raises(ValueError, match=message) as error:
        make_baseline("tci_marsh_titrated", core, **options)
    assert "\n" not in str(error.value)


def test_titrated__options_through_the_policy_spec_and_result_name() -> None:
    """``NAME:key=value`` builds it, its result name is accepted back, open-loop pumps refuse."""
    core = gym.make(ENV_ID).unwrapped.core
    policy = make_policy("tci_eleveld_titrated:review_s=180,step_ug_per_ml=0.3", core)
    assert policy.name == "tci_eleveld_titrated[review_s=180,step_ug_per_ml=0.3]"
    assert make_policy(policy.name, core).name == policy.name
    assert make_policy("tci_eleveld_titrated", core).name == "tci_eleveld_titrated"
    with pytest.raises(ValueError, match="review_s must be"):
        make_policy("tci_eleveld_titrated:review_s=-1", core)
    with pytest.raises(ValueError, match="takes no options"):
        make_baseline("tci_eleveld", core, review_s="120")
