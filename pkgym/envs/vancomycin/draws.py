"""Each vancomycin episode's random numbers, drawn compiled on every slot's own generators.

:func:`draw_episodes` calls the slots' bit generators through their ``bitgen_t`` addresses
(:mod:`pkgym.sim.bitgen`), so it gives exactly the numbers (and leaves exactly the generator
states) of ``VancomycinCore._draw_with_numpy``, the five ``Generator`` calls per slot it
replaces (``random(out=...)`` is ``next_double`` per number in C order, ``standard_normal``
is numpy's ``random_standard_normal`` per number), without a Python call per slot.
"""

from __future__ import annotations

import numba
import numpy as np

from pkgym.sim.bitgen import next_double, standard_normal


@numba.njit(cache=True, error_model="numpy")
def draw_episodes(addresses: np.ndarray, normal: int, covariates: np.ndarray, eta: np.ndarray,
                  levels: np.ndarray, creatinine: np.ndarray,
                  kidney: np.ndarray) -> None:  # pragma: no cover - compiled
    """Slot after slot, its episode's draws into its row ``k`` of each ``out`` array.

    Per slot, in this order: the covariate uniforms and eta normals from its patient stream
    (``addresses[k, 0]``), the level uniforms and creatinine normals from its noise stream
    (``addresses[k, 1]``), the kidney uniforms (C order) from its events stream
    (``addresses[k, 2]``).

    Args:
        addresses: the slots' ``bitgen_t`` addresses, (m, 3) (patient, noise, events).
        normal: :data:`pkgym.sim.bitgen.NUMPY_NORMAL` (not 0).
        covariates: (m, n_covariate_draws) float64, row k written.
        eta: (m, 3) float64, row k written.
        levels: (m, n_levels) float64, row k written.
        creatinine: (m, n_days) float64, row k written.
        kidney: (m, n_days, 3) float64, row k written.
    """
    for k in range(addresses.shape[0]):
        patient, noise, events = addresses[k, 0], addresses[k, 1], addresses[k, 2]
        for j in range(covariates.shape[1]):
            covariates[k, j] = next_double(patient)
        for j in range(eta.shape[1]):
            eta[k, j] = standard_normal(normal, patient)
        for j in range(levels.shape[1]):
            levels[k, j] = next_double(noise)
        for j in range(creatinine.shape[1]):
            creatinine[k, j] = standard_normal(normal, noise)
        for d in range(kidney.shape[1]):
            for j in range(kidney.shape[2]):
                kidney[k, d, j] = next_double(events)
