"""Paired evaluation of several policies on one held-out cohort.

Every policy meets the same pinned patients with the same assay-noise and clinical-event
streams (:func:`pkgym.evaluation.runner.run_policy`), so per-patient differences between
policies are paired. Policies that read the hidden state are marked in the results.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from pkgym.evaluation.cohorts import CohortId, check_no_leakage
from pkgym.evaluation.policy import Policy
from pkgym.evaluation.runner import run_policy


def evaluate(policies: Sequence[Policy], env_id: str, cohort: pd.DataFrame, seed: int, *,
             env_kwargs: Mapping[str, Any] | None = None, progress: bool = False,
             first_row: int = 0) -> pd.DataFrame:
    """Run every policy on ``cohort``; one row per (policy, patient).

    A policy that carries ``training_cohorts`` (a trained model) is checked first: evaluating
    it on patients it was trained on raises :class:`pkgym.evaluation.cohorts.LeakageError`.

    Args:
        policies: the policies, with distinct names.
        env_id: a registered pkgym env id.
        cohort: pinned patients (``id`` column).
        seed: root seed of the noise streams, shared by all policies.
        env_kwargs: extra env keyword arguments (e.g. ``scenario``).
        progress: show a progress bar.
        first_row: index of ``cohort``'s first row in the whole cohort when it is a shard;
            row k of the whole cohort then gets the same noise in any shard
            (:func:`~pkgym.evaluation.runner.run_policy`).

    Returns:
        The :func:`run_policy` columns plus ``reads_hidden_state``, then each patient's
        covariates from ``cohort`` (its columns but ``id`` and the hidden ``eta_*``), for
        subgroup analyses (:mod:`pkgym.evaluation.subgroups`).

    Examples:
        >>> import numpy as np, pkgym
        >>> from pkgym.evaluation.cohorts import sample_cohort
        >>> from pkgym.models.vancomycin import Goti2018
        >>> from pkgym.populations.vancomycin import ADULT_INPATIENTS
        >>> class Fixed:
        ...     reads_hidden_state = False
        ...     def __init__(self, mg): self.name, self.mg = f"{mg:g} mg", mg
        ...     def reset(self, n_envs): self.n = n_envs
        ...     def act(self, observation, info=None): return np.full(self.n, self.mg)
        >>> cohort = sample_cohort(ADULT_INPATIENTS, Goti2018().variability, 4, seed=1)
        >>> results = evaluate([Fixed(500.0), Fixed(1000.0)], "pkgym/Vancomycin-v0", cohort, 2)
        >>> results.groupby("policy", sort=False).size().tolist()
        [4, 4]
    """
    names = [p.name for p in policies]
    if not policies or len(set(names)) != len(names):
        raise ValueError(f"policies must be a non-empty list with distinct names, got {names}")
    for policy in policies:
        trained_on: Iterable[CohortId] = getattr(policy, "training_cohorts", ())
        check_no_leakage(cohort, trained_on)
    tables = []
    for policy in tqdm(policies, desc="policies", disable=not progress):
        table = run_policy(policy, env_id, cohort, seed, env_kwargs, first_row=first_row)
        table.insert(2, "reads_hidden_state", bool(policy.reads_hidden_state))
        tables.append(table)
    results = pd.concat(tables, ignore_index=True)
    covariates = [c for c in cohort.columns
                  if c != "id" and not str(c).startswith("eta_") and c not in results.columns]
    if not covariates or "id" not in cohort.columns:
        return results
    by_id = cohort.drop_duplicates("id").set_index("id")[covariates]
    return results.join(by_id, on="id")
