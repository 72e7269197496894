"""pkgym: Gymnasium environments for drug-dosing decisions on published pharmacometric models."""

from __future__ import annotations

__version__ = "0.1.0"
