"""What a policy returns is checked where it enters the evaluation (issue 17, defect 9).

``None``, NaN, infinities, non-real values and the wrong number of patients are refused with
one line naming the policy (and the patient); a scalar is given to every patient, as
``CallablePolicy`` does; a dose outside the env's range is refused, never clipped.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

import pkgym  # noqa: F401
from agents.policies.registry import CallablePolicy
from pkgym.evaluation.cohorts import env_cohort, sample_cohort
from pkgym.evaluation.evaluate import evaluate
from pkgym.models.vancomycin import Goti2018
from pkgym.populations.vancomycin import ADULT_INPATIENTS

ENV_ID = "pkgym/Vancomycin-v0"


class Returns:
    """A policy that returns ``value`` (or ``value(n)``) whatever it observes."""

    reads_hidden_state = False

    def __init__(self, value: Any, name: str = "my<policy>") -> None:
        """Remember what to return and the name."""
        self.value, self.name = value, name

    def reset(self, n_envs: int) -> None:
        """Remember the batch size."""
        self.n = n_envs

    def act(self, observation: dict, info: dict | None = None) -> Any:
        """The fixed answer."""
        return self.value(self.n) if callable(self.value) else self.value


def _cohort(n: int = 4) -> pd.DataFrame:
    cohort = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, n, seed=3)
    return cohort.assign(id=100 + np.arange(n))


def _refused(policy: Returns, env_id: str = ENV_ID, cohort: pd.DataFrame | None = None,
             **env_kwargs: Any) -> str:
    """The one-line error ``evaluate`` raises for ``policy``."""
    cohort = _cohort() if cohort is None else cohort
    with pytest.raises(ValueError) as error:
        evaluate([policy], env_id, cohort, 1, env_kwargs=env_kwargs)
    message = str(error.value)
    assert "\n" not in message and repr(policy.name) in message
    return message


def test_evaluate__a_scalar_dose_is_given_to_every_patient(fixed_dose) -> None:  # noqa: ANN001
    """A scalar (Python or NumPy, int or float) is broadcast: the same table as a full array."""
    full = evaluate([fixed_dose(1000.0, "p")], ENV_ID, _cohort(), 1)
    for scalar in (1000.0, 1000, np.float32(1000.0), np.array(1000.0)):
        scalar_table = evaluate([Returns(scalar, "p")], ENV_ID, _cohort(), 1)
        pd.testing.assert_frame_equal(scalar_table, full)


@pytest.mark.parametrize(("value", "expected"), [
    (None, "returned None"),
    (float("nan"), "row 0 (id 100) the decision nan"),
    (np.inf, "row 0 (id 100) the decision inf"),
    (lambda n: np.r_[np.full(n - 2, 500.0), np.nan, 500.0], "row 2 (id 102) the decision nan"),
    (lambda n: np.full(n, 500 + 0j), "(complex128)"),
    (lambda n: np.array([500.0] * (n - 1) + [None]), "(object)"),
    (lambda n: np.full(n, "500"), "(<U3)"),
    (lambda n: np.ones(n, dtype=bool), "(bool)"),
    (lambda n: np.full(n + 1, 500.0), "returned shape (5,) for 4 patient(s)"),
    (lambda n: np.full((n, 1, 1), 500.0), "returned shape (4, 1, 1)"),
    (lambda n: np.full((n, 1), 500.0), "doses must have shape (n,), one per patient"),
], ids=["None", "nan", "inf", "nan-in-row-2", "complex", "object", "str", "bool", "too-many",
        "3-d", "column"])
def test_evaluate__policy_returning_a_scalar_none_or_nan_is_refused_naming_the_policy(
        value: Any, expected: str) -> None:
    """None, NaN, inf, non-real values and wrong shapes: one line naming policy and patient."""
    message = _refused(Returns(value))
    assert expected in message, message
    assert "IndexError" not in message and "subscriptable" not in message


@pytest.mark.parametrize("continuous", [False, True])
@pytest.mark.parametrize(("dose", "row"), [(1e9, 1), (3100.0, 1), (-1.0, 1)])
def test_evaluate__dose_beyond_the_top_level_is_refused_not_clipped(
        dose: float, row: int, continuous: bool) -> None:
    """A dose above 3000 mg (or below 0) names the policy, the patient and the range 0..3000."""
    message = _refused(Returns(lambda n: np.r_[1000.0, dose, np.full(n - 2, 1000.0)]),
                       continuous=continuous)
    assert f"row {row} (id {100 + row})" in message
    assert f"dose {dose:g} is outside the dose range 0..3000" in message
    assert ("refused, not clipped" in message) == (dose > 0)


@pytest.mark.parametrize("continuous", [False, True])
def test_evaluate__a_hair_above_the_top_level_is_the_top_level(continuous: bool) -> None:
    """Rounding noise above the top level (1e-7 of it) gives exactly the top level."""
    top = evaluate([Returns(3000.0, "p")], ENV_ID, _cohort(), 1, env_kwargs={
        "continuous": continuous})
    hair = evaluate([Returns(3000.0 * (1 + 1e-7), "p")], ENV_ID, _cohort(), 1, env_kwargs={
        "continuous": continuous})
    pd.testing.assert_frame_equal(hair, top)


@pytest.mark.parametrize(("env_id", "value", "expected"), [
    ("pkgym/Addiction-v0", 7.0, "decision 7 is not one of 0..6"),
    ("pkgym/Addiction-v0", 1.5, "decision 1.5 is not one of 0..6"),
    ("pkgym/DoseFinding-v0", 2.5, "decision 2.5 is not one of 0..5"),
    ("pkgym/DoseFinding-v0", -1.0, "decision -1 is not one of 0..5"),
    ("pkgym/Warfarin-v0", 20.0, "dose 20 is outside the dose range 0..15"),
])
def test_evaluate__decisions_outside_other_envs_action_sets_name_the_patient(
        env_id: str, value: float, expected: str) -> None:
    """Treatment indices and trial levels are checked too, not cast or clipped."""
    cohort = env_cohort(gym.make(env_id).unwrapped.core.settings, 3, seed=2)
    message = _refused(Returns(value), env_id, cohort)
    assert expected in message and "row 0 (id " in message, message


def test_evaluate__an_env_wanting_two_decisions_per_patient_names_the_policy() -> None:
    """Chemotherapy with delays wants (n, 2): a dose vector alone is refused, naming the policy."""
    core = gym.make("pkgym/Chemotherapy-v0").unwrapped.core
    cohort = env_cohort(core.settings, 2, seed=2)
    assert "shape (n, 2)" in _refused(Returns(100.0), "pkgym/Chemotherapy-v0", cohort,
                                      allow_delay=True)


def test_callable_policy__refuses_none_and_complex_naming_the_policy() -> None:
    """``module:callable`` policies: a scalar is broadcast; None and complex are refused."""
    observation = {"x": np.zeros(3)}
    assert CallablePolicy("m:f", lambda obs: 250).act(observation).tolist() == [250.0] * 3
    for bad in (None, 1 + 2j):
        with pytest.raises(ValueError, match="policy 'm:f' returned"):
            CallablePolicy("m:f", lambda obs, bad=bad: bad).act(observation)
