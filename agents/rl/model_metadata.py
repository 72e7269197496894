"""What a trained model records about itself, and how it is saved: ``NAME.zip`` + ``NAME.json``.

The JSON beside every saved SB3 zip (final model, best model, checkpoints) says which env,
scenario, algorithm, encoder and patients the model saw, so that evaluation can refuse a
mismatched env or scenario and run the leakage guard on the training cohort. The same dict is
stored on the model object (``model.pkgym_metadata``), so it also travels inside the zip.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from dataclasses import asdict
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from pkgym.evaluation.cohorts import CohortId
from pkgym.io import write_atomic, write_text

HISTORY_ENCODERS = ("vae", "belief")
"""Encoders that read the canonical observed history (:mod:`pkgym.wrappers.history`)."""
METADATA_VERSION = 1
"""Version of the ``model.json`` layout."""


def file_sha256(path: str | os.PathLike | None) -> str | None:
    """SHA-256 of a file's bytes (``None`` for no file).

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.yaml"
        >>> _ = path.write_text("a: 1")
        >>> file_sha256(path)[:12], file_sha256(None)
        ('16c3c6d78678', None)
    """
    if path is None:
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cohort_record(cohort: CohortId) -> dict[str, Any]:
    """A cohort identity as JSON-ready fields.

    Examples:
        >>> cohort_record(CohortId(5, (0,), 0, 10))
        {'seed_entropy': 5, 'spawn_key': [0], 'start': 0, 'stop': 10}
    """
    record = asdict(cohort)
    record["spawn_key"] = list(cohort.spawn_key)
    return record


def cohort_from_record(record: Mapping[str, Any]) -> CohortId:
    """The :class:`CohortId` of a :func:`cohort_record`.

    Examples:
        >>> cohort_from_record({"seed_entropy": 5, "spawn_key": [0], "start": 0, "stop": 10})
        CohortId(seed_entropy=5, spawn_key=(0,), start=0, stop=10)
    """
    try:
        return CohortId(int(record["seed_entropy"]), tuple(int(k) for k in record["spawn_key"]),
                        int(record["start"]), int(record["stop"]))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"bad cohort record {dict(record)!r} ({error})") from None


SEEN_COHORT_KEYS = ("training_cohort", "validation_cohort", "vae_training_cohort",
                    "vae_validation_cohort")
"""Metadata keys of the cohorts a model has seen (the VAE encoder's included)."""


def training_cohorts(metadata: Mapping[str, Any]) -> tuple[CohortId, ...]:
    """The cohorts a model has seen: trained on, validated on (it chose the model), and its VAE's.

    Examples:
        >>> meta = {"training_cohort": cohort_record(CohortId(5, (0,), 0, 10)),
        ...         "validation_cohort": None}
        >>> training_cohorts(meta)
        (CohortId(seed_entropy=5, spawn_key=(0,), start=0, stop=10),)
    """
    records = [metadata.get(key) for key in SEEN_COHORT_KEYS]
    return tuple(cohort_from_record(r) for r in records if r is not None)


def library_versions() -> dict[str, str]:
    """Versions of pkgym and the libraries a trained model depends on.

    Examples:
        >>> sorted(library_versions())[:3]
        ['gymnasium', 'numpy', 'pkgym']
    """
    names = ("pkgym", "stable-baselines3", "sb3-contrib", "torch", "gymnasium", "numpy")
    versions = {}
    for name in names:
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def metadata_path(model_path: str | os.PathLike) -> Path:
    """The JSON that describes a model zip: the same name with ``.json``.

    Examples:
        >>> metadata_path("out/best_model.zip").name
        'best_model.json'
    """
    return Path(model_path).with_suffix(".json")


def read_metadata(model_path: str | os.PathLike) -> dict[str, Any] | None:
    """The JSON beside a model zip, or ``None`` when there is none (an older or foreign zip).

    Examples:
        >>> read_metadata("no/such/model.zip") is None
        True
    """
    path = metadata_path(model_path)
    if not path.is_file():
        return None
    try:
        loaded = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(loaded, dict) or "algo" not in loaded or "env_id" not in loaded:
        raise ValueError(f"{path}: not a pkgym model description (needs 'algo' and 'env_id')")
    return loaded


def save_model(model: Any, path: str | os.PathLike, metadata: Mapping[str, Any]) -> Path:
    """Write ``model`` to ``path`` (a ``.zip``) and its metadata beside it, both atomically.

    The metadata, with the model's ``num_timesteps`` as ``timesteps``, is also stored on the
    model (``model.pkgym_metadata``) before it is saved. The JSON is written first: a zip on
    disk always has its description.

    Returns:
        The zip's path.
    """
    target = Path(path)
    if target.suffix != ".zip":
        raise ValueError(f"model path must end in .zip, got {str(path)!r}")
    record = {**metadata, "metadata_version": METADATA_VERSION,
              "timesteps": int(model.num_timesteps)}
    model.pkgym_metadata = record
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    write_text(text, metadata_path(target))

    def write_zip(tmp: Path) -> None:
        with tmp.open("wb") as handle:
            model.save(handle)

    return write_atomic(target, write_zip)
