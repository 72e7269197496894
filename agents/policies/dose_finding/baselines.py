"""Phase I designs as ``pkgym/DoseFinding-v0`` policies, and env policies as designs.

BOIN and CRM run every trial to its maximum sample size unless their safety rule stops it
with no MTD, which is exactly what the env's actions express (a level, or stop with no
MTD); 3+3, which stops early *with* an MTD, is not one of them. The inverse adapter,
:class:`pkgym.trials.learned.PolicyDesign`, scores any env policy with the trial simulator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pkgym.envs.dose_finding import ENV_ID
from pkgym.envs.dose_finding.clinic import DoseFindingEnvScenario
from pkgym.envs.registry import env_spec
from pkgym.models.dose_toxicity import closest_levels
from pkgym.trials.learned import PolicyDesign, env_scenario_for
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import DoseFindingDesign, TrialState

DOSE_FINDING_BASELINES = env_spec(ENV_ID).baselines
"""``boin``, ``crm`` and ``oracle`` (the env's registry entry lists them)."""


class DesignPolicy:
    """A trial design choosing the env's actions from the observed counts.

    After a cohort: the design's stop rule gives the stop action (``n_doses``), otherwise its
    next level; once the trial is full: its selected MTD (stop where it selects none).

    Args:
        design: a design whose early stops name no MTD (BOIN, CRM).
        settings: the env's scenario (number of levels and maximum sample size).
        name: the policy's name in result tables.
    """

    reads_hidden_state = False

    def __init__(self, design: DoseFindingDesign, settings: DoseFindingEnvScenario,
                 name: str) -> None:
        """Keep the design and the trial size it needs to know when a trial is full."""
        self.design, self.name = design, name
        self.n_doses, self.max_sample_size = settings.n_doses, settings.max_sample_size

    def reset(self, n_envs: int) -> None:
        """Stateless: the observation holds the whole trial."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Levels (``n_doses``: stop) for the batch of trials, as float64 decisions."""
        patients = np.rint(observation["patients"]).astype(np.int64)
        full = patients.sum(axis=1) >= self.max_sample_size
        decisions = np.empty(full.size, dtype=np.float64)
        if full.any():  # the recommendation, only where the trial is full
            selected = self.design.select_mtd(self.trial_state(observation, full))
            decisions[full] = np.where(selected < 0, self.n_doses, selected)
        if not full.all():  # the next cohort's level, or stop
            going = self.trial_state(observation, ~full)
            decisions[~full] = np.where(self.design.stop(going), self.n_doses,
                                        self.design.next_dose(going))
        return decisions

    def trial_state(self, observation: Mapping[str, np.ndarray], rows: np.ndarray
                    ) -> TrialState:
        """The design's state of the trials ``rows`` (a mask) from the observed counts."""
        patients, dlts = (np.rint(observation[key][rows]).astype(np.int64)
                          for key in ("patients", "dlts"))
        return TrialState.from_counts(patients, dlts, np.argmax(observation["level"][rows],
                                                                axis=1))


class OptimalBenchmarkPolicy:
    """The nonparametric optimal benchmark: an upper bound for designs, not a design.

    O'Quigley J, Paoletti X, Maccario J (2002). Non-parametric optimal design in dose finding
    studies. Biostatistics 3:51-56. It reads every trial patient's latent tolerance (the
    env's ``dlt_uniforms``: patient i has a DLT at level j iff u_i < p_j), so it knows each
    patient's outcome at every level; it estimates p_j by the share of the N patients with
    a DLT at level j and names the level closest to the target. It treats every cohort at
    that level (the env still escalates one level at a time).
    """

    reads_hidden_state = True

    def __init__(self, settings: DoseFindingEnvScenario) -> None:
        """Keep the target the MTD is chosen against."""
        self.name, self.target = "oracle", settings.target_dlt_rate

    def reset(self, n_envs: int) -> None:
        """Stateless: each step's info holds the whole trial."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The benchmark's MTD level for every trial (float64 decisions)."""
        if info is None or "dlt_uniforms" not in info:
            raise ValueError("the oracle needs the env's info (dlt_uniforms, "
                             "true_dlt_probabilities)")
        uniforms = np.asarray(info["dlt_uniforms"], dtype=np.float64)  # (n, N)
        truth = np.asarray(info["true_dlt_probabilities"], dtype=np.float64)  # (n, K)
        estimates = (uniforms[:, :, None] < truth[:, None, :]).mean(axis=1)
        return closest_levels(estimates, self.target).astype(np.float64)


def dose_finding_baseline(name: str, settings: DoseFindingEnvScenario) -> Any:
    """BOIN or CRM with the defaults of ``pkgym trial``, or the optimal benchmark (oracle).

    Examples:
        >>> dose_finding_baseline("boin", DoseFindingEnvScenario()).name
        'boin'
    """
    from pkgym.trials.report import make_design

    if name not in DOSE_FINDING_BASELINES:
        raise ValueError(f"policy must be one of {DOSE_FINDING_BASELINES}, got {name!r}")
    if name == "oracle":
        return OptimalBenchmarkPolicy(settings)
    return DesignPolicy(make_design(name, settings.shape_scenario()), settings, name)


def learned_design(spec: str, scenario: DoseFindingScenario) -> PolicyDesign:
    """A ``pkgym/DoseFinding-v0`` policy (``sb3:PATH.zip``, ``module:callable``) as a design.

    A trained model must have been trained on trials of this scenario's shape (levels,
    cohort size, maximum sample size, target): its observation space must be the env's.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3)
        >>> learned_design("numpy:zeros_like", scenario).name
        'numpy:zeros_like'
    """
    import gymnasium as gym

    from agents.policies.registry import make_policy

    env = gym.make("pkgym/DoseFinding-v0", scenario=env_scenario_for(scenario))
    core = env.unwrapped.core  # type: ignore[attr-defined]
    policy = make_policy(spec, core)
    model = getattr(policy, "model", None)
    if model is not None and model.observation_space != core.observation_space:
        raise ValueError(f"design {spec}: the model observes {model.observation_space}, but "
                         f"this scenario's trials give {core.observation_space} (levels, "
                         "cohort size, sample size or target differ from its training)")
    return PolicyDesign(policy, scenario)
