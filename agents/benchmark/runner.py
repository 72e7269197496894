"""What ``pkgym benchmark`` runs: its settings, the envs' score references and the runs' places.

For every (env, algorithm, seed) a run trains with :func:`agents.rl.training.train` into
``OUT/runs/<env>/<algo>/seed<S>/`` (:func:`run_directory`, :func:`train_config`) and is
evaluated on one held-out cohort per env (:func:`env_setup`: sampled in the EVALUATION seed
space, so no trained model has seen its patients) together with the env's baselines, all on
the same patients and noise streams. A run's score is its mean episode return on that cohort,
normalised per env so that the env's label-dosing reference scores 0 and its oracle 1
(:func:`references`: each env's registry entry states its own; an env without an oracle gets
an explicit anchor pair computed on the same patients, :data:`BENCHMARK_ANCHORS`).
:func:`agents.benchmark.driver.run_benchmark` runs it all and ranks the algorithms
(:mod:`agents.benchmark.tables`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import pandas as pd
import yaml

import pkgym  # noqa: F401  (registers the envs)
from agents.policies.chemo_immune import anchor as chemo_immune_anchor
from pkgym.envs.base import DosingCore, DosingVectorEnv
from pkgym.envs.registry import BenchmarkReference, env_specs
from pkgym.evaluation.cohorts import env_cohort
from pkgym.scale.backend import check_shard_backend
from pkgym.scenarios import load_scenario

EnvReference = BenchmarkReference
"""How one env is scored: its label (0), its oracle (1), its clinical score, its context."""


def _chemo_immune_anchor(name: str, core: DosingCore, cohort: pd.DataFrame, seed: int,
                         env_kwargs: dict[str, Any]) -> pd.DataFrame:
    return chemo_immune_anchor.anchor_table(name, core, cohort, seed, env_kwargs=env_kwargs)


AnchorBuilder = Callable[[str, DosingCore, pd.DataFrame, int, dict[str, Any]], pd.DataFrame]
"""(anchor name, core, cohort, eval seed, env kwargs) -> per-patient results of the anchor."""


@dataclass(frozen=True, slots=True)
class BenchmarkAnchor:
    """A normalisation reference the benchmark supplies for an env whose spec has none.

    ``names`` are computed by ``build`` on the held-out cohort instead of being looked up as
    the env's baseline policies.
    """

    reference: EnvReference
    names: tuple[str, ...]
    build: AnchorBuilder


BENCHMARK_ANCHORS: dict[str, BenchmarkAnchor] = {
    "pkgym/ChemoImmune-v0": BenchmarkAnchor(
        chemo_immune_anchor.REFERENCE, chemo_immune_anchor.ANCHORS, _chemo_immune_anchor),
}
"""Anchors of envs without an oracle policy (see :mod:`agents.policies.chemo_immune.anchor`:
0 = no drug, 1 = each patient's best constant regimen over the dose grid, in hindsight)."""


def references() -> dict[str, EnvReference]:
    """The normalisation reference of every registered env, by env id.

    Each env's registry entry states it (:attr:`pkgym.envs.registry.EnvSpec.reference`); an
    env without an oracle policy (ChemoImmune-v0) gets the benchmark's explicit anchor
    (:data:`BENCHMARK_ANCHORS`).

    Examples:
        >>> references()["pkgym/Warfarin-v0"].label
        'aurora'
        >>> references()["pkgym/ChemoImmune-v0"].oracle
        'best_constant'
    """
    out = {spec.env_id: spec.reference for spec in env_specs() if spec.reference is not None}
    for env_id, anchor in BENCHMARK_ANCHORS.items():
        out.setdefault(env_id, anchor.reference)
    return out


def supported_algos() -> tuple[str, ...]:
    """The algorithm names :func:`agents.rl.training.train` accepts.

    Examples:
        >>> "ppo" in supported_algos()
        True
    """
    from agents.rl.hyperparameters import ALGORITHMS

    return tuple(ALGORITHMS)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkConfig:
    """What to train, where, and how to evaluate it (``pkgym benchmark`` options).

    Attributes:
        env_ids: envs to benchmark (keys of :func:`references`).
        algos: RL algorithms (see :func:`supported_algos`).
        seeds: training seeds; each (env, algo) is trained once per seed.
        timesteps: training budget of every run (env steps).
        out_dir: output directory (see the module docstring).
        n_patients: size of each env's held-out evaluation cohort.
        eval_seed: seed of the evaluation cohort (EVALUATION seed space) and its noise.
        scenarios: scenario YAML files; each applies to the env its ``env`` key names.
        baselines: context baselines for every env; None: each env's default
            (:attr:`EnvReference.context`). The label and oracle references always run.
        n_envs: parallel training envs per run; None: the hyperparameter file's.
        n_training_patients: training cohort size per run; None: the trainer's default.
        hyperparams_file: hyperparameter YAML passed to the trainer.
        device: torch device of training (``auto``, ``cpu``, ``cuda``).
        reps: bootstrap replicates of every interval.
        progress: show progress bars.
        backend: where the training runs go: ``local`` (one after another in this process)
            or ``ray`` (one Ray task per run; see :mod:`agents.benchmark.runs`).
        ray_address: an existing Ray cluster (``auto``, ``ray://host:10001``); None with
            ``ray``: a local instance using every CPU.
    """

    env_ids: tuple[str, ...]
    algos: tuple[str, ...]
    seeds: tuple[int, ...]
    timesteps: int
    out_dir: Path
    n_patients: int = 200
    eval_seed: int = 0
    scenarios: tuple[Path, ...] = ()
    baselines: tuple[str, ...] | None = None
    n_envs: int | None = None
    n_training_patients: int | None = None
    hyperparams_file: Path | None = None
    device: str = "auto"
    reps: int = 2000
    progress: bool = True
    backend: str = "local"
    ray_address: str | None = None

    def __post_init__(self) -> None:
        """Check every field before anything is trained; map scenarios to their envs."""
        _check_names("env_ids", self.env_ids, tuple(references()))
        _check_names("algos", self.algos, supported_algos())
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"seeds must be distinct integers >= 0, got {list(self.seeds)}")
        for name in ("timesteps", "n_patients", "reps"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_seed < 0:
            raise ValueError(f"eval_seed must be >= 0, got {self.eval_seed}")
        for name in ("n_envs", "n_training_patients"):
            if getattr(self, name) is not None and int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1 (or None), got {getattr(self, name)}")
        _scenarios_by_env(self.scenarios, self.env_ids)
        check_shard_backend(self.backend, self.ray_address)

    @property
    def scenario_by_env(self) -> dict[str, Path]:
        """Each scenario file keyed by the env it names."""
        return _scenarios_by_env(self.scenarios, self.env_ids)

    def env_kwargs(self, env_id: str) -> dict[str, Any]:
        """Keyword arguments of ``gym.make_vec`` for ``env_id`` (its scenario, if any).

        Examples:
            >>> config = BenchmarkConfig(env_ids=("pkgym/Vancomycin-v0",), algos=("ppo",),
            ...     seeds=(0,), timesteps=64, out_dir=Path("out"),
            ...     scenarios=(Path("scenarios/vancomycin_adult.yaml"),))
            >>> config.env_kwargs("pkgym/Vancomycin-v0")
            {'scenario': 'scenarios/vancomycin_adult.yaml'}
        """
        scenario = self.scenario_by_env.get(env_id)
        return {} if scenario is None else {"scenario": str(scenario)}


def _check_names(field_name: str, names: Sequence[str], allowed: Sequence[str],
                 note: str = "") -> None:
    """Non-empty, distinct and all allowed, else a ValueError naming the allowed values."""
    unknown = [name for name in names if name not in allowed]
    if not names or unknown or len(set(names)) != len(names):
        raise ValueError(f"{field_name} must be distinct values from {list(allowed)}{note}; "
                         f"got {list(names)}")


def _scenarios_by_env(paths: Sequence[Path], env_ids: Sequence[str]) -> dict[str, Path]:
    """Each scenario file keyed by the env its ``env`` key names (one per env, benchmarked)."""
    out: dict[str, Path] = {}
    for path in paths:
        data = yaml.safe_load(Path(path).read_text()) if Path(path).is_file() else None
        env = data.get("env") if isinstance(data, dict) else None
        if not isinstance(env, str) or env not in env_ids or env in out:
            raise ValueError(f"scenarios: {str(path)!r} names env {env!r}; each scenario must "
                             f"name a distinct env among --envs {list(env_ids)}")
        load_scenario(path, env)  # a bad field fails now, not after hours of training
        out[env] = Path(path)
    return out


def env_slug(env_id: str) -> str:
    """The env's directory and file name.

    Examples:
        >>> env_slug("pkgym/Vancomycin-v0")
        'Vancomycin-v0'
    """
    return env_id.rsplit("/", 1)[-1]


def run_directory(out_dir: Path, env_id: str, algo: str, seed: int) -> Path:
    """Where one run's model and evaluation live.

    Examples:
        >>> run_directory(Path("out"), "pkgym/Vancomycin-v0", "ppo", 3).as_posix()
        'out/runs/Vancomycin-v0/ppo/seed3'
    """
    return Path(out_dir) / "runs" / env_slug(env_id) / algo / f"seed{seed}"


@dataclass(frozen=True, slots=True)
class EnvSetup:
    """One env's evaluation setting: its core, held-out cohort and baselines."""

    env_id: str
    env_kwargs: dict[str, Any]
    reference: EnvReference
    core: DosingCore
    cohort: pd.DataFrame  # (n_patients, covariates + random effects)
    baselines: tuple[str, ...]


def env_setup(config: BenchmarkConfig, env_id: str) -> EnvSetup:
    """The env's core and its held-out cohort (EVALUATION seed space, ``eval_seed``)."""
    kwargs = config.env_kwargs(env_id)
    vec = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point", **kwargs)
    core = cast(DosingVectorEnv, vec.unwrapped).core
    vec.close()
    settings = cast(Any, core).settings
    cohort = env_cohort(settings, config.n_patients, config.eval_seed)
    reference = references()[env_id]
    context = reference.context if config.baselines is None else config.baselines
    names = (reference.label, reference.oracle,
             *(n for n in context if n not in (reference.label, reference.oracle)))
    return EnvSetup(env_id, kwargs, reference, core, cohort, tuple(dict.fromkeys(names)))


def train_config(config: BenchmarkConfig, env_id: str, algo: str, seed: int) -> Any:
    """The :class:`agents.rl.training.TrainConfig` of one run (validated by its constructor).

    The run is judged only by the benchmark's held-out evaluation of its final model, so it
    skips validation during training (``eval_freq=0``); an interrupted run continues from its
    latest checkpoint.

    Examples:
        >>> config = BenchmarkConfig(env_ids=("pkgym/Vancomycin-v0",), algos=("ppo",),
        ...                          seeds=(3,), timesteps=256, out_dir=Path("out"), n_envs=4)
        >>> run = train_config(config, "pkgym/Vancomycin-v0", "ppo", 3)
        >>> run.out_dir.as_posix(), run.seed, run.n_envs, run.eval_freq, run.resume
        ('out/runs/Vancomycin-v0/ppo/seed3', 3, 4, 0, False)
    """
    from agents.rl.callbacks import latest_checkpoint
    from agents.rl.training import TrainConfig

    out = run_directory(config.out_dir, env_id, algo, seed)
    options = {"n_envs": config.n_envs, "hyperparams_file": config.hyperparams_file,
               "n_training_patients": config.n_training_patients}
    return TrainConfig(
        env_id=env_id, algo=algo, timesteps=config.timesteps, seed=seed, out_dir=out,
        scenario=config.scenario_by_env.get(env_id), eval_freq=0, device=config.device,
        resume=latest_checkpoint(out / "checkpoints") is not None,
        **{k: v for k, v in options.items() if v is not None})


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line, at most 300 characters.

    Examples:
        >>> one_line(ValueError("bad" + chr(10) + "thing"))
        'ValueError: bad thing'
    """
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 300 else text[:297] + "..."


MANIFEST_KEYS = ("n_patients", "eval_seed", "timesteps")
