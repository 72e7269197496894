# lines: the writer, its loaders and the atomic publish belong together (one file format)
"""Offline datasets in the Minari format, written batched from a pkgym vector env.

:func:`collect_dataset` runs a stochastic clinical behaviour policy
(:mod:`agents.offline.behaviour`) on ``n_patients`` patients of a *training* cohort (seed space
``TRAINING`` of :mod:`pkgym.evaluation.cohorts`, so the leakage guard keeps them out of any
evaluation cohort), ``batch_size`` patients per native vector env, one episode per patient,
and writes them with Minari's own writer (:func:`minari.create_dataset_from_buffers`, then
``storage.update_episodes`` for further batches).

Patient ``k`` (0-based) is cohort row ``k`` pinned by ``reset(seed=seed + k, options={"patient":
row})``: the same episode as a single env reset that way (STYLE 15), whatever the batch. Each
Minari episode stores that ``seed`` and ``options``, so ``dataset.recover_environment()`` reset
with them and fed the episode's actions replays the episode exactly (:func:`replay_arguments`).

Per episode of ``L`` decisions: ``observations`` (``L + 1`` rows, the env's Dict observation),
``actions`` (``L`` level indices), ``rewards``, ``terminations``, ``truncations`` and ``infos``
(``L + 1`` rows, row ``t`` describing the moment of ``observations[t]``):

* the env's numeric info keys (the hidden truth: clearance, exposures, events ...; row 0 is the
  reset's info, row ``t + 1`` the info ``step(actions[t])`` returned);
* ``behaviour_probabilities`` ``(n_levels,)``: the behaviour distribution at decision ``t``
  (sums to 1), ``behaviour_probability``: that of ``actions[t]``, ``clinician_level``: the
  clinician's own (deterministic) level, ``clinician``: index of the patient's clinician in
  the spec; the last row (no decision) holds NaN and -1;
* ``seed`` (the patient's noise seed) and ``cohort_row`` (``k``).

Dataset metadata key ``pkgym`` (:func:`load_pkgym_dataset`): env id, scenario, behaviour spec,
seed, n_patients, the cohort's identity (``cohort``: a ``CohortId`` record for the leakage
guard) and its patient ids.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from agents.offline.behaviour import BehaviourPolicy, BehaviourSpec
from pkgym.evaluation.cohorts import TRAINING, cohort_id, env_cohort

DEFAULT_BATCH = 1024
"""Patients per vector env (memory only: results do not depend on it)."""
NAMESPACE = "pkgym"
BEHAVIOUR_KEYS = ("behaviour_probabilities", "behaviour_probability", "clinician_level",
                  "clinician", "seed", "cohort_row")


def dataset_id_for(env_id: str, spec: BehaviourSpec) -> str:
    """The Minari id of a dataset: ``pkgym/<env>/<policies>-v0`` (Minari's id grammar).

    Examples:
        >>> dataset_id_for("pkgym/Warfarin-v1", BehaviourSpec(policies=("iwpc_clinical+aurora",
        ...                                                             "aurora")))
        'pkgym/warfarin-v1/iwpc_clinical_aurora-aurora-v0'
    """
    env_name = env_id.split("/")[-1].lower()
    policies = "-".join(re.sub(r"[^\w]+", "_", p).strip("_") for p in spec.policies)
    return f"{NAMESPACE}/{env_name}/{policies}-v0"


def make_behaviour(env_id: str, spec: BehaviourSpec, *, scenario: str | Path | None = None,
                   make_policy: Callable[..., Any] | None = None) -> BehaviourPolicy:
    """The behaviour policy of ``spec`` on the env (its clinicians built from their specs).

    ``make_policy(spec, core, env_id=, scenario=)`` builds each clinician (the CLI hands in
    :func:`agents.policies.registry.make_policy`, which also takes ``sb3:``/``module:`` specs);
    default: the env's own baselines (``NAME`` or ``NAME:key=value,...``, ``pkgym list --env``).

    Raises:
        ValueError: a policy the env does not know, or an env without discrete dose levels.
    """
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **_env_kwargs(scenario))
    try:
        core, space = env.unwrapped.core, env.single_action_space  # type: ignore[attr-defined]
    finally:
        env.close()
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"--env {env_id}: offline datasets need a Discrete action space "
                         f"(dose levels), got {space}")
    clinicians = [make_policy(p, core, env_id=env_id, scenario=scenario) if make_policy
                  else env_baseline(p, core) for p in spec.policies]
    return BehaviourPolicy(spec, clinicians, lambda d: core.encode_decisions(d, False),
                           int(space.n))


def env_baseline(spec: str, core: Any) -> Any:
    """One of the env's clinical baselines: ``NAME`` or ``NAME:key=value[,key=value]``.

    Examples:
        >>> import gymnasium as gym, pkgym
        >>> env_baseline("label", gym.make("pkgym/Vancomycin-v0").unwrapped.core).name
        'label'
    """
    from agents.env_hooks import find_spec, resolve

    hooks = find_spec(core)
    names = () if hooks is None or hooks.baseline_factory is None else hooks.baselines
    name, _, text = spec.partition(":")
    if name not in names:
        raise ValueError(f"--policy: {spec!r} is not one of this env's baselines {names}")
    options = dict(item.split("=", 1) for item in text.split(",") if "=" in item)
    if text and len(options) != len(text.split(",")):
        raise ValueError(f"--policy: {spec!r}: options are key=value pairs separated by commas")
    try:
        return resolve(hooks.baseline_factory)(name, core, **options)  # type: ignore[union-attr]
    except TypeError:
        raise ValueError(f"--policy: {spec!r}: the baseline {name!r} takes no option(s) "
                         f"{sorted(options)}") from None


def collect_dataset(env_id: str, behaviour: BehaviourSpec, n_patients: int, seed: int,
                    out_dir: str | Path, *, scenario: str | Path | None = None,
                    batch_size: int = DEFAULT_BATCH, progress: Any = None,
                    make_policy: Callable[..., Any] | None = None) -> Path:
    """Write the behaviour policy's episodes on ``n_patients`` patients as a Minari dataset.

    Args:
        env_id: a registered pkgym env with a ``Discrete`` action space.
        behaviour: the behaviour spec (clinicians, weights, epsilon, sd in levels).
        n_patients: patients (episodes), ``>= 1``.
        seed: cohort seed (``TRAINING`` seed space) and noise root: patient k uses
            ``seed + k``.
        out_dir: a Minari datasets root (``MINARI_DATASETS_PATH``); the dataset goes to
            ``out_dir/<dataset id>`` (:func:`dataset_id_for`), which must not exist.
        scenario: the env's scenario YAML (``None``: its default).
        batch_size: patients per vector env (memory only).
        progress: optional callable ``(patients_done, n_patients)``.
        make_policy: builds a clinician from its spec (:func:`make_behaviour`).

    Returns:
        The dataset's directory (``minari.MinariDataset(path / "data")`` opens it).

    Raises:
        ValueError: a bad argument (one line naming it), before anything is written.

    Examples:
        >>> import tempfile, minari
        >>> spec = BehaviourSpec(policies=("label",))
        >>> path = collect_dataset("pkgym/Vancomycin-v0", spec, 2, 0, tempfile.mkdtemp())
        >>> data = minari.MinariDataset(path / "data")
        >>> data.total_episodes, data[0].infos["behaviour_probabilities"].shape[1]
        (2, 13)
    """
    if n_patients < 1:
        raise ValueError(f"n_patients must be >= 1, got {n_patients}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    out_dir, dataset_id = Path(out_dir), dataset_id_for(env_id, behaviour)
    if (out_dir / dataset_id).exists():
        raise ValueError(f"out_dir (--out): {out_dir / dataset_id} exists already (Minari never "
                         f"overwrites a dataset): choose another output directory")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir (--out): {out_dir} is a file, not a directory")
    policy = make_behaviour(env_id, behaviour, scenario=scenario, make_policy=make_policy)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        with _datasets_root(staging):
            _write(env_id, behaviour, policy, n_patients, seed, dataset_id, scenario,
                   batch_size, progress)
        return _publish(staging, out_dir, dataset_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write(env_id: str, spec: BehaviourSpec, policy: BehaviourPolicy, n_patients: int,
           seed: int, dataset_id: str, scenario: Any, batch_size: int, progress: Any) -> None:
    """Generate batch after batch and append them to a new Minari dataset (in the staging root)."""
    import minari

    core = _core(env_id, scenario)
    env_spec = _single_spec(env_id, scenario)
    data, ids, cohort = None, [], None
    for start in range(0, n_patients, batch_size):
        part = env_cohort(core.settings, min(batch_size, n_patients - start), seed, TRAINING,
                          start=start)
        cohort = part if cohort is None else cohort
        buffers = run_batch(env_id, policy, part, seed, start, scenario=scenario)
        ids += [_plain(i) for i in part["id"]]
        if data is None:
            with warnings.catch_warnings():  # author e-mail and code permalink: none to give
                warnings.simplefilter("ignore", UserWarning)
                data = minari.create_dataset_from_buffers(
                    dataset_id, buffers, env=env_spec, eval_env=env_spec,
                    algorithm_name=f"pkgym behaviour policy {'+'.join(spec.policies)}",
                    author="pkgym", description=_description(env_id, spec, n_patients, seed))
        else:
            data.storage.update_episodes(buffers)
        if progress is not None:
            progress(start + len(part), n_patients)
    assert data is not None and cohort is not None
    record = asdict(cohort_id(cohort))
    record.update(spawn_key=list(record["spawn_key"]), stop=record["start"] + n_patients)
    data.storage.update_metadata({"pkgym": {
        "env_id": env_id, "scenario": None if scenario is None else str(scenario),
        "behaviour": spec.record(), "seed": seed, "n_patients": n_patients,
        "cohort": record, "patient_ids": ids, "noise_seeds": "seed + k for patient k"}})


def run_batch(env_id: str, policy: BehaviourPolicy, cohort: pd.DataFrame, seed: int,
              first_row: int, *, scenario: Any = None) -> list[Any]:
    """One Minari episode buffer per cohort row, from one native vector env.

    Row ``i`` is patient ``first_row + i``, reset with seed ``seed + first_row + i`` and pinned
    to its row; its episode ends at its first termination or truncation (the autoreset that
    follows is never recorded).
    """
    n = len(cohort)
    cohort = cohort.reset_index(drop=True)
    seeds = [seed + first_row + i for i in range(n)]
    env = gym.make_vec(env_id, num_envs=n, vectorization_mode="vector_entry_point",
                       **_env_kwargs(scenario))
    try:
        obs, info = env.reset(seed=seeds, options={"patients": cohort})
        clinicians = policy.reset(seeds)
        steps: list[dict[str, Any]] = []
        rows = [(obs, _numeric(info, n))]
        length = np.full(n, -1, dtype=np.int64)
        while (length < 0).any():
            actions, probabilities, levels = policy.act(obs, info)
            obs, rewards, terminated, truncated, info = env.step(actions)
            steps.append({"actions": actions, "probabilities": probabilities, "levels": levels,
                          "rewards": np.asarray(rewards, dtype=np.float64),
                          "terminated": terminated, "truncated": truncated})
            rows.append((obs, _numeric(info, n)))
            length[(length < 0) & (terminated | truncated)] = len(steps)
    finally:
        env.close()
    return _buffers(rows, steps, length, clinicians, seeds, cohort, first_row)


def _buffers(rows: list[tuple[dict, dict]], steps: list[dict[str, Any]], length: np.ndarray,
             clinicians: np.ndarray, seeds: list[int], cohort: pd.DataFrame,
             first_row: int) -> list[Any]:
    """Cut the batched step arrays into one ``EpisodeBuffer`` per patient."""
    from minari.data_collector import EpisodeBuffer

    observations = {k: np.stack([o[k] for o, _ in rows]) for k in rows[0][0]}
    infos = {k: np.stack([i[k] for _, i in rows]) for k in rows[0][1]}
    step = {k: np.stack([s[k] for s in steps]) for k in steps[0]}
    n_levels = step["probabilities"].shape[2]
    buffers = []
    for i, n_steps in enumerate(length.tolist()):
        probabilities = np.full((n_steps + 1, n_levels), np.nan)
        probabilities[:-1] = step["probabilities"][:n_steps, i]
        actions = step["actions"][:n_steps, i].astype(np.int64)
        taken = np.append(probabilities[np.arange(n_steps), actions], np.nan)
        levels = np.append(step["levels"][:n_steps, i], -1)
        info = {k: v[:n_steps + 1, i] for k, v in infos.items()}
        info.update(behaviour_probabilities=probabilities, behaviour_probability=taken,
                    clinician_level=levels.astype(np.int64),
                    clinician=np.full(n_steps + 1, clinicians[i], dtype=np.int64),
                    seed=np.full(n_steps + 1, seeds[i], dtype=np.int64),
                    cohort_row=np.full(n_steps + 1, first_row + i, dtype=np.int64))
        buffers.append(EpisodeBuffer(
            id=first_row + i, seed=seeds[i], options={"patient": _row(cohort, i)},
            observations={k: v[:n_steps + 1, i] for k, v in observations.items()},
            actions=actions, rewards=step["rewards"][:n_steps, i].tolist(),
            terminations=step["terminated"][:n_steps, i].tolist(),
            truncations=step["truncated"][:n_steps, i].tolist(), infos=info))
    return buffers


def load_pkgym_dataset(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """A dataset written by :func:`collect_dataset` and its pkgym metadata.

    Args:
        path: the dataset's directory (``OUT/<dataset id>``) or its ``data`` folder.

    Returns:
        ``(minari.MinariDataset, metadata)``: ``metadata`` as :func:`collect_dataset` records
        it (env id, behaviour spec, seed, n_patients, cohort identity and patient ids).
    """
    import minari

    path = Path(path)
    data_path = path if path.name == "data" else path / "data"
    if not (data_path / "metadata.json").is_file():
        raise ValueError(f"dataset: {path} holds no Minari dataset (no data/metadata.json)")
    data = minari.MinariDataset(data_path)
    meta = data.storage.metadata.get("pkgym")
    if not isinstance(meta, dict):
        raise ValueError(f"dataset: {path} was not written by pkgym dataset (no 'pkgym' "
                         "metadata)")
    return data, meta


def replay_arguments(data: Any, episode: int) -> tuple[int, dict[str, Any]]:
    """``(seed, options)`` that reset the recovered env to episode ``episode``'s patient.

    ``env = data.recover_environment(); env.reset(seed=seed, options=options)``, then
    stepping the episode's actions gives its observations again.
    """
    meta = next(iter(data.storage.get_episode_metadata([episode])))
    return int(meta["seed"]), {"patient": dict(meta["options"]["patient"])}


# ----- small helpers ---------------------------------------------------------------------
def _numeric(info: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """The env info's numeric per-patient keys (no ``_`` masks, no object arrays)."""
    out = {}
    for key, value in info.items():
        array = np.asarray(value)
        if not key.startswith("_") and array.ndim and array.shape[0] == n and \
                array.dtype.kind in "biuf" and key not in BEHAVIOUR_KEYS:
            out[key] = array
    return out


def _row(cohort: pd.DataFrame, i: int) -> dict[str, Any]:
    """Cohort row ``i`` as plain values (for Minari's episode metadata and reset options)."""
    return {str(k): _plain(v) for k, v in cohort.iloc[i].items()}


def _plain(value: Any) -> Any:
    """Numpy scalars as Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def _env_kwargs(scenario: Any) -> dict[str, Any]:
    """``make`` keyword arguments selecting a scenario YAML."""
    return {} if scenario is None else {"scenario": str(scenario)}


def _core(env_id: str, scenario: Any) -> Any:
    """The env's core (settings for the cohort)."""
    env = gym.make_vec(env_id, num_envs=1, vectorization_mode="vector_entry_point",
                       **_env_kwargs(scenario))
    core = env.unwrapped.core  # type: ignore[attr-defined]
    env.close()
    return core


def _single_spec(env_id: str, scenario: Any) -> gym.envs.registration.EnvSpec:
    """The single env's spec (with the scenario), as ``recover_environment`` rebuilds it."""
    spec = gym.spec(env_id)
    return replace(spec, kwargs={**spec.kwargs, **_env_kwargs(scenario)})


def _description(env_id: str, spec: BehaviourSpec, n_patients: int, seed: int) -> str:
    """The dataset's Minari description (one paragraph)."""
    return (f"{n_patients} patients of {env_id} (training seed space, seed {seed}) treated by "
            f"{', '.join(spec.policies)} (weights {list(spec.weights)}) with clinician "
            f"variability sd {spec.sd_levels} levels and epsilon {spec.epsilon}; written by "
            "pkgym dataset --format minari. infos: behaviour probabilities, hidden truth.")


@contextlib.contextmanager
def _datasets_root(path: Path) -> Iterator[None]:
    """Point Minari's ``MINARI_DATASETS_PATH`` at ``path`` for the block."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _publish(staging: Path, out_dir: Path, dataset_id: str) -> Path:
    """Move the finished dataset into ``out_dir`` with renames (never half there)."""
    if not out_dir.exists():
        staging.rename(out_dir)  # the whole root at once
        staging.mkdir()  # for the caller's cleanup
        return out_dir / dataset_id
    parts = Path(dataset_id).parts
    for depth in range(1, len(parts)):  # namespaces: their metadata files, if new
        folder = out_dir.joinpath(*parts[:depth])
        folder.mkdir(exist_ok=True)
        meta = staging.joinpath(*parts[:depth], "namespace_metadata.json")
        if meta.is_file() and not (folder / meta.name).exists():
            (folder / meta.name).write_text(json.dumps(json.loads(meta.read_text())))
    (staging / dataset_id).rename(out_dir / dataset_id)
    return out_dir / dataset_id


def episode_lengths(data: Any) -> np.ndarray:
    """Decisions per episode of a Minari dataset, shape ``(n_episodes,)``."""
    return np.array([m["total_steps"] for m in data.storage.get_episode_metadata(
        range(data.total_episodes))], dtype=np.int64)


def patients_of(meta: dict[str, Any]) -> Sequence[Any]:
    """The cohort's patient ids recorded in a dataset's pkgym metadata."""
    return list(meta["patient_ids"])
