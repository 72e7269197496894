"""Phase I/II designs as ``pkgym/DoseFindingEffTox-v0`` policies, and the truth-reading oracle.

BOIN12 (:class:`pkgym.trials.phase12.Boin12Design`) plays the env through DoseFinding-v0's
:class:`~agents.policies.dose_finding.baselines.DesignPolicy` (after each cohort: stop, or the
next level; once the trial is full: the selected dose), its state built with the observed
responses. Toxicity-only BOIN is DoseFinding-v0's policy unchanged (it reads only patients,
DLTs and the level), aiming at phi_T.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from agents.policies.dose_finding.baselines import DesignPolicy
from pkgym.envs.dose_finding_efftox import ENV_ID
from pkgym.envs.dose_finding_efftox.clinic import DoseFindingEffToxScenario
from pkgym.envs.registry import env_spec
from pkgym.trials.phase12 import Phase12State
from pkgym.trials.phase12_simulation import boin12_from_spec
from pkgym.trials.state import TrialState

EFFTOX_BASELINES = env_spec(ENV_ID).baselines
"""``boin12``, ``boin`` and ``oracle`` (the env's registry entry lists them)."""


class Boin12Policy(DesignPolicy):
    """BOIN12 choosing the env's actions from the observed DLTs and responses.

    Args:
        settings: the env's scenario (phi_T, phi_E, utilities, levels, maximum sample size).
        spec: ``boin12`` or ``boin12:key=value,...``
            (:func:`pkgym.trials.phase12_simulation.boin12_from_spec`); ``n_earlystop``,
            which stops *with* a selection, has no env action and is refused.
    """

    def __init__(self, settings: DoseFindingEffToxScenario, spec: str = "boin12") -> None:
        """Build the design with the scenario's phi_T, phi_E and utilities."""
        design = boin12_from_spec(spec, settings)
        if design.n_earlystop is not None:
            raise ValueError("policy boin12: n_earlystop stops with a selection, which the "
                             "env cannot express (its stop action names no dose)")
        options = spec.partition(":")[2]
        name = f"boin12[{options}]" if options else "boin12"
        super().__init__(design, settings, name)  # type: ignore[arg-type]

    def trial_state(self, observation: Mapping[str, np.ndarray], rows: np.ndarray
                    ) -> TrialState:
        """BOIN12's :class:`Phase12State` of the trials ``rows`` (a mask)."""
        counts = (np.rint(observation[key][rows]).astype(np.int64)
                  for key in ("patients", "dlts", "responses", "both"))
        return Phase12State.from_outcomes(*counts, np.argmax(observation["level"][rows],
                                                             axis=1))


class EffToxOraclePolicy:
    """Knows each trial's truth table: escalates to the true OBD, treats there, names it.

    An upper bound, not a design: it reads ``true_obd`` from ``info`` (the level of highest
    true utility at or below the true MTD). The env still escalates one level at a time, so
    its recommendation always scores relative utility 1 and it never treats above the MTD.
    """

    reads_hidden_state = True

    def __init__(self) -> None:
        """Stateless; named ``oracle``."""
        self.name = "oracle"

    def reset(self, n_envs: int) -> None:
        """Stateless: each step's info holds the truth."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The true OBD of every trial (float64 decisions)."""
        if info is None or "true_obd" not in info:
            raise ValueError("the oracle needs the env's info (true_obd)")
        return np.asarray(info["true_obd"], dtype=np.float64).reshape(-1)


def efftox_baseline(name: str, settings: DoseFindingEffToxScenario, **options: str) -> Any:
    """BOIN12, toxicity-only BOIN (target phi_T) or the oracle, for the env's trial size.

    ``options`` (BOIN12 only): the keys of ``boin12_from_spec`` (``phi_e``, ``u2``, ...).

    Examples:
        >>> efftox_baseline("boin12", DoseFindingEffToxScenario()).design.min_efficacy
        0.25
        >>> efftox_baseline("boin12", DoseFindingEffToxScenario(), phi_e="0.3").name
        'boin12[phi_e=0.3]'
    """
    from pkgym.trials.report import make_design

    if name not in EFFTOX_BASELINES:
        raise ValueError(f"policy must be one of {EFFTOX_BASELINES}, got {name!r}")
    if options and name != "boin12":
        raise TypeError(f"baseline {name} takes no options")  # the registry names them
    if name == "boin12" and options:
        text = ",".join(f"{key}={value}" for key, value in options.items())
        return Boin12Policy(settings, f"boin12:{text}")
    if name == "oracle":
        return EffToxOraclePolicy()
    if name == "boin12":
        return Boin12Policy(settings)
    return DesignPolicy(make_design(name, settings.shape_scenario()), settings,  # type: ignore[arg-type]
                        name)
