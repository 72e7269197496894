"""Numerics only: dose events, exact linear compartment solutions, batched integrators.

Pure functions on float64 arrays whose leading axis is the patient; no RNG, no I/O.
"""

from pkgym.sim.doses import IV, ORAL, ROUTES, DoseSchedule, regular_schedule
from pkgym.sim.integrate import SolverConfig, integrate, integrate_final
from pkgym.sim.interval import infuse_compartments, infuse_interval
from pkgym.sim.linear import LinearPKSolution, LinearPKState, empty_state, simulate_linear
from pkgym.sim.modal import (
    LinearPKParams,
    ModalBasis,
    advance_modes,
    compartment_params,
    modal_basis,
    step_factors,
)

__all__ = [
    "IV", "ORAL", "ROUTES", "DoseSchedule", "LinearPKParams", "LinearPKSolution",
    "LinearPKState", "ModalBasis", "SolverConfig", "advance_modes", "compartment_params",
    "empty_state", "infuse_compartments", "infuse_interval", "integrate", "integrate_final",
    "modal_basis", "regular_schedule", "simulate_linear", "step_factors",
]
