"""Dosing policies by drug: clinical baselines, Bayesian MAP dosing and oracles."""
