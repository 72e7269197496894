"""The compiled untreated use history equals :func:`simulate_untreated` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from pkgym.models.addiction import (
    DRUG,
    VARIED,
    Redish2004,
    drug_naive_values,
    simulate_untreated,
    simulate_untreated_days,
)


@pytest.mark.parametrize(("n", "n_days"), [(1, 180), (7, 0), (257, 60)])
def test_simulate_untreated_days__equals_the_numpy_reference(n: int, n_days: int) -> None:
    """Random learners and uniforms: identical final values and drug-use day counts."""
    model = Redish2004(dopamine_surge=0.2, abstain_reward=0.1)
    rng = np.random.default_rng(n)
    patients = model.patients(rng.standard_normal((n, 4)))
    params = np.column_stack([patients[name] for name in VARIED])
    start = drug_naive_values(model, patients["reward_sensitivity"])
    uniforms = rng.random((n, n_days))
    values, chosen = simulate_untreated(model, patients, start, uniforms)
    compiled, drug_days = simulate_untreated_days(model, params, start, uniforms)
    assert np.array_equal(compiled, values)
    assert np.array_equal(drug_days, (chosen == DRUG - 1).sum(axis=1))
    assert not np.shares_memory(compiled, start)
