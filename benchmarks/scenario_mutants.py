"""Hostile scenario files: every shipped scenario mutated, each mutant refused clearly or sound.

A mutant is a shipped ``scenarios/*.yaml`` with one change: a leaf replaced by NaN, inf, -inf,
0, -1, 1e18, x1000 (numbers only), a string, a bool or null; a key repeated; an unknown key
added. Each must either be refused with a ``ValueError`` naming the file and the mutated
field, or load and give a 10-step seeded random rollout whose observations stay inside the
observation space and whose rewards are finite (a trial scenario: finite DLT rates).

    python -m benchmarks.scenario_mutants              # every mutation (2402), counts
    python -m benchmarks.scenario_mutants -n 500 -v    # fewer, and list every failure

``tests/test_scenarios_hardening.py`` runs a few hundred of them under hypothesis.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

import pkgym  # noqa: F401  (registers the environments)
from pkgym.scenarios import read_yaml
from pkgym.trials.oc_table import load_scenarios

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
SHIPPED = tuple(sorted(SCENARIOS.glob("*.yaml")))
"""Every shipped scenario file."""
REPLACEMENTS: tuple[tuple[str, Any], ...] = (
    ("nan", math.nan), ("inf", math.inf), ("-inf", -math.inf), ("zero", 0), ("minus_one", -1),
    ("1e18", 1e18), ("x1000", "x1000"), ("string", "oops"), ("bool", True), ("null", None))
"""Leaf replacements (``x1000`` multiplies a number by 1000; other leaves are skipped)."""
UNKNOWN_KEY = "not_a_field"
SOUND, REFUSED = "accepted and valid", "clear error"
UNCLEAR, UNSOUND, CRASH = "unclear error", "accepted but invalid", "crash"
OUTCOMES = (REFUSED, SOUND, UNCLEAR, UNSOUND, CRASH)


class _Pairs(list):
    """A mapping written as (key, value) pairs, so a key may appear twice."""


yaml.SafeDumper.add_representer(
    _Pairs, lambda dumper, pairs: dumper.represent_mapping("tag:yaml.org,2002:map", pairs))


@dataclass(frozen=True)
class Site:
    """One mutation of one file: ``kind`` at ``keys`` (``value`` for a replacement)."""

    file: Path
    kind: str
    keys: tuple[str | int, ...]
    value: Any = None

    @property
    def field(self) -> str:
        """The field a refusal must name: the last key (a list item names its list)."""
        if self.kind == "unknown_key":
            return UNKNOWN_KEY
        return str(next(k for k in reversed(self.keys) if isinstance(k, str)))


def sites(file: Path) -> list[Site]:
    """Every mutation of ``file``: leaf replacements, repeated keys, unknown keys."""
    found: list[Site] = []

    def walk(node: Any, keys: tuple[str | int, ...]) -> None:
        if isinstance(node, dict):
            found.append(Site(file, "unknown_key", keys))
            for key, value in node.items():
                found.append(Site(file, "duplicate_key", (*keys, key)))
                walk(value, (*keys, key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, (*keys, i))
        else:
            for name, value in REPLACEMENTS:
                if name != "x1000" or isinstance(node, int | float) and not isinstance(node, bool):
                    found.append(Site(file, f"leaf={name}", keys, value))

    walk(read_yaml(file), ())
    return found


def mutant_text(site: Site) -> str:
    """The YAML text of the mutant."""
    data, keys = read_yaml(site.file), site.keys
    if site.kind == "unknown_key":
        _at(data, keys)[UNKNOWN_KEY] = 1.0
    elif site.kind == "duplicate_key":
        mapping = _at(data, keys[:-1])
        pairs = _Pairs([*mapping.items(), (keys[-1], mapping[keys[-1]])])
        if len(keys) == 1:
            data = pairs
        else:
            _at(data, keys[:-2])[keys[-2]] = pairs
    else:
        parent, last = _at(data, keys[:-1]), keys[-1]
        parent[last] = parent[last] * 1000 if site.value == "x1000" else site.value
    return yaml.safe_dump(data, sort_keys=False)


def _at(data: Any, keys: tuple[str | int, ...]) -> Any:
    """The node of ``data`` at ``keys``."""
    for key in keys:
        data = data[key]
    return data


def judge(site: Site, folder: Path, steps: int = 10) -> tuple[str, str]:
    """The outcome of one mutant (one of ``OUTCOMES``) and a one-line detail."""
    path = folder / site.file.name
    path.write_text(mutant_text(site))
    env_id = read_yaml(site.file).get("env")
    try:
        if env_id is None:  # a trial scenario, or a set of them (``common``, ``scenarios``)
            rates = np.concatenate([np.asarray(named.scenario.true_dlt_probabilities)
                                    for named in load_scenarios(path)])
            ok = bool(np.all(np.isfinite(rates)) and np.all((rates >= 0) & (rates <= 1)))
            return (SOUND, "") if ok else (UNSOUND, f"DLT rates {rates}")
        env = gym.make(env_id, scenario=str(path))
    except ValueError as error:
        message = str(error)
        named = site.file.name in message and site.field in message
        return (REFUSED if named else UNCLEAR), message.splitlines()[0][:300]
    except Exception as error:  # noqa: BLE001  (a crash is what this counts)
        return CRASH, f"load: {type(error).__name__}: {error}"[:300]
    try:
        return _rollout(env, steps)
    except Exception as error:  # noqa: BLE001
        return CRASH, f"rollout: {type(error).__name__}: {error}"[:300]
    finally:
        env.close()


def _rollout(env: gym.Env, steps: int) -> tuple[str, str]:
    """A seeded random rollout: unsound if an observation leaves its space or a reward is NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs, _ = env.reset(seed=0)
        env.action_space.seed(0)
        for step in range(steps + 1):
            if not env.observation_space.contains(obs):
                bad = [k for k, space in env.observation_space.items()
                       if not space.contains(obs[k])]
                return UNSOUND, f"step {step}: observation outside its space: {bad}"
            if step == steps:
                break
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            if not np.all(np.isfinite(reward)):
                return UNSOUND, f"step {step}: reward {reward}"
            if terminated or truncated:
                break
    return SOUND, ""


def all_sites() -> list[Site]:
    """Every mutation of every shipped file."""
    return [site for file in SHIPPED for site in sites(file)]


def main(argv: list[str] | None = None) -> Counter:
    """Run ``-n`` mutants drawn (seeded) from every mutation of every shipped file (all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=None, help="mutants to try (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every failure")
    args = parser.parse_args(argv)
    candidates = all_sites()
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(candidates))
    chosen = [candidates[i] for i in np.resize(order, args.n or len(candidates))]
    counts: Counter = Counter()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for site in chosen:
            outcome, detail = judge(site, Path(folder))
            counts[outcome] += 1
            if args.verbose and outcome not in (REFUSED, SOUND):
                print(f"{outcome}: {site.file.name} {site.kind} {list(site.keys)}: {detail}")
    print(f"{len(chosen)} mutants tried ({len(candidates)} distinct mutations of "
          f"{len(SHIPPED)} files) in {time.perf_counter() - start:.0f} s")
    for outcome in OUTCOMES:
        print(f"  {outcome:22s} {counts[outcome]}")
    return counts


if __name__ == "__main__":
    main()
