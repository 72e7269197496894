"""A model of ``pkgym train-offline`` as a pkgym :class:`~pkgym.evaluation.policy.Policy`.

``pkgym evaluate --policy offline:OUT`` (the run folder, or its ``model.pt``) builds one
through :func:`agents.policies.registry.make_policy`. The weights are read with
``torch.load(weights_only=True)``: nothing is unpickled. The policy exposes the dataset's
cohort as ``training_cohorts``, so :func:`pkgym.evaluation.evaluate.evaluate` refuses to
evaluate it on the patients it learned from (the leakage guard).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.offline.algorithms import OfflineConfig, greedy_actions, make_learner
from agents.offline.features import ObservationFeatures
from agents.offline.offline_rl import METADATA_FILE, MODEL_FILE
from agents.rl.model_metadata import cohort_from_record
from agents.rl.sb3_policy import infer_env_id
from pkgym.envs.base import DosingCore


class OfflinePolicy:
    """A trained offline-RL model acting greedily; its level indices become doses (mg).

    Args:
        path: the run folder of ``pkgym train-offline`` or its ``model.pt``.
        core: the core of the env it will act in.
        env_id: the evaluated env's id (``None``: inferred from ``core``); another env than
            the model's is refused.
    """

    reads_hidden_state = False

    def __init__(self, path: str | os.PathLike, core: DosingCore, *,
                 env_id: str | None = None) -> None:
        """Load the description and weights; check the env and its action levels."""
        folder = Path(path).parent if Path(path).suffix == ".pt" else Path(path)
        if not (folder / MODEL_FILE).is_file() or not (folder / METADATA_FILE).is_file():
            raise ValueError(f"offline:{path}: no {MODEL_FILE} with {METADATA_FILE} there (the "
                             "output folder of pkgym train-offline)")
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        evaluated = env_id or infer_env_id(core)
        if evaluated is not None and evaluated != metadata["env_id"]:
            raise ValueError(f"offline:{path}: the model was trained on {metadata['env_id']}, "
                             f"not {evaluated}")
        if len(core.dose_levels_mg) != int(metadata["n_actions"]):
            raise ValueError(f"offline:{path}: the model has {metadata['n_actions']} actions, the "
                             f"env {len(core.dose_levels_mg)} dose levels")
        self.features = ObservationFeatures.from_record(metadata["features"])
        self.learner = make_learner(metadata["algo"], self.features.n_features,
                                    int(metadata["n_actions"]), OfflineConfig(**metadata["config"]))
        state = torch.load(folder / MODEL_FILE, weights_only=True)
        self.learner.load_state_dict(state)
        self.learner.eval()
        self.core, self.metadata = core, metadata
        self.name = f"offline:{metadata['algo']}:{folder.name}"
        record = metadata.get("training_cohort")
        self.training_cohorts = () if record is None else (cohort_from_record(record),)

    def reset(self, n_envs: int) -> None:
        """Stateless: the policy sees the current observation only."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Greedy level per patient, as doses in mg, shape ``(n,)``."""
        actions = greedy_actions(self.learner, self.features(observation))
        return np.asarray(self.core.decode_actions(actions, False, len(actions)),
                          dtype=np.float64)

    def level_indices(self, observation: Mapping[str, Any]) -> np.ndarray:
        """The greedy level indices ``(n,)`` (for checks against the dataset's actions)."""
        return greedy_actions(self.learner, self.features(observation))
