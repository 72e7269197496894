"""Assertions shared by the environment contract tests (one copy for every env)."""

from __future__ import annotations

import numpy as np


def assert_slot(obs: dict | np.ndarray, info: dict, i: int, single_obs: dict,
                single_info: dict) -> None:
    """Slot i of a vector env's observation (or final_obs) and info equals a single env's."""
    slot_obs = obs[i] if isinstance(obs, np.ndarray) else {key: obs[key][i] for key in obs}
    assert slot_obs.keys() == single_obs.keys()
    for key in single_obs:
        np.testing.assert_array_equal(slot_obs[key], single_obs[key], err_msg=key)
    for key in single_info:
        np.testing.assert_array_equal(info[key][i], single_info[key], err_msg=key)
