"""Exact solution of linear mammillary compartment models in modal (eigen) coordinates.

A mammillary model with volumes ``V`` and a symmetric clearance matrix ``S`` obeys
``dx/dt = -S V^-1 x`` for the amounts ``x``. The matrix ``A = -V^-1/2 S V^-1/2`` is
symmetric, so ``A = Q diag(lambda) Q^T`` with real ``lambda <= 0`` even when eigenvalues
repeat. In modal coordinates ``z = Q^T V^-1/2 x`` each mode evolves on its own, so one
step of any length is a handful of element-wise exponentials, batched over patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pkgym.utils import check_non_negative, check_positive


@dataclass(frozen=True, slots=True, kw_only=True)
class LinearPKParams:
    """Per-patient parameters of a 1-, 2- or 3-compartment model with optional oral depot.

    Attributes:
        clearance_l_per_h: elimination clearance from the central compartment.  # (n,)
        central_volume_l: central volume.  # (n,)
        intercompartmental_clearance_l_per_h: Q to each peripheral.  # (n, n_peripheral)
        peripheral_volume_l: volume of each peripheral.  # (n, n_peripheral)
        absorption_rate_per_h: first-order oral absorption rate ka.  # (n,)
        bioavailability: fraction of an oral dose absorbed, F in (0, 1].  # (n,)
        lag_time_h: oral absorption lag.  # (n,)
    """

    clearance_l_per_h: np.ndarray
    central_volume_l: np.ndarray
    intercompartmental_clearance_l_per_h: np.ndarray
    peripheral_volume_l: np.ndarray
    absorption_rate_per_h: np.ndarray
    bioavailability: np.ndarray
    lag_time_h: np.ndarray

    def __post_init__(self) -> None:
        """Check positivity and that every field has n_patients rows."""
        n = np.shape(self.clearance_l_per_h)[0] if np.ndim(self.clearance_l_per_h) == 1 else -1
        if n < 0:
            raise ValueError("clearance_l_per_h must be 1-D (n_patients,)")
        for name in ("central_volume_l", "absorption_rate_per_h", "bioavailability", "lag_time_h"):
            if np.shape(getattr(self, name)) != (n,):
                got = np.shape(getattr(self, name))
                raise ValueError(f"{name} must have shape ({n},), got {got}")
        q_shape = np.shape(self.intercompartmental_clearance_l_per_h)
        if len(q_shape) != 2 or q_shape[0] != n or q_shape[1] > 2:
            raise ValueError(
                f"intercompartmental_clearance_l_per_h must have shape ({n}, 0..2), got {q_shape}"
            )
        if np.shape(self.peripheral_volume_l) != q_shape:
            raise ValueError(f"peripheral_volume_l must have shape {q_shape}")
        positive = ("clearance_l_per_h", "central_volume_l", "intercompartmental_clearance_l_per_h",
                    "peripheral_volume_l", "absorption_rate_per_h")
        for name in positive:
            check_positive(name, getattr(self, name))
        check_non_negative("lag_time_h", self.lag_time_h)
        f = check_positive("bioavailability", self.bioavailability)
        if np.any(f > 1):
            raise ValueError(f"bioavailability must be in (0, 1], got max {f.max()}")

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return int(np.shape(self.clearance_l_per_h)[0])

    @property
    def n_compartments(self) -> int:
        """Central plus peripheral compartments (the oral depot is not counted)."""
        return 1 + int(np.shape(self.peripheral_volume_l)[1])

    @property
    def volumes_l(self) -> np.ndarray:
        """Volumes of all compartments, central first, shape (n, n_compartments)."""
        return np.column_stack([self.central_volume_l, self.peripheral_volume_l])


def compartment_params(
    clearance_l_per_h: np.ndarray | float,
    central_volume_l: np.ndarray | float,
    *,
    intercompartmental_clearance_l_per_h: tuple = (),
    peripheral_volume_l: tuple = (),
    absorption_rate_per_h: np.ndarray | float = 1.0,
    bioavailability: np.ndarray | float = 1.0,
    lag_time_h: np.ndarray | float = 0.0,
) -> LinearPKParams:
    """Build ``LinearPKParams`` from scalars or per-patient arrays, broadcasting to n patients.

    Args:
        clearance_l_per_h: CL, L/h.
        central_volume_l: V1, L.
        intercompartmental_clearance_l_per_h: (Q2,) or (Q2, Q3), L/h, each scalar or (n,).
        peripheral_volume_l: (V2,) or (V2, V3), L, matching the Q tuple.
        absorption_rate_per_h: ka, 1/h (used by oral doses only).
        bioavailability: F, fraction.
        lag_time_h: oral lag, h.

    Examples:
        >>> p = compartment_params([4.0, 5.0], 30.0, intercompartmental_clearance_l_per_h=(6.0,),
        ...                        peripheral_volume_l=(50.0,))
        >>> p.n_patients, p.n_compartments
        (2, 2)
    """
    if len(intercompartmental_clearance_l_per_h) != len(peripheral_volume_l):
        raise ValueError(
            "intercompartmental_clearance_l_per_h and peripheral_volume_l must pair up"
        )
    scalars = [clearance_l_per_h, central_volume_l, absorption_rate_per_h, bioavailability,
               lag_time_h, *intercompartmental_clearance_l_per_h, *peripheral_volume_l]
    n = max([np.size(v) for v in scalars])
    col = lambda v: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()  # noqa: E731
    n_per = len(peripheral_volume_l)
    return LinearPKParams(
        clearance_l_per_h=col(clearance_l_per_h),
        central_volume_l=col(central_volume_l),
        intercompartmental_clearance_l_per_h=np.stack(
            [col(q) for q in intercompartmental_clearance_l_per_h], axis=1
        ) if n_per else np.zeros((n, 0)),
        peripheral_volume_l=np.stack([col(v) for v in peripheral_volume_l], axis=1)
        if n_per else np.zeros((n, 0)),
        absorption_rate_per_h=col(absorption_rate_per_h),
        bioavailability=col(bioavailability),
        lag_time_h=col(lag_time_h),
    )


@dataclass(frozen=True, slots=True)
class ModalBasis:
    """Eigen-decomposition of each patient's linear system, the constants of every step.

    Attributes:
        eigenvalues_per_h: decay rate of each mode (<= 0).  # (n, m)
        input_weights: modal image of 1 mg put into the central compartment; also reads the
            central concentration (mg/L) from the modes: ``C = sum(z * input_weights)``.  # (n, m)
        amount_weights: reads the total amount in the compartments (mg) from the modes.  # (n, m)
        to_modal: maps compartment amounts (mg) to modes.  # (n, m, m)
        from_modal: maps modes back to compartment amounts (mg).  # (n, m, m)
        absorption_rate_per_h: oral ka.  # (n,)
    """

    eigenvalues_per_h: np.ndarray
    input_weights: np.ndarray
    amount_weights: np.ndarray
    to_modal: np.ndarray
    from_modal: np.ndarray
    absorption_rate_per_h: np.ndarray


def modal_basis(params: LinearPKParams) -> ModalBasis:
    """Eigen-decompose every patient's compartment system (batched ``eigh``).

    Examples:
        >>> basis = modal_basis(compartment_params(5.0, 50.0))
        >>> round(float(basis.eigenvalues_per_h[0, 0]), 12)
        -0.1
    """
    return modal_basis_unchecked(params.clearance_l_per_h, params.volumes_l,
                                 params.intercompartmental_clearance_l_per_h,
                                 np.asarray(params.absorption_rate_per_h, dtype=np.float64))


def modal_basis_unchecked(clearance_l_per_h: np.ndarray, volumes_l: np.ndarray,
                          intercompartmental_clearance_l_per_h: np.ndarray,
                          absorption_rate_per_h: np.ndarray) -> ModalBasis:
    """:func:`modal_basis` from raw arrays, without the parameter checks (for hot loops).

    Args:
        clearance_l_per_h: (n,).
        volumes_l: central then peripheral volumes, (n, m).
        intercompartmental_clearance_l_per_h: (n, m - 1).
        absorption_rate_per_h: (n,).

    Examples:
        >>> basis = modal_basis_unchecked(np.array([5.0]), np.array([[50.0]]), np.zeros((1, 0)),
        ...                               np.ones(1))
        >>> round(float(basis.eigenvalues_per_h[0, 0]), 12)
        -0.1
    """
    volumes, q = volumes_l, intercompartmental_clearance_l_per_h
    m = volumes.shape[1]
    clearance_matrix = np.zeros((volumes.shape[0], m, m))
    clearance_matrix[:, 0, 0] = clearance_l_per_h + q.sum(axis=1)
    for j in range(1, m):
        clearance_matrix[:, j, j] = q[:, j - 1]
        clearance_matrix[:, 0, j] = clearance_matrix[:, j, 0] = -q[:, j - 1]
    root_v = np.sqrt(volumes)
    symmetric = -clearance_matrix / (root_v[:, :, None] * root_v[:, None, :])
    eigenvalues, vectors = _eigh_2x2(symmetric) if m == 2 else np.linalg.eigh(symmetric)
    return ModalBasis(
        eigenvalues_per_h=np.minimum(eigenvalues, 0.0),
        input_weights=vectors[:, 0, :] / root_v[:, :1],
        amount_weights=np.einsum("nj,njk->nk", root_v, vectors),
        to_modal=np.swapaxes(vectors, 1, 2) / root_v[:, None, :],
        from_modal=vectors * root_v[:, :, None],
        absorption_rate_per_h=absorption_rate_per_h,
    )


def _eigh_2x2(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of symmetric 2x2 matrices by one Jacobi rotation (no LAPACK loop).

    Returns eigenvalues (n, 2) and eigenvectors (n, 2, 2) with ``vectors[n, :, k]`` the k-th.
    """
    a, b, d = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 1, 1]
    theta = 0.5 * np.arctan2(2.0 * b, a - d)
    c, s = np.cos(theta), np.sin(theta)
    first = a * c * c + 2.0 * b * c * s + d * s * s
    second = a * s * s - 2.0 * b * c * s + d * c * c
    vectors = np.stack([np.stack([c, -s], axis=1), np.stack([s, c], axis=1)], axis=1)
    return np.stack([first, second], axis=1), vectors


