"""Steady state of the Hamberg models: the morning INR on a constant daily dose, and its inverse.

On the same racemic dose every morning the PK and the transit chains become periodic. For a
linear PK system ``x' = M x`` with ``b`` mg of S-warfarin into the depot every ``T`` = 24 h,
the amounts just before a dose are ``x_trough = (I - e^{MT})^-1 e^{MT} b`` and ``x(tau) =
e^{M tau} (x_trough + b)`` at ``tau`` h after it. A chain of ``n`` equal-rate compartments
(``ktr = n / MTT``) driven by ``ktr (1 - E(t))`` has, at the morning before a dose::

    A_n = 1 - int_0^T E(tau) K(T - tau) dtau,   K(u) = sum_(k>=0) h(u + k T)
    h(t) = ktr^n t^(n-1) exp(-ktr t) / (n - 1)!          (the chain's Erlang response)

and the periodic sum is closed: with ``q = exp(-ktr T)``, ``sum_k (u + kT)^m q^k`` expands
binomially into ``sum_k k^j q^k`` = ``q A_j(q) / (1 - q)^(j+1)`` (Eulerian polynomials
``A_j``). The integral over the day uses the graded Gauss-Legendre rule of
:class:`~pkgym.models.warfarin_kernel.DayQuadrature`. Everything is exact except that
quadrature; the tests compare with :func:`~pkgym.models.warfarin_kernel.simulate_inr` run to
steady state. Because concentrations scale with the dose, the dose needed for a target
morning INR is found by bisection on log dose with the unit-dose profile computed once.
"""

from __future__ import annotations

import math

import numpy as np

from pkgym.models.warfarin import S_FRACTION, WarfarinParameters
from pkgym.models.warfarin_inr import InrStructure
from pkgym.models.warfarin_kernel import DayQuadrature, pk_matrix, propagate
from pkgym.units import HOURS_PER_DAY

_EULERIAN = ((1,), (1,), (1, 1), (1, 4, 1), (1, 11, 11, 1), (1, 26, 66, 26, 1))
"""Coefficients of the Eulerian polynomials A_0 .. A_5 (``sum_k k^j q^k``, j <= 5)."""
DOSE_BRACKET_MG = (1e-4, 1e4)
"""Daily racemic doses the inverse searches between, mg."""


