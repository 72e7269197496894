"""RL-Zoo-style hyperparameter files: the packaged ones load; mistakes fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.rl.hyperparameters import (
    ALGORITHMS,
    build_policy_kwargs,
    default_hyperparams_file,
    load_hyperparams,
)

ENV_IDS = ("pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "pkgym/Depression-v0")


@pytest.mark.parametrize("algo", ALGORITHMS)
def test_load_hyperparams__packaged_files_cover_the_envs_and_a_default(algo: str) -> None:
    """Each algorithm has sections for vancomycin and warfarin and a default for the rest."""
    sources = {load_hyperparams(algo, env_id).source.rsplit("#", 1)[1] for env_id in ENV_IDS}
    assert sources == {"pkgym/Vancomycin-v0", "pkgym/Warfarin-v0", "default"}
    hp = load_hyperparams(algo, "pkgym/Warfarin-v0")
    assert hp.n_envs >= 1 and 0.9 <= hp.algo_kwargs["gamma"] < 1
    # Warfarin's 31 levels: the policy-gradient agents dose on the continuous scale; DQN cannot
    assert hp.env_kwargs["continuous"] is (algo in ("sac", "ppo", "recurrent_ppo"))
    assert default_hyperparams_file(algo).is_file()
    build_policy_kwargs(hp)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hp.yml"
    path.write_text(text)
    return path


def test_load_hyperparams__unknown_key_names_file_key_and_allowed_keys(tmp_path: Path) -> None:
    """A typo is an error naming the file and section, the key and what is allowed."""
    path = _write(tmp_path, "default:\n  n_envs: 2\n  learning_rat: 0.001\n")
    with pytest.raises(ValueError, match=r"hp\.yml#default: unknown key\(s\) \['learning_rat'\]"
                       r"; allowed: \[.*'learning_rate'"):
        load_hyperparams("ppo", "pkgym/Vancomycin-v0", path)


def test_load_hyperparams__unknown_policy_kwarg_is_an_error(tmp_path: Path) -> None:
    """``policy_kwargs`` keys are checked against the algorithm's policy (LSTM keys for PPO)."""
    path = _write(tmp_path, "default:\n  policy_kwargs:\n    lstm_hidden_size: 8\n")
    with pytest.raises(ValueError, match=r"policy_kwargs\.lstm_hidden_size"):
        load_hyperparams("ppo", "pkgym/Vancomycin-v0", path)
    assert load_hyperparams("recurrent_ppo", "x", path).policy_kwargs == {"lstm_hidden_size": 8}


@pytest.mark.parametrize(("algo", "text", "message"), [
    ("sac", "default:\n  gamma: 0.9\n", "SAC needs continuous actions"),
    ("dqn", "default:\n  env_kwargs: {continuous: true}\n", "DQN needs discrete actions"),
    ("ppo", "default:\n  learning_rate: 3e-4\n", "learning_rate must be a number"),
    ("ppo", "default:\n  n_envs: 0\n", "n_envs must be an integer >= 1"),
    ("ppo", "default:\n  normalize_reward: 1\n", "normalize_reward must be true or false"),
    ("ppo", "default:\n  policy_kwargs: {activation_fn: swish}\n", "activation_fn must be one"),
    ("ppo", "pkgym/Warfarin-v0:\n  n_envs: 2\n", "no section for 'pkgym/Vancomycin-v0'"),
    ("ppo", "- 1\n", "expected a mapping"),
])
def test_load_hyperparams__bad_values_are_errors(tmp_path: Path, algo: str, text: str,
                                                 message: str) -> None:
    """Wrong action kind, YAML-1.1 exponent strings, bad sizes, missing sections fail."""
    with pytest.raises(ValueError, match=message):
        load_hyperparams(algo, "pkgym/Vancomycin-v0", _write(tmp_path, text))


def test_load_hyperparams__unknown_algorithm_or_missing_file_is_an_error(tmp_path: Path) -> None:
    """The algorithm must be known and the file must exist."""
    with pytest.raises(ValueError, match="algo must be one of"):
        load_hyperparams("trpo", "pkgym/Vancomycin-v0")
    with pytest.raises(ValueError, match="does not exist"):
        load_hyperparams("ppo", "pkgym/Vancomycin-v0", tmp_path / "missing.yml")
