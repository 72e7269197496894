"""The canonical unit system of pkgym.

Inside the package every quantity uses one unit, named as a suffix of the field:

=================  ============  =====================================
quantity           unit          field suffix
=================  ============  =====================================
time               h             ``_h``
amount (dose)      mg            ``_mg``
volume             L             ``_l``
clearance          L/h           ``_l_per_h``
rate constant      1/h           ``_per_h``
concentration      mg/L          ``_mg_per_l``
exposure (AUC)     mg*h/L        ``_mg_h_per_l``
infusion rate      mg/h          ``_mg_per_h``
body weight        kg            ``_kg``
height             cm            ``_cm``
serum creatinine   mg/dL         ``_mg_per_dl``
creatinine cl.     mL/min        ``_ml_per_min``
body surface area  m^2           ``_m2``
age                years         ``_years``
=================  ============  =====================================

Conversions happen only at boundaries (YAML, wrappers, reports).
"""

from __future__ import annotations

HOURS_PER_DAY = 24.0
HOURS_PER_WEEK = 7.0 * HOURS_PER_DAY
CREATININE_UMOL_PER_L_PER_MG_PER_DL = 88.42
"""Serum creatinine: 1 mg/dL = 88.42 umol/L."""
ML_PER_MIN_TO_L_PER_H = 0.06
"""1 mL/min = 0.06 L/h."""
