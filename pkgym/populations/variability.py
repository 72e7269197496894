"""Between-subject variability: log-normal parameters with a full (correlated) omega matrix.

An individual parameter is ``P_i = TV(covariates_i) * exp(eta_i)`` with
``eta_i ~ N(0, Omega)``; ``Omega`` is the variance-covariance matrix of the etas, as in
NONMEM's $OMEGA BLOCK. Etas are drawn from the ``"bsv"`` stream of
:mod:`pkgym.populations.streams` as ``eta = L z`` with ``L`` the Cholesky factor of
``Omega`` and ``z`` the patient's standard normals, so patient k's etas do not depend on
the cohort size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pkgym.populations.streams import patient_normals, root_seed_sequence
from pkgym.utils import SeedLike, check_finite, check_non_negative

_TOLERANCE = 1e-10


def _check_square_symmetric(name: str, matrix: np.ndarray, size: int) -> np.ndarray:
    """Return ``matrix`` as float64 after checking shape (size, size), finiteness and symmetry."""
    array = check_finite(name, matrix)
    if array.shape != (size, size):
        raise ValueError(f"{name} must have shape ({size}, {size}), got {array.shape}")
    scale = max(1.0, float(np.max(np.abs(array), initial=0.0)))
    if not np.allclose(array, array.T, rtol=0.0, atol=_TOLERANCE * scale):
        raise ValueError(f"{name} must be symmetric")
    return (array + array.T) / 2.0


def _check_psd(name: str, matrix: np.ndarray) -> None:
    """Raise ``ValueError`` naming ``name`` if a symmetric matrix has a negative eigenvalue."""
    if matrix.size == 0:
        return
    eigenvalues = np.linalg.eigvalsh(matrix)
    if eigenvalues[0] < -_TOLERANCE * max(1.0, float(eigenvalues[-1])):
        raise ValueError(f"{name} must be positive semi-definite, smallest eigenvalue "
                         f"{eigenvalues[0]:.3g}")


def omega_from_variances(
    variances: Sequence[float] | np.ndarray, correlation: np.ndarray | None = None
) -> np.ndarray:
    """Build omega from eta variances and a correlation matrix: ``w_ij = r_ij sqrt(w_i w_j)``.

    Args:
        variances: variance of each eta (NONMEM omega diagonal), >= 0.  # (n_params,)
        correlation: correlation matrix, symmetric PSD with unit diagonal; ``None`` for
            the identity (independent etas).  # (n_params, n_params)

    Returns:
        The omega matrix.  # (n_params, n_params)

    Examples:
        >>> omega_from_variances([0.09, 0.04], [[1.0, 0.5], [0.5, 1.0]]).round(4).tolist()
        [[0.09, 0.03], [0.03, 0.04]]
    """
    variances = check_non_negative("variances", variances)
    if variances.ndim != 1:
        raise ValueError(f"variances must be 1-D, got shape {variances.shape}")
    size = variances.shape[0]
    if correlation is None:
        correlation = np.eye(size)
    correlation = _check_square_symmetric("correlation", correlation, size)
    if not np.allclose(np.diag(correlation), 1.0) or np.any(np.abs(correlation) > 1.0 + 1e-12):
        raise ValueError("correlation must have a unit diagonal and entries in [-1, 1]")
    _check_psd("correlation", correlation)
    sds = np.sqrt(variances)
    return correlation * np.outer(sds, sds)


def omega_from_cv(
    cvs: Sequence[float] | np.ndarray, correlation: np.ndarray | None = None
) -> np.ndarray:
    """Build omega from coefficients of variation of log-normal parameters.

    Each variance is ``log(1 + CV**2)`` (the exact log-normal relation; ``CV**2`` is the
    small-CV approximation some papers use instead).

    Args:
        cvs: coefficient of variation of each parameter as a fraction (0.3 = 30 %), >= 0.
        correlation: correlation matrix of the etas, or ``None`` for independence.

    Examples:
        >>> omega_from_cv([0.3]).round(4).tolist()
        [[0.0862]]
    """
    cvs = check_non_negative("cvs", cvs)
    return omega_from_variances(np.log1p(cvs**2), correlation)


def _factor(omega: np.ndarray) -> np.ndarray:
    """Return ``L`` with ``L @ L.T == omega``: Cholesky if positive definite, else eigen-based."""
    try:
        return np.linalg.cholesky(omega)
    except np.linalg.LinAlgError:  # singular (e.g. a fixed eta with zero variance)
        eigenvalues, eigenvectors = np.linalg.eigh(omega)
        return eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))


# eq=False: the omega field is an array, for which dataclass equality is ambiguous.
@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class BetweenSubjectVariability:
    """Log-normal between-subject variability of named parameters.

    Attributes:
        names: parameter names, unique, e.g. ``("clearance", "volume")``.
        omega: variance-covariance matrix of the etas, symmetric positive semi-definite;
            stored as a read-only float64 copy.  # (n_params, n_params)
    """

    names: tuple[str, ...]
    omega: np.ndarray

    def __post_init__(self) -> None:
        """Validate names and omega, naming the offending argument."""
        names = tuple(self.names) if not isinstance(self.names, str) else (self.names,)
        if any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
            raise ValueError(f"names must be unique non-empty strings, got {self.names!r}")
        omega = _check_square_symmetric("omega", self.omega, len(names))
        _check_psd("omega", omega)
        omega.setflags(write=False)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "omega", omega)

    @property
    def eta_columns(self) -> tuple[str, ...]:
        """Column names of :meth:`sample_etas`, ``eta_<name>``."""
        return tuple(f"eta_{name}" for name in self.names)

    def sample_etas(self, seed: SeedLike, n: int, *, start: int = 0) -> pd.DataFrame:
        """Draw etas for patients ``start .. start+n-1`` from the ``"bsv"`` stream.

        Args:
            seed: root seed of the cohort, the same one given to ``Population.sample``
                (from a ``Generator``, make the root once with ``root_seed_sequence`` and
                pass it to both, since each call draws a new root from a generator).
            n: number of patients, >= 0.
            start: index of the first patient, >= 0.

        Returns:
            DataFrame with one row per patient (default index 0..n-1, aligned with
            ``Population.sample``) and columns ``eta_<name>``; ``attrs["seed_entropy"]``
            holds the root entropy.

        Examples:
            >>> bsv = BetweenSubjectVariability(names=("cl", "v"), omega=np.diag([0.09, 0.04]))
            >>> etas = bsv.sample_etas(1, 10)
            >>> list(etas.columns), etas.equals(bsv.sample_etas(1, 1000).iloc[:10])
            (['eta_cl', 'eta_v'], True)
        """
        root = root_seed_sequence(seed)
        normals = patient_normals(root, n, len(self.names), start=start, stream="bsv")
        frame = pd.DataFrame(self.etas_from_normals(normals), columns=list(self.eta_columns))
        frame.attrs["seed_entropy"] = root.entropy
        frame.attrs["start"] = start
        return frame

    def etas_from_normals(self, normals: np.ndarray) -> np.ndarray:
        """Correlated etas from independent standard normals, shape (n, n_params).

        Examples:
            >>> bsv = BetweenSubjectVariability(names=("cl",), omega=np.diag([0.04]))
            >>> bsv.etas_from_normals(np.array([[1.0]])).tolist()
            [[0.2]]
        """
        normals = np.asarray(normals, dtype=np.float64)
        if normals.ndim != 2 or normals.shape[1] != len(self.names):
            raise ValueError(f"normals must have shape (n, {len(self.names)}), got {normals.shape}")
        return normals @ _factor(self.omega).T

    def individual_parameters(
        self,
        typical: Mapping[str, np.ndarray | float],
        etas: pd.DataFrame | np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Return individual parameters ``typical * exp(eta)``.

        Args:
            typical: typical value of every parameter in ``names`` (scalar or one per
                patient, > 0); other keys pass through unchanged (broadcast to n).
            etas: output of :meth:`sample_etas`, or an array (n_patients, n_params) in the
                order of ``names``.

        Returns:
            name -> array of shape (n_patients,).

        Examples:
            >>> bsv = BetweenSubjectVariability(names=("cl",), omega=np.array([[0.09]]))
            >>> bsv.individual_parameters({"cl": 4.0}, np.array([[0.0], [np.log(2.0)]]))
            {'cl': array([4., 8.])}
        """
        eta_array = self._eta_array(etas)
        missing = [name for name in self.names if name not in typical]
        if missing:
            raise ValueError(f"typical is missing parameters {missing}")
        result = {}
        for name, value in typical.items():
            array = check_finite(f"typical[{name!r}]", value)
            if array.shape not in ((), (eta_array.shape[0],)):
                raise ValueError(f"typical[{name!r}] must be a scalar or have shape "
                                 f"({eta_array.shape[0]},), got {array.shape}")
            if name in self.names:
                if np.any(array <= 0):
                    raise ValueError(f"typical[{name!r}] must be > 0")
                array = array * np.exp(eta_array[:, self.names.index(name)])
            result[name] = np.broadcast_to(array, (eta_array.shape[0],)).copy()
        return result

    def _eta_array(self, etas: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Return etas as a finite (n, n_params) array, from a DataFrame or an array."""
        if isinstance(etas, pd.DataFrame):
            missing = [c for c in self.eta_columns if c not in etas.columns]
            if missing:
                raise ValueError(f"etas is missing columns {missing}")
            etas = etas[list(self.eta_columns)].to_numpy(dtype=np.float64)
        array = check_finite("etas", etas)
        if array.ndim != 2 or array.shape[1] != len(self.names):
            raise ValueError(f"etas must have shape (n_patients, {len(self.names)}), "
                             f"got {array.shape}")
        return array
