"""Hamberg 2010's race and co-medication factors, and the IWPC-calibrated parameter set."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pkgym.models.warfarin import Hamberg2007, Hamberg2010
from pkgym.models.warfarin_calibrated import Hamberg2010Iwpc
from pkgym.populations.warfarin import RACES

FIELDS = ("clearance_l_per_h", "central_volume_l", "intercompartmental_clearance_l_per_h",
          "peripheral_volume_l", "ec50_mg_per_l", "hill", "mtt1_h", "mtt2_h")


def _covariates(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {"cyp2c9": rng.integers(0, 6, n), "vkorc1": rng.integers(0, 3, n),
            "age_years": rng.uniform(20, 90, n), "etas": rng.normal(0, 0.3, (n, 3)),
            "race": np.arange(n) % len(RACES), "amiodarone": rng.integers(0, 2, n),
            "enzyme_inducer": rng.integers(0, 2, n)}


def _parameters(model, c: dict, **keywords):  # noqa: ANN001, ANN202
    return model.parameters(c["cyp2c9"], c["vkorc1"], c["age_years"], c["etas"], **keywords)


def test_hamberg2010__published_model_ignores_race_and_comedication() -> None:
    """With all factors 1 the new keywords give bit-identical parameters."""
    c = _covariates(40)
    plain = _parameters(Hamberg2010(), c)
    keyed = _parameters(Hamberg2010(), c, race=c["race"], amiodarone=c["amiodarone"],
                        enzyme_inducer=c["enzyme_inducer"])
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(keyed, name), getattr(plain, name), err_msg=name)


def test_hamberg2010__factors_apply_exactly_where_flagged() -> None:
    """EC50 scales by the race's factor, CL by each co-medication's factor where its flag is 1."""
    c = _covariates(40, seed=1)
    race_factor = (1.1, 0.7, 0.9, 1.3)
    model = Hamberg2010(ec50_race_factor=race_factor, amiodarone_clearance_factor=0.6,
                        enzyme_inducer_clearance_factor=1.7)
    plain = _parameters(Hamberg2010(), c)
    changed = _parameters(model, c, race=c["race"], amiodarone=c["amiodarone"],
                          enzyme_inducer=c["enzyme_inducer"])
    np.testing.assert_allclose(changed.ec50_mg_per_l,
                               plain.ec50_mg_per_l * np.asarray(race_factor)[c["race"]],
                               rtol=1e-14)
    cl_factor = np.where(c["amiodarone"] == 1, 0.6, 1.0) * np.where(
        c["enzyme_inducer"] == 1, 1.7, 1.0)
    np.testing.assert_allclose(changed.clearance_l_per_h, plain.clearance_l_per_h * cl_factor,
                               rtol=1e-14)
    for name in ("central_volume_l", "hill", "mtt1_h", "mtt2_h"):
        np.testing.assert_array_equal(getattr(changed, name), getattr(plain, name))
    # each keyword alone moves only its own parameter
    only_amiodarone = _parameters(model, c, amiodarone=c["amiodarone"])
    np.testing.assert_array_equal(only_amiodarone.ec50_mg_per_l, plain.ec50_mg_per_l)
    np.testing.assert_allclose(only_amiodarone.clearance_l_per_h, plain.clearance_l_per_h
                               * np.where(c["amiodarone"] == 1, 0.6, 1.0), rtol=1e-14)


@pytest.mark.parametrize(("keyword", "value"), [
    ("amiodarone", np.array([0, 2, 1])), ("amiodarone", np.array([0, 1])),
    ("enzyme_inducer", np.array([0.5, 0, 1])), ("enzyme_inducer", np.ones((3, 1))),
    ("race", np.array([0, 4, 1])), ("race", np.array([0, -1, 1])),
    ("race", np.array([0.0, 1.5, 1.0]))])
def test_hamberg2010__bad_flags_and_race_codes_raise_naming_the_argument(keyword: str,
                                                                        value) -> None:  # noqa: ANN001
    """Flags other than 0/1 or of the wrong shape, and race codes out of range, are refused."""
    with pytest.raises(ValueError, match=keyword):
        Hamberg2010().parameters(np.zeros(3, int), np.zeros(3, int), np.full(3, 60.0),
                                 **{keyword: value})


def test_hamberg2010__race_factor_needs_one_value_per_race() -> None:
    """An ec50_race_factor of the wrong length is refused."""
    for factors in ((1.0, 1.0, 1.0), (1.0,) * 5):
        with pytest.raises(ValueError, match="ec50_race_factor"):
            Hamberg2010(ec50_race_factor=factors)


def test_hamberg2007__accepts_and_ignores_race_and_comedication() -> None:
    """Hamberg 2007 has no such terms: the keywords change nothing."""
    rng = np.random.default_rng(2)
    n = 12
    args = (rng.integers(0, 6, n), rng.integers(0, 3, n), rng.uniform(20, 90, n),
            rng.normal(0, 0.3, (n, 6)))
    plain = Hamberg2007().parameters(*args)
    keyed = Hamberg2007().parameters(*args, race=np.arange(n) % 4, amiodarone=np.ones(n),
                                     enzyme_inducer=np.ones(n))
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(keyed, name), getattr(plain, name), err_msg=name)


def test_hamberg2010_iwpc__every_changed_value_carries_its_published_value() -> None:
    """Changed fields cite the calibration and keep Hamberg 2010's default as ``published``."""
    published, calibrated = Hamberg2010(), Hamberg2010Iwpc()
    defaults = {f.name: f for f in dataclasses.fields(Hamberg2010)}
    changed = []
    for f in dataclasses.fields(Hamberg2010Iwpc):
        value, original = getattr(calibrated, f.name), getattr(published, f.name)
        if value != original:
            changed.append(f.name)
            assert f.metadata["source"].startswith("calibrated to IWPC"), f.name
            assert f.metadata["published"] == original, f.name
            assert f.metadata["unit"], f.name
        else:
            assert dict(f.metadata) == dict(defaults[f.name].metadata), f.name
    assert len(changed) == 10  # 11 calibrated numbers: one scale moves two omegas, race is 3


def test_hamberg2010_iwpc__uses_its_factors() -> None:
    """The calibrated set's patients follow its own factors (same code path as Hamberg2010)."""
    c = _covariates(30, seed=4)
    model = Hamberg2010Iwpc()
    keyed = _parameters(model, c, race=c["race"], amiodarone=c["amiodarone"],
                        enzyme_inducer=c["enzyme_inducer"])
    plain = _parameters(model, c)
    factor = np.where(c["amiodarone"] == 1, model.amiodarone_clearance_factor, 1.0) * np.where(
        c["enzyme_inducer"] == 1, model.enzyme_inducer_clearance_factor, 1.0)
    np.testing.assert_allclose(keyed.clearance_l_per_h, plain.clearance_l_per_h * factor,
                               rtol=1e-14)
    np.testing.assert_allclose(keyed.ec50_mg_per_l, plain.ec50_mg_per_l
                               * np.asarray(model.ec50_race_factor)[c["race"]], rtol=1e-14)
