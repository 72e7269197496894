"""Shared fixtures for the phase I trial tests."""

from __future__ import annotations

import pytest

from pkgym.trials import DoseFindingScenario


@pytest.fixture
def scenario() -> DoseFindingScenario:
    """Five doses, target 0.3, MTD at level 2, 30 patients in cohorts of 3."""
    return DoseFindingScenario(
        true_dlt_probabilities=(0.05, 0.12, 0.30, 0.45, 0.60),
        target_dlt_rate=0.3,
        max_sample_size=30,
    )
