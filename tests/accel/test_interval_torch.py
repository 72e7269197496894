"""The torch twins of the interval solutions equal the numpy and compiled ones to 1e-10 (CPU)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pkgym.accel import interval_torch
from pkgym.accel.backend import check_backend, resolve_device
from pkgym.sim.interval import infuse_compartments, infuse_interval
from pkgym.sim.interval_njit import infuse_two_compartment
from pkgym.sim.modal import modal_basis_unchecked

N = 400
INTERVALS_H = (6.0, 12.0, 24.0)


def _patients(rng: np.random.Generator, n_peripheral: int) -> dict[str, np.ndarray]:
    """Random patients with edge cases in the first rows (see the comments)."""
    m = 1 + n_peripheral
    clearance = rng.lognormal(np.log(4.0), 0.6, N)
    volumes = rng.lognormal(np.log(50.0), 0.4, (N, m))
    q = rng.lognormal(np.log(6.0), 0.8, (N, n_peripheral))
    if n_peripheral:
        q[0] = 1e-12  # a mode with eigenvalue ~0: the 0/0 branch of expm1_ratio
        q[1] = 1e-7
        # Near-equal eigenvalues: the peripheral modes of a 3-compartment model (~ -2e-11/h).
        volumes[2], clearance[2], q[2] = 50.0, 0.05, 1e-9
        volumes[3] = 50.0  # (CL + Q)/V1 close to Q/V2: equal diagonal, theta = pi/4
        q[3], clearance[3] = 5.0, 1e-3
    amounts = rng.uniform(0.0, 3000.0, (N, m)) * (rng.random((N, 1)) < 0.8)  # some drug-free
    return {"clearance": clearance, "volumes": volumes, "q": q, "amounts": amounts}


def _infusions(rng: np.random.Generator, interval_h: float) -> dict[str, np.ndarray]:
    """Doses (some 0), durations (some the whole interval) and offsets spanning the interval."""
    doses = rng.choice([0.0, 250.0, 1000.0, 2250.0, 3000.0], N) * rng.uniform(0.5, 1.5, N)
    durations = rng.uniform(0.05, interval_h, N)
    durations[:10] = interval_h
    offsets = np.sort(rng.uniform(0.0, interval_h, (N, 5)), axis=1)
    offsets[:, 0], offsets[:, -1] = 0.0, interval_h
    offsets[10:20, 1] = durations[10:20]  # exactly at the end of the infusion
    return {"doses": doses, "durations": durations, "offsets": offsets}


def _assert_close(actual: np.ndarray, desired: np.ndarray) -> None:
    """Absolute and relative agreement to 1e-10."""
    assert actual.dtype == np.float64 and actual.shape == desired.shape
    np.testing.assert_allclose(actual, desired, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("n_peripheral", [0, 1, 2])
@pytest.mark.parametrize("interval_h", INTERVALS_H)
def test_infuse_compartments__torch_equals_numpy_to_1e_10(n_peripheral: int,
                                                          interval_h: float) -> None:
    """Amounts, levels and AUC from the torch backend match numpy for 400 random patients."""
    rng = np.random.default_rng(10 * n_peripheral + int(interval_h))
    p, d = _patients(rng, n_peripheral), _infusions(rng, interval_h)
    args = (p["clearance"], p["volumes"], p["q"], p["amounts"], d["doses"], d["durations"],
            interval_h, d["offsets"])
    reference = infuse_compartments(*args)
    result = interval_torch.infuse_compartments(*args, device="cpu")
    for name in ("amounts_mg", "concentrations_mg_per_l", "auc_mg_h_per_l"):
        _assert_close(getattr(result, name), getattr(reference, name))
    assert np.all(reference.auc_mg_h_per_l[d["doses"] > 0] > 0)  # not a trivial comparison


@pytest.mark.parametrize("interval_h", INTERVALS_H)
def test_infuse_compartments__torch_equals_the_compiled_ward_interval_to_1e_10(
        interval_h: float) -> None:
    """Two-compartment amounts, trough/peak levels and AUC: torch = the kernel's compiled form."""
    rng = np.random.default_rng(20 + int(interval_h))
    p, d = _patients(rng, 1), _infusions(rng, interval_h)
    offsets = d["offsets"][:, 1:3]  # two levels inside the interval, as the ward reads them
    out = interval_torch.infuse_compartments(p["clearance"], p["volumes"], p["q"], p["amounts"],
                                             d["doses"], d["durations"], interval_h, offsets,
                                             device="cpu")
    compiled = np.array([infuse_two_compartment(
        *p["amounts"][i], p["clearance"][i], *p["volumes"][i], p["q"][i, 0], d["doses"][i],
        d["durations"][i], interval_h, *offsets[i]) for i in range(N)])
    _assert_close(out.concentrations_mg_per_l, compiled[:, :2])
    _assert_close(out.amounts_mg, compiled[:, 2:4])
    _assert_close(out.auc_mg_h_per_l, compiled[:, 4])
    assert np.all(compiled[d["doses"] > 0, 4] > 0)  # not a trivial comparison


