"""Compatibility alias: models saved before 0.2 pickled their extractors as ``agents.encoders``.

The encoders live in :mod:`agents.rl.encoders`; this name stays so that those zips still load.
"""

from agents.rl.encoders import ScaledDictExtractor, VAEFeaturesExtractor

__all__ = ["ScaledDictExtractor", "VAEFeaturesExtractor"]
