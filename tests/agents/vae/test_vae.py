"""The patient VAE: encoder masking, posterior, decoder, training, saving, and its data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.vae.data import simulate_vae_data
from agents.vae.model import PatientVAE, history_tensors, load_vae
from agents.vae.training import _cohort, _env_core, save_vae, tiny_config, train_vae
from pkgym.wrappers import HISTORY_KEYS

VANCOMYCIN = "pkgym/Vancomycin-v0"


@pytest.fixture(scope="module")
def vancomycin_data():  # noqa: ANN201
    """Histories of 60 held-out-style patients (TRAINING space, patients 5000..5059)."""
    core = _env_core(VANCOMYCIN, {})
    return simulate_vae_data(VANCOMYCIN, _cohort(core, 60, 0, 5000), np.random.default_rng(7))


def _with_two_levels(data) -> dict[str, np.ndarray]:  # noqa: ANN001
    """The histories of ``data`` cut after both vancomycin levels were measured."""
    rows = data.histories["level_mask"].sum(axis=1) == 2
    return {key: value[rows].copy() for key, value in data.histories.items()}


def _untrained(env_id: str = VANCOMYCIN) -> PatientVAE:
    torch.manual_seed(0)
    return PatientVAE(tiny_config(env_id)).eval()


@pytest.mark.parametrize(("env_id", "n_grid", "n_doses"),
                         [(VANCOMYCIN, 168, 14), ("pkgym/Warfarin-v0", 90, 90)])
def test_patient_vae__encoder_and_decoder_shapes(env_id: str, n_grid: int, n_doses: int) -> None:
    """Encode gives (B, latent) mean and log-variance; decode gives (B, grid) courses."""
    vae = _untrained(env_id)
    history = {key: torch.zeros(5, *shape) for key, shape in vae.history_shapes().items()}
    mu, logvar = vae.encode(history)
    assert mu.shape == logvar.shape == (5, 8)
    assert vae.decode(mu, history, torch.full((5, n_doses), 5.0)).shape == (5, n_grid)


def test_patient_vae__masked_out_level_with_any_value_changes_nothing(vancomycin_data) -> None:  # noqa: ANN001
    """A level slot whose mask is 0 may hold anything (huge, NaN): the posterior is the same."""
    vae, history = _untrained(), _with_two_levels(vancomycin_data)
    history["level_mask"][:, 1] = 0.0
    reference = vae.encode(history_tensors(history))
    for value, time in ((1e6, 5.0), (np.nan, np.nan), (-3.0, 1e4)):
        history["level_values"][:, 1], history["level_times_h"][:, 1] = value, time
        for got, want in zip(vae.encode(history_tensors(history)), reference, strict=True):
            torch.testing.assert_close(got, want, rtol=0, atol=0)


def test_patient_vae__adding_a_measured_level_changes_the_posterior(vancomycin_data) -> None:  # noqa: ANN001
    """Unmasking the second level changes every patient's posterior mean."""
    vae, history = _untrained(), _with_two_levels(vancomycin_data)
    both, _ = vae.encode(history_tensors(history))
    history["level_mask"][:, 1] = 0.0
    one, _ = vae.encode(history_tensors(history))
    assert torch.all((both - one).abs().sum(dim=1) > 1e-6)


def test_patient_vae__posterior_shrinks_as_levels_are_added(tiny_vae_path: Path,
                                                            vancomycin_data) -> None:  # noqa: ANN001
    """Trained: the posterior log-determinant falls when the trough, then the peak, are seen."""
    vae, history = load_vae(tiny_vae_path), _with_two_levels(vancomycin_data)
    log_dets = []
    for kept in ([], [0], [0, 1]):
        masked = {key: value.copy() for key, value in history.items()}
        masked["level_mask"][:] = 0.0
        masked["level_mask"][:, kept] = 1.0
        with torch.no_grad():
            log_dets.append(vae.encode(history_tensors(masked))[1].sum(dim=1).numpy())
    none, trough, both = log_dets
    assert np.mean(trough < none) > 0.9
    assert both.mean() < none.mean() - 1.0 and trough.mean() < none.mean() - 1.0


