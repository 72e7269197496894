"""``pkgym tune``: a seeded random search over an algorithm's hyperparameters with Ray Tune.

The search space is a YAML mapping from keys of the algorithm's hyperparameter section
(``agents/rl/hyperparams/<algo>.yml``) to one distribution each::

    learning_rate: {loguniform: [1.0e-4, 1.0e-3]}
    gamma: {uniform: [0.95, 0.995]}
    n_steps: {choice: [8, 14, 32]}

Every trial takes the env's packaged section (or that of ``hyperparams_file``), overrides
the sampled keys, writes it as ``OUT/trials/trial_<k>/hyperparams.yml`` and trains with
:func:`agents.rl.training.train` (same training seed for every trial, so only the
hyperparameters differ). Its score is the best mean validation return of its learning curve
(the return of the ``best_model.zip`` it keeps). The search is seeded
(``BasicVariantGenerator(random_state=seed)``): the same seed proposes the same
configurations, in the same order.

Any learning method of ``pkgym train`` can be tuned (``method``, ``teacher``: DAgger from MAP,
DAgger then KL-anchored PPO, the asymmetric critic); the space may then also hold the run's
own options :data:`RUN_KEYS` (e.g. ``anchor_kl_coef: {loguniform: [0.01, 1.0]}``), which go
to the trainer rather than into the algorithm's section.

Outputs: ``OUT/tune_results.csv`` (one row per trial: its number, sampled values, score),
``OUT/best_hyperparams.yml`` (the best trial's section, keyed by the env id, ready for
``pkgym train --hyperparams``) and ``OUT/best_command.txt`` (the ``pkgym train`` options of
the best trial, run options included). Ray Tune's own records go to ``OUT/ray_results``.
Trials train on the training cohort and are scored on the validation cohort; a held-out test
cohort is left for the one evaluation of the chosen configuration.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

import pkgym  # noqa: F401  (registers the environments)
from agents.rl.hyperparameters import default_hyperparams_file, load_hyperparams
from pkgym.envs.registry import env_specs
from pkgym.io import write_atomic, write_table

DISTRIBUTIONS = ("uniform", "loguniform", "choice")
"""The search-space distributions a key can have."""
RUN_KEYS = {"anchor_kl_coef": "--anchor-kl-coef", "imitation_labels": "--imitation-labels",
            "imitation_epochs": "--imitation-epochs",
            "imitation_learning_rate": "--imitation-learning-rate"}
"""Keys of a space that are options of the run (``pkgym train`` flags), not hyperparameters."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneConfig:
    """One hyperparameter search (the ``pkgym tune`` options).

    Attributes:
        env_id: env to train on, e.g. ``pkgym/Vancomycin-v0``.
        algo: algorithm whose hyperparameters are searched.
        space: the search space (see the module docstring), already read from YAML.
        num_samples: trials (configurations proposed).
        timesteps: training budget of each trial (env steps).
        out_dir: output directory (see the module docstring).
        seed: seeds the search's proposals and every trial's training.
        eval_freq: env steps between validations (the final model is always validated).
        hyperparams_file: base hyperparameter YAML (None: the packaged file).
        n_training_patients: training cohort per trial (None: the trainer's default).
        n_validation_patients: validation cohort scoring every trial.
        ray_address: existing Ray cluster; None starts (or reuses) a local instance.
        method: the learning method of every trial (``pkgym train --method``).
        teacher: the policy ``dagger`` and ``dagger+rl`` imitate (``--teacher``).
        imitation_labels: DAgger's teacher-labelled decisions (None: the trainer's default).
        make_teacher: builds the teacher from its spec (the CLI hands in
            ``agents.policies.registry.make_policy``; None: the env's baselines only).
    """

    env_id: str
    algo: str
    space: dict[str, dict[str, list[Any]]]
    num_samples: int
    timesteps: int
    out_dir: Path
    seed: int = 0
    eval_freq: int = 0
    hyperparams_file: Path | None = None
    n_training_patients: int | None = None
    n_validation_patients: int = 200
    ray_address: str | None = None
    method: str = "rl"
    teacher: str | None = None
    imitation_labels: int | None = None
    make_teacher: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        """Check the env, the space, the method and the numbers now, before Ray starts."""
        if self.env_id not in {spec.env_id for spec in env_specs()}:
            raise ValueError(f"env_id must be a registered pkgym env, got {self.env_id!r}")
        if int(self.num_samples) < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        check_space(self.space)
        with tempfile.TemporaryDirectory() as folder:  # unknown keys or types fail now
            first = first_values(self.space)
            write_section(self, first, Path(folder) / "hyperparams.yml")
            train_config(self, first, Path(folder))  # the method's options and timesteps

    @property
    def base_section(self) -> dict[str, Any]:
        """The env's section (else ``default``) of the base hyperparameter file."""
        file = self.hyperparams_file or default_hyperparams_file(self.algo)
        sections = yaml.safe_load(Path(file).read_text())
        return dict(sections.get(self.env_id, sections.get("default", {})))


