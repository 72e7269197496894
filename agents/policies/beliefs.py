"""What a model-based policy believes: the scenario's truth, or another of its models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def prior_model(scenario: Any, prior: str | None, models: Mapping[str, Any]) -> Any:
    """The parameter set a MAP policy doses with (``map:prior=NAME``).

    The scenario's truth unless ``prior`` names another of its models; that model is read
    from the scenario's own field of that name, so a YAML override of it applies.

    Args:
        scenario: a scenario with a ``model`` name, a ``truth`` and one field per model.
        prior: the model named by the policy option, or ``None``.
        models: the env's model names (its ``MODELS``).

    Raises:
        ValueError: (one line) ``prior`` is not one of ``models``.

    Examples:
        >>> from pkgym.envs.warfarin.clinic import MODELS, WarfarinScenario
        >>> type(prior_model(WarfarinScenario(), "hamberg2007", MODELS)).__name__
        'Hamberg2007'
        >>> prior_model(WarfarinScenario(), None, MODELS) == WarfarinScenario().truth
        True
    """
    if prior is None or prior == scenario.model:
        return scenario.truth
    if prior not in models:
        raise ValueError(f"prior {prior!r} is not one of {sorted(models)}")
    return getattr(scenario, prior)