def test_train_vae__loss_decreases_and_json_records_the_run(tiny_vae_path: Path) -> None:
    """The tiny run's losses fall; vae.json holds config, grid, cohorts and the curve."""
    saved = json.loads(tiny_vae_path.with_suffix(".json").read_text())
    curve = saved["metadata"]["validation_curve"]
    assert len(curve) == 15
    assert curve[-1]["train_loss"] < curve[0]["train_loss"]
    assert curve[-1]["validation_rmse_log"] < curve[0]["validation_rmse_log"]
    config, meta = saved["config"], saved["metadata"]
    assert config["env_id"] == VANCOMYCIN and len(config["grid_times_h"]) == 168
    assert config["scenario_sha256"] is None and "exposure_mean" in config["normalisation"]
    assert meta["training_cohort"]["spawn_key"] == [0]
    assert meta["training_cohort"]["stop"] == meta["validation_cohort"]["start"] == 1000
    assert meta["validation"]["rmse_log_by_levels"].keys() == {"0", "1", "2"}


def test_load_vae__save_load_round_trip_gives_identical_outputs(tiny_vae_path: Path,
                                                                tmp_path: Path,
                                                                vancomycin_data) -> None:  # noqa: ANN001
    """Saving and loading again reproduces the encoder and decoder outputs exactly."""
    first = load_vae(tiny_vae_path)
    second = load_vae(save_vae(first, tmp_path))
    history = history_tensors(vancomycin_data.histories)
    regimen = torch.as_tensor(vancomycin_data.regimens_mg[vancomycin_data.patient_index])
    with torch.no_grad():
        mu_a, lv_a = first.encode(history)
        mu_b, lv_b = second.encode(history)
        decoded_a, decoded_b = (first.decode(mu_a, history, regimen),
                                second.decode(mu_b, history, regimen))
    for got, want in ((mu_b, mu_a), (lv_b, lv_a), (decoded_b, decoded_a)):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert second.metadata == first.metadata and second.config == first.config


def test_train_vae__same_seed_same_weights_other_seed_differs(tmp_path: Path) -> None:
    """Training is deterministic given the seed."""
    def weights(seed: int, name: str) -> dict[str, torch.Tensor]:
        path = train_vae(VANCOMYCIN, 30, seed, tmp_path / name, epochs=2,
                         n_validation_patients=10, progress=False)
        return load_vae(path).state_dict()

    a, b, c = weights(3, "a"), weights(3, "b"), weights(4, "c")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert any(not torch.equal(a[key], c[key]) for key in a)


def test_train_vae__bad_arguments_raise(tmp_path: Path) -> None:
    """Bad sizes and unsupported envs fail with the field and what is allowed."""
    with pytest.raises(ValueError, match="n_patients must be >= 2"):
        train_vae(VANCOMYCIN, 1, 0, tmp_path)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        train_vae(VANCOMYCIN, 10, 0, tmp_path, epochs=0)
    with pytest.raises(ValueError, match="pkgym/Warfarin-v0"):
        train_vae("pkgym/Depression-v0", 10, 0, tmp_path, epochs=1)
    with pytest.raises(ValueError, match="expected vae.pt and vae.json"):
        load_vae(tmp_path)


def test_simulate_vae_data__cuts_regimens_and_courses_agree(vancomycin_data) -> None:  # noqa: ANN001
    """Each cut's history shows its patient's regimen up to the cut; courses are complete."""
    data = vancomycin_data
    assert set(data.histories) == set(HISTORY_KEYS)
    assert data.regimens_mg.shape == (60, 14) and data.exposures.shape == (60, 168)
    assert np.isfinite(data.exposures).all() and np.isfinite(data.log_clearance).all()
    np.testing.assert_array_equal(data.histories["time_h"][:, 0], data.cut_step * 12.0)
    given = data.histories["dose_mask"] > 0
    np.testing.assert_array_equal(given.sum(axis=1), data.cut_step)
    regimen = data.regimens_mg[data.patient_index]
    np.testing.assert_array_equal(data.histories["dose_amounts_mg"][given], regimen[given])
    assert (data.cut_step == 0).sum() > 30 and data.n_samples > 3 * 60
    assert np.unique(data.regimens_mg).size > 5  # diverse behaviour regimens