@pytest.mark.parametrize("n_peripheral", [0, 1, 2])
def test_infuse_interval__torch_equals_numpy_to_1e_10_from_a_given_basis(
        n_peripheral: int) -> None:
    """Given the numpy modal basis, the torch interval gives the same modes, levels, AUC."""
    rng = np.random.default_rng(7 + n_peripheral)
    p, d = _patients(rng, n_peripheral), _infusions(rng, 12.0)
    basis = modal_basis_unchecked(p["clearance"], p["volumes"], p["q"], np.ones(N))
    modes = np.einsum("nij,nj->ni", basis.to_modal, p["amounts"])
    args = (basis, modes, p["clearance"], d["doses"], d["durations"], 12.0, d["offsets"])
    reference, result = infuse_interval(*args), interval_torch.infuse_interval(*args)
    for name in ("modes", "concentrations_mg_per_l", "auc_mg_h_per_l"):
        _assert_close(getattr(result, name), getattr(reference, name))


def test_infuse_compartments__torch_handles_no_offsets_and_validates_like_numpy() -> None:
    """No offsets give an empty (n, 0) level table; bad durations raise on both backends."""
    args = (np.array([4.0]), np.array([[50.0, 40.0]]), np.array([[6.0]]), np.zeros((1, 2)),
            np.array([1000.0]), np.array([1.0]), 12.0, np.zeros((1, 0)))
    out = interval_torch.infuse_compartments(*args, device="cpu")
    assert out.concentrations_mg_per_l.shape == (1, 0)
    _assert_close(out.auc_mg_h_per_l, infuse_compartments(*args).auc_mg_h_per_l)
    for function in (infuse_compartments, interval_torch.infuse_compartments):
        with pytest.raises(ValueError, match="duration_h"):
            function(*args[:5], np.array([13.0]), 12.0, args[7])


def test_check_backend__rejects_unknown_names_listing_the_allowed_ones() -> None:
    """A bad backend raises a ValueError naming numpy and torch."""
    with pytest.raises(ValueError, match=r"\('numpy', 'torch'\).*'cupy'"):
        check_backend("cupy")


def test_resolve_device__honours_an_explicit_device_and_defaults_to_cuda_when_present() -> None:
    """An explicit device wins; None gives cuda exactly when torch sees a GPU."""
    import torch

    assert resolve_device("cpu") == "cpu"
    assert resolve_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            resolve_device("cuda")


def test_load_torch__says_what_to_install_when_torch_cannot_be_imported(monkeypatch) -> None:  # noqa: ANN001
    """With torch unimportable, asking for the torch backend raises an ImportError naming it."""
    from pkgym.accel.backend import load_torch

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match=r'backend="torch" needs PyTorch'):
        load_torch()
