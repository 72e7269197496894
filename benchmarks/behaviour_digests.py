"""SHA-256 digests of what every env does, to hold a refactor to byte-identical behaviour.

For each registered env: the ``results.csv`` of ``pkgym evaluate`` (two baselines, 50 patients,
seed 3) and a 30-step rollout of an 8-patient native vector env (seed 11, seeded random
actions: observations, rewards, terminations and every numeric ``info`` array).

    python -m benchmarks.behaviour_digests            # print the digests as JSON
    python -m benchmarks.behaviour_digests --check    # compare with the recorded ones
    python -m benchmarks.behaviour_digests --write    # record them (tests/data/)

``tests/test_behaviour_digests.py`` checks the rollout digests on every test run; the
``evaluate`` digests take about a minute and are checked here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

DIGESTS = Path(__file__).resolve().parent.parent / "tests" / "data" / "behaviour_digests.json"

BASELINES: dict[str, tuple[str, str]] = {
    "pkgym/Vancomycin-v0": ("label", "map"),
    "pkgym/Warfarin-v0": ("iwpc_clinical+aurora", "map"),
    "pkgym/WarfarinPGx-v0": ("iwpc_pgx+aurora", "fixed_5mg"),
    "pkgym/Warfarin-v1": ("iwpc_clinical+aurora", "map"),
    "pkgym/WarfarinPGx-v1": ("iwpc_pgx+aurora", "fixed_5mg"),
    "pkgym/Chemotherapy-v0": ("label", "map"),
    "pkgym/ChemoImmune-v0": ("constant", "threshold"),
    "pkgym/Addiction-v0": ("stepped_care", "oracle"),
    "pkgym/Depression-v0": ("stepped_care", "fixed"),
    "pkgym/DoseFinding-v0": ("boin", "crm"),
    "pkgym/DoseFindingEffTox-v0": ("boin12", "boin"),
    "pkgym/Mycophenolate-v0": ("fixed", "protocol"),
    "pkgym/Insulin-v0": ("basal_bolus", "pid"),
    "pkgym/Propofol-v0": ("tci_eleveld", "pid"),
    "pkgym/Heparin-v0": ("raschke", "map"),
}
"""Two baselines per env id for the ``evaluate`` digest."""


def _update(digest: hashlib._Hash, value: object) -> None:
    """Feed a numeric array (its dtype, shape and bytes) or a nested mapping into ``digest``."""
    if isinstance(value, dict):
        for key in sorted(value):
            digest.update(str(key).encode())
            _update(digest, value[key])
        return
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        return
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(np.ascontiguousarray(array).tobytes())


def rollout_digest(env_id: str, n_envs: int = 8, n_steps: int = 30, seed: int = 11) -> str:
    """SHA-256 of a seeded random-action rollout of ``env_id``'s native vector env.

    Examples:
        >>> len(rollout_digest("pkgym/Vancomycin-v0", n_envs=2, n_steps=2))
        64
    """
    import gymnasium as gym

    import pkgym  # noqa: F401  (registers the envs)

    env = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode="vector_entry_point")
    env.action_space.seed(seed)
    digest = hashlib.sha256()
    obs, info = env.reset(seed=seed)
    _update(digest, {"obs": obs, "info": info})
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        _update(digest, {"obs": obs, "reward": reward, "terminated": terminated,
                         "truncated": truncated, "info": info})
    env.close()
    return digest.hexdigest()


def evaluate_digest(env_id: str, policies: tuple[str, ...], n_patients: int = 50,
                    seed: int = 3) -> str:
    """SHA-256 of the ``results.csv`` that ``pkgym evaluate`` writes for ``policies``.

    The patients' covariates that ``evaluate`` appends after the ``return`` column (issue 19:
    subgroups) are inputs, not behaviour: the digest covers the columns up to ``return``, the
    bytes of the file as it was before they were added.
    """
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "pkgym.cli", "evaluate", "--env", env_id,
                   "--n-patients", str(n_patients), "--seed", str(seed), "--out", out]
        for policy in policies:
            command += ["--policy", policy]
        subprocess.run(command, check=True, capture_output=True)
        lines = (Path(out) / "results.csv").read_text().splitlines(keepends=True)
        keep = lines[0].rstrip("\r\n").split(",").index("return") + 1
        kept = "".join(_first_fields(line, keep) for line in lines)
        return hashlib.sha256(kept.encode()).hexdigest()


def _first_fields(line: str, n: int) -> str:
    """The first ``n`` comma-separated fields of a CSV line, its line ending kept.

    These files have no quoted commas before ``return`` (numbers, ids and policy names).
    """
    ending = line[len(line.rstrip("\r\n")):]
    return ",".join(line.rstrip("\r\n").split(",")[:n]) + ending


def all_digests(evaluate: bool = True,
                env_ids: list[str] | None = None) -> dict[str, dict[str, str]]:
    """The rollout (and ``evaluate``) digest of every env id in :data:`BASELINES` or ``env_ids``."""
    digests: dict[str, dict[str, str]] = {}
    for env_id, policies in BASELINES.items():
        if env_ids is not None and env_id not in env_ids:
            continue
        digests[env_id] = {"rollout": rollout_digest(env_id)}
        if evaluate:
            digests[env_id]["evaluate"] = evaluate_digest(env_id, policies)
        print(env_id, digests[env_id], file=sys.stderr, flush=True)
    return digests


def main(argv: list[str] | None = None) -> int:
    """Print, record or check the digests."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"record them in {DIGESTS}")
    parser.add_argument("--check", action="store_true", help=f"compare with {DIGESTS}")
    parser.add_argument("--env", action="append", default=None, choices=sorted(BASELINES),
                        metavar="ENV_ID", help="only this env id (repeatable; --check only)")
    args = parser.parse_args(argv)
    if args.env and args.write:
        parser.error("--env narrows --check; --write records every env")
    digests = all_digests(env_ids=args.env)
    if args.write:
        DIGESTS.parent.mkdir(parents=True, exist_ok=True)
        DIGESTS.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    if args.check:
        recorded = json.loads(DIGESTS.read_text())
        changed = [f"{env_id} {kind}" for env_id, kinds in digests.items()
                   for kind, value in kinds.items() if recorded[env_id][kind] != value]
        print("identical" if not changed else "CHANGED: " + ", ".join(changed))
        return 1 if changed else 0
    print(json.dumps(digests, indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
