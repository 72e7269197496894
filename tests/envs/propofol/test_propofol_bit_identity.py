"""pkgym/Propofol-v0's trajectories are byte-identical to the recorded ones (the compiled step).

The digests were recorded with the numpy step (commit b8c0912) by running this module:
``.venv/bin/python -m tests.envs.propofol.test_propofol_bit_identity``: one SHA-256 per
stacked array of every observation, reward, flag and info value (with its Python type) of
single envs (seeds, the Box variant, surgical stimulation, a pinned patient) and of vector
envs through their autoresets (both modes). numpy's SIMD ``pow`` makes them CPU-dependent
(recorded on an AVX-512 machine, like ``tests/data/behaviour_digests.json``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401  (registers the envs)

ENV_ID = "pkgym/Propofol-v0"
STIMULATION = "scenarios/propofol_stimulation.yaml"
REFERENCE_FILE = Path(__file__).parents[2] / "data" / "propofol_trajectory_digests.json"
PINNED = {"age_years": 71.0, "weight_kg": 92.0, "height_cm": 181.0, "is_female": 0,
          "opioid": 1, "eta_CE50": -0.3, "eta_KE0": 0.4, "eta_BIS": 0.2, "id": 7}


def _typed(value: Any) -> tuple[str, np.ndarray]:
    """A value's type tag and its bytes-comparable array."""
    if isinstance(value, np.ndarray):
        tag = f"ndarray:{value.dtype}:{value.shape}"
        return tag, (value.astype(str) if value.dtype == object else value)
    return type(value).__name__, np.asarray(str(value) if type(value).__name__ == "int"
                                            and abs(value) > 2**62 else value)


def _add(out: dict[str, list], prefix: str, tree: dict[str, Any]) -> None:
    """Append each entry of ``tree`` under ``prefix/key`` (value and type tag)."""
    for key, value in tree.items():
        tag, array = _typed(value)
        out.setdefault(f"{prefix}/{key}", []).append(array)
        out.setdefault(f"{prefix}/{key}#type", []).append(np.asarray(tag))


def _single(out: dict[str, list], name: str, kwargs: dict[str, Any], seed: int,
            n_steps: int, options: dict[str, Any] | None = None) -> None:
    """A single env's reset and ``n_steps`` seeded random steps (plain resets at the ends)."""
    env = gym.make(ENV_ID, **kwargs)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed, options=options)
    _add(out, f"{name}/obs", obs)
    _add(out, f"{name}/info", info)
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        _add(out, f"{name}/obs", obs)
        _add(out, f"{name}/info", info)
        _add(out, f"{name}/flags", {"reward": reward, "terminated": terminated,
                                    "truncated": truncated})
        if terminated or truncated:
            obs, info = env.reset(options=options)
            _add(out, f"{name}/obs", obs)
            _add(out, f"{name}/info", info)


def _vector(out: dict[str, list], name: str, kwargs: dict[str, Any], n: int, seed: int,
            n_steps: int, options: dict[str, Any] | None = None) -> None:
    """A vector env's reset and ``n_steps`` seeded random batched steps (autoresets)."""
    env = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **kwargs)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed, options=options)
    _add(out, f"{name}/obs", obs)
    _add(out, f"{name}/info", info)
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        _add(out, f"{name}/obs", obs)
        _add(out, f"{name}/info", {k: v for k, v in info.items() if not k.startswith("final")})
        _add(out, f"{name}/flags", {"reward": reward, "terminated": terminated,
                                    "truncated": truncated})


def record() -> dict[str, np.ndarray]:
    """Every trajectory of the reference, stacked per key."""
    out: dict[str, list] = {}
    for seed in (0, 1, 2):
        _single(out, f"single{seed}", {}, seed, 400)
    _single(out, "box", {"continuous": True}, 3, 200)
    _single(out, "stimulation", {"scenario": STIMULATION}, 4, 380)
    _single(out, "pinned", {}, 5, 190, {"patient": PINNED})
    _vector(out, "vector", {}, 7, 11, 400)
    _vector(out, "vector_box", {"continuous": True}, 3, 12, 200)
    _vector(out, "vector_stimulation", {"scenario": STIMULATION}, 5, 13, 380)
    _vector(out, "vector_same_step", {"autoreset_mode": "SameStep"}, 3, 14, 200)
    _vector(out, "vector_pinned", {}, 2, 15, 190,
            {"patients": [PINNED, {**PINNED, "age_years": 25.0, "is_female": 1}]})
    return {key: np.stack(values) for key, values in out.items()}


def digests() -> dict[str, str]:
    """SHA-256 of each recorded key's dtype, shape and bytes."""
    out = {}
    for key, array in record().items():
        digest = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
        out[key] = digest.hexdigest()
    return out


def test_propofol_trajectories__byte_identical_to_the_recorded_numpy_step() -> None:
    """Every recorded array (observations, rewards, infos, types) hashes as recorded."""
    expected = json.loads(REFERENCE_FILE.read_text())
    now = digests()
    assert sorted(now) == sorted(expected)
    assert [key for key in expected if now[key] != expected[key]] == []


if __name__ == "__main__":
    REFERENCE_FILE.write_text(json.dumps(digests(), indent=1, sort_keys=True) + "\n")