def read_space(path: Path) -> dict[str, dict[str, list[Any]]]:
    """The search space of a YAML file, checked by :func:`check_space`."""
    space = yaml.safe_load(Path(path).read_text())
    if not isinstance(space, dict):
        raise ValueError(f"{path}: expected a mapping of hyperparameter names to "
                         f"distributions, got {space!r}")
    check_space(space)
    return space


def check_space(space: dict[str, Any]) -> None:
    """Each key maps to one distribution with valid bounds or options.

    Examples:
        >>> check_space({"gamma": {"uniform": [0.9, 0.99]}, "n_steps": {"choice": [8, 16]}})
        >>> check_space({"gamma": {"normal": [0.9, 0.01]}})
        Traceback (most recent call last):
        ...
        ValueError: space: 'gamma' must be {uniform|loguniform|choice: [...]}, got ...
    """
    if not space:
        raise ValueError("space: expected at least one hyperparameter")
    for key, spec in space.items():
        kind, values = next(iter(spec.items())) if isinstance(spec, dict) and spec else ("", 0)
        if len(spec or ()) != 1 or kind not in DISTRIBUTIONS or not isinstance(values, list):
            raise ValueError(f"space: {key!r} must be {{uniform|loguniform|choice: [...]}}, "
                             f"got {spec!r}")
        if kind == "choice" and not values:
            raise ValueError(f"space: {key!r}: choice needs at least one option")
        if kind != "choice" and not _bounds_ok(kind, values):
            raise ValueError(f"space: {key!r}: {kind} needs [low, high] with low < high"
                             f"{' and low > 0' if kind == 'loguniform' else ''}, got {values}")


def _bounds_ok(kind: str, values: list[Any]) -> bool:
    """``low < high`` (and ``low > 0`` on a log scale), both numbers."""
    if len(values) != 2:
        return False
    low, high = values
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return numbers and low < high and (kind != "loguniform" or low > 0)


