"""Fixtures shared by the agent tests."""

from __future__ import annotations

from pathlib import Path

import pytest

TINY_VAE_ENV = "pkgym/Vancomycin-v0"


@pytest.fixture(scope="session")
def tiny_vae_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``vae.pt`` of a vancomycin VAE trained briefly (1000 patients, 15 epochs: ~3 s)."""
    from agents.vae.training import train_vae

    return train_vae(TINY_VAE_ENV, 1000, 0, tmp_path_factory.mktemp("tiny_vae"), epochs=15,
                     n_validation_patients=100, progress=False)
