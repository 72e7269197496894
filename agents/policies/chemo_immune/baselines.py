"""Baseline policies for ``pkgym/ChemoImmune-v0``: a constant dose and a normal-cell threshold rule.

Both satisfy :class:`pkgym.evaluation.policy.Policy`: batched, one infusion rate per env each
morning, in drug units/day, read from the observation only (``cells`` = measured N, T, I).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


class ConstantDosePolicy:
    """The same infusion every day (the classic maximum-tolerated-dose schedule at ``dose``).

    Examples:
        >>> ConstantDosePolicy(1.0).act({"cells": np.zeros((3, 3), np.float32)}).tolist()
        [1.0, 1.0, 1.0]
    """

    reads_hidden_state = False

    def __init__(self, dose: float, name: str = "constant") -> None:
        """Give ``dose`` (drug units/day, >= 0) every day."""
        if not (np.isfinite(dose) and dose >= 0):
            raise ValueError(f"dose must be finite and >= 0, got {dose}")
        self.dose, self.name = float(dose), name

    def reset(self, n_envs: int) -> None:
        """Stateless: nothing to forget."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """``dose`` for every env."""
        return np.full(len(observation["cells"]), self.dose)


class ThresholdPolicy:
    """Full dose while the measured normal cells stay a margin above the floor, else less.

    Each morning: no drug once the measured tumour is below ``stop_tumour_level`` (treatment
    complete); otherwise ``full_dose`` if measured N >= ``floor + margin``, else
    ``reduced_dose`` (0 by default: hold for toxicity, as clinicians hold a cycle).

    Examples:
        >>> policy = ThresholdPolicy(floor=0.75, margin=0.05, full_dose=1.0)
        >>> cells = np.array([[0.9, 0.2, 0.1], [0.78, 0.2, 0.1], [0.9, 1e-4, 1.0]])
        >>> policy.act({"cells": cells}).tolist()
        [1.0, 0.0, 0.0]
    """

    reads_hidden_state = False

    def __init__(self, floor: float, margin: float = 0.05, full_dose: float = 1.0,
                 reduced_dose: float = 0.0, stop_tumour_level: float = 1e-3,
                 name: str = "threshold") -> None:
        """Rule parameters: cell levels normalised, doses in drug units/day."""
        values = {"floor": floor, "margin": margin, "full_dose": full_dose,
                  "reduced_dose": reduced_dose, "stop_tumour_level": stop_tumour_level}
        for key, value in values.items():
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be finite and >= 0, got {value}")
        self.floor, self.margin, self.full_dose = floor, margin, full_dose
        self.reduced_dose, self.stop_tumour_level, self.name = (reduced_dose, stop_tumour_level,
                                                                name)

    def reset(self, n_envs: int) -> None:
        """Stateless: nothing to forget."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The day's infusion of each env from its measured N and T."""
        cells = np.asarray(observation["cells"], dtype=np.float64)
        normal, tumour = cells[:, 0], cells[:, 1]
        dose = np.where(normal >= self.floor + self.margin, self.full_dose, self.reduced_dose)
        return np.where(tumour < self.stop_tumour_level, 0.0, dose)
