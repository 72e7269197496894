"""MMF dosing in the latent space of the profile VAE (:mod:`agents.vae.profiles`).

At each visit of ``pkgym/Mycophenolate-v0`` the policy encodes the LAST visit's samples (C0,
C0.5, C2 at their actual times relative to that morning's dose, the dose they followed, and
today's albumin, CrCL and ciclosporin flag) to the posterior mean of z, decodes every dose
level and gives the level whose decoded AUC0-12 is nearest the target (45 mg*h/L, as
:class:`agents.policies.mycophenolate.map.MapPolicy`). At day 0 (no sample) z is the prior
mean 0. Earlier visits are not used (the VAE was trained on one visit).

A hybrid VAE (trained with ``hybrid=True``: its decoder models the log residual of the
two-compartment no-EHC prior) is loaded the same way; the policy then MAP-fits that prior to
the same samples first (:func:`agents.vae.profiles.hybrid_features`) and is named
``vae_hybrid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from agents.policies.mycophenolate.map import VISIT_DAYS, visits_from_observation
from agents.vae.profile_map import nearest_target_dose
from agents.vae.profile_priors import DEFAULT_DOSE_LEVELS_MG
from agents.vae.profiles import (
    ProfilePredictor,
    hybrid_features,
    load_profile_vae,
    profile_inputs,
)

__all__ = ["VaeDosingPolicy"]


class VaeDosingPolicy:
    """Latent-space dosing with a trained profile VAE (plain or hybrid).

    Args:
        path: directory of ``profile_vae.pt`` and ``profile_vae.json``.
        dose_levels_mg: allowed doses per administration, mg (default 250..2000 step 250).
        target_auc: target AUC0-12, mg*h/L.
        visit_days: the scenario's visit days.
    """

    name = "vae"
    reads_hidden_state = False

    def __init__(self, path: str | Path, *, dose_levels_mg: np.ndarray | None = None,
                 target_auc: float = 45.0, visit_days: tuple[int, ...] = VISIT_DAYS) -> None:
        """Load the VAE and validate the settings."""
        vae = load_profile_vae(path)
        self.hybrid = bool(vae.hybrid)
        self.name = "vae_hybrid" if self.hybrid else "vae"
        self.predictor = ProfilePredictor(vae)
        levels = DEFAULT_DOSE_LEVELS_MG if dose_levels_mg is None else dose_levels_mg
        self.dose_levels_mg = np.sort(np.asarray(levels, dtype=np.float64))
        if not target_auc > 0:
            raise ValueError(f"target_auc must be > 0, got {target_auc}")
        self.target_auc, self.visit_days = float(target_auc), tuple(visit_days)

    def reset(self, n_envs: int) -> None:
        """Nothing to forget: each visit is encoded afresh."""
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,); ``info`` is not read."""
        visits, today = visits_from_observation(observation, self.visit_days)
        n = visits.n_patients
        mask = visits.sample_mask
        count = mask.sum(axis=1)
        last = np.maximum(count - 3, 0)[:, None] + np.arange(3)[None, :]
        last = np.minimum(last, mask.shape[1] - 1)
        rows = np.arange(n)[:, None]
        taken = mask[rows, last] & (count[:, None] >= 3)
        times = visits.sample_times_h[rows, last]
        morning = 24.0 * np.floor((times[:, 1:2] + 1e-9) / 24.0)  # the visit's morning dose
        k = visits.doses_mg.shape[1]
        index = np.clip((morning[:, 0] / 12.0).astype(np.int64), 0, max(k - 1, 0))
        doses = visits.doses_mg[np.arange(n), index] if k else np.ones(n)
        doses = np.where(taken.any(axis=1) & (doses > 0), doses, 1000.0)
        relative = np.where(taken, times - morning, 0.0)
        measured = np.where(taken, visits.concentrations_mg_per_l[rows, last], 0.0)
        features = hybrid_features(today, doses, relative, measured, taken) \
            if self.hybrid else None
        batch = profile_inputs(today, doses, relative, measured, taken, features)
        candidates = np.broadcast_to(self.dose_levels_mg, (n, self.dose_levels_mg.size))
        with torch.no_grad():
            _, aucs = self.predictor.predict(batch, candidates, features,
                                             prior_only=~taken.any(axis=1))
        return nearest_target_dose(aucs, self.dose_levels_mg, self.target_auc)
