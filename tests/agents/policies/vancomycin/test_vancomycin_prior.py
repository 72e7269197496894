"""Vancomycin MAP with another model as prior (map:prior=NAME; issue 19, truth vs belief)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import make_policy
from agents.policies.vancomycin import make_baseline
from pkgym.envs.base import doses_to_actions
from pkgym.envs.vancomycin.clinic import VancomycinScenario

ENV_ID = "pkgym/Vancomycin-v0"
PATIENTS = [
    {"age_years": 45.0, "is_female": 0.0, "weight_kg": 85.0, "height_cm": 180.0,
     "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 0.9, "eta_CL": 0.2, "eta_V1": -0.1,
     "eta_V2": 0.0},
    {"age_years": 72.0, "is_female": 1.0, "weight_kg": 60.0, "height_cm": 160.0,
     "on_dialysis": 0.0, "serum_creatinine_mg_per_dl": 1.6, "eta_CL": -0.3, "eta_V1": 0.1,
     "eta_V2": 0.2},
]


def _doses(spec: str, scenario: VancomycinScenario | None = None) -> tuple[str, np.ndarray]:
    """The policy's name and its doses (mg) over 8 steps for the pinned patients, seed 3."""
    env = gymnasium.make_vec(ENV_ID, num_envs=len(PATIENTS), scenario=scenario,
                             vectorization_mode="vector_entry_point")
    core = env.unwrapped.core
    policy = make_policy(spec, core)
    policy.reset(len(PATIENTS))
    observation, info = env.reset(seed=3, options={"patients": PATIENTS})
    doses = []
    for _ in range(8):
        doses.append(np.asarray(policy.act(observation, info), dtype=float))
        observation, _, _, _, info = env.step(doses_to_actions(doses[-1], core.dose_levels_mg,
                                                               False))
    return policy.name, np.stack(doses, axis=1)


def test_vancomycin_map__naming_the_truth_as_prior_changes_nothing() -> None:
    """map:prior=goti2018 under a Goti truth: the same name and the same doses as map."""
    name, doses = _doses("map")
    same_name, same_doses = _doses("map:prior=goti2018")
    assert same_name == name == "map_bayesian"
    np.testing.assert_array_equal(same_doses, doses)


def test_vancomycin_map__a_wrong_prior_doses_differently_and_says_so() -> None:
    """map:prior=thomson2009 under a Goti truth doses otherwise and is named for its prior."""
    _, truth_doses = _doses("map")
    name, belief_doses = _doses("map:prior=thomson2009")
    assert name == "map_bayesian[prior=thomson2009]"
    assert not np.array_equal(belief_doses, truth_doses)


def test_vancomycin_map__colin_prior_reads_creatinine_and_differs_from_goti() -> None:
    """map:prior=colin2019 (CL from age and measured creatinine) doses otherwise than map."""
    _, truth_doses = _doses("map")
    name, belief_doses = _doses("map:prior=colin2019")
    assert name == "map_bayesian[prior=colin2019]"
    assert not np.array_equal(belief_doses, truth_doses)


def test_vancomycin_map__colin_truth_and_colin_prior_is_the_plain_map() -> None:
    """Under a Colin truth, map and map:prior=colin2019 are the same policy."""
    scenario = VancomycinScenario(model="colin2019")
    name, doses = _doses("map", scenario)
    same_name, same_doses = _doses("map:prior=colin2019", scenario)
    assert same_name == name == "map_bayesian"
    np.testing.assert_array_equal(same_doses, doses)


def test_vancomycin_map__prior_reads_the_scenarios_own_parameter_set() -> None:
    """The prior is the scenario's thomson2009 field, so its overrides reach the policy."""
    from pkgym.models.vancomycin_thomson2009 import Thomson2009

    tuned = Thomson2009(clearance_l_per_h=4.0)
    env = gymnasium.make(ENV_ID, scenario=VancomycinScenario(thomson2009=tuned))
    policy = make_baseline("map", env.unwrapped.core, prior="thomson2009")
    assert policy.model is tuned  # type: ignore[attr-defined]


@pytest.mark.parametrize(("spec", "message"), [
    ("map:prior=roberts2011",
     r"prior 'roberts2011' is not one of \['colin2019', 'goti2018', 'thomson2009'\]"),
    ("label:prior=thomson2009", r"'label' takes no prior"),
])
def test_vancomycin_map__bad_priors_are_refused_in_one_line(spec: str, message: str) -> None:
    """An unknown prior, or a prior for a baseline without a model, is a one-line error."""
    core = gymnasium.make(ENV_ID).unwrapped.core
    with pytest.raises(ValueError, match=message) as error:
        make_policy(spec, core)
    assert "\n" not in str(error.value)
