"""CRM posterior, skeleton calibration and decision rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from pkgym.trials import CrmDesign, TrialState, indifference_skeleton


def test_indifference_skeleton__neighbours_meet_at_interval_ends() -> None:
    """At each boundary b_k adjacent doses have p = target -/+ delta (Lee & Cheung 2009)."""
    target, delta = 0.25, 0.05
    skeleton = indifference_skeleton(target, delta, 3, 6)
    assert skeleton[2] == pytest.approx(target)
    for k in range(1, 6):
        b = np.log(np.log(target + delta) / np.log(skeleton[k]))
        assert skeleton[k - 1] ** np.exp(b) == pytest.approx(target - delta)


def test_indifference_skeleton__bad_input_raises() -> None:
    """A half-width beyond the target is rejected naming the field."""
    with pytest.raises(ValueError, match="half_width"):
        indifference_skeleton(0.25, 0.3, 3, 5)


def test_crm_posterior__matches_adaptive_quadrature() -> None:
    """Grid posterior means and Pr(p_1 > target) agree with scipy.integrate.quad."""
    skeleton = np.array([0.05, 0.12, 0.25, 0.4, 0.55])
    design = CrmDesign(skeleton=tuple(skeleton), target=0.25)
    patients, dlts = np.array([3, 3, 6, 3, 0]), np.array([0, 0, 2, 2, 0])
    means, overdose = design.posterior(TrialState.from_counts([patients], [dlts], [2]))

    def density(a: float) -> float:
        p = skeleton ** np.exp(a)
        return float(
            np.prod(p**dlts * (1 - p) ** (patients - dlts)) * stats.norm.pdf(a, 0, np.sqrt(1.34))
        )

    norm = integrate.quad(density, -10, 10, points=[0])[0]
    for d in range(5):
        num = integrate.quad(lambda a, d=d: skeleton[d] ** np.exp(a) * density(a), -10, 10)[0]
        assert means[0, d] == pytest.approx(num / norm, abs=1e-6)
    cut = np.log(np.log(0.25) / np.log(skeleton[0]))
    assert overdose[0] == pytest.approx(integrate.quad(density, -10, cut)[0] / norm, abs=2e-3)


def test_crm_design__no_skipping_untried_doses() -> None:
    """After 0/9 at dose 0 the model points high, but the next dose is at most level 1."""
    design = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
    state = TrialState.from_counts([[9, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], [0])
    assert design.next_dose(state).tolist() == [1]


def test_crm_design__safety_stop_on_toxic_lowest_dose() -> None:
    """3/3 DLTs at dose 0 triggers the overdose stop and no MTD; 0/3 does not."""
    design = CrmDesign(skeleton=(0.05, 0.12, 0.25, 0.4, 0.55), target=0.25)
    toxic = TrialState.from_counts([[3, 0, 0, 0, 0]], [[3, 0, 0, 0, 0]], [0])
    safe = TrialState.from_counts([[3, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], [0])
    assert design.stop(toxic).tolist() == [True] and design.select_mtd(toxic).tolist() == [-1]
    assert design.stop(safe).tolist() == [False]


def test_crm_design__bad_skeleton_raises() -> None:
    """A non-increasing skeleton is rejected naming the field."""
    with pytest.raises(ValueError, match="skeleton"):
        CrmDesign(skeleton=(0.2, 0.1), target=0.25)
