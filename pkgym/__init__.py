"""pkgym: Gymnasium environments for drug-dosing decisions on published pharmacometric models.

Importing the package registers every environment (``pkgym/Vancomycin-v0``, ...).
"""

from __future__ import annotations

__version__ = "0.1.0"

from pkgym import envs  # noqa: E402,F401  (registers the environments)
