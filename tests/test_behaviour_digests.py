"""Every env's seeded vector rollout is byte-identical to the one recorded before the refactor."""

from __future__ import annotations

import json

import pytest

from benchmarks.behaviour_digests import BASELINES, DIGESTS, rollout_digest

RECORDED = json.loads(DIGESTS.read_text())


@pytest.mark.parametrize("env_id", sorted(BASELINES))
def test_rollout_digest__unchanged(env_id: str) -> None:
    """A 30-step, 8-patient seeded rollout hashes to the digest recorded on 0383c29."""
    assert rollout_digest(env_id) == RECORDED[env_id]["rollout"]
