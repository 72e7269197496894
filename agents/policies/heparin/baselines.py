"""Clinical heparin policies for ``pkgym/Heparin-v0``: Raschke's weight-based nomogram, and a floor.

Decisions are ``(bolus U/kg, hold h, rate U/kg/h)``, shape (n_envs, 3), made at hour 0 and
after every aPTT (6-hourly). A new episode is recognised by its single aPTT (the control).

:class:`RaschkePolicy`: Raschke RA, Reilly BM, Guidry JR, Fontana JR, Srinivas S. The
weight-based heparin dosing nomogram compared with a "standard care" nomogram. Ann Intern Med
1993;119:874-881 (its Table 1). Start: 80 U/kg bolus, 18 U/kg/h. Then, by aPTT:

| aPTT (s), Raschke's reagent | x control | action |
|---|---|---|
| < 35 | < 1.2 | 80 U/kg bolus, rate + 4 U/kg/h |
| 35-45 | 1.2-1.5 | 40 U/kg bolus, rate + 2 U/kg/h |
| 46-70 | 1.5-2.3 | no change |
| 71-90 | 2.3-3.0 | rate - 2 U/kg/h |
| > 90 | > 3.0 | hold the infusion 1 h, then rate - 3 U/kg/h |

The bands were calibrated to that paper's aPTT reagent (therapeutic 46-70 s = 1.5-2.3 x a
~30-s control). We map them onto the env's target range ``[low, high]`` linearly in seconds,
Raschke's 46 s onto ``low`` and 70 s onto ``high``: an aPTT ``a`` reads as Raschke's
``46 + (a - low) * 24 / (high - low)``; with 60-100 s the band edges become 41.7, 60, 100 and
133 s (the 45/46 s gap is closed at 46). Raschke re-checks 6 h after every change and daily
once two results are therapeutic; the env measures every 6 h and the nomogram acts on every
measurement. Rates stay within the env's 0-40 U/kg/h.

:class:`FixedPolicy`: Raschke's start (80 U/kg, 18 U/kg/h) never adjusted: a floor.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

RASCHKE_BOLUS_U_PER_KG, RASCHKE_RATE_U_PER_KG_PER_H = 80.0, 18.0
RASCHKE_BANDS_S = (35.0, 46.0, 70.0, 90.0)
"""Raschke's band edges in his reagent's seconds: below 35, 35-45, 46-70, 71-90, above 90."""
RASCHKE_ACTIONS = ((80.0, 0.0, 4.0), (40.0, 0.0, 2.0), (0.0, 0.0, 0.0), (0.0, 0.0, -2.0),
                   (0.0, 1.0, -3.0))
"""Per band: (bolus U/kg, hold h, rate change U/kg/h)."""


def latest_aptt(observation: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The newest measured aPTT of each patient, s, and its index (0: the control), (n,) each."""
    mask = np.asarray(observation["aptt_mask"]) > 0
    index = mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1)
    values = np.asarray(observation["aptt_s"], dtype=np.float64)
    return values[np.arange(values.shape[0]), index], index


def starts(n: int) -> np.ndarray:
    """Raschke's first decision for ``n`` patients: 80 U/kg bolus, 18 U/kg/h."""
    return np.tile([RASCHKE_BOLUS_U_PER_KG, 0.0, RASCHKE_RATE_U_PER_KG_PER_H], (n, 1))


class RaschkePolicy:
    """Raschke 1993's weight-based nomogram, its bands mapped onto the env's range."""

    reads_hidden_state = False

    def __init__(self, max_rate_u_per_kg_per_h: float = 40.0) -> None:
        """Rates are kept within ``0..max_rate_u_per_kg_per_h``."""
        self.name, self.max_rate = "raschke", float(max_rate_u_per_kg_per_h)

    def reset(self, n_envs: int) -> None:
        """Nothing to forget: the nomogram reads the latest aPTT and rate."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Decisions (n, 3) by the nomogram's band of each latest aPTT."""
        aptt, index = latest_aptt(observation)
        target = np.asarray(observation["target_aptt_s"], dtype=np.float64)
        low, high = target[:, 0], target[:, 1]
        raschke_s = RASCHKE_BANDS_S[1] + (aptt - low) * (
            RASCHKE_BANDS_S[2] - RASCHKE_BANDS_S[1]) / (high - low)
        edges = RASCHKE_BANDS_S
        band = np.select([raschke_s < edges[0], raschke_s < edges[1], raschke_s <= edges[2],
                          raschke_s <= edges[3]], [0, 1, 2, 3], 4)
        table = np.array(RASCHKE_ACTIONS)[band]
        rate = np.asarray(observation["current_rate_u_per_kg_per_h"], np.float64)[:, 0]
        out = np.column_stack([table[:, 0], table[:, 1],
                               np.clip(rate + table[:, 2], 0.0, self.max_rate)])
        first = index == 0
        out[first] = starts(int(first.sum()))
        return out


class FixedPolicy:
    """Raschke's start (80 U/kg bolus, 18 U/kg/h) and no adjustment after it."""

    reads_hidden_state = False

    def __init__(self) -> None:
        """No settings."""
        self.name = "fixed"

    def reset(self, n_envs: int) -> None:
        """Nothing to forget."""

    def act(self, observation: Mapping[str, np.ndarray],
            info: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """The start at hour 0, then the same rate without boluses."""
        _, index = latest_aptt(observation)
        out = np.tile([0.0, 0.0, RASCHKE_RATE_U_PER_KG_PER_H], (index.size, 1))
        first = index == 0
        out[first] = starts(int(first.sum()))
        return out
