"""Every env survives extreme pinned patients under max, zero and random dosing (issue 17)."""

from __future__ import annotations

import pytest

import pkgym  # noqa: F401
from benchmarks.extreme_patients import sweep_env
from pkgym.envs.registry import env_specs


@pytest.mark.parametrize("env_id", [spec.env_id for spec in env_specs()])
def test_extreme_patients__no_exception_non_finite_or_out_of_space(env_id: str) -> None:
    """50 extreme patients per env, one episode per dosing: nothing raises, NaNs or escapes."""
    counts = sweep_env(env_id, 50)
    assert counts.patients > 0 and counts.patient_steps > 0
    assert (counts.exceptions, counts.non_finite, counts.out_of_space) == (0, 0, 0), \
        counts.messages
