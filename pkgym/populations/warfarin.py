"""Warfarin patients: the IWPC covariates (demographics, genotypes, co-medication) by ancestry.

(The population itself is being built; these labels are the shared vocabulary of the model,
the environment and the dosing protocols.)
"""

from __future__ import annotations

CYP2C9_DIPLOTYPES = ("*1/*1", "*1/*2", "*1/*3", "*2/*2", "*2/*3", "*3/*3")
"""CYP2C9 diplotypes of the *2 (rs1799853) and *3 (rs1057910) alleles, in this order."""
VKORC1_GENOTYPES = ("G/G", "G/A", "A/A")
"""VKORC1 -1639G>A (rs9923231) genotypes, in this order (A = low-dose allele)."""
RACES = ("white", "asian", "black", "other")
"""IWPC race categories (``other``: missing or mixed race), in this order."""