def expm1_ratio(x: np.ndarray) -> np.ndarray:
    """``(exp(x) - 1) / x`` evaluated stably, equal to 1 at ``x = 0``.

    Examples:
        >>> expm1_ratio(np.array([0.0, 1e-12, 1.0])).round(6).tolist()
        [1.0, 1.0, 1.718282]
    """
    x = np.asarray(x, dtype=np.float64)
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, np.expm1(safe) / safe)


def exp_difference_ratio(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(exp(a t) - exp(b t)) / (a - b)``, stable when ``a`` is close to or equal to ``b``.

    This is the convolution of two exponentials (absorption into a decaying mode).

    Examples:
        >>> float(exp_difference_ratio(np.array(-1.0), np.array(-1.0), np.array(2.0)))  # t e^{-t}
        0.2706705664732254
    """
    return t * np.exp(b * t) * expm1_ratio((a - b) * t)


def step_factors(basis: ModalBasis, dt_h: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Per-mode decay ``exp(lambda dt)`` and infusion gain ``(exp(lambda dt) - 1)/lambda``.

    Both depend only on the step length, so a caller stepping on a regular grid reuses them.

    Examples:
        >>> basis = modal_basis(compartment_params(5.0, 50.0))
        >>> decay, gain = step_factors(basis, 10.0)
        >>> round(float(decay[0, 0]), 6), round(float(gain[0, 0]), 6)
        (0.367879, 6.321206)
    """
    dt = np.reshape(dt_h, (-1, 1))
    lam_dt = basis.eigenvalues_per_h * dt
    return np.exp(lam_dt), dt * expm1_ratio(lam_dt)


def advance_modes(
    basis: ModalBasis,
    modes: np.ndarray,
    depot_mg: np.ndarray,
    dt_h: np.ndarray | float,
    infusion_rate_mg_per_h: np.ndarray,
    factors: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Advance every patient exactly by ``dt_h`` under a constant infusion rate and depot.

    Args:
        basis: the patients' modal basis.
        modes: modal state, shape (n, m).
        depot_mg: oral depot amount, mg, shape (n,).
        dt_h: step length, h, scalar or shape (n,).
        infusion_rate_mg_per_h: constant rate into the central compartment, shape (n,).
        factors: ``step_factors(basis, dt_h)`` when the caller already has them.

    Returns:
        The modal state and the depot amount after the step.

    Examples:
        >>> basis = modal_basis(compartment_params(5.0, 50.0))
        >>> z, d = advance_modes(basis, np.zeros((1, 1)), np.zeros(1), 10.0, np.array([100.0]))
        >>> round(float((z * basis.input_weights).sum()), 6)  # 100/5 * (1 - e^-1)
        12.642411
    """
    decay, gain = factors if factors is not None else step_factors(basis, dt_h)
    new_modes = decay * modes
    if np.any(infusion_rate_mg_per_h):
        new_modes += basis.input_weights * gain * infusion_rate_mg_per_h[:, None]
    if np.any(depot_mg):
        ka = basis.absorption_rate_per_h[:, None]
        dt = np.reshape(dt_h, (-1, 1))
        absorbed = exp_difference_ratio(basis.eigenvalues_per_h, -ka, dt)
        new_modes += basis.input_weights * (ka * depot_mg[:, None]) * absorbed
        depot_mg = depot_mg * np.exp(-basis.absorption_rate_per_h * dt_h)
    return new_modes, depot_mg
