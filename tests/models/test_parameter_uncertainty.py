"""Parameter uncertainty: draws of published fixed effects match their published estimates and SEs.

The moment check runs over the known parameter classes and any other dataclass in
``pkgym.models`` whose fields carry ``rse`` metadata at the time the tests run (known classes
without any are skipped with the reason), so a model picks the check up as soon as its RSEs are
recorded.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np
import pytest
from scipy.special import ndtr

import pkgym.models
from pkgym.models.uncertainty import (
    draw_parameter_values,
    draw_parameters,
    parameter_set,
    replicate_parameters,
    replicate_seed_sequence,
    summarise_draws,
    uncertain_elements,
    uncertain_fields,
)

KNOWN_CLASSES = (
    "pkgym.models.warfarin:Hamberg2010",
    "pkgym.models.warfarin:Hamberg2007",
    "pkgym.models.warfarin_calibrated:Hamberg2010Iwpc",
    "pkgym.models.vancomycin:Goti2018",
    "pkgym.models.myelosuppression:FribergDocetaxel",
    "pkgym.models.docetaxel:Bruno1996",
)


def _classes_with_rse() -> tuple[str, ...]:
    """KNOWN_CLASSES, then any other dataclass in ``pkgym.models`` with an ``rse`` field."""
    found = []
    for info in pkgutil.iter_modules(pkgym.models.__path__):
        module = importlib.import_module(f"pkgym.models.{info.name}")
        for name, cls in vars(module).items():
            if (isinstance(cls, type) and cls.__module__ == module.__name__
                    and is_dataclass(cls) and any("rse" in f.metadata for f in fields(cls))):
                found.append(f"{module.__name__}:{name}")
    return tuple(dict.fromkeys((*KNOWN_CLASSES, *sorted(found))))


PARAMETER_CLASSES = _classes_with_rse()
N_REPLICATES = 10_000
TRUNCATION_FREE_RSE = 0.30
"""Below this RSE the rejection at 0 moves the mean by < 0.16 Monte-Carlo SE (module docstring)."""


def _published(path: str) -> object:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)()


def _with_rse(path: str) -> object:
    params = _published(path)
    try:
        uncertain_elements(params)
    except ValueError as error:
        pytest.skip(str(error))
    return params


def _expected_moments(estimate: float, se: float) -> tuple[float, float]:
    """Mean and SD of Normal(estimate, se^2), truncated to (0, inf) when the estimate is > 0."""
    if estimate <= 0:
        return estimate, se
    alpha = -estimate / se
    lam = np.exp(-alpha**2 / 2) / np.sqrt(2 * np.pi) / (1 - ndtr(alpha))
    return estimate + se * lam, se * float(np.sqrt(1 + alpha * lam - lam**2))


@pytest.mark.parametrize("path", PARAMETER_CLASSES)
def test_draws__match_published_estimate_and_se(path: str) -> None:
    """10 000 draws: |mean - estimate| <= 3 SE/sqrt(n) and |SD/SE - 1| <= 0.05 per element.

    For RSE >= 30% the rejection at 0 truncates the normal visibly (Hamberg 2010's age effect,
    RSE 57.8%, moves its mean by 9 Monte-Carlo SEs), so those elements are held to the moments
    of the truncated normal that the rejection samples, with the same tolerances.
    """
    params = _with_rse(path)
    draws = draw_parameter_values(params, 20_190_019, N_REPLICATES, include_omegas=True)
    for row in summarise_draws(params, draws, include_omegas=True):
        rse = row.standard_error / abs(row.estimate)
        mean, sd = ((row.estimate, row.standard_error) if rse < TRUNCATION_FREE_RSE
                    else _expected_moments(row.estimate, row.standard_error))
        assert abs(row.mean - mean) <= 3 * sd / np.sqrt(N_REPLICATES), row
        assert abs(row.sd / sd - 1) <= 0.05, row


@pytest.mark.parametrize("rse", [0.05, 0.15, 0.29])
def test_truncation__negligible_below_30_percent_rse(rse: float) -> None:
    """For RSE < 30% the truncated normal's mean and SD equal the published ones (0.2 MC SE)."""
    mean, sd = _expected_moments(1.0, rse)
    assert abs(mean - 1.0) < 0.2 * rse / np.sqrt(N_REPLICATES)
    assert abs(sd / rse - 1) < 0.003


def test_replicate_parameters__same_whatever_the_number_of_replicates() -> None:
    """Replicate k is the same alone, in a run of 5 or of 40, and on a second call."""
    params = _published("pkgym.models.warfarin:Hamberg2010")
    alone = replicate_parameters(params, 11, 3)
    few = [replicate_parameters(params, 11, k) for k in range(5)]
    many = [replicate_parameters(params, 11, k) for k in range(40)]
    assert few == many[:5]
    assert alone == few[3] == replicate_parameters(params, 11, 3)


def test_replicate_parameters__replicates_and_seeds_differ() -> None:
    """Every uncertain field takes a different value in each of 40 replicates and per seed."""
    params = _published("pkgym.models.warfarin:Hamberg2007")
    replicates = [replicate_parameters(params, 11, k) for k in range(40)]
    for name in uncertain_fields(params):
        values = [getattr(r, name) for r in replicates]
        assert len(set(values)) == len(values), name
    assert replicate_parameters(params, 11, 0) != replicate_parameters(params, 12, 0)


