"""Loading a model zip: pkgym's own models without unpickling, foreign ones only when trusted.

SB3's ``load`` unpickles (cloudpickle) the policy class, its kwargs, the schedules, the spaces
and more from the zip's ``data``: loading a zip runs whatever code its author put there. A
model trained by ``pkgym train`` needs none of that, since ``model.json`` beside it
(:mod:`agents.rl.model_metadata`) describes it in plain JSON:

1. the algorithm, its policy and hyperparameters come from ``model.json`` (validated like a
   hyperparameter file: only known keys, activations by name);
2. the observation and action spaces come from the env it names (``env_id``, ``env_kwargs``);
3. the encoder from its settings (the VAE's architecture from ``vae_config``, or the VAE
   file's ``vae.json`` when its hash is the recorded one);
4. the model is built anew and only the weights are read: ``policy.pth`` with
   ``torch.load(..., weights_only=True)`` into ``model.policy.load_state_dict`` (strict).

The zip's ``data`` is parsed as plain JSON (no ``:serialized:`` field is decoded) to check
that ``model.json`` describes this very zip. A zip without a matching ``model.json`` is
refused (:class:`UntrustedModelError`) unless the caller trusts it explicitly
(``pkgym evaluate --trust-model-file``), in which case SB3's ``load`` is used.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from agents.rl.model_metadata import HISTORY_ENCODERS

TRUST_HINT = ("loading it with SB3 runs code stored in the file: if you trust its source, pass "
              "--trust-model-file (pkgym evaluate) or trust_model_file=True")
"""How to load a zip pkgym cannot load safely, and what that costs."""


class UntrustedModelError(ValueError):
    """A model zip that pkgym cannot load without running code stored in it."""


def load_model_safely(path: str | os.PathLike, metadata: Mapping[str, Any],
                      scenario: str | os.PathLike | None = None) -> Any:
    """The SB3 model of a pkgym-trained zip, rebuilt from ``metadata``; only weights are read.

    Args:
        path: the model's ``.zip``.
        metadata: its ``model.json``.
        scenario: the scenario file to build the env's spaces from instead of the recorded
            path (the caller checked that its SHA-256 is the recorded one); ``None``: the
            recorded ``env_kwargs``.

    Raises:
        UntrustedModelError: ``model.json`` does not describe this zip (another model, a
            hand-edited file, a zip without weights).
    """
    from agents.rl.hyperparameters import algorithm_class, build_policy_kwargs

    data, weights = _read_zip(path)
    _check_describes(path, metadata, data)
    state = _weights(path, weights)
    hp = _hyperparams(path, metadata)
    policy_kwargs = build_policy_kwargs(hp)
    policy_kwargs.update(_encoder_kwargs(path, metadata))
    observation_space, action_space = _spaces(metadata, scenario)
    policy: Any = hp.policy
    if metadata.get("method") == "asymmetric":  # the critic sees the hidden patient
        from agents.rl.privileged import AsymmetricActorCriticPolicy, asymmetric_policy_kwargs

        policy, policy_kwargs = AsymmetricActorCriticPolicy, asymmetric_policy_kwargs(
            policy_kwargs)
    model = algorithm_class(hp.algo)(policy, env=None, device="cpu", policy_kwargs=policy_kwargs,
                                     _init_setup_model=False, **hp.algo_kwargs)
    model.observation_space, model.action_space = observation_space, action_space
    model.n_envs = int(metadata.get("n_envs", hp.n_envs))
    if getattr(model, "target_entropy", None) == "auto":  # SAC computes it from its env's
        model.target_entropy = float(-np.prod(action_space.shape).astype(np.float32))
    model._setup_model()
    try:
        model.policy.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, TypeError) as error:
        first = str(error).strip().splitlines()[0]
        raise UntrustedModelError(f"sb3:{path}: its weights do not fit the model its model.json "
                                  f"describes ({first}); {TRUST_HINT}") from None
    model.num_timesteps = int(metadata.get("timesteps", 0))
    model.pkgym_metadata = dict(metadata)
    return model


RESUMED_COUNTERS = ("num_timesteps", "_total_timesteps", "_num_timesteps_at_start",
                    "_episode_num", "_n_updates", "_n_calls", "exploration_rate",
                    "_current_progress_remaining")
"""Plain JSON counters of a checkpoint's ``data`` that a resumed model continues from."""


