"""Where a virtual trial's endpoints come from: a simulated patient pool, or a cheap synthetic law.

An endpoint source gives, for the ``n`` patients a trial may enrol (in enrolment order), their
*potential outcomes* under every arm, shape ``(n, n_arms)``; the trial reveals only the outcome of
the arm each patient is randomised to. :class:`EndpointPool` holds the outcomes of a finite
virtual population, simulated once per arm with :func:`simulate_endpoint_pool` (every arm's
policy is run on the same pinned patients); each trial draws its patients from the pool
*without replacement*, so simulated trials re-use one finite virtual population, and operating
characteristics are conditional on it (their Monte-Carlo SEs do not include pool-to-pool
variation). Synthetic sources (:class:`GaussianEndpoints`, :class:`BernoulliEndpoints`) let tests
check error rates quickly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from pkgym.envs.base import DosingVectorEnv
from pkgym.evaluation.cohorts import EVALUATION, sample_cohort
from pkgym.evaluation.policy import Policy
from pkgym.evaluation.runner import run_policy


class EndpointSource(Protocol):
    """Potential outcomes of the next ``n`` enrolled patients under every arm."""

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Endpoint values, shape (n, n_arms)."""


@dataclass(frozen=True, slots=True)
class EndpointPool:
    """A finite virtual population's endpoints under each arm; trials draw rows without replacement.

    Attributes:
        outcomes: endpoint of patient i under arm j.  # (n_patients, n_arms)
    """

    outcomes: np.ndarray

    def __post_init__(self) -> None:
        """Two-dimensional, finite."""
        values = np.asarray(self.outcomes, dtype=np.float64)
        if values.ndim != 2 or values.shape[0] == 0 or not np.all(np.isfinite(values)):
            raise ValueError(f"outcomes must be a finite (n_patients, n_arms) array, got shape "
                             f"{values.shape}")

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Rows of ``n`` distinct pool patients, in random (enrolment) order.

        Examples:
            >>> pool = EndpointPool(np.arange(10.0).reshape(5, 2))
            >>> pool(5, np.random.default_rng(0))[:, 0].sum()
            np.float64(20.0)
        """
        size = self.outcomes.shape[0]
        if not 0 < n <= size:
            raise ValueError(f"n must be in 1..{size} (the pool size), got {n}")
        return np.asarray(self.outcomes)[rng.choice(size, n, replace=False)]


@dataclass(frozen=True, slots=True)
class GaussianEndpoints:
    """Independent normal endpoints per arm (means and standard deviations, one per arm).

    Examples:
        >>> GaussianEndpoints((0.0, 1.0), (1.0, 1.0))(3, np.random.default_rng(0)).shape
        (3, 2)
    """

    means: tuple[float, ...]
    sds: tuple[float, ...]

    def __post_init__(self) -> None:
        """One positive sd per mean."""
        if len(self.means) != len(self.sds) or min(self.sds, default=0.0) <= 0:
            raise ValueError(f"sds must be positive, one per mean; got means={self.means}, "
                             f"sds={self.sds}")

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` patients' outcomes under every arm."""
        return rng.normal(self.means, self.sds, size=(n, len(self.means)))


@dataclass(frozen=True, slots=True)
class BernoulliEndpoints:
    """Independent 0/1 endpoints per arm (success probability per arm).

    Examples:
        >>> BernoulliEndpoints((0.0, 1.0))(2, np.random.default_rng(0)).tolist()
        [[0.0, 1.0], [0.0, 1.0]]
    """

    probabilities: tuple[float, ...]

    def __post_init__(self) -> None:
        """Probabilities in [0, 1]."""
        if not all(0.0 <= p <= 1.0 for p in self.probabilities):
            raise ValueError(f"probabilities must be in [0, 1], got {self.probabilities}")

    def __call__(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` patients' outcomes under every arm."""
        draws = rng.random((n, len(self.probabilities)))
        return (draws < np.asarray(self.probabilities)).astype(np.float64)


def simulate_endpoint_pool(env_id: str, policies: Sequence[Policy], endpoint: str,
                           n_patients: int, seed: int, *,
                           env_kwargs: Mapping[str, Any] | None = None,
                           progress: bool = False, start: int = 0) -> EndpointPool:
    """Run every arm's policy on the same ``n_patients`` evaluation-space patients.

    ``start`` simulates patients ``start .. start+n_patients-1`` of a larger pool (a shard):
    patient k has the same covariates, random effects and noise streams in any shard, so
    stacking the shards' outcomes gives the whole pool's.

    Args:
        env_id: a registered pkgym env id.
        policies: one policy per arm (the same object may serve two arms; it runs once).
        endpoint: a score column of :func:`~pkgym.evaluation.runner.run_policy`'s table.
        n_patients: pool size.
        seed: cohort seed (EVALUATION space) and root seed of the env noise streams.
        env_kwargs: extra env keyword arguments (e.g. ``scenario``), for the cohort and runs.
        progress: show a progress bar over the policies (on stderr).
        start: index of the first patient (>= 0).

    Examples:
        >>> import pkgym
        >>> class Fixed:
        ...     name, reads_hidden_state = "1 g", False
        ...     def reset(self, n_envs): self.n = n_envs
        ...     def act(self, observation, info=None): return np.full(self.n, 1000.0)
        >>> pool = simulate_endpoint_pool("pkgym/Vancomycin-v0", [Fixed(), Fixed()],
        ...                               "in_target_range_fraction", 4, seed=0)
        >>> pool.outcomes.shape, bool((pool.outcomes[:, 0] == pool.outcomes[:, 1]).all())
        ((4, 2), True)
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **dict(env_kwargs or {}))
    settings = cast(DosingVectorEnv, env.unwrapped).core.settings
    env.close()
    cohort = sample_cohort(settings.population, settings.model.variability, n_patients, seed,
                           EVALUATION, start=start)
    done: dict[int, np.ndarray] = {}
    for policy in tqdm(policies, desc="endpoint pool (policies)", disable=not progress):
        if id(policy) not in done:
            table = run_policy(policy, env_id, cohort, seed, env_kwargs, first_row=start)
            if endpoint not in table.columns:
                scores = [c for c in table.columns if not c[-1].isdigit()]
                raise ValueError(f"endpoint must be one of {scores}, got {endpoint!r}")
            done[id(policy)] = table[endpoint].to_numpy(dtype=np.float64)
    return EndpointPool(np.stack([done[id(policy)] for policy in policies], axis=1))
