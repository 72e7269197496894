"""The torch twin of :mod:`pkgym.sim.interval`: the same closed forms on float64 tensors.

Imported only for ``backend="torch"`` (see :mod:`pkgym.accel.backend`). Every function mirrors
its numpy twin operation for operation (:func:`pkgym.sim.modal.modal_basis_unchecked`,
:func:`pkgym.sim.interval.infuse_interval`), so the two agree to rounding (tests hold them
to 1e-10 in float64). Functions ending in ``_tensors`` take and return tensors already on
the device, for callers that keep state there; the others take and return numpy arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from pkgym.accel.backend import resolve_device
from pkgym.sim.interval import CompartmentIntervalResult, IntervalResult, check_infusions
from pkgym.sim.modal import ModalBasis

DTYPE = torch.float64


class TensorBasis(NamedTuple):
    """:class:`pkgym.sim.modal.ModalBasis` as tensors (oral ka omitted: IV infusions only).

    Attributes:
        eigenvalues_per_h: decay rate of each mode (<= 0).  # (n, m)
        input_weights: modal image of 1 mg into the central compartment.  # (n, m)
        amount_weights: reads the total amount (mg) from the modes.  # (n, m)
        to_modal: compartment amounts (mg) to modes.  # (n, m, m)
        from_modal: modes to compartment amounts (mg).  # (n, m, m)
    """

    eigenvalues_per_h: torch.Tensor
    input_weights: torch.Tensor
    amount_weights: torch.Tensor
    to_modal: torch.Tensor
    from_modal: torch.Tensor


def as_tensor(values: np.ndarray | float, device: str) -> torch.Tensor:
    """A float64 tensor of ``values`` on ``device`` (no copy on CPU when already float64)."""
    return torch.as_tensor(np.asarray(values, dtype=np.float64), dtype=DTYPE, device=device)


def expm1_ratio_tensors(x: torch.Tensor) -> torch.Tensor:
    """``(exp(x) - 1) / x``, 1 at ``x = 0`` (:func:`pkgym.sim.modal.expm1_ratio`).

    Examples:
        >>> expm1_ratio_tensors(torch.tensor([0.0, 1.0], dtype=DTYPE)).round(decimals=6).tolist()
        [1.0, 1.718282]
    """
    zero = x == 0.0
    safe = torch.where(zero, torch.ones_like(x), x)
    return torch.where(zero, torch.ones_like(x), torch.expm1(safe) / safe)


def _eigh_2x2(matrices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One Jacobi rotation per symmetric 2x2 matrix, as :func:`pkgym.sim.modal._eigh_2x2`."""
    a, b, d = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 1, 1]
    theta = 0.5 * torch.atan2(2.0 * b, a - d)
    c, s = torch.cos(theta), torch.sin(theta)
    first = a * c * c + 2.0 * b * c * s + d * s * s
    second = a * s * s - 2.0 * b * c * s + d * c * c
    vectors = torch.stack([torch.stack([c, -s], dim=1), torch.stack([s, c], dim=1)], dim=1)
    return torch.stack([first, second], dim=1), vectors


