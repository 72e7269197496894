"""Shared pieces of the docetaxel policy tests: patients, envs and hand-built observations."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium
import numpy as np
import pandas as pd

import pkgym  # noqa: F401  (registers pkgym/Chemotherapy-v0)
from agents.policies.chemotherapy.baselines import (
    LabelRulesPolicy,
)
from pkgym.envs.chemotherapy.clinic import ChemotherapyScenario
from pkgym.envs.chemotherapy.records import PLACEHOLDER
from pkgym.models.chemotherapy import DocetaxelPatientModel

ENV_ID = "pkgym/Chemotherapy-v0"
MODEL = DocetaxelPatientModel()
SCENARIO = ChemotherapyScenario()
LEVELS = np.asarray(SCENARIO.dose_levels_percent)  # 0, 50, 75, 100, 125 % of 75 mg/m2
N_CYCLES, N_LABS = SCENARIO.n_cycles, len(SCENARIO.lab_days)  # labs on days 0, 7, 14
# Pinned patients' Friberg etas (CIRC0, MTT, SLOPE) for the MAP tests.
MAP_ETAS = np.array([[-0.3, 0.0, 0.5], [0.3, 0.1, -0.4], [-0.2, -0.2, 0.3], [0.2, 0.0, -0.5]])
# (CL, CIRC0, MTT, SLOPE) of the oracle's patients: typical, sensitive, tolerant, mixed.
ORACLE_ETAS = ((0.0, 0.0, 0.0, 0.0), (0.3, -0.2, 0.1, 0.4), (-0.3, 0.3, -0.2, -0.4),
               (0.0, -0.3, 0.0, 0.6), (0.2, 0.2, 0.2, -0.2))


def _covariates(n: int) -> dict[str, np.ndarray]:
    """``n`` 60-year-old men, BSA 1.8 m2, typical AAG, a 70 mm tumour."""
    return {"is_female": np.zeros(n), "age_years": np.full(n, 60.0), "bsa_m2": np.full(n, 1.8),
            "aag_g_per_l": np.full(n, 1.34), "hepatic_impairment": np.zeros(n),
            "baseline_sld_mm": np.full(n, 70.0)}


def _patients(etas: np.ndarray, **etas_by_name: float) -> pd.DataFrame:
    """Pinned placeholder patients with (CL, CIRC0, MTT, SLOPE) or (CIRC0, MTT, SLOPE) etas."""
    names = ("eta_CL", "eta_CIRC0", "eta_MTT", "eta_SLOPE")
    rows = []
    for i, row in enumerate(np.asarray(etas, dtype=np.float64)):
        given = dict(zip(names[len(names) - row.size:], row, strict=True))
        rows.append({**PLACEHOLDER, "id": i, **given, **etas_by_name})
    return pd.DataFrame(rows)


def _vector_env(n: int, **kwargs: object) -> gymnasium.vector.VectorEnv:
    """``n`` docetaxel patients in the native vector env."""
    return gymnasium.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                              **kwargs)


def _row(observation: Mapping[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
    """Env ``i`` of a batched observation as a batch of one."""
    return {key: np.asarray(value)[i:i + 1] for key, value in observation.items()}


def _observation(cycle: int, counts: Mapping[int, float] | None = None,
                 febrile_cycles: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
    """A hand-built clinic observation of one patient (batch of 1).

    ``counts`` maps lab slots ``c * 3 + k`` (day 0/7/14 of cycle c) to ANC (x10^9/L); the
    other slots of past cycles hold a normal count of 4.0, later slots are unmeasured.
    """
    anc, mask = np.zeros(N_CYCLES * N_LABS), np.zeros(N_CYCLES * N_LABS)
    measured = min(cycle * N_LABS + 1, anc.size)  # up to and including this cycle's day 0
    anc[:measured], mask[:measured] = 4.0, 1.0
    for slot, value in (counts or {}).items():
        anc[slot], mask[slot] = value, 1.0
    febrile = np.zeros(N_CYCLES)
    febrile[list(febrile_cycles)] = 1.0
    dose = np.where(np.arange(N_CYCLES) < cycle, 100.0, 0.0)
    single = {"covariates": np.array([60.0, 0.0, 80.0, 175.0, 1.97, 1.34, 0.0]),
              "anc_1e9_per_l": anc, "anc_mask": mask, "sld_mm": np.array([70.0, 0, 0, 0]),
              "sld_mask": np.array([1.0, 0, 0, 0]), "dose_percent": dose,
              "delayed": np.zeros(N_CYCLES), "febrile_neutropenia": febrile,
              "cycle": np.array([float(cycle)])}
    return {key: value[None].astype(np.float32) for key, value in single.items()}


def _label_doses(policy: LabelRulesPolicy,
                 observations: list[dict[str, np.ndarray]]) -> list[list[float]]:
    """The policy's decisions (as lists) for a sequence of observations of one patient."""
    return [np.atleast_1d(np.asarray(policy.act(o))[0]).tolist() for o in observations]
