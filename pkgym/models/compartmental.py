"""Generic 1-, 2- and 3-compartment models for a 70-kg adult, scaled allometrically by weight.

Used by ``pkgym simulate`` when the user gives the parameters on the command line. Clearances
scale with (WT/70)^0.75 and volumes with WT/70 (Holford 1996, Clin Pharmacokinet 30:329;
Anderson & Holford 2008, Annu Rev Pharmacol Toxicol 48:303). Between-subject variability is
log-normal on clearance and central volume (default omega^2 = 0.09, about 30% CV).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pkgym.sim.modal import LinearPKParams, compartment_params

PARAMETER_NAMES = {
    "one-compartment": ("CL", "V1"),
    "two-compartment": ("CL", "V1", "Q2", "V2"),
    "three-compartment": ("CL", "V1", "Q2", "V2", "Q3", "V3"),
}
"""Required command-line parameter names per generic model (KA, F and TLAG are optional)."""
OPTIONAL_NAMES = ("KA", "F", "TLAG")
REFERENCE_WEIGHT_KG = 70.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CompartmentalModel:
    """Typical parameters of a generic mammillary model for a 70-kg adult.

    Attributes:
        clearance_l_per_h: CL.
        central_volume_l: V1.
        intercompartmental_clearance_l_per_h: (Q2,) or (Q2, Q3).
        peripheral_volume_l: (V2,) or (V2, V3).
        absorption_rate_per_h: oral ka.
        bioavailability: oral F.
        lag_time_h: oral lag time.
        omega_clearance: variance of the log-normal eta on CL.
        omega_central_volume: variance of the log-normal eta on V1.
    """

    clearance_l_per_h: float = field(metadata={"unit": "L/h"})
    central_volume_l: float = field(metadata={"unit": "L"})
    intercompartmental_clearance_l_per_h: tuple[float, ...] = field(
        default=(), metadata={"unit": "L/h"})
    peripheral_volume_l: tuple[float, ...] = field(default=(), metadata={"unit": "L"})
    absorption_rate_per_h: float = field(default=1.0, metadata={"unit": "1/h"})
    bioavailability: float = field(default=1.0, metadata={"unit": "fraction"})
    lag_time_h: float = field(default=0.0, metadata={"unit": "h"})
    omega_clearance: float = field(default=0.09, metadata={"unit": "variance of log"})
    omega_central_volume: float = field(default=0.09, metadata={"unit": "variance of log"})

    def __post_init__(self) -> None:
        """Validate by building a one-patient parameter set (same rules as the simulator)."""
        if self.omega_clearance < 0 or self.omega_central_volume < 0:
            raise ValueError("omega_clearance and omega_central_volume must be >= 0")
        self.linear_params(np.array([REFERENCE_WEIGHT_KG]))

    @classmethod
    def from_named(cls, kind: str, values: Mapping[str, float]) -> CompartmentalModel:
        """Build from NONMEM-style names (CL, V1, Q2, V2, Q3, V3, KA, F, TLAG).

        Examples:
            >>> CompartmentalModel.from_named("one-compartment", {"CL": 5, "V1": 50}).n_compartments
            1
        """
        if kind not in PARAMETER_NAMES:
            raise ValueError(f"model must be one of {sorted(PARAMETER_NAMES)}, got {kind!r}")
        required = PARAMETER_NAMES[kind]
        allowed = set(required) | set(OPTIONAL_NAMES)
        unknown = sorted(set(values) - allowed)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for {kind}; allowed: {sorted(allowed)}"
            )
        missing = [name for name in required if name not in values]
        if missing:
            raise ValueError(f"missing parameter(s) {missing} for {kind}; required: {required}")
        n_per = (len(required) - 2) // 2
        return cls(
            clearance_l_per_h=values["CL"], central_volume_l=values["V1"],
            intercompartmental_clearance_l_per_h=tuple(values[f"Q{i + 2}"] for i in range(n_per)),
            peripheral_volume_l=tuple(values[f"V{i + 2}"] for i in range(n_per)),
            absorption_rate_per_h=values.get("KA", 1.0), bioavailability=values.get("F", 1.0),
            lag_time_h=values.get("TLAG", 0.0),
        )

    @property
    def n_compartments(self) -> int:
        """Central plus peripheral compartments."""
        return 1 + len(self.peripheral_volume_l)

    @property
    def omega(self) -> np.ndarray:
        """Diagonal omega matrix over (CL, V1)."""
        return np.diag([self.omega_clearance, self.omega_central_volume])

    def linear_params(
        self,
        weight_kg: np.ndarray,
        eta_clearance: np.ndarray | float = 0.0,
        eta_central_volume: np.ndarray | float = 0.0,
    ) -> LinearPKParams:
        """Individual parameters for patients of the given weights and random effects.

        Args:
            weight_kg: body weight per patient, kg, shape (n,).
            eta_clearance: eta on CL per patient (0 for the typical patient).
            eta_central_volume: eta on V1 per patient.

        Examples:
            >>> model = CompartmentalModel(clearance_l_per_h=5.0, central_volume_l=50.0)
            >>> model.linear_params(np.array([140.0])).clearance_l_per_h.round(4).tolist()
            [8.409]
        """
        size = np.asarray(weight_kg, dtype=np.float64) / REFERENCE_WEIGHT_KG
        cl_scale, v_scale = size**0.75, size
        return compartment_params(
            self.clearance_l_per_h * cl_scale * np.exp(eta_clearance),
            self.central_volume_l * v_scale * np.exp(eta_central_volume),
            intercompartmental_clearance_l_per_h=tuple(
                q * cl_scale for q in self.intercompartmental_clearance_l_per_h),
            peripheral_volume_l=tuple(v * v_scale for v in self.peripheral_volume_l),
            absorption_rate_per_h=self.absorption_rate_per_h,
            bioavailability=self.bioavailability,
            lag_time_h=self.lag_time_h,
        )
