"""The benchmark's normalisation anchors of ``pkgym/ChemoImmune-v0`` (it has no oracle policy).

The other envs normalise a return so that label dosing scores 0 and an oracle policy (one
that reads the true patient) scores 1. ChemoImmune-v0 has no such oracle: its dynamics are
the de Pillis 2003 tumour-immune ODEs, and a policy optimal for a known patient would need an
optimal-control solve per patient. Its benchmark anchors are therefore explicit and computed
on the same held-out patients and noise streams as every policy being scored:

* 0 = ``no_drug``: no chemotherapy at all (the constant regimen at dose 0). The env's
  ``constant`` baseline (the maximum dose every day, the classic MTD schedule) is no usable 0:
  on the default scenario it is within 0.1% of the upper anchor.
* 1 = ``best_constant``: for each patient, the best of the constant regimens over the env's
  whole dose grid (0, 0.1, ..., 1 drug units/day), picked with hindsight of that patient's
  true outcome under each regimen: a clairvoyant selection that no policy reading only the
  observations can make, i.e. an oracle over the class of constant regimens (not over all
  policies: an adaptive policy may score above 1). A constant regimen ignores the
  observations, so its return depends only on the patient, not on the assay noise.

Both tables have the columns of :func:`pkgym.evaluation.evaluate.evaluate`; ``best_constant``
keeps, for each patient, the row of the chosen regimen (ties: the lowest dose).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from agents.policies.chemo_immune.baselines import ConstantDosePolicy
from pkgym.envs.chemo_immune import ENV_ID
from pkgym.envs.registry import BenchmarkReference
from pkgym.evaluation.evaluate import evaluate

NO_DRUG = "no_drug"
BEST_CONSTANT = "best_constant"
ANCHORS = (NO_DRUG, BEST_CONSTANT)
"""The anchor names this module computes (they are not policies of the env's registry)."""

REFERENCE = BenchmarkReference(label=NO_DRUG, oracle=BEST_CONSTANT,
                               clinical_score="tumour_eradicated",
                               context=("constant", "threshold"))
"""ChemoImmune-v0's benchmark reference: 0 = no drug, 1 = per-patient best constant regimen."""


def anchor_table(name: str, core: Any, cohort: pd.DataFrame, seed: int, *,
                 env_kwargs: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per-patient results of anchor ``name`` (:data:`ANCHORS`) on ``cohort``.

    Args:
        name: ``no_drug`` or ``best_constant``.
        core: the env's core (its ``dose_levels_mg`` is the grid of constant regimens).
        cohort: the held-out patients (``id`` column).
        seed: root seed of the noise streams (as for every evaluated policy).
        env_kwargs: extra env keyword arguments (a scenario).

    Returns:
        One row per patient, the columns of :func:`~pkgym.evaluation.evaluate.evaluate`,
        ``policy`` = ``name`` (``best_constant`` adds ``anchor_dose``, the chosen regimen).

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> from pkgym.evaluation.cohorts import env_cohort
        >>> core = gym.make("pkgym/ChemoImmune-v0").unwrapped.core
        >>> cohort = env_cohort(core.settings, 3, 0)
        >>> low = anchor_table("no_drug", core, cohort, 0)
        >>> high = anchor_table("best_constant", core, cohort, 0)
        >>> bool((high["return"].to_numpy() >= low["return"].to_numpy()).all())
        True
    """
    if name not in ANCHORS:
        raise ValueError(f"anchor must be one of {list(ANCHORS)}, got {name!r}")
    kwargs = dict(env_kwargs or {})
    if name == NO_DRUG:
        table = evaluate([ConstantDosePolicy(0.0, name=NO_DRUG)], ENV_ID, cohort, seed,
                         env_kwargs=kwargs)
        return table.reset_index(drop=True)
    levels = np.asarray(core.dose_levels_mg, dtype=float)
    grid = [ConstantDosePolicy(dose, name=f"constant_{i}") for i, dose in enumerate(levels)]
    table = evaluate(grid, ENV_ID, cohort, seed, env_kwargs=kwargs)
    table["anchor_dose"] = table["policy"].map({p.name: p.dose for p in grid})
    # Highest return per patient; among equal returns the lowest dose (stable sort by dose).
    ordered = table.sort_values("anchor_dose", kind="stable")
    best = ordered.loc[ordered.groupby("id", sort=False)["return"].idxmax()]
    best = best.set_index("id").loc[cohort["id"]].reset_index()
    return best.assign(policy=BEST_CONSTANT)
