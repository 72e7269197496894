"""The one interface every dosing policy satisfies: baselines, trained agents, user callables.

What a policy returns is checked where it enters the evaluation (:func:`checked_decisions`):
real, finite numbers, one per patient (a scalar is given to every patient, as
``agents.policies.registry.CallablePolicy`` does).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pkgym.envs.actions import REAL_KINDS, shown


@runtime_checkable
class Policy(Protocol):
    """Chooses doses for a batch of patients from what the ward observes.

    Attributes:
        name: short name used in result tables.
        reads_hidden_state: True for policies that read the true patient from ``info`` (the
            oracle); reports mark them as upper bounds, not deployable policies.
    """

    name: str
    reads_hidden_state: bool

    def reset(self, n_envs: int) -> None:
        """Forget everything about the previous patients (called before new episodes)."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Doses in mg, shape (n_envs,), for the batched observation (and info)."""


def checked_decisions(decisions: Any, policy_name: str, ids: np.ndarray | int) -> np.ndarray:
    """A policy's decisions as float64, shape (n,) (or (n, k)), or a one-line ``ValueError``.

    ``None``, non-real values (complex, bool, object, str), NaN, infinities and a wrong
    number of patients are refused with an error naming the policy and, for a bad value, the
    patient's row and id. A scalar is given to every patient. Whether a value is in the env's
    range is the env's to check (``DosingCore.encode_decisions``).

    Args:
        decisions: what the policy's ``act`` returned.
        policy_name: the policy's name, for the error.
        ids: the patients' ids, shape (n,), or just their number n (errors then name rows).

    Examples:
        >>> checked_decisions(500, "flat", np.array([7, 8])).tolist()
        [500.0, 500.0]
        >>> checked_decisions([500.0, float("nan")], "flat", np.array([7, 8]))
        Traceback (most recent call last):
        ...
        ValueError: policy 'flat' gave patient row 1 (id 8) the decision nan: decisions must be ...
    """
    n = ids if isinstance(ids, int) else len(ids)
    array = np.asarray(decisions) if decisions is not None else None
    expected = f"one real, finite decision (dose) per patient, shape ({n},), or a scalar for all"
    if array is None or array.dtype.kind not in REAL_KINDS:
        kind = "None" if array is None else f"{shown(decisions)} ({array.dtype})"
        raise ValueError(f"policy {policy_name!r} returned {kind}; it must return {expected}")
    if array.ndim == 0:
        array = np.full(n, array)
    if array.ndim not in (1, 2) or array.shape[0] != n:
        raise ValueError(f"policy {policy_name!r} returned shape {array.shape} for {n} "
                         f"patient(s); it must return {expected}")
    values = array.astype(np.float64)
    bad = ~np.isfinite(values.reshape(n, -1)).all(axis=1)
    if np.any(bad):
        row = int(np.argmax(bad))
        raise ValueError(f"{patient_of(policy_name, ids, row)} the decision "
                         f"{shown(values[row].tolist())}: decisions must be finite real numbers")
    return values


def patient_of(policy_name: str, ids: np.ndarray | int, row: int) -> str:
    """``policy 'name' gave patient row k (id x)``: the start of an error about one patient.

    Examples:
        >>> patient_of("label", np.array(["a", "b"]), 1)
        "policy 'label' gave patient row 1 (id 'b')"
        >>> patient_of("label", 2, 1)
        "policy 'label' gave patient row 1"
    """
    if isinstance(ids, int):
        return f"policy {policy_name!r} gave patient row {row}"
    patient = ids[row].item() if isinstance(ids[row], np.generic) else ids[row]
    return f"policy {policy_name!r} gave patient row {row} (id {patient!r})"