def modal_basis_tensors(clearance_l_per_h: torch.Tensor, volumes_l: torch.Tensor,
                        intercompartmental_clearance_l_per_h: torch.Tensor) -> TensorBasis:
    """Modal basis of every patient (Jacobi for 2 compartments, batched ``eigh`` otherwise).

    Args:
        clearance_l_per_h: (n,).
        volumes_l: central then peripheral volumes, (n, m).
        intercompartmental_clearance_l_per_h: (n, m - 1).

    Examples:
        >>> basis = modal_basis_tensors(torch.tensor([5.0], dtype=DTYPE),
        ...                             torch.tensor([[50.0]], dtype=DTYPE),
        ...                             torch.zeros((1, 0), dtype=DTYPE))
        >>> round(float(basis.eigenvalues_per_h[0, 0]), 12)
        -0.1
    """
    volumes, q = volumes_l, intercompartmental_clearance_l_per_h
    n, m = volumes.shape
    clearance_matrix = torch.zeros((n, m, m), dtype=volumes.dtype, device=volumes.device)
    clearance_matrix[:, 0, 0] = clearance_l_per_h + q.sum(dim=1)
    for j in range(1, m):
        clearance_matrix[:, j, j] = q[:, j - 1]
        clearance_matrix[:, 0, j] = -q[:, j - 1]
        clearance_matrix[:, j, 0] = -q[:, j - 1]
    root_v = torch.sqrt(volumes)
    symmetric = -clearance_matrix / (root_v[:, :, None] * root_v[:, None, :])
    eigenvalues, vectors = _eigh_2x2(symmetric) if m == 2 else torch.linalg.eigh(symmetric)
    return TensorBasis(
        eigenvalues_per_h=torch.clamp(eigenvalues, max=0.0),
        input_weights=vectors[:, 0, :] / root_v[:, :1],
        amount_weights=torch.einsum("nj,njk->nk", root_v, vectors),
        to_modal=vectors.transpose(1, 2) / root_v[:, None, :],
        from_modal=vectors * root_v[:, :, None])