def test_replicate_parameters__is_the_vectorised_draw_on_its_stream() -> None:
    """Replicate k equals the first vectorised draw from its own SeedSequence."""
    params = _published("pkgym.models.warfarin:Hamberg2010")
    for k in (0, 1, 17):
        rng = np.random.default_rng(replicate_seed_sequence(5, k))
        assert replicate_parameters(params, 5, k) == parameter_set(
            params, draw_parameter_values(params, rng, 1))


def test_replicate_seed_sequence__disjoint_from_patient_streams() -> None:
    """Replicate streams carry UNCERTAINTY_KEY, so they never equal a patient's (k, stream)."""
    from pkgym.populations.streams import patient_seed_sequences

    patients = {s.spawn_key for s in patient_seed_sequences(3, 100, stream="bsv")}
    assert not {replicate_seed_sequence(3, k).spawn_key for k in range(100)} & patients
    with pytest.raises(ValueError, match="replicate"):
        replicate_seed_sequence(3, -1)


@pytest.mark.parametrize("path", PARAMETER_CLASSES)
@pytest.mark.parametrize("include_omegas", [False, True])
def test_draw_parameters__fields_without_rse_untouched(path: str, include_omegas: bool) -> None:
    """Only uncertain fields move; omegas move only when asked; tuple elements without rse stay."""
    params = _with_rse(path)
    moved = {e.name for e in uncertain_elements(params, include_omegas=include_omegas)}
    for seed in range(5):
        drawn = draw_parameters(params, seed, include_omegas=include_omegas)
        for f in fields(params):  # type: ignore[arg-type]
            published, value = getattr(params, f.name), getattr(drawn, f.name)
            if isinstance(published, tuple):
                for i, (a, b) in enumerate(zip(published, value, strict=True)):
                    assert (a != b) == (f"{f.name}[{i}]" in moved), (f.name, i)
            else:
                assert (published != value) == (f.name in moved), f.name
        if not include_omegas:
            assert not any(name.startswith("omega") for name in moved)


def test_hamberg2010iwpc__calibrated_fields_carry_the_calibration_se() -> None:
    """Calibrated fields carry the fit's SEs (source: the calibration); V and MTT1 Hamberg's."""
    from pkgym.models.warfarin_calibrated import CALIBRATED

    params = _published("pkgym.models.warfarin_calibrated:Hamberg2010Iwpc")
    sources = {f.name: f.metadata["source"] for f in fields(params)  # type: ignore[arg-type]
               if "rse" in f.metadata}
    assert {"volume_l", "mtt1_h", "ec50_g_mg_per_l", "ec50_race_factor"} <= set(sources)
    assert sources["ec50_g_mg_per_l"] == CALIBRATED != sources["volume_l"]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Toy:
    """A positive rate with a wide RSE and an upper bound only its validation knows."""

    rate_per_h: float = field(default=1.0, metadata={"unit": "1/h", "rse": 1.0})
    shift: float = field(default=-0.5, metadata={"unit": "-", "rse": 0.4})
    fixed_l: float = field(default=3.0, metadata={"unit": "L"})

    def __post_init__(self) -> None:
        if not 0 < self.rate_per_h < 2.5 or self.shift > 0:
            raise ValueError(f"_Toy refuses {self.rate_per_h}, {self.shift}")


def test_draw_parameters__rejection_never_returns_an_invalid_value() -> None:
    """With RSE 100% (16% of raw draws <= 0) every returned value passes sign and validation."""
    values = draw_parameter_values(_Toy(), 3, 20_000)
    assert np.all(values["rate_per_h"] > 0) and np.any(values["shift"] > 0)
    rng = np.random.default_rng(4)
    drawn = [draw_parameters(_Toy(), rng) for _ in range(2000)]
    assert all(0 < d.rate_per_h < 2.5 and d.shift <= 0 and d.fixed_l == 3.0 for d in drawn)
    hamberg = _published("pkgym.models.warfarin:Hamberg2010")
    ages = draw_parameter_values(hamberg, 0, N_REPLICATES)["age_effect_per_year"]
    assert np.all(ages > 0)


def test_uncertain_elements__no_rse_raises_one_line_naming_the_class() -> None:
    """A parameter set without any rse cannot be drawn: one-line ValueError with its name."""

    @dataclass(frozen=True)
    class NoRse:
        clearance_l_per_h: float = field(default=1.0, metadata={"unit": "L/h"})

    with pytest.raises(ValueError, match="^NoRse has no published RSE") as error:
        draw_parameters(NoRse(), 0)
    assert "\n" not in str(error.value)


def test_uncertain_elements__bad_rse_metadata_names_the_field() -> None:
    """An rse of the wrong length or a non-positive rse is refused, naming class and field."""

    @dataclass(frozen=True)
    class Bad:
        ec50: tuple[float, ...] = field(default=(1.0, 2.0), metadata={"rse": (0.1,)})

    @dataclass(frozen=True)
    class Zero:
        volume_l: float = field(default=1.0, metadata={"rse": 0.0})

    with pytest.raises(ValueError, match="Bad.ec50"):
        uncertain_elements(Bad())
    with pytest.raises(ValueError, match="Zero.volume_l"):
        uncertain_elements(Zero())


def test_summarise_draws__sets_and_arrays_agree() -> None:
    """The summary of drawn parameter sets equals that of the same draws as arrays."""
    params = _published("pkgym.models.warfarin:Hamberg2007")
    rng = np.random.default_rng(8)
    values = draw_parameter_values(params, rng, 50)
    sets = [parameter_set(params, values, i) for i in range(50)]
    for a, b in zip(summarise_draws(params, sets), summarise_draws(params, values), strict=True):
        assert a.name == b.name and a[1:] == pytest.approx(b[1:], rel=1e-12)
