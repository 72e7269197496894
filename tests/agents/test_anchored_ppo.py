"""``agents.rl.anchored_ppo.AnchoredPPO``: PPO's loss exactly, the KL anchor, saving, loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import configure
from training_helpers import ENV_ID, tiny_config

from agents.rl.anchored_ppo import AnchoredPPO
from agents.rl.hyperparameters import build_policy_kwargs, load_hyperparams
from agents.rl.model_loading import restore_checkpoint
from agents.rl.model_metadata import read_metadata, save_model
from agents.rl.sb3_policy import SB3Policy
from agents.rl.training import algo_kwargs, make_training_env, new_model, probe_core, run_metadata
from pkgym.evaluation.cohorts import EVALUATION, TRAINING, VALIDATION, env_cohort
from pkgym.evaluation.runner import run_policy

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _setting(tmp_path: Path, **overrides: Any) -> tuple[Any, Any, pd.DataFrame]:
    config = tiny_config(tmp_path, "ppo", n_envs=4, **overrides)
    hp = load_hyperparams("ppo", ENV_ID, config.hyperparams_file)
    training = env_cohort(probe_core(ENV_ID, {}).settings, 16, 0, TRAINING)
    return config, hp, training


def _anchored(tmp_path: Path, *, coef: float = 0.0, anchor: bool = False,
              **algo: Any) -> AnchoredPPO:
    """An AnchoredPPO built exactly as ``new_model`` builds PPO (same seed, same env)."""
    config, hp, training = _setting(tmp_path)
    venv = make_training_env(config, hp, 4, {}, training)
    policy_kwargs = build_policy_kwargs(hp)
    from agents.rl.encoders import ScaledDictExtractor

    policy_kwargs["features_extractor_class"] = ScaledDictExtractor
    model = AnchoredPPO(hp.policy, venv, policy_kwargs=policy_kwargs, seed=config.seed,
                        device="cpu", anchor_kl_coef=coef,
                        **{**algo_kwargs(hp, 4), **algo})
    return model.set_anchor() if anchor else model


def _ppo(tmp_path: Path, **algo: Any) -> PPO:
    config, hp, training = _setting(tmp_path)
    hp = type(hp)(**{**hp.as_dict(), "algo_kwargs": {**hp.algo_kwargs, **algo}})
    return new_model(config, hp, make_training_env(config, hp, 4, {}, training), 4)


def _vector(model: Any) -> torch.Tensor:
    return torch.nn.utils.parameters_to_vector(model.policy.parameters()).detach()


@pytest.mark.parametrize("algo", [{}, {"clip_range_vf": 0.1, "target_kl": 1e-5}])  # stops early
def test_anchored_ppo__trains_as_ppo_without_anchor_or_coefficient(tmp_path: Path,
                                                                   algo: Any) -> None:
    """No anchor, or an anchor with coefficient 0: weights identical to SB3's PPO's."""
    reference = _vector(_ppo(tmp_path, **algo).learn(128))
    for anchor in (False, True):
        model = _anchored(tmp_path, anchor=anchor, **algo).learn(128)
        assert torch.equal(_vector(model), reference)


def _hand_loss(model: AnchoredPPO, batch: Any, clip: float) -> torch.Tensor:
    """PPO's loss plus the anchor term, written from the distributions' probabilities."""
    obs, actions = batch.observations, batch.actions.long().flatten()
    probs = model.policy.get_distribution(obs).distribution.probs
    anchor = model.anchor_policy.get_distribution(obs).distribution.probs
    log_prob = torch.log(probs.gather(1, actions[:, None]).squeeze(1))
    adv = (batch.advantages - batch.advantages.mean()) / (batch.advantages.std() + 1e-8)
    ratio = torch.exp(log_prob - batch.old_log_prob)
    policy_loss = -torch.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv).mean()
    value_loss = ((model.policy.predict_values(obs).flatten() - batch.returns) ** 2).mean()
    entropy = -(probs * torch.log(probs)).sum(1).mean()
    kl = (anchor * (torch.log(anchor) - torch.log(probs))).sum(1).mean()
    return (policy_loss - model.ent_coef * entropy + model.vf_coef * value_loss
            + model.anchor_kl_coef_now * kl)


def test_anchored_ppo__minibatch_loss_by_hand(tmp_path: Path) -> None:
    """One minibatch's loss equals PPO's terms plus coef * KL(anchor || pi) computed by hand."""
    model = _anchored(tmp_path, coef=0.7, anchor=True).learn(128)
    batch = next(model.rollout_buffer.get(32))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in model.anchor_policy.parameters():  # an anchor far from the policy
            weight.add_(0.3 * torch.randn(weight.shape, generator=generator))
        loss, parts = model.minibatch_loss(batch, 0.2, None)
        expected = _hand_loss(model, batch, 0.2)
        model.anchor_kl_coef = 0.0
        plain, _ = model.minibatch_loss(batch, 0.2, None)
        model.anchor_kl_coef = 0.7
        expected_plain = _hand_loss(model, batch, 0.2) - 0.7 * parts["anchor_kl"]
    assert parts["anchor_kl"] > 0.01
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(plain, expected_plain, rtol=1e-5, atol=1e-6)


def _trained_kl(tmp_path: Path, coef: float) -> tuple[float, AnchoredPPO]:
    """The logged anchor KL after 2048 steps from the same anchored start."""
    model = _anchored(tmp_path, coef=coef, anchor=True, learning_rate=3e-3)
    model.set_logger(configure(str(tmp_path / f"logs_{coef}"), ["csv"]))
    model.learn(2048)
    model.logger.dump(model.num_timesteps)
    logged = pd.read_csv(tmp_path / f"logs_{coef}" / "progress.csv")
    return float(logged["train/anchor_kl"].iloc[-1]), model


def test_anchored_ppo__large_coefficient_stays_near_anchor(tmp_path: Path) -> None:
    """The logged KL to the anchor, after the same seeded training, is smaller with coef 10."""
    free, _ = _trained_kl(tmp_path, 0.0)
    held, model = _trained_kl(tmp_path, 10.0)
    assert free > 0.0 and held < 0.5 * free, (free, held)
    assert model.anchor_kl_coef_now == 10.0


def test_anchored_ppo__decay_and_bad_arguments(tmp_path: Path) -> None:
    """The coefficient decays once per update (logged); bad settings fail with one line."""
    model = _anchored(tmp_path, coef=1.0, anchor=True, n_epochs=1)
    model.anchor_kl_decay = 0.5
    model.set_logger(configure(str(tmp_path / "logs"), ["csv"]))
    model.learn(192)  # three rollouts of 64 steps: three updates
    model.logger.dump(model.num_timesteps)  # the last update's records (as pkgym train does)
    logged = pd.read_csv(tmp_path / "logs" / "progress.csv")["train/anchor_kl_coef"]
    assert logged.dropna().tolist() == [1.0, 0.5, 0.25]
    assert model.anchor_kl_coef_now == 0.25
    with pytest.raises(ValueError, match="anchor_kl_coef must be a number >= 0"):
        AnchoredPPO("MultiInputPolicy", model.get_env(), anchor_kl_coef=-1.0)
    with pytest.raises(ValueError, match=r"anchor_kl_decay must be a number in \(0, 1\]"):
        AnchoredPPO("MultiInputPolicy", model.get_env(), anchor_kl_decay=0.0)


def test_anchored_ppo__save_load_and_evaluate_as_ppo(tmp_path: Path) -> None:
    """Saved by pkgym: AnchoredPPO.load restores the anchor; ``sb3:`` loads it as plain PPO."""
    config, hp, training = _setting(tmp_path)
    core = probe_core(ENV_ID, {})
    validation = env_cohort(core.settings, 4, 0, VALIDATION)
    ppo = new_model(config, hp, make_training_env(config, hp, 4, {}, training), 4)
    model = AnchoredPPO.from_model(ppo, anchor_kl_coef=1.0).learn(128)
    assert torch.equal(
        torch.nn.utils.parameters_to_vector(model.anchor_policy.parameters()), _vector(ppo))
    path = save_model(model, tmp_path / "out" / "model.zip",
                      run_metadata(config, hp, 4, {}, training, validation))
    loaded = AnchoredPPO.load(path, device="cpu")
    for name in ("policy", "anchor_policy"):
        for a, b in zip(getattr(model, name).state_dict().values(),
                        getattr(loaded, name).state_dict().values(), strict=True):
            assert torch.equal(a, b)
    assert loaded.has_anchor and loaded.anchor_kl_coef == 1.0
    policy = SB3Policy(path, core, env_id=ENV_ID)
    assert type(policy.model) is PPO
    cohort = env_cohort(core.settings, 3, 0, EVALUATION)
    results = run_policy(policy, ENV_ID, cohort, seed=5)
    assert results["return"].notna().all() and len(results) == 3
    obs = {k: np.asarray(v) for k, v in model.get_env().reset().items()}
    assert np.array_equal(policy.model.predict(obs, deterministic=True)[0],
                          model.predict(obs, deterministic=True)[0])


def test_anchored_ppo__resumes_from_checkpoint_with_its_anchor(tmp_path: Path) -> None:
    """``restore_checkpoint`` into a fresh anchored model brings back policy, anchor, steps."""
    config, hp, training = _setting(tmp_path)
    validation = env_cohort(probe_core(ENV_ID, {}).settings, 4, 0, VALIDATION)
    metadata = run_metadata(config, hp, 4, {}, training, validation)
    fresh = new_model(config, hp, make_training_env(config, hp, 4, {}, training), 4)
    with torch.no_grad():  # stands for imitation: the anchor is not the seeded start
        for weight in fresh.policy.parameters():
            weight.add_(0.1)
    model = AnchoredPPO.from_model(fresh, anchor_kl_coef=1.0, anchor_kl_decay=0.5).learn(128)
    path = save_model(model, tmp_path / "checkpoints" / "model_128_steps.zip", metadata)
    rebuilt = new_model(config, hp, make_training_env(config, hp, 4, {}, training), 4)
    resumed = restore_checkpoint(
        AnchoredPPO.from_model(rebuilt, anchor_kl_coef=1.0, anchor_kl_decay=0.5), path,
        read_metadata(path))
    for name in ("policy", "anchor_policy"):
        assert torch.equal(
            torch.nn.utils.parameters_to_vector(getattr(resumed, name).parameters()),
            torch.nn.utils.parameters_to_vector(getattr(model, name).parameters()))
    assert resumed.num_timesteps == 128 and resumed.anchor_kl_coef_now == 0.5
