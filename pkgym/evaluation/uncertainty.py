"""Truth, belief and parameter uncertainty in an evaluation.

**Truth.** A scenario that names its patient model (a ``model`` field naming one of its
parameter-set fields, e.g. vancomycin ``model: thomson2009``, warfarin ``model: hamberg2007``)
generates its patients with that model: :func:`truth_name`.

**Parameter uncertainty.** With ``R`` replicates, the cohort's rows are split into ``R``
contiguous blocks (row ``k`` of ``n`` belongs to replicate ``k * R // n``); the patients of
replicate ``r`` follow the truth with its fixed effects drawn once, for the whole block, from
their published uncertainty (:func:`pkgym.models.uncertainty.replicate_parameters`, keyed by
the evaluation seed and ``r``, so replicate ``r`` is the same in any shard and whatever
``R``). Patients are then nested in replicates, and :func:`pkgym.evaluation.report.summarise`
resamples replicates and then patients within them: its intervals include the uncertainty of
the published estimates.

**Belief.** Policies still know only the published model: a MAP policy's prior is the
published estimate (or the model its ``prior=`` option names), never a replicate's draw. A
policy that reads the hidden state (an oracle) is the exception: it is rebuilt for each
replicate from that replicate's env, since it stands for perfect knowledge of the patient.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from pkgym.models.uncertainty import replicate_parameters
from pkgym.scenarios import SCENARIO_TYPES, resolve_scenario

ScenarioLike = Any | str | os.PathLike | None
"""A scenario object, a YAML path or ``None`` (the env's default scenario)."""


def scenario_object(env_id: str, scenario: ScenarioLike) -> Any:
    """The env's scenario dataclass from an object, a YAML path or ``None``.

    Examples:
        >>> import pkgym
        >>> scenario_object("pkgym/Warfarin-v1", None).model
        'hamberg2010_iwpc'
    """
    if env_id not in SCENARIO_TYPES:
        raise ValueError(f"{env_id} takes no scenario, so it names no truth model")
    return resolve_scenario(scenario, SCENARIO_TYPES[env_id], env_id)


def truth_name(scenario: Any) -> str | None:
    """The name of the model that generates a scenario's patients (``None``: it names none).

    Examples:
        >>> import pkgym
        >>> truth_name(scenario_object("pkgym/Warfarin-v0", None))
        'hamberg2010'
    """
    name = getattr(scenario, "model", None)
    return name if isinstance(name, str) and hasattr(scenario, name) else None


def drawn_scenario(env_id: str, scenario: ScenarioLike, seed: int, replicate: int) -> Any:
    """The scenario of replicate ``replicate``: its truth's fixed effects drawn once.

    Only the parameter set the scenario's ``model`` names is drawn; everything else (the
    population, the omegas, the assay) stays as published.

    Raises:
        ValueError: the scenario names no truth model, or its model publishes no uncertainty.

    Examples:
        >>> import pkgym
        >>> a = drawn_scenario("pkgym/Warfarin-v0", None, seed=0, replicate=3)
        >>> a == drawn_scenario("pkgym/Warfarin-v0", None, seed=0, replicate=3)
        True
        >>> a == drawn_scenario("pkgym/Warfarin-v0", None, seed=0, replicate=4)
        False
    """
    chosen = scenario_object(env_id, scenario)
    name = truth_name(chosen)
    if name is None:
        raise ValueError(f"{env_id}: its scenario names no truth model (a 'model' field), so "
                         "its parameters cannot be drawn from their uncertainty")
    drawn = replicate_parameters(getattr(chosen, name), seed, replicate)
    return replace(chosen, **{name: drawn})


def check_replicates(replicates: int, n_patients: int) -> None:
    """Refuse fewer than 2 replicates, or more replicates than patients.

    Examples:
        >>> check_replicates(10, 5)
        Traceback (most recent call last):
        ...
        ValueError: parameter-uncertainty replicates must be in 2..n_patients (5), got 10
    """
    if not 2 <= replicates <= n_patients:
        raise ValueError(f"parameter-uncertainty replicates must be in 2..n_patients "
                         f"({n_patients}), got {replicates}")


def replicate_of_rows(start: int, stop: int, n_rows: int, replicates: int) -> np.ndarray:
    """The replicate of cohort rows ``start .. stop-1`` (``k * replicates // n_rows``).

    Examples:
        >>> replicate_of_rows(0, 6, 6, 3).tolist(), replicate_of_rows(3, 6, 6, 3).tolist()
        ([0, 0, 1, 1, 2, 2], [1, 2, 2])
    """
    return np.arange(start, stop, dtype=np.int64) * replicates // n_rows


def describe_truth(env_id: str, scenario: ScenarioLike, replicates: int = 0) -> str:
    """One line naming the truth and whether its estimates are drawn.

    Examples:
        >>> import pkgym
        >>> describe_truth("pkgym/Warfarin-v1", None, replicates=50)  # doctest: +ELLIPSIS
        'Truth: hamberg2010_iwpc (Hamberg2010Iwpc), fixed effects drawn from their ...'
    """
    if env_id not in SCENARIO_TYPES:
        return "Truth: the env's model (it takes no scenario)."
    chosen = scenario_object(env_id, scenario)
    name = truth_name(chosen)
    if name is None:
        return "Truth: the scenario's model, at its published estimates."
    label = f"Truth: {name} ({type(getattr(chosen, name)).__name__})"
    if replicates:
        return (f"{label}, fixed effects drawn from their published uncertainty in {replicates} "
                "replicates (patients nested in replicates; intervals include it).")
    return f"{label}, at its published estimates."


def describe_beliefs(policies: Sequence[Any], truth: str | None) -> list[str]:
    """One line per policy: what it knows of the patient model.

    A policy with a ``belief_name`` attribute (the model a MAP policy doses with) names it; a
    policy that reads the hidden state knows the truth; every other policy is model-free (a
    rule, a nomogram or a learned policy; a trained agent's name says where it was trained).

    Examples:
        >>> class P:
        ...     def __init__(self, name, hidden, belief=None):
        ...         self.name, self.reads_hidden_state = name, hidden
        ...         if belief: self.belief_name = belief
        >>> describe_beliefs([P("map", False, "a"), P("map2", False, "b"), P("oracle", True),
        ...                   P("label", False)], "a")  # doctest: +NORMALIZE_WHITESPACE
        ['- map: believes a (the truth, at its published estimates)', '- map2: believes b (not
        the truth)', '- oracle: knows the true patient (reads the hidden state)',
        '- label: model-free']
    """
    lines = []
    for policy in policies:
        belief = getattr(policy, "belief_name", None)
        if policy.reads_hidden_state:
            text = "knows the true patient (reads the hidden state)"
        elif belief is None:
            text = "model-free"
        elif belief == truth:
            text = f"believes {belief} (the truth, at its published estimates)"
        else:
            text = f"believes {belief} (not the truth)"
        lines.append(f"- {policy.name}: {text}")
    return lines


def evaluation_context(env_id: str, scenario: ScenarioLike, policies: Sequence[Any],
                       replicates: int = 0) -> str:
    """The truth and each policy's belief, as printed above every summary.

    Examples:
        >>> import pkgym
        >>> print(evaluation_context("pkgym/Warfarin-v0", None, []))
        Truth: hamberg2010 (Hamberg2010), at its published estimates.
    """
    truth = truth_name(scenario_object(env_id, scenario)) if env_id in SCENARIO_TYPES else None
    lines = [describe_truth(env_id, scenario, replicates)]
    beliefs = describe_beliefs(policies, truth)
    if beliefs:
        lines += ["Beliefs:", *beliefs]
    return "\n".join(lines)
