"""Shared pieces of the Hamberg warfarin model tests: the two models and random patients."""

from __future__ import annotations

import numpy as np

from pkgym.models.warfarin import Hamberg2007, Hamberg2010, HambergModel, WarfarinParameters

MODELS = [Hamberg2010(), Hamberg2007()]
MODEL_IDS = ["2010", "2007"]


def random_patients(model: HambergModel, n: int, rng: np.random.Generator) -> WarfarinParameters:
    """Random genotypes, ages 20-90 and etas drawn with the model's omegas."""
    sds = np.sqrt(np.diag(model.variability.omega))
    return model.parameters(rng.integers(0, 6, n), rng.integers(0, 3, n), rng.uniform(20, 90, n),
                            rng.normal(0.0, 1.0, (n, sds.size)) * sds)
