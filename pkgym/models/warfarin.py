"""Warfarin PK/PD and INR: the Hamberg et al. 2007 and 2010 models (2010 is the default).

* Hamberg AK, Wadelius M, Lindh JD, Dahl ML, Padrini R, Deloukas P, Rane A, Jonsson EN. A
  pharmacometric model describing the relationship between warfarin dose and INR response
  with respect to variations in CYP2C9, VKORC1, and age. Clin Pharmacol Ther 2010;
  87(6):727-734 (``Hamberg2010``: Tables 2 and 4, dataset C, the final pooled fit).
* Hamberg AK, Dahl ML, Barban M, Scordo MG, Wadelius M, Pengo V, Padrini R, Jonsson EN. A
  PK-PD model for predicting the impact of age, CYP2C9, and VKORC1 genotype on individualization
  of warfarin therapy. Clin Pharmacol Ther 2007;81(4):529-538 (``Hamberg2007``: Tables 2, 4).

Both models take the racemic dose and follow S-warfarin: ``S-dose = 0.5 * dose`` enters a
depot absorbed at ka = 2/h (fixed) into a one- (2010) or two-compartment (2007) disposition
with apparent CL/F and V/F (F = 1). The effect ``E = C^g / (EC50^g + C^g)`` (Emax 1) inhibits
the input of two transit chains of equal-rate compartments (``ktr = n / MTT``)::

    dA_1/dt = ktr (1 - E - A_1),   dA_k/dt = ktr (A_(k-1) - A_k),   A(0) = 1
    2010: INR = BASE + INRmax (1 - (A1_3 + A2_3) / 2)        chains of 3 and 3
    2007: INR = BASE + INRmax (1 - A1_6 A2_1)^lambda         chains of 6 and 1

Clearance: 2010 sums CYP2C9 allele contributions (*1 0.174, *2 0.0879, *3 0.0422 L/h) and
scales by ``1 - 0.00571 (age - 71)``; 2007 reduces the *1/*1 value 0.314 L/h by a fraction per
diplotype and scales by ``1 - 0.0091 (age - 71)``. EC50 by VKORC1 -1639: 2010 sums allele
contributions (G 2.05, A 0.96 mg/L); 2007 tabulates G/G 4.61, G/A 3.02, A/A 2.20 mg/L.

No primary table could be opened while building this; values come from four public
implementations that quote them (ReiL ``hamberg_pkpd_2010.py``/``hamberg_pkpd.py``, DavAug
``mipd-warfarin``, nlmixr2lib ``Hamberg_2007_warfarin_s`` and ``Xia_2024_warfarin``; see
``docs/research/warfarin.md`` section 1). Where they disagree, pkgym chooses:

* **2010 gamma and MTTs**: 1.15, 28.6 h and 118.3 h (ReiL, DavAug, Crawford: "dataset C"),
  not Xia 2024's 1.39, 27.2 h, 110.9 h.
* **MTT means the whole chain** (``ktr = n / MTT``) in both models, as ReiL and Ravvaz 2017
  read 2007; nlmixr2lib uses ``ktr = 1 / MTT`` for 2007, making the 6-compartment chain six
  times slower than the factor VII turnover it stands for.
* **Age**: CL falls with age in both models (ReiL's 2010 code has the sign inverted).
* **IIV scale**: 2010 values are variances of log (omega^2: CL 0.089, V 0.054, EC50 0.34, as
  ReiL reads them; DavAug reads them as SDs); 2007 values are %CV (omega^2 = log(1 + CV^2), as
  nlmixr2lib reads them; ReiL reads them as variances). ReiL's IIV on KDE is not modelled:
  KDE = CL/V follows from CL and V.
* **BASE**: 1 (ReiL, DavAug); 2007 used each patient's pre-dose INR.
* **F**: 1 (CL and V are apparent); ReiL's 2007 class multiplies by 0.9, not from Hamberg.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, fields

import numpy as np

from pkgym.models.warfarin_inr import InrStructure
from pkgym.populations.variability import BetweenSubjectVariability
from pkgym.populations.warfarin import CYP2C9_DIPLOTYPES, RACES, VKORC1_GENOTYPES

H2010 = "Hamberg et al. 2010, Clin Pharmacol Ther 87:727"
H2007 = "Hamberg et al. 2007, Clin Pharmacol Ther 81:529"
S_FRACTION = 0.5
"""Share of S-warfarin in the racemic tablet."""
CYP2C9_ALLELES = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))
"""Allele indices (*1 = 0, *2 = 1, *3 = 2) of each diplotype of ``CYP2C9_DIPLOTYPES``."""
VKORC1_A_ALLELES = (0, 1, 2)
"""Number of -1639A alleles of each genotype of ``VKORC1_GENOTYPES``."""


RSE_2007 = (f"{H2007}, Tables 2 and 4, as quoted by nlmixr2lib Hamberg_2007_warfarin_s "
            "(primary table not opened)")
RSE_2010 = (f"{H2010}, Tables 2 and 4, as quoted by M. Crawford's R port hamberg_2010() "
            "(primary table not opened; one secondary source)")


def _p(value: float, unit: str, source: str, rse: float | None = None,
       rse_source: str = "") -> float:
    metadata: dict[str, object] = {"unit": unit, "source": source}
    if rse is not None:
        metadata |= {"rse": rse, "rse_source": rse_source}
    return field(default=value, metadata=metadata)


@dataclass(frozen=True, slots=True)
class WarfarinParameters:
    """Individual S-warfarin PK/PD parameters of n patients (all shape (n,)).

    ``peripheral_volume_l`` and ``intercompartmental_clearance_l_per_h`` are 0 for the
    one-compartment 2010 model.
    """

    clearance_l_per_h: np.ndarray
    central_volume_l: np.ndarray
    intercompartmental_clearance_l_per_h: np.ndarray
    peripheral_volume_l: np.ndarray
    ec50_mg_per_l: np.ndarray
    hill: np.ndarray
    mtt1_h: np.ndarray
    mtt2_h: np.ndarray

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return int(self.clearance_l_per_h.shape[0])

    def row(self, i: int) -> WarfarinParameters:
        """Patient ``i`` as a batch of one."""
        return WarfarinParameters(*(getattr(self, f.name)[i:i + 1] for f in fields(self)))


class _Hamberg:
    """Shared behaviour of the two parameter sets (validation, variability, error models)."""

    def _validate(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            values = np.atleast_1d(np.asarray(value, dtype=np.float64))
            may_be_zero = f.name.startswith(("omega", "residual", "clearance_reduction"))
            low_ok = values >= 0 if may_be_zero else values > 0
            if not (np.all(np.isfinite(values)) and np.all(low_ok)):
                raise ValueError(f"{type(self).__name__}.{f.name} must be finite and "
                                 f"{'>= 0' if f.name.startswith('omega') else '> 0'}, got {value}")

def diagonal_variability(names: tuple[str, ...],
                         variances: tuple[float, ...]) -> BetweenSubjectVariability:
    """Independent log-normal IIV of ``names`` with these variances of log (omega diagonal).

    The validated object is immutable and built once per (names, variances): an env reads
    ``model.variability`` at every reset, and its symmetry and PSD checks cost more than
    the reset's arithmetic.

    Examples:
        >>> a = diagonal_variability(("CL",), (0.09,))
        >>> a is diagonal_variability(("CL",), (0.09,)), a.omega.tolist()
        (True, [[0.09]])
    """
    return _diagonal_variability(tuple(names), tuple(float(v) for v in variances))


@functools.lru_cache(maxsize=64)
def _diagonal_variability(names: tuple[str, ...],
                          variances: tuple[float, ...]) -> BetweenSubjectVariability:
    """:func:`diagonal_variability`, cached on hashable arguments."""
    return BetweenSubjectVariability(names=names, omega=np.diag(variances))


def _age_factor(age_years: np.ndarray, per_year: float, reference: float) -> np.ndarray:
    """``1 - per_year (age - reference)``, checked to stay positive."""
    age = np.asarray(age_years, dtype=np.float64)
    if not np.all(np.isfinite(age)) or np.any((age < 0) | (age > 130)):
        raise ValueError(f"age_years must be in [0, 130], got {age[:5].tolist()}")
    return 1.0 - per_year * (age - reference)


def _codes(codes: np.ndarray, n_allowed: int, name: str, labels: tuple[str, ...]) -> np.ndarray:
    array = np.asarray(codes)
    if not np.issubdtype(array.dtype, np.integer) or np.any((array < 0) | (array >= n_allowed)):
        raise ValueError(f"{name} must hold integer codes 0..{n_allowed - 1} for {labels}, "
                         f"got {array[:5].tolist()}")
    return array.astype(np.int64)


def _flags(flags: np.ndarray, n: int, name: str) -> np.ndarray:
    """0/1 flags of n patients as booleans, or a ValueError naming ``name``."""
    array = np.asarray(flags, dtype=np.float64)
    if array.shape != (n,) or not np.all((array == 0) | (array == 1)):
        raise ValueError(f"{name} must hold 0/1 with shape ({n},), got {array[:5].tolist()}")
    return array == 1


def _etas(etas: np.ndarray | None, n: int, k: int) -> np.ndarray:
    if etas is None:
        return np.zeros((n, k))
    array = np.asarray(etas, dtype=np.float64)
    if array.shape != (n, k) or not np.all(np.isfinite(array)):
        raise ValueError(f"etas must be finite with shape ({n}, {k}), got {array.shape}")
    return array


@dataclass(frozen=True, slots=True, kw_only=True)
class Hamberg2010(_Hamberg):
    """The 2010 K-PD model (default): see the module docstring for equations and choices."""

    clearance_star1_l_per_h: float = _p(0.174, "L/h per allele", f"{H2010}, Table 2")
    clearance_star2_l_per_h: float = _p(0.0879, "L/h per allele", f"{H2010}, Table 2",
                                         0.15, RSE_2010)
    clearance_star3_l_per_h: float = _p(0.0422, "L/h per allele", f"{H2010}, Table 2",
                                         0.46, RSE_2010)
    age_effect_per_year: float = _p(0.00571, "1/y", f"{H2010}, Table 2", 0.578, RSE_2010)
    reference_age_years: float = _p(71.0, "y", f"{H2010}, Table 2")
    volume_l: float = _p(14.3, "L", f"{H2010}, Table 2", 0.0345, RSE_2010)
    absorption_rate_per_h: float = _p(2.0, "1/h (fixed)", f"{H2010}, Table 2")
    ec50_g_mg_per_l: float = _p(2.05, "mg/L per allele", f"{H2010}, Table 4", 0.102, RSE_2010)
    ec50_a_mg_per_l: float = _p(0.96, "mg/L per allele", f"{H2010}, Table 4", 0.097, RSE_2010)
    hill: float = _p(1.15, "-", f"{H2010}, Table 4 (dataset C)")
    mtt1_h: float = _p(28.6, "h", f"{H2010}, Table 4 (dataset C)", 0.024, RSE_2010)
    mtt2_h: float = _p(118.3, "h", f"{H2010}, Table 4 (dataset C)")
    inr_max: float = _p(20.0, "- (fixed)", H2010)
    baseline_inr: float = _p(1.0, "-", "ReiL and DavAug implementations of " + H2010)
    omega_clearance: float = _p(0.089, "variance of log", f"{H2010}, Table 2")
    omega_volume: float = _p(0.054, "variance of log", f"{H2010}, Table 2")
    omega_ec50: float = _p(0.34, "variance of log", f"{H2010}, Table 4")
    residual_concentration_log_sd: float = _p(0.099, "SD of log", f"{H2010}, Table 2")
    residual_inr_log_sd: float = _p(0.20, "SD of log", f"{H2010}, Table 4")
    ec50_race_factor: tuple[float, ...] = field(
        default=(1.0, 1.0, 1.0, 1.0),
        metadata={"unit": "multiplier of EC50, per RACES", "source": "not in Hamberg 2010 (1)"})
    amiodarone_clearance_factor: float = _p(1.0, "multiplier of CL", "not in Hamberg 2010 (1)")
    enzyme_inducer_clearance_factor: float = _p(1.0, "multiplier of CL",
                                                "not in Hamberg 2010 (1)")

    def __post_init__(self) -> None:
        """All parameters finite and positive (omegas and residual SDs may be 0)."""
        self._validate()
        if len(self.ec50_race_factor) != len(RACES):
            raise ValueError(f"ec50_race_factor needs one value per race {RACES}, got "
                             f"{self.ec50_race_factor}")

    @property
    def structure(self) -> InrStructure:
        """Two chains of 3; INR from their mean; one-compartment S-warfarin."""
        return InrStructure((3, 3), "mean", 1.0, self.inr_max, self.baseline_inr,
                            self.absorption_rate_per_h, two_compartment=False)

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Diagonal log-normal IIV on CL, V and EC50 (built once per set of variances)."""
        return diagonal_variability(("CL", "V", "EC50"), (
            self.omega_clearance, self.omega_volume, self.omega_ec50))

    def parameters(self, cyp2c9: np.ndarray, vkorc1: np.ndarray, age_years: np.ndarray,
                   etas: np.ndarray | None = None, *, race: np.ndarray | None = None,
                   amiodarone: np.ndarray | None = None,
                   enzyme_inducer: np.ndarray | None = None) -> WarfarinParameters:
        """Individual parameters from genotype codes (indices into the label tuples), age, etas.

        Args:
            cyp2c9: index into ``CYP2C9_DIPLOTYPES``, shape (n,).
            vkorc1: index into ``VKORC1_GENOTYPES``, shape (n,).
            age_years: age, years, shape (n,).
            etas: random effects on (CL, V, EC50), shape (n, 3); ``None`` for typical values.
            race: index into ``RACES`` (scales EC50 by ``ec50_race_factor``), (n,).
            amiodarone: 0/1 (scales CL by ``amiodarone_clearance_factor``), (n,).
            enzyme_inducer: 0/1 (scales CL by ``enzyme_inducer_clearance_factor``), (n,).
            Each of these three ``None`` leaves the parameters as published (factor 1).

        Examples:
            >>> codes = np.array([0, 5]), np.array([0, 2])
            >>> p = Hamberg2010().parameters(*codes, np.array([71.0, 71]))
            >>> p.clearance_l_per_h.round(4).tolist(), p.ec50_mg_per_l.round(2).tolist()
            ([0.348, 0.0844], [4.1, 1.92])
        """
        cyp = _codes(cyp2c9, len(CYP2C9_DIPLOTYPES), "cyp2c9", CYP2C9_DIPLOTYPES)
        vk = _codes(vkorc1, len(VKORC1_GENOTYPES), "vkorc1", VKORC1_GENOTYPES)
        n = cyp.shape[0]
        eta = _etas(etas, n, 3)
        per_allele = np.array([self.clearance_star1_l_per_h, self.clearance_star2_l_per_h,
                               self.clearance_star3_l_per_h])
        alleles = np.asarray(CYP2C9_ALLELES)[cyp]
        clearance = per_allele[alleles].sum(axis=1) * _age_factor(
            age_years, self.age_effect_per_year, self.reference_age_years)
        a_alleles = np.asarray(VKORC1_A_ALLELES)[vk]
        ec50 = (2 - a_alleles) * self.ec50_g_mg_per_l + a_alleles * self.ec50_a_mg_per_l
        if race is not None:
            ec50 = ec50 * np.asarray(self.ec50_race_factor)[
                _codes(race, len(RACES), "race", RACES)]
        for flags, factor, name in ((amiodarone, self.amiodarone_clearance_factor, "amiodarone"),
                                    (enzyme_inducer, self.enzyme_inducer_clearance_factor,
                                     "enzyme_inducer")):
            if flags is not None:
                clearance = clearance * np.where(_flags(flags, n, name), factor, 1.0)
        zeros = np.zeros(n)
        return WarfarinParameters(
            clearance * np.exp(eta[:, 0]), np.full(n, self.volume_l) * np.exp(eta[:, 1]),
            zeros, zeros.copy(), ec50 * np.exp(eta[:, 2]), np.full(n, self.hill),
            np.full(n, self.mtt1_h), np.full(n, self.mtt2_h))


