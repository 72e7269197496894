"""Run every benchmark: ``python -m benchmarks``."""

from benchmarks import (
    bench_addiction,
    bench_chemotherapy,
    bench_depression,
    bench_dose_finding_env,
    bench_evaluation,
    bench_scale,
    bench_sim,
    bench_training,
    bench_trials,
    bench_vancomycin,
    bench_warfarin,
    no_options,
    vae_quality,
    vancomycin_baselines,
    warfarin_baselines,
    warfarin_calibration,
    warfarin_v1_baselines,
)

if __name__ == "__main__":
    no_options(__doc__)
    bench_sim.main()
    bench_vancomycin.main()
    vancomycin_baselines.main()
    bench_warfarin.main()
    warfarin_baselines.main()
    warfarin_calibration.main([])
    warfarin_v1_baselines.main([])
    bench_chemotherapy.main()
    bench_depression.main()
    bench_dose_finding_env.main()
    bench_evaluation.main()
    bench_scale.main()
    bench_addiction.main()
    bench_training.main()
    bench_trials.main([])
    vae_quality.main([])
