"""Populations against real patients: population-level checks of each model (``pkgym validate``)."""

from pkgym.validation.targets import Panel, Target, ValidationResult

__all__ = ["Panel", "Target", "ValidationResult"]
