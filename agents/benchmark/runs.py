"""The training runs of ``pkgym benchmark`` as shards: one process after another, or Ray tasks.

Each unfinished (env, algorithm, seed) run is one shard (:class:`RunTask`) handed to
:func:`pkgym.scale.run_shards`: the shard trains the run into its directory (or only
evaluates it when a trained model is already there), evaluates it on the env's held-out
cohort and returns the run's files (:data:`RUN_FILES`, a few hundred kB). Finished runs
(``model.zip`` and ``evaluation.csv`` present) are skipped before anything is submitted.

Failures. A shard never raises: an exception while training or evaluating is caught and the
shard returns only ``status.json`` (:data:`STATUS_FILE`: ``status`` = ``failed``, ``error`` =
the exception's type and message on one line, ``wall_time_s``), so the sweep goes on with the
next run and a rerun retries this one (it is not finished). A finished run's ``status.json``
says ``ok`` and its wall time. Runs of an (env, algorithm) pair found unsupported before the
sweep (:func:`agents.benchmark.driver.check_training`) are recorded ``unsupported`` and never
submitted.

Where the files go. A shard writes into ``OUT/runs/<env>/<algo>/seed<S>/`` atomically, and
the driver writes any of the returned files it cannot see there (atomically too). On one
machine (local backend, or a local Ray instance) the shard's files are already in place; on a
multi-node cluster whose nodes do not share ``OUT`` the driver still ends up with every
run's model and evaluation, though checkpoints and training logs stay on the worker's node
(so an interrupted run restarts from scratch there). Scenario and hyperparameter files must
exist at the same absolute paths on every node (a shared filesystem, or the same checkout).

Identical results. A shard's result depends only on its task: training is seeded by the run's
seed, the evaluation cohort by ``eval_seed``, every path is made absolute before the shards
leave the driver, and torch runs on one thread inside a shard on either backend, so the
tables are the same bit for bit whichever backend and however many workers ran them.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from agents.benchmark.runner import (
    BenchmarkConfig,
    env_setup,
    env_slug,
    one_line,
    run_directory,
    train_config,
)
from pkgym.evaluation.evaluate import evaluate
from pkgym.io import write_atomic, write_table
from pkgym.scale.backend import run_shards

RUN_FILES = ("model.zip", "model.json", "evaluation.csv")
"""What a finished run returns to the driver (checkpoints and logs stay where it trained)."""
STATUS_FILE = "status.json"
"""Every run's outcome: ``{"status": ok|failed|unsupported, "error": str, "wall_time_s": s}``."""


@dataclass(frozen=True, slots=True)
class RunTask:
    """One shard: a run of ``algo`` on ``env_id`` with ``seed`` (absolute paths in config)."""

    config: BenchmarkConfig
    env_id: str
    algo: str
    seed: int

    @property
    def folder(self) -> Path:
        """The run's directory, ``OUT/runs/<env>/<algo>/seed<S>``."""
        return run_directory(self.config.out_dir, self.env_id, self.algo, self.seed)

    @property
    def label(self) -> str:
        """Short name for progress lines, e.g. ``Vancomycin-v0 ppo seed0``."""
        return f"{env_slug(self.env_id)} {self.algo} seed{self.seed}"


def absolute_config(config: BenchmarkConfig) -> BenchmarkConfig:
    """``config`` with every path absolute, so a worker with another cwd finds the same files.

    Examples:
        >>> config = BenchmarkConfig(env_ids=("pkgym/Vancomycin-v0",), algos=("ppo",),
        ...                          seeds=(0,), timesteps=64, out_dir=Path("out"))
        >>> absolute_config(config).out_dir.is_absolute()
        True
    """
    hyperparams = config.hyperparams_file
    return dataclasses.replace(
        config, out_dir=Path(config.out_dir).resolve(),
        scenarios=tuple(Path(p).resolve() for p in config.scenarios),
        hyperparams_file=None if hyperparams is None else Path(hyperparams).resolve())


def is_finished(folder: Path) -> bool:
    """A run is finished when its model and its evaluation exist.

    Examples:
        >>> is_finished(Path("no/such/run"))
        False
    """
    return (folder / "model.zip").exists() and (folder / "evaluation.csv").exists()