def unit_dose_profile(params: WarfarinParameters, structure: InrStructure,
                      quadrature: DayQuadrature | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Steady-state S-warfarin (mg/L) per mg/day of racemic dose at the day's nodes.

    Returns:
        ``(concentration, weights)``: shape (n, Q) concentrations at ``tau`` h after the
        dose (the quadrature nodes) and the node weights (Q,), h.

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> m = Hamberg2010()
        >>> p = m.parameters(np.array([0]), np.array([0]), np.array([71.0]))
        >>> c, w = unit_dose_profile(p, m.structure)
        >>> round(float((c * w).sum() / 24 / (0.5 / (24 * 0.348))), 6)  # S-dose / (24 CL)
        1.0
    """
    nodes, weights = (quadrature or DayQuadrature()).nodes_and_weights()
    matrix = pk_matrix(params, structure.absorption_rate_per_h)
    propagators = propagate(matrix, np.append(nodes, HOURS_PER_DAY))  # (n, Q + 1, 3, 3)
    day = propagators[:, -1]
    dose = np.zeros(day.shape[:2])
    dose[:, 0] = S_FRACTION
    system = np.eye(3)[None] - day
    unused = params.peripheral_volume_l <= 0  # one-compartment: a decoupled, empty state
    system[:, 2, 2] = np.where(unused, 1.0, system[:, 2, 2])
    trough = np.linalg.solve(system, np.einsum("nij,nj->ni", day, dose)[..., None])[..., 0]
    amounts = np.einsum("ntij,nj->nti", propagators[:, :-1], trough + dose)
    return amounts[:, :, 1] / params.central_volume_l[:, None], weights


def periodic_chain_kernel(mtt_h: np.ndarray, length: int, lags_h: np.ndarray) -> np.ndarray:
    """``K(u) = sum_k h(u + k T)`` of an n-compartment chain at lags ``u`` in [0, T), (n, U).

    Examples:
        >>> u = np.linspace(0.0, 23.9, 240)
        >>> k = periodic_chain_kernel(np.array([28.6]), 3, u)
        >>> round(float(k.sum() * 0.1 + 0.0), 2)  # integrates to 1 over a day (to the grid)
        1.0
    """
    if not 1 <= length <= len(_EULERIAN):
        raise ValueError(f"chain length must be in 1..{len(_EULERIAN)}, got {length}")
    rate = length / np.asarray(mtt_h, dtype=np.float64)[:, None]  # (n, 1)
    q = np.exp(-rate * HOURS_PER_DAY)
    u = np.asarray(lags_h, dtype=np.float64)[None, :]
    m = length - 1
    total = np.zeros(np.broadcast_shapes(rate.shape, u.shape))
    for j in range(m + 1):
        coefficients = _EULERIAN[j]
        series = sum(c * q ** (i + (1 if j else 0)) for i, c in enumerate(coefficients))
        moment = series / (1.0 - q) ** (j + 1)  # sum_k k^j q^k
        total += math.comb(m, j) * u ** (m - j) * HOURS_PER_DAY ** j * moment
    return rate ** length * np.exp(-rate * u) * total / math.factorial(m)


def steady_state_inr(params: WarfarinParameters, structure: InrStructure, dose_mg: np.ndarray,
                     quadrature: DayQuadrature | None = None) -> np.ndarray:
    """Morning (pre-dose) INR of each patient at steady state on ``dose_mg`` mg/day, (n,).

    Examples:
        >>> from pkgym.models.warfarin import Hamberg2010
        >>> m = Hamberg2010()
        >>> p = m.parameters(np.array([0]), np.array([0]), np.array([71.0]))
        >>> steady_state_inr(p, m.structure, np.array([0.0])).tolist()
        [1.0]
    """
    profile = SteadyState(params, structure, quadrature)
    return profile.inr(np.asarray(dose_mg, dtype=np.float64))


class SteadyState:
    """The steady-state morning INR of n patients as a function of their daily doses."""

    def __init__(self, params: WarfarinParameters, structure: InrStructure,
                 quadrature: DayQuadrature | None = None) -> None:
        """Compute the unit-dose profile and both chains' kernels once."""
        self.structure = structure
        self.concentration, weights = unit_dose_profile(params, structure, quadrature)
        nodes, _ = (quadrature or DayQuadrature()).nodes_and_weights()
        lags = HOURS_PER_DAY - nodes
        self.weights = [weights[None, :] * periodic_chain_kernel(mtt, n, lags) for mtt, n in
                        zip((params.mtt1_h, params.mtt2_h), structure.chain_lengths,
                            strict=True)]
        self.ec50_power = params.ec50_mg_per_l ** params.hill
        self.hill = params.hill

    def inr(self, dose_mg: np.ndarray) -> np.ndarray:
        """Morning INR on ``dose_mg`` mg/day (one dose per patient, (n,))."""
        doses = np.broadcast_to(np.asarray(dose_mg, dtype=np.float64), self.hill.shape)
        if not np.all(np.isfinite(doses)) or np.any(doses < 0):
            raise ValueError(f"dose_mg must be finite and >= 0, got {doses[:5].tolist()}")
        powered = (doses[:, None] * self.concentration) ** self.hill[:, None]
        effect = powered / (self.ec50_power[:, None] + powered)
        ends = np.column_stack([1.0 - (effect * w).sum(axis=1) for w in self.weights])
        return self.structure.inr(ends)

    def dose_for_inr(self, target_inr: np.ndarray, iterations: int = 60) -> np.ndarray:
        """Daily dose (mg) giving each patient the target morning INR at steady state, (n,).

        Bisection on log dose within :data:`DOSE_BRACKET_MG` (60 halvings: relative error
        below 1e-16); the INR rises monotonically with the dose.
        """
        target = np.broadcast_to(np.asarray(target_inr, dtype=np.float64), self.hill.shape)
        base = self.structure.baseline_inr
        if not np.all(np.isfinite(target)) or np.any(target <= base) or \
                np.any(target >= base + self.structure.inr_max):
            raise ValueError(f"target_inr must lie between BASE {base} and BASE + INRmax "
                             f"{base + self.structure.inr_max}, got {target[:5].tolist()}")
        low = np.full(target.shape, math.log(DOSE_BRACKET_MG[0]))
        high = np.full(target.shape, math.log(DOSE_BRACKET_MG[1]))
        for _ in range(iterations):
            middle = 0.5 * (low + high)
            above = self.inr(np.exp(middle)) > target
            high = np.where(above, middle, high)
            low = np.where(above, low, middle)
        return np.exp(0.5 * (low + high))
