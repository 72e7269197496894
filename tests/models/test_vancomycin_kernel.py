"""The compiled ward kernel against the numpy reference course, patient by patient."""

from __future__ import annotations

import numpy as np
import pytest
from vancomycin_reference import advance_interval

from pkgym.envs.vancomycin.kernel import (
    WardArrays,
    WardAssays,
    WardCourse,
    WardHistory,
    WardLabs,
    WardMetrics,
    WardNoise,
    WardPatients,
    _measure_due,
    advance_ward,
    plain,
    ward_constants,
)
from pkgym.models.kidney import (
    KidneyInjuryParams,
    initial_kidney_state,
    kdigo_stage,
    kdigo_stage_of,
)
from pkgym.models.vancomycin import Goti2018
from pkgym.models.vancomycin_course import CourseConfig, CoursePatients, start_course
from pkgym.populations import ResidualError


def _patients(n: int, rng: np.random.Generator) -> CoursePatients:
    """Random adults, a quarter on dialysis, with random effects."""
    return CoursePatients(rng.uniform(18, 90, n), rng.integers(0, 2, n).astype(float),
                          rng.uniform(40, 150, n), rng.uniform(150, 200, n),
                          (rng.random(n) < 0.25).astype(float), rng.normal(0, 0.6, (n, 3)))


def _run_kernel(state, patients, doses, uniforms, k, config):  # noqa: ANN001, ANN202
    """Every step of a course through advance_ward; per-step copies of the kernel's outputs."""
    n, steps, days = doses.shape[0], config.n_steps, config.n_days
    course = WardCourse(
        state.step.copy(), state.amounts_mg.copy(), state.clearance_l_per_h.copy(),
        state.volumes_l, state.intercompartmental_clearance_l_per_h, np.zeros((n, steps)),
        state.kidney.baseline_creatinine_mg_per_dl, state.kidney.creatinine_mg_per_dl.copy(),
        state.kidney.injury_factor.copy())
    ward = WardArrays(
        patients=WardPatients(patients.age_years, patients.is_female, patients.weight_kg,
                              patients.on_dialysis, patients.etas),
        course=course, noise=WardNoise(uniforms, np.full((n, 2), 0.5), np.zeros((n, days))),
        history=WardHistory(np.zeros((n, steps)), np.zeros((n, steps)), np.zeros((n, steps)),
                            np.zeros((n, steps, 2))),
        assays=WardAssays(np.zeros((n, 2)), np.zeros((n, 2)), np.zeros((n, 2), bool)),
        labs=WardLabs(*(np.zeros((n, days)) for _ in range(3))),
        metrics=WardMetrics(np.zeros(n), np.zeros(n), np.zeros(n, bool), np.zeros(n),
                            np.zeros(n, bool)))
    trace = []
    for step in range(steps):
        advance_ward(plain(k), config.sample_slots, doses[:, step], plain(ward))
        trace.append([a.copy() for a in (course.amounts_mg, course.clearance_l_per_h,
                                         course.creatinine_mg_per_dl, course.injury_factor,
                                         ward.metrics.auc24_mg_h_per_l, ward.metrics.aki)])
    return trace


def _kernel_measure(assay: ResidualError, true: np.ndarray,
                    uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's assay of each true level as a trough due now: (values, measured flags)."""
    n = true.size
    assays = WardAssays(np.zeros((n, 1)), np.zeros((n, 1)), np.zeros((n, 1), bool))
    _measure_due(assay.constants, np.array([[0, -1]]), np.stack([true, np.zeros(n)], 1),
                 np.zeros((n, 2)), np.zeros(n, np.int64), uniforms[:, None].copy(), assays)
    return assays.levels_mg_per_l[:, 0], assays.level_mask[:, 0]


@pytest.mark.parametrize("interval_h", [12.0, 8.0, 24.0])
def test_advance_ward__matches_advance_interval_to_1e_12_over_whole_courses(
        interval_h: float) -> None:
    """Amounts, CL, creatinine, injury, AUC24 and AKI of 200 random patients, every step."""
    rng, n = np.random.default_rng(7), 200
    config = CourseConfig(interval_h=interval_h, n_steps=int(7 * 24 / interval_h))
    model, kidney = Goti2018(), KidneyInjuryParams(baseline_aki_hazard_per_day=0.3)
    patients = _patients(n, rng)
    state = start_course(patients, initial_kidney_state(rng.uniform(0.5, 4.0, n)), config, model)
    doses = rng.choice(np.arange(0.0, 3001.0, 250.0), size=(n, config.n_steps))
    uniforms = rng.random((n, config.n_days, 3))
    k = ward_constants(config, model, kidney)
    trace, any_aki = _run_kernel(state, patients, doses, uniforms, k, config), False
    for step, (amounts, cl, scr, injury, auc24, aki) in enumerate(trace):
        day = int(step * interval_h // 24)
        state, outcome = advance_interval(state, doses[:, step], patients, uniforms[:, day],
                                          config, model, kidney)
        np.testing.assert_allclose(amounts, state.amounts_mg, rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(cl, state.clearance_l_per_h, rtol=1e-12)
        np.testing.assert_allclose(scr, state.kidney.creatinine_mg_per_dl, rtol=1e-12)
        np.testing.assert_array_equal(injury, state.kidney.injury_factor)
        np.testing.assert_allclose(auc24, outcome.auc24_mg_h_per_l, rtol=1e-12)
        np.testing.assert_array_equal(aki, outcome.aki)
        any_aki |= bool(aki.any())
    assert any_aki


def test_kernel_assay__matches_measure_from_uniforms_including_censoring() -> None:
    """The compiled Goti assay equals ResidualError's, NaN (censored) read as (0, False)."""
    rng = np.random.default_rng(3)
    true, uniforms = rng.uniform(0.0, 80.0, 2_000), rng.random(2_000)
    true[:3] = 0.0
    for assay in (ResidualError(additive_sd=3.4, proportional_sd=0.227),
                  ResidualError(additive_sd=3.4, proportional_sd=0.227, lloq=4.0),
                  ResidualError(proportional_sd=0.2), ResidualError()):
        values, measured = _kernel_measure(assay, true, uniforms)
        reference = assay.measure_from_uniforms(true, uniforms)
        np.testing.assert_allclose(values, np.nan_to_num(reference.values), rtol=1e-12,
                                   atol=1e-12)
        np.testing.assert_array_equal(measured, ~reference.censored)


def test_kdigo_stage_of__scalar_and_batched_forms_agree_with_the_kdigo_table() -> None:
    """Floats give ints equal to the batched stages, across all four stages."""
    rng = np.random.default_rng(5)
    baseline = rng.uniform(0.3, 5.0, 3_000)
    scr = baseline * rng.uniform(0.5, 4.0, 3_000)
    batched = kdigo_stage(scr, baseline)
    assert set(batched.tolist()) == {0, 1, 2, 3}
    assert [kdigo_stage_of(float(s), float(b)) for s, b in zip(scr, baseline, strict=True)] \
        == batched.tolist()
