"""What the drug-agnostic agents need to know about ``pkgym/Chemotherapy-v0`` (its hooks).

Named by the env's registry entry (``EnvSpec.agent_hooks``) and read through
:func:`agents.env_hooks.agent_hooks`:

* the asymmetric critic (:mod:`agents.rl.privileged`): :data:`PRIVILEGED_KEYS`.

Not provided: the MAP forecast's, the VAE's and VAE-MIPD's hooks (this env has no patient
VAE; its MAP dosing lives in :mod:`agents.policies.chemotherapy.map`).
"""

from __future__ import annotations

PRIVILEGED_KEYS = {
    "clearance_l_per_h": "log", "circ0_1e9_per_l": "log", "mtt_h": "log",
    "slope_l_per_mg": "log", "tumour_growth_per_h": "log", "tumour_kill_l_per_mg_per_h": "log",
    "tumour_resistance_per_h": "log", "state": "log1p", "anc_nadir_1e9_per_l": "log",
    "sld_relative": "log"}
"""The hidden patient the asymmetric critic sees, as ``info`` key -> transform: the true
docetaxel CL, the myelosuppression parameters (baseline ANC, mean transit time, drug effect
slope; the feedback exponent is the same for every patient, so left out), the tumour's
growth, kill and resistance rates, the whole model state now (PK amounts, the neutrophil
compartments with the true ANC, the tumour size), the true nadir of the last cycle and the
tumour size relative to baseline."""