def restore_checkpoint(model: Any, path: str | os.PathLike, metadata: Mapping[str, Any]) -> Any:
    """Put a pkgym checkpoint's state into ``model`` (built anew, as the run built it).

    Weights and optimiser states (every ``.pth`` of the zip, read weights-only by SB3's
    ``set_parameters``), the torch variables the algorithm saves (SAC's entropy coefficient)
    and the step counters (plain JSON of ``data``, nothing decoded). Nothing is unpickled.

    Raises:
        UntrustedModelError: ``metadata`` does not describe this zip.
    """
    from stable_baselines3.common.save_util import load_from_zip_file
    from stable_baselines3.common.utils import get_device

    data, _ = _read_zip(path)
    _check_describes(path, metadata, data)
    device = get_device(model.device)
    _, params, variables = load_from_zip_file(Path(path), device=device, load_data=False)
    model.set_parameters(params, exact_match=True, device=device)
    expected = set(model._get_torch_save_params()[1])
    for name, value in (variables or {}).items():
        if name not in expected:
            raise UntrustedModelError(f"{path}: unexpected torch variable {name!r}")
        getattr(model, name).data = value.data
    for name in RESUMED_COUNTERS:
        counter = data.get(name)
        if (hasattr(model, name) and isinstance(counter, int | float)
                and not isinstance(counter, bool)):
            setattr(model, name, counter)
    model.pkgym_metadata = dict(metadata)
    return model


def load_model_trusted(path: str | os.PathLike, algo: str | None = None) -> Any:
    """SB3's own ``load`` (which unpickles, i.e. runs code from the file): ``algo``, else each.

    Only for files the user explicitly trusts.
    """
    from agents.rl.hyperparameters import ALGORITHMS, algorithm_class

    names = [algo] if algo is not None else list(ALGORITHMS)
    errors = []
    for name in names:
        try:
            return algorithm_class(name).load(path, device="cpu")
        except Exception as error:  # noqa: BLE001 - try the next algorithm
            errors.append(f"{name}: {error}")
    raise ValueError(f"sb3:{path} is not a loadable SB3 model ({'; '.join(errors)})")


def _read_zip(path: str | os.PathLike) -> tuple[dict[str, Any], bytes]:
    """The zip's ``data`` as plain JSON (nothing decoded) and the bytes of ``policy.pth``."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "data" not in names or "policy.pth" not in names:
                raise UntrustedModelError(f"sb3:{path}: not an SB3 model zip (no data or "
                                          "policy.pth)")
            data = json.loads(archive.read("data"))
            weights = archive.read("policy.pth")
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UntrustedModelError(f"sb3:{path}: not an SB3 model zip ({error})") from None
    if not isinstance(data, dict):
        raise UntrustedModelError(f"sb3:{path}: not an SB3 model zip (its data is no mapping)")
    return data, weights


def _weights(path: str | os.PathLike, weights: bytes) -> dict[str, Any]:
    """``policy.pth`` read by torch's weights-only unpickler (tensors and containers only)."""
    import torch

    try:
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any refusal of the restricted unpickler
        first = str(error).strip().split(". ")[0] or type(error).__name__
        raise UntrustedModelError(f"sb3:{path}: policy.pth holds more than weights ({first}); "
                                  f"{TRUST_HINT}") from None
    if not isinstance(state, dict):
        raise UntrustedModelError(f"sb3:{path}: policy.pth is not a state dict")
    return state


def _check_describes(path: str | os.PathLike, metadata: Mapping[str, Any],
                     data: Mapping[str, Any]) -> None:
    """``model.json`` must be the description saved inside the zip (``pkgym_metadata``)."""
    saved = data.get("pkgym_metadata")
    if not isinstance(saved, dict) or _canonical(saved) != _canonical(metadata):
        raise UntrustedModelError(f"sb3:{path}: its model.json does not describe this zip (not "
                                  f"saved together by pkgym train); {TRUST_HINT}")
    if data.get("num_timesteps") != metadata.get("timesteps"):
        raise UntrustedModelError(f"sb3:{path}: the zip's step count {data.get('num_timesteps')} "
                                  f"is not its model.json's {metadata.get('timesteps')}; "
                                  f"{TRUST_HINT}")


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def _hyperparams(path: str | os.PathLike, metadata: Mapping[str, Any]) -> Any:
    """The recorded hyperparameters, validated as a hyperparameter file's section is."""
    from agents.rl.hyperparameters import hyperparams_from_record

    record = metadata.get("hyperparams")
    if not isinstance(record, dict) or record.get("algo") != metadata.get("algo"):
        raise UntrustedModelError(f"sb3:{path}: model.json has no hyperparameters of its "
                                  f"algorithm {metadata.get('algo')!r}")
    try:
        hp = hyperparams_from_record(record)
    except ValueError as error:
        raise UntrustedModelError(f"sb3:{path}: model.json: {error}") from None
    if metadata.get("policy", hp.policy) != hp.policy:
        raise UntrustedModelError(f"sb3:{path}: model.json names policy "
                                  f"{metadata.get('policy')!r}, not {hp.policy!r}")
    return hp


