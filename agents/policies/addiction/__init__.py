"""Addiction dosing policies: baselines, and MAP dosing and oracles where the drug has them."""