def infuse_interval_tensors(basis: TensorBasis, modes: torch.Tensor,
                            clearance_l_per_h: torch.Tensor, dose_mg: torch.Tensor,
                            duration_h: torch.Tensor, interval_h: float,
                            offsets_h: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """:func:`pkgym.sim.interval.infuse_interval` on tensors (inputs already validated).

    Returns:
        End modes (n, m), central concentrations at the offsets (n, k), AUC (n,).
    """
    n, lam = dose_mg.shape[0], basis.eigenvalues_per_h
    rate = dose_mg / duration_h
    ends = torch.full((n, 1), float(interval_h), dtype=DTYPE, device=dose_mg.device)
    times = torch.cat([offsets_h.reshape(n, -1), ends], dim=1)  # (n, k + 1)
    free = torch.exp(lam[:, None, :] * times[..., None]) * modes[:, None, :]
    on = torch.minimum(times, duration_h[:, None])[..., None]
    gain = on * expm1_ratio_tensors(lam[:, None, :] * on) * torch.exp(
        lam[:, None, :] * (times[..., None] - on))
    states = free + basis.input_weights[:, None, :] * rate[:, None, None] * gain
    levels = torch.einsum("nkm,nm->nk", states, basis.input_weights)
    end = states[:, -1, :]
    body_change = torch.einsum("nm,nm->n", end - modes, basis.amount_weights)
    auc = torch.clamp((dose_mg - body_change) / clearance_l_per_h, min=0.0)
    return end, levels[:, :-1], auc


def infuse_compartments_tensors(clearance_l_per_h: torch.Tensor, volumes_l: torch.Tensor,
                                intercompartmental_clearance_l_per_h: torch.Tensor,
                                amounts_mg: torch.Tensor, dose_mg: torch.Tensor,
                                duration_h: torch.Tensor, interval_h: float,
                                offsets_h: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """:func:`pkgym.sim.interval.infuse_compartments` on tensors (inputs validated).

    Returns:
        End amounts (n, m, clipped at 0), concentrations at the offsets (n, k), AUC (n,).
    """
    basis = modal_basis_tensors(clearance_l_per_h, volumes_l,
                                intercompartmental_clearance_l_per_h)
    modes = torch.einsum("nij,nj->ni", basis.to_modal, amounts_mg)
    end, levels, auc = infuse_interval_tensors(basis, modes, clearance_l_per_h, dose_mg,
                                               duration_h, interval_h, offsets_h)
    amounts = torch.clamp(torch.einsum("nij,nj->ni", basis.from_modal, end), min=0.0)
    return amounts, levels, auc


def infuse_interval_torch(basis: ModalBasis, modes: np.ndarray, clearance_l_per_h: np.ndarray,
                          dose_mg: np.ndarray, duration_h: np.ndarray, interval_h: float,
                          offsets_h: np.ndarray, device: str) -> tuple[np.ndarray, ...]:
    """:func:`infuse_interval_tensors` from and to numpy arrays, run on ``device``."""
    tensors = TensorBasis(*(as_tensor(a, device) for a in (
        basis.eigenvalues_per_h, basis.input_weights, basis.amount_weights, basis.to_modal,
        basis.from_modal)))
    modes_t, clearance, dose, duration, offsets = (as_tensor(a, device) for a in (
        modes, clearance_l_per_h, dose_mg, duration_h, offsets_h))
    out = infuse_interval_tensors(tensors, modes_t, clearance, dose, duration, interval_h,
                                  offsets)
    return tuple(t.cpu().numpy() for t in out)


def infuse_compartments_torch(clearance_l_per_h: np.ndarray, volumes_l: np.ndarray,
                              intercompartmental_clearance_l_per_h: np.ndarray,
                              amounts_mg: np.ndarray, dose_mg: np.ndarray,
                              duration_h: np.ndarray, interval_h: float, offsets_h: np.ndarray,
                              device: str) -> tuple[np.ndarray, ...]:
    """:func:`infuse_compartments_tensors` from and to numpy arrays, run on ``device``.

    The inputs travel as one packed (n, columns) array and the outputs come back as one, so
    a step costs two host-device copies whatever the number of arrays.
    """
    n = np.shape(dose_mg)[0]
    columns = [np.reshape(np.asarray(a, dtype=np.float64), (n, -1)) for a in (
        clearance_l_per_h, volumes_l, intercompartmental_clearance_l_per_h, amounts_mg, dose_mg,
        duration_h, offsets_h)]
    widths = [c.shape[1] for c in columns]
    packed = as_tensor(np.concatenate(columns, axis=1), device)
    clearance, volumes, q, amounts, dose, duration, offsets = torch.split(packed, widths, dim=1)
    out = infuse_compartments_tensors(clearance[:, 0], volumes, q, amounts, dose[:, 0],
                                      duration[:, 0], interval_h, offsets)
    back = torch.cat([out[0], out[1], out[2][:, None]], dim=1).cpu().numpy()
    m, k = widths[1], widths[6]
    return back[:, :m], back[:, m:m + k], back[:, m + k]


def infuse_interval(basis: ModalBasis, modes: np.ndarray, clearance_l_per_h: np.ndarray,
                    dose_mg: np.ndarray, duration_h: np.ndarray, interval_h: float,
                    offsets_h: np.ndarray, *, device: str | None = None) -> IntervalResult:
    """:func:`pkgym.sim.interval.infuse_interval` on torch (``device``: CUDA when present)."""
    dose, duration = np.asarray(dose_mg, np.float64), np.asarray(duration_h, np.float64)
    check_infusions(dose, duration, interval_h)
    return IntervalResult(*infuse_interval_torch(basis, modes, clearance_l_per_h, dose, duration,
                                                 interval_h, offsets_h, resolve_device(device)))


def infuse_compartments(clearance_l_per_h: np.ndarray, volumes_l: np.ndarray,
                        intercompartmental_clearance_l_per_h: np.ndarray, amounts_mg: np.ndarray,
                        dose_mg: np.ndarray, duration_h: np.ndarray, interval_h: float,
                        offsets_h: np.ndarray, *,
                        device: str | None = None) -> CompartmentIntervalResult:
    """:func:`pkgym.sim.interval.infuse_compartments` on torch, within 1e-10 of it.

    Examples:
        >>> out = infuse_compartments(np.array([5.0]), np.array([[50.0]]), np.zeros((1, 0)),
        ...                           np.zeros((1, 1)), np.array([1000.0]), np.array([1.0]),
        ...                           12.0, np.array([[1.0]]), device="cpu")
        >>> round(float(out.concentrations_mg_per_l[0, 0]), 4)  # 1000/5 (1 - e^-0.1)
        19.0325
    """
    check_infusions(np.asarray(dose_mg, np.float64), np.asarray(duration_h, np.float64),
                    interval_h)
    amounts, levels, auc = infuse_compartments_torch(
        clearance_l_per_h, volumes_l, intercompartmental_clearance_l_per_h, amounts_mg, dose_mg,
        duration_h, interval_h, offsets_h, resolve_device(device))
    return CompartmentIntervalResult(amounts, levels, auc)
