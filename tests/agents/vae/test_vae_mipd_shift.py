"""VAE-MIPD under another scenario: a shifted evaluation, named so; another env is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.vae.mipd import VAEMIPDPolicy
from pkgym.scale.evaluation import env_core

VANCOMYCIN = "pkgym/Vancomycin-v0"


def test_vae_mipd__another_scenario_is_a_named_shift(tiny_vae_path: Path,
                                                       tmp_path: Path) -> None:
    """Trained under the default scenario, used under a renal-impairment ward."""
    scenario = tmp_path / "renal.yaml"
    scenario.write_text(f"env: {VANCOMYCIN}\npopulation: renal_impairment\n")
    core = env_core(VANCOMYCIN, scenario)
    policy = VAEMIPDPolicy(tiny_vae_path, core, env_id=VANCOMYCIN, scenario=scenario)
    assert policy.name == "vae_mipd[shifted: default scenario -> renal.yaml]"
    assert policy.belief_name == "a patient VAE trained under default scenario"
    same = VAEMIPDPolicy(tiny_vae_path, env_core(VANCOMYCIN), env_id=VANCOMYCIN)
    assert same.name == "vae_mipd" and same.shift is None


def test_vae_mipd__another_env_is_refused(tiny_vae_path: Path) -> None:
    """The env id must be the VAE's own."""
    with pytest.raises(ValueError, match="trained on pkgym/Vancomycin-v0, not pkgym/Warfarin"):
        VAEMIPDPolicy(tiny_vae_path, env_core(VANCOMYCIN), env_id="pkgym/Warfarin-v0")