def _encoder_kwargs(path: str | os.PathLike, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The features extractor of the recorded encoder (``raw``, ``vae`` or ``belief``)."""
    from agents.rl.encoders import ScaledDictExtractor, VAEFeaturesExtractor

    encoder = metadata.get("encoder", "raw")
    if encoder == "raw":
        return {"features_extractor_class": ScaledDictExtractor}
    if encoder == "belief":
        return _belief_kwargs(path, metadata)
    if encoder != "vae":
        raise UntrustedModelError(f"sb3:{path}: model.json: unknown encoder {encoder!r}")
    return {"features_extractor_class": VAEFeaturesExtractor,
            "features_extractor_kwargs": {"vae_config": _vae_config(path, metadata),
                                          "fine_tune": bool(metadata.get("fine_tune_encoder"))}}


def _belief_kwargs(path: str | os.PathLike, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The belief encoder's extractor: the VAE's architecture and the recorded forecast."""
    from agents.rl.belief import BeliefFeaturesExtractor

    settings = metadata.get("belief")
    if not isinstance(settings, dict) or set(settings) != BELIEF_KEYS:
        raise UntrustedModelError(f"sb3:{path}: model.json: the belief encoder needs 'belief' "
                                  f"with {sorted(BELIEF_KEYS)}; {TRUST_HINT}")
    return {"features_extractor_class": BeliefFeaturesExtractor,
            "features_extractor_kwargs": {"vae_config": _vae_config(path, metadata),
                                          **settings}}


BELIEF_KEYS = frozenset({"candidates_mg", "target", "window_h", "trapezoid", "scale"})
"""What ``model.json`` records of a belief encoder (:func:`agents.rl.belief.belief_settings`)."""


def _vae_config(path: str | os.PathLike, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The VAE's architecture: recorded in ``model.json``, else the recorded VAE file's."""
    from agents.rl.model_metadata import file_sha256

    config = metadata.get("vae_config")
    if isinstance(config, dict):
        return dict(config)
    vae_path = metadata.get("vae_path")
    if vae_path:
        weights = Path(vae_path) / "vae.pt" if Path(vae_path).is_dir() else Path(vae_path)
        if weights.is_file() and file_sha256(weights) == metadata.get("vae_sha256"):
            return dict(json.loads(weights.with_suffix(".json").read_text())["config"])
    raise UntrustedModelError(f"sb3:{path}: model.json has no vae_config and the VAE it was "
                              f"trained with ({vae_path}) is gone or changed; {TRUST_HINT}")


def spaces_under(metadata: Mapping[str, Any],
                 scenario: str | os.PathLike | None) -> tuple[Any, Any]:
    """The model's env's spaces under another scenario file (``None``: the env's defaults).

    For a shifted evaluation: the model may act there only if these equal its own spaces.
    """
    env_kwargs = {k: v for k, v in (metadata.get("env_kwargs") or {}).items() if k != "scenario"}
    if scenario is not None:
        env_kwargs["scenario"] = str(scenario)
    return _spaces({**metadata, "env_kwargs": env_kwargs}, None)


def _spaces(metadata: Mapping[str, Any], scenario: str | os.PathLike | None) -> tuple[Any, Any]:
    """One patient's observation (the history's, for the VAE encoder) and action spaces."""
    import gymnasium as gym

    env_kwargs = dict(metadata.get("env_kwargs") or {})
    if scenario is not None and "scenario" in env_kwargs:
        env_kwargs["scenario"] = str(scenario)
    try:
        env = gym.make_vec(str(metadata["env_id"]), num_envs=1,
                           vectorization_mode="vector_entry_point", **env_kwargs)
    except Exception as error:  # noqa: BLE001 - a missing scenario file, a bad kwarg
        raise ValueError(f"cannot build the model's env {metadata['env_id']} with "
                         f"{env_kwargs} ({error})") from None
    if metadata.get("encoder") in HISTORY_ENCODERS:
        from pkgym.wrappers.history import VectorObservationHistoryWrapper

        env = VectorObservationHistoryWrapper(env)
    if metadata.get("method") == "asymmetric":  # plus the critic's "privileged" key
        from agents.rl.privileged import with_privileged_space

        return (with_privileged_space(env.single_observation_space, env.unwrapped.core),
                env.single_action_space)
    return env.single_observation_space, env.single_action_space
