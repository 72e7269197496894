"""Fixtures shared by the agent tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

TINY_VAE_ENV = "pkgym/Vancomycin-v0"


@pytest.fixture(scope="session")
def tiny_vae_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``vae.pt`` of a vancomycin VAE trained briefly (1000 patients, 15 epochs: ~3 s)."""
    from agents.vae.training import train_vae

    return train_vae(TINY_VAE_ENV, 1000, 0, tmp_path_factory.mktemp("tiny_vae"), epochs=15,
                     n_validation_patients=100, progress=False)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch thread, as ``pkgym train`` runs (threads only slow these small networks)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
