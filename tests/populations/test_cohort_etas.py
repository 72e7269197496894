"""Random effects in a cohort or a pinned patient are range-checked (issue 17, defect 6).

``eta_CL = 50`` gave a vancomycin clearance of 1.9e22 L/h and normal-looking results; NaN
etas were refused without naming the row or the column. Now every eta is finite and within
10 SD of the model's omega (:func:`pkgym.populations.cohort.eta_rules`), wherever it enters.
"""

from __future__ import annotations

import io
import math

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from pkgym.evaluation.cohorts import env_cohort
from pkgym.populations import BetweenSubjectVariability
from pkgym.populations.cohort import (
    ETA_SD_LIMIT,
    CohortSchema,
    CohortValidationError,
    ColumnRule,
    eta_rules,
    load_cohort,
)

BSV = BetweenSubjectVariability(names=("CL", "V"), omega=np.diag([0.16, 0.0]))
SCHEMA = CohortSchema(columns={"weight_kg": ColumnRule(low=20, high=300, unit="kg")})
ENVS_WITH_ETAS = ["pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/Chemotherapy-v0",
                  "pkgym/Depression-v0", "pkgym/Addiction-v0", "pkgym/ChemoImmune-v0"]


def test_eta_rules__bound_is_five_sds_of_omega_and_zero_without_variability() -> None:
    """An SD of 0.4 gives [-4, 4]; an eta whose omega is 0 may only be 0."""
    rules = eta_rules(BSV)
    assert ETA_SD_LIMIT == 10.0
    assert (rules["eta_CL"].low, rules["eta_CL"].high) == (-4.0, 4.0)
    assert (rules["eta_V"].low, rules["eta_V"].high) == (0.0, 0.0)


def test_cohort__eta_out_of_range_is_refused_with_row_and_column() -> None:
    """Huge, infinite and NaN etas in a file: each named by row, line and column at once."""
    text = ("id,weight_kg,eta_CL,extra\n1,70,0.3,a\n2,80,50,b\n3,75,inf,c\n4,60,nan,d\n"
            "5,70,-2,e\n")
    with pytest.raises(CohortValidationError) as info:
        load_cohort(io.StringIO(text), SCHEMA, optional=eta_rules(BSV))
    message = str(info.value)
    assert [(p.row, p.line, p.column) for p in info.value.problems] == [
        (2, 3, "eta_CL"), (3, 4, "eta_CL"), (4, 5, "eta_CL")]
    assert "row 2 (line 3), column 'eta_CL': got '50', expected a number in [-4.0, 4.0] (10 SD " \
        "of the model's omega, 0.4)" in message
    assert "row 4 (line 5), column 'eta_CL': got a missing value" in message


def test_cohort__eta_columns_are_optional_and_checked_only_when_present() -> None:
    """No eta column: accepted (the env draws them); an eta column: converted to float."""
    plain = load_cohort(io.StringIO("id,weight_kg\n1,70\n"), SCHEMA, optional=eta_rules(BSV))
    assert plain.columns.tolist() == ["id", "weight_kg"]
    given = load_cohort(io.StringIO("id,weight_kg,eta_CL\n1,70,-0.5\n"), SCHEMA,
                        optional=eta_rules(BSV))
    assert given["eta_CL"].tolist() == [-0.5]


@pytest.mark.parametrize("env_id", ENVS_WITH_ETAS)
@pytest.mark.parametrize("value", [50.0, -50.0, math.inf, math.nan, "abc"])
def test_pinned_patient__eta_out_of_range_is_refused_with_row_and_column(
        env_id: str, value: object) -> None:
    """Every env with random effects: a bad eta in a pinned batch names its column."""
    env = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    settings = env.unwrapped.core.settings
    rows = env_cohort(settings, 2, 0).drop(columns="id").to_dict("records")
    column = settings.model.variability.eta_columns[0]
    env.reset(seed=0, options={"patients": rows})
    rows[1] = {**rows[1], column: value}
    with pytest.raises(ValueError, match=rf"row 1, column '{column}': got .*, expected a number "
                                         r"in \[-[0-9.]+, [0-9.]+\] \(10 SD of the model's omega"):
        env.reset(seed=0, options={"patients": rows})


@pytest.mark.parametrize("env_id", ENVS_WITH_ETAS)
def test_pinned_patient__etas_at_the_bound_are_accepted(env_id: str) -> None:
    """Exactly 10 SD (rounded up to the bound): accepted, and the rollout stays finite."""
    env = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    settings = env.unwrapped.core.settings
    rules = eta_rules(settings.model.variability)
    rows = env_cohort(settings, 2, 0).drop(columns="id").to_dict("records")
    rows = [{**rows[0], **{k: r.high for k, r in rules.items()}},
            {**rows[1], **{k: r.low for k, r in rules.items()}}]
    obs, _ = env.reset(seed=0, options={"patients": rows})
    env.action_space.seed(0)
    for _ in range(10):
        obs, reward, *_ = env.step(env.action_space.sample())
        assert np.all(np.isfinite(reward))
