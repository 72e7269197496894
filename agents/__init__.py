"""Dosing agents: baselines, SB3 training and encoders. Depends on pkgym, never the reverse."""