def _omega_from_cv(cv: float) -> float:
    return float(np.log1p(cv**2))


@dataclass(frozen=True, slots=True, kw_only=True)
class Hamberg2007(_Hamberg):
    """The 2007 concentration-driven model: see the module docstring for equations and choices."""

    clearance_l_per_h: float = _p(0.314, "L/h (*1/*1, age 71)", f"{H2007}, Table 2", 0.0395,
                                   RSE_2007)
    clearance_reduction: tuple[float, ...] = field(
        default=(0.0, 0.315, 0.453, 0.722, 0.690, 0.852),
        metadata={"unit": "fraction, per CYP2C9_DIPLOTYPES", "source": f"{H2007}, Table 2",
                  "rse": (None, 0.138, 0.0806, 0.0870, 0.0442, None), "rse_source": RSE_2007})
    age_effect_per_year: float = _p(0.0091, "1/y", f"{H2007}, Table 2", 0.289, RSE_2007)
    reference_age_years: float = _p(71.0, "y", f"{H2007}, Table 2")
    central_volume_l: float = _p(13.8, "L", f"{H2007}, Table 2", 0.0364, RSE_2007)
    intercompartmental_clearance_l_per_h: float = _p(0.131, "L/h", f"{H2007}, Table 2", 0.163,
                                                      RSE_2007)
    peripheral_volume_l: float = _p(6.59, "L", f"{H2007}, Table 2", 0.241, RSE_2007)
    absorption_rate_per_h: float = _p(2.0, "1/h (fixed)", f"{H2007}, Table 2")
    ec50_mg_per_l: tuple[float, ...] = field(
        default=(4.61, 3.02, 2.20),
        metadata={"unit": "mg/L, per VKORC1_GENOTYPES", "source": f"{H2007}, Table 4",
                  "rse": (0.414, 0.374, 0.386), "rse_source": RSE_2007})
    hill: float = _p(0.424, "-", f"{H2007}, Table 4", 0.124, RSE_2007)
    mtt1_h: float = _p(11.6, "h (whole 6-compartment chain)", f"{H2007}, Table 4", 0.0465,
                        RSE_2007)
    mtt2_h: float = _p(120.0, "h", f"{H2007}, Table 4", 0.230, RSE_2007)
    inr_exponent: float = _p(3.61, "-", f"{H2007}, Table 4", 0.0922, RSE_2007)
    inr_max: float = _p(20.0, "- (fixed)", f"{H2007}, Appendix")
    baseline_inr: float = _p(1.0, "-", "ReiL implementation of " + H2007)
    omega_clearance: float = _p(_omega_from_cv(0.310), "variance of log (31.0% CV)", H2007)
    omega_central_volume: float = _p(_omega_from_cv(0.262), "variance of log (26.2% CV)", H2007)
    omega_peripheral_volume: float = _p(_omega_from_cv(0.991), "variance of log (99.1% CV)",
                                        H2007)
    omega_mtt1: float = _p(_omega_from_cv(0.141), "variance of log (14.1% CV)", H2007)
    omega_mtt2: float = _p(_omega_from_cv(1.02), "variance of log (102% CV)", H2007)
    omega_ec50: float = _p(_omega_from_cv(0.409), "variance of log (40.9% CV)", H2007)
    residual_concentration_log_sd: float = _p(0.301, "SD of log (steady state)", H2007)
    residual_inr_log_sd: float = _p(0.0325, "SD of log", f"{H2007}, Table 4")

    def __post_init__(self) -> None:
        """All parameters finite and positive; reductions in [0, 1); one value per genotype."""
        self._validate()
        if len(self.clearance_reduction) != len(CYP2C9_DIPLOTYPES) or not all(
                0 <= r < 1 for r in self.clearance_reduction):
            raise ValueError(f"clearance_reduction needs {len(CYP2C9_DIPLOTYPES)} values in "
                             f"[0, 1), one per {CYP2C9_DIPLOTYPES}")
        if len(self.ec50_mg_per_l) != len(VKORC1_GENOTYPES):
            raise ValueError(f"ec50_mg_per_l needs one value per {VKORC1_GENOTYPES}")

    @property
    def structure(self) -> InrStructure:
        """Chains of 6 and 1; INR from the product; two-compartment S-warfarin."""
        return InrStructure((6, 1), "product", self.inr_exponent, self.inr_max,
                            self.baseline_inr, self.absorption_rate_per_h, two_compartment=True)

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Diagonal log-normal IIV on CL, V1, V2, MTT1, MTT2 and EC50 (built once, cached)."""
        return diagonal_variability(("CL", "V1", "V2", "MTT1", "MTT2", "EC50"), (
            self.omega_clearance, self.omega_central_volume, self.omega_peripheral_volume,
            self.omega_mtt1, self.omega_mtt2, self.omega_ec50))

    def parameters(self, cyp2c9: np.ndarray, vkorc1: np.ndarray, age_years: np.ndarray,
                   etas: np.ndarray | None = None, **_covariates: np.ndarray | None,
                   ) -> WarfarinParameters:
        """Individual parameters (see :meth:`Hamberg2010.parameters`; six etas here).

        Hamberg 2007 has no race or co-medication terms: ``race``, ``amiodarone`` and
        ``enzyme_inducer`` keywords are accepted (one signature for both models) and ignored.

        Examples:
            >>> codes = np.array([0, 2]), np.array([0, 1])
            >>> p = Hamberg2007().parameters(*codes, np.array([71.0, 81]))
            >>> p.clearance_l_per_h.round(4).tolist(), p.ec50_mg_per_l.tolist()
            ([0.314, 0.1561], [4.61, 3.02])
        """
        cyp = _codes(cyp2c9, len(CYP2C9_DIPLOTYPES), "cyp2c9", CYP2C9_DIPLOTYPES)
        vk = _codes(vkorc1, len(VKORC1_GENOTYPES), "vkorc1", VKORC1_GENOTYPES)
        n = cyp.shape[0]
        eta = np.exp(_etas(etas, n, 6))
        clearance = self.clearance_l_per_h * (1.0 - np.asarray(self.clearance_reduction)[cyp]) \
            * _age_factor(age_years, self.age_effect_per_year, self.reference_age_years)
        ones = np.ones(n)
        return WarfarinParameters(
            clearance * eta[:, 0], self.central_volume_l * eta[:, 1],
            self.intercompartmental_clearance_l_per_h * ones, self.peripheral_volume_l * eta[:, 2],
            np.asarray(self.ec50_mg_per_l)[vk] * eta[:, 5], self.hill * ones,
            self.mtt1_h * eta[:, 3], self.mtt2_h * eta[:, 4])


HambergModel = Hamberg2010 | Hamberg2007
"""Either Hamberg parameter set."""


def measure_log_normal(true_values: np.ndarray, normals: np.ndarray, log_sd: float) -> np.ndarray:
    """Hamberg's log-additive residual error: ``true * exp(log_sd * z)`` for standard normals z.

    Examples:
        >>> measure_log_normal(np.array([2.0, 2.0]), np.array([0.0, 1.0]), 0.1).round(4).tolist()
        [2.0, 2.2103]
    """
    values = np.asarray(true_values, dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(f"true_values must be finite and >= 0, got {values.ravel()[:5].tolist()}")
    return values * np.exp(log_sd * np.asarray(normals, dtype=np.float64))