def first_values(space: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
    """One value per key (each distribution's first bound or option), to validate names.

    Examples:
        >>> first_values({"gamma": {"uniform": [0.9, 0.99]}})
        {'gamma': 0.9}
    """
    return {key: next(iter(spec.values()))[0] for key, spec in space.items()}


def tune_domains(space: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
    """The space as Ray Tune sampling domains."""
    from ray import tune

    makers = {"uniform": tune.uniform, "loguniform": tune.loguniform,
              "choice": lambda *options: tune.choice(list(options))}
    return {key: makers[kind](*values) for key, spec in space.items()
            for kind, values in spec.items()}


def write_section(config: TuneConfig, values: dict[str, Any], path: Path) -> Path:
    """The base section with ``values`` (bar :data:`RUN_KEYS`) as a validated YAML file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    section = {**config.base_section,
               **{key: value for key, value in _plain(values).items() if key not in RUN_KEYS}}
    path.write_text(yaml.safe_dump({config.env_id: section}, sort_keys=False))
    load_hyperparams(config.algo, config.env_id, path)
    return path


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    """Numpy scalars as Python numbers, so YAML writes them plainly."""
    return {key: value.item() if hasattr(value, "item") else value
            for key, value in values.items()}


def train_config(config: TuneConfig, values: dict[str, Any], folder: Path) -> Any:
    """The :class:`~agents.rl.train_config.TrainConfig` of one trial (validated on creation)."""
    from agents.rl.train_config import TrainConfig

    options = {key: value for key, value in {
        "n_training_patients": config.n_training_patients,
        "imitation_labels": config.imitation_labels}.items() if value is not None}
    options.update({key: value for key, value in _plain(values).items() if key in RUN_KEYS})
    return TrainConfig(
        env_id=config.env_id, algo=config.algo, timesteps=config.timesteps, seed=config.seed,
        out_dir=folder / "run", hyperparams_file=folder / "hyperparams.yml", checkpoint_freq=0,
        eval_freq=config.eval_freq or max(config.timesteps, 1), device="cpu", method=config.method,
        teacher=config.teacher, n_validation_patients=config.n_validation_patients, **options)


def train_trial(values: dict[str, Any], config: TuneConfig, folder: Path) -> float:
    """Write a trial's section, train it, return its best mean validation return."""
    from agents.rl.training import train

    write_section(config, values, folder / "hyperparams.yml")
    result = train(train_config(config, values, folder), make_teacher=config.make_teacher)
    curve = result.learning_curve
    return float("nan") if curve is None else float(curve["mean_return"].max())


def run_trial(values: dict[str, Any], config: TuneConfig) -> dict[str, Any]:
    """One trial: write its section, train with it, score it (Tune's function trainable)."""
    from ray import tune

    number = tune.get_context().get_trial_id().rsplit("_", 1)[-1]
    score = train_trial(values, config, config.out_dir / "trials" / f"trial_{number}")
    return {"score": score, "trial": int(number)}


def propose_trial(values: dict[str, Any], config: TuneConfig) -> dict[str, Any]:
    """A dry-run trial: write its section, train nothing (score NaN), to preview a search."""
    from ray import tune

    number = tune.get_context().get_trial_id().rsplit("_", 1)[-1]
    write_section(config, values, config.out_dir / "trials" / f"trial_{number}" /
                  "hyperparams.yml")
    return {"score": float("nan"), "trial": int(number)}


Trial = Callable[[dict[str, Any], TuneConfig], dict[str, Any]]
"""A trial function: sampled values and the search's config to ``{"score", "trial"}``."""


def run_search(config: TuneConfig, trial: Trial = run_trial) -> pd.DataFrame:
    """Run the search; one row per trial (number, sampled values, score), outputs written.

    Args:
        config: the search.
        trial: :func:`run_trial` (train and score) or :func:`propose_trial` (dry run).
    """
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    from pkgym.scale.backend import ensure_ray

    config = _absolute(config)
    ensure_ray(config.ray_address)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(trial, config=config), {"cpu": 1}),
        param_space=tune_domains(config.space),
        tune_config=tune.TuneConfig(
            num_samples=config.num_samples, metric="score", mode="max",
            search_alg=BasicVariantGenerator(random_state=config.seed)),
        run_config=tune.RunConfig(name="tune", storage_path=str(config.out_dir / "ray_results"),
                                  verbose=0))
    grid = tuner.fit()
    results = [grid[index] for index in range(len(grid))]
    # the last line of a trial's traceback is its exception, e.g. "ValueError: ..."
    errors = [str(result.error).strip().splitlines()[-1] for result in results
              if result.error is not None]
    rows = sorted(({"trial": r.metrics["trial"], **_plain(r.config or {}),
                    "score": r.metrics["score"]} for r in results
                   if r.error is None and r.metrics), key=lambda row: row["trial"])
    if rows:
        write_outputs(config, rows)
    if errors:  # a sampled configuration the algorithm refuses is a bad search space
        raise ValueError(f"{len(errors)} of {len(results)} trial(s) failed (the others' "
                         f"results are written); first error: {errors[0]}")
    return pd.DataFrame(rows)


def _absolute(config: TuneConfig) -> TuneConfig:
    """``config`` with absolute paths (Tune runs trials in their own directories)."""
    from dataclasses import replace

    file = config.hyperparams_file
    return replace(config, out_dir=Path(config.out_dir).resolve(),
                   hyperparams_file=None if file is None else Path(file).resolve())


def write_outputs(config: TuneConfig, rows: list[dict[str, Any]]) -> list[Path]:
    """``tune_results.csv`` and (after training) ``best_hyperparams.yml``, the best section."""
    written = [write_table(pd.DataFrame(rows), config.out_dir / "tune_results.csv")]
    scored = [row for row in rows if row["score"] == row["score"]]  # NaN: not trained
    if scored:
        best = max(scored, key=lambda row: row["score"])
        section = {**config.base_section,
                   **{key: best[key] for key in config.space if key not in RUN_KEYS}}
        text = yaml.safe_dump({config.env_id: section}, sort_keys=False)
        written.append(write_atomic(config.out_dir / "best_hyperparams.yml",
                                    lambda tmp: tmp.write_text(text, encoding="utf-8")))
        line = best_command(config, best)
        written.append(write_atomic(config.out_dir / "best_command.txt",
                                    lambda tmp: tmp.write_text(line + "\n", encoding="utf-8")))
    return written


def best_command(config: TuneConfig, best: dict[str, Any]) -> str:
    """The ``pkgym train`` options that reproduce the best trial (``OUT`` left to the user)."""
    parts = [f"pkgym train --env {config.env_id} --algo {config.algo} --seed {config.seed}",
             f"--timesteps {config.timesteps}",
             f"--hyperparams {config.out_dir / 'best_hyperparams.yml'}"]
    if config.method != "rl":
        parts.append(f"--method {config.method}")
    if config.teacher:
        parts.append(f"--teacher {config.teacher}")
    if config.imitation_labels is not None and "imitation_labels" not in config.space:
        parts.append(f"--imitation-labels {config.imitation_labels}")
    parts += [f"{flag} {best[key]}" for key, flag in RUN_KEYS.items() if key in config.space]
    return " ".join(parts) + " --out OUT"