def train_and_evaluate(task: RunTask) -> dict[str, bytes]:
    """The shard: train the run unless a trained model exists, evaluate it; its files.

    Torch uses one thread throughout (as training already does), so the evaluation's
    forward passes are the same on a Ray worker and in the driver.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    started = time.perf_counter()
    try:
        _train_and_evaluate(task)
    except Exception as error:  # recorded; the sweep goes on  # noqa: BLE001
        status = run_status("failed", one_line(error), time.perf_counter() - started)
        write_status(task.folder, status)
        return {STATUS_FILE: json.dumps(status).encode()}
    finally:
        torch.set_num_threads(threads)
    status = run_status("ok", "", time.perf_counter() - started)
    write_status(task.folder, status)
    return {**{name: (task.folder / name).read_bytes() for name in RUN_FILES},
            STATUS_FILE: json.dumps(status).encode()}


def run_status(status: str, error: str, wall_time_s: float) -> dict[str, object]:
    """One run's ``status.json`` content.

    Examples:
        >>> run_status("failed", "ValueError: x", 1.23456)
        {'status': 'failed', 'error': 'ValueError: x', 'wall_time_s': 1.235}
    """
    return {"status": status, "error": error, "wall_time_s": round(float(wall_time_s), 3)}


def write_status(folder: Path, status: dict[str, object]) -> Path:
    """Write ``status.json`` atomically (replacing an earlier attempt's)."""
    return write_atomic(folder / STATUS_FILE, _bytes_writer(json.dumps(status).encode()))


def read_status(folder: Path) -> dict[str, object]:
    """A run's recorded status; a finished run from before status files existed is ``ok``.

    Examples:
        >>> read_status(Path("no/such/run"))
        {'status': 'missing', 'error': '', 'wall_time_s': nan}
    """
    path = folder / STATUS_FILE
    if path.exists():
        return dict(json.loads(path.read_text()))
    if is_finished(folder):
        return run_status("ok", "", float("nan"))
    return run_status("missing", "", float("nan"))


def _train_and_evaluate(task: RunTask) -> None:
    """Train (if needed) and write ``evaluation.csv`` atomically."""
    from agents.policies.registry import make_policy
    from agents.rl import training

    config, folder = task.config, task.folder
    model = folder / "model.zip"
    if not (model.exists() and (folder / "model.json").exists()):
        run = train_config(config, task.env_id, task.algo, task.seed)
        model = Path(training.train(run).model_path)
    setup = env_setup(config, task.env_id)
    policy = make_policy(f"sb3:{model}", setup.core, env_id=task.env_id,
                         scenario=config.scenario_by_env.get(task.env_id))
    table = evaluate([policy], task.env_id, setup.cohort, config.eval_seed,
                     env_kwargs=setup.env_kwargs)
    write_table(table.assign(policy=task.algo, kind="algorithm", seed=task.seed),
                folder / "evaluation.csv")


def save_run_files(folder: Path, files: dict[str, bytes]) -> None:
    """Write each returned file the driver does not see yet (a worker on another node).

    Examples:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> save_run_files(folder, {"model.json": b"{}"})
        >>> (folder / "model.json").read_text()
        '{}'
    """
    for name, content in files.items():
        if name == STATUS_FILE or not (folder / name).exists():  # the status: the latest
            write_atomic(folder / name, _bytes_writer(content))


def _bytes_writer(content: bytes) -> Callable[[Path], None]:
    """A writer of ``content`` for :func:`pkgym.io.write_atomic`."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(content)

    return write


RunKey = tuple[str, str, int]
"""(env id, algorithm, seed)."""


def run_tables(config: BenchmarkConfig, unsupported: Mapping[tuple[str, str], str] | None = None
               ) -> tuple[dict[str, list[pd.DataFrame]], dict[RunKey, dict[str, object]]]:
    """Every finished run's per-patient evaluation per env, and every run's status.

    Finished runs are read back; the others run as shards on ``config.backend``. Runs of an
    ``unsupported`` (env, algorithm) pair are recorded with that reason and not run; a run
    that raises is recorded ``failed`` and the others go on.
    """
    config = absolute_config(config)
    unsupported = dict(unsupported or {})
    tasks = [RunTask(config, env_id, algo, seed) for env_id in config.env_ids
             for algo in config.algos for seed in config.seeds]
    for task in tasks:
        reason = unsupported.get((task.env_id, task.algo))
        if reason is not None:
            write_status(task.folder, run_status("unsupported", reason, 0.0))
    tasks_to_run = [t for t in tasks if (t.env_id, t.algo) not in unsupported]
    pending = [task for task in tasks_to_run if not is_finished(task.folder)]
    for task in tasks_to_run:
        if task not in pending and config.progress:
            tqdm.write(f"skip {task.label}: finished earlier")

    def progress(files: Iterator[dict[str, bytes]], total: int) -> Iterator[dict[str, bytes]]:
        with tqdm(total=total, desc="runs", unit="run", disable=not config.progress) as bar:
            for task, run_files in zip(pending, files, strict=True):
                save_run_files(task.folder, run_files)  # before the next one: resumable
                if STATUS_FILE in run_files and "evaluation.csv" not in run_files:
                    tqdm.write(f"failed {task.label}: "
                               f"{json.loads(run_files[STATUS_FILE])['error']}")
                bar.set_postfix_str(task.label)
                bar.update()
                yield run_files

    run_shards(train_and_evaluate, pending, backend=config.backend,
               ray_address=config.ray_address, progress=progress)
    tables: dict[str, list[pd.DataFrame]] = {env_id: [] for env_id in config.env_ids}
    statuses: dict[RunKey, dict[str, object]] = {}
    for task in tasks:
        status = read_status(task.folder)
        if (task.env_id, task.algo) not in unsupported and is_finished(task.folder):
            tables[task.env_id].append(pd.read_csv(task.folder / "evaluation.csv"))
            status = status if status["status"] == "ok" else run_status("ok", "", float("nan"))
        statuses[(task.env_id, task.algo, task.seed)] = status
    return tables, statuses
