"""Shared pieces of the warfarin env tests: ids, an eventful clinic and a fixed-action rollout."""

from __future__ import annotations

from contract import rollout_fixed as rollout

from pkgym.envs.warfarin.clinic import EventHazards

ENV_ID = "pkgym/Warfarin-v0"
PGX_ID = "pkgym/WarfarinPGx-v0"
EVENTFUL = EventHazards(bleeding_per_year_in_range=15.0, thromboembolism_per_year_in_range=15.0)
"""Event rates high enough that a 90-day episode holds a few events of each kind."""
ETAS = ("eta_CL", "eta_V", "eta_EC50")

__all__ = ["ENV_ID", "ETAS", "EVENTFUL", "PGX_ID", "rollout"]
