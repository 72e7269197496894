"""Beyond compartmental models: MPA with enterohepatic recirculation (issue 22, part 3).

Does a VAE trained on simulated patients reconstruct and dose MPA better than MAP with the
usual two-compartment model, which cannot draw the secondary peak, and how much of the gap
to MAP with the true (EHC) model does it close?

Patients follow de Winter 2009 (:mod:`pkgym.models.mycophenolate`). Each held-out patient is
seen once, near steady state on a random dose level, with the env's limited sampling (C0,
C0.5, C2 at jittered times, 7 % assay error, LOQ 0.25 mg/L; :mod:`agents.vae.profile_data`).
Methods: ``population`` (the true model with every eta 0 and the patient's covariates),
``map_true`` and ``map_no_ehc`` (MAP with each prior and its published residual error,
:mod:`agents.vae.profile_map`), ``map_true_sd0.15`` (the true prior with a residual SD of
0.15, nearer the data's assay error), ``vae`` and ``hybrid`` (:mod:`agents.vae.profiles`).

Reported: (i) reconstruction of the observed dose's 0-12 h profile (AUC % error, log RMSE
over 0-12 h and over 6-12 h), (ii) dosing: each method's dose level nearest AUC0-12 45
mg*h/L, scored in the true model (share with true AUC in 30-60, absolute % error to 45),
with the true-AUC oracle, (iii) coverage of the VAE's 90 % AUC intervals, raw and rescaled
on a calibration split, (iv) the fraction of the MAP-no-EHC -> MAP-true gap the VAE closes.
CIs: 95 % percentile bootstrap over patients, every method resampled together (paired).
Then (v), the env stage (:mod:`benchmarks.beyond_odes_env`; ``--no-env`` skips it): the saved
VAEs, MAP with each prior, the baselines and the oracle dose whole episodes of
``pkgym/Mycophenolate-v0`` in the paired evaluation harness (``--env-patients`` patients of the
evaluation cohort at ``--env-seed``), with paired differences and a split by ciclosporin.

Run ``python -m benchmarks.beyond_odes --out results/beyond_odes`` (``--quick`` smoke run).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from agents.vae.profile_data import GRID_H, ProfileData, simulate_profiles
from agents.vae.profile_map import fit_map, nearest_target_dose, predict_steady
from agents.vae.profile_priors import DEFAULT_DOSE_LEVELS_MG, STEADY_DOSES, Visits
from agents.vae.profiles import (
    HybridFeatures,
    ProfilePredictor,
    calibrate_interval_scale,
    hybrid_features,
    profile_inputs,
    save_profile_vae,
    train_profile_vae,
)
from benchmarks.beyond_odes_env import env_markdown, run_env_stage
from pkgym.io import write_text
from pkgym.models import mycophenolate as mpa

TARGET, WINDOW = 45.0, (30.0, 60.0)
LATE = GRID_H >= 6.0
"""The 6-12 h window where the secondary (EHC) peak lives."""


def _bootstrap(stat: Callable[[np.ndarray], float], n: int, rng: np.random.Generator,
               reps: int = 1000) -> tuple[float, float, float]:
    """(point, low, high): ``stat(rows)`` on all rows and its 95 % percentile interval."""
    point = stat(np.arange(n))
    draws = [stat(rng.integers(0, n, n)) for _ in range(reps)]
    low, high = np.nanpercentile(draws, [2.5, 97.5])
    return float(point), float(low), float(high)


def _inputs(data: ProfileData, hybrid: HybridFeatures | None = None) -> dict[str, Any]:
    return profile_inputs(data.covariates, data.doses_mg[:, 0], data.sample_times_h,
                          data.concentrations_mg_per_l, None, hybrid)


def _hybrid(data: ProfileData) -> HybridFeatures:
    return hybrid_features(data.covariates, data.doses_mg[:, 0], data.sample_times_h,
                           data.concentrations_mg_per_l)


def _true_level_aucs(data: ProfileData, levels: np.ndarray) -> np.ndarray:
    """True near-steady-state AUC0-12 of every patient under every level, (n, L)."""
    params = mpa.DeWinter2009().individual_params(data.covariates, data.etas)
    n = data.n
    _, auc = mpa.steady_profile(np.repeat(params, levels.size, 0), np.tile(levels, n),
                                np.array([0.0]), 12.0, STEADY_DOSES, rtol=1e-6, atol=1e-6)
    return auc.reshape(n, levels.size)


def _map_predictions(data: ProfileData, prior: str, levels: np.ndarray,
                     sd: float | None, population: bool = False) -> dict[str, np.ndarray]:
    visits = Visits.steady_state(data.covariates, data.doses_mg[:, 0], data.sample_times_h,
                                 data.concentrations_mg_per_l)
    fit = fit_map(prior, visits, iterations=0 if population else 12, residual_sd_log=sd)
    cand = np.broadcast_to(levels, (data.n, levels.size))
    profiles, aucs = predict_steady(prior, fit.etas, data.covariates, cand, GRID_H)
    observed = np.searchsorted(levels, data.doses_mg[:, 0])
    return {"profile": profiles[np.arange(data.n), observed], "aucs": aucs}


def _vae_predictions(predictor: ProfilePredictor, data: ProfileData, levels: np.ndarray,
                     hybrid: HybridFeatures | None) -> dict[str, np.ndarray]:
    batch = _inputs(data, hybrid)
    profiles, aucs = predictor.predict(batch, np.broadcast_to(levels, (data.n, levels.size)),
                                       hybrid)
    observed = np.searchsorted(levels, data.doses_mg[:, 0])
    return {"profile": profiles[np.arange(data.n), observed], "aucs": aucs}


def _train(args: argparse.Namespace, splits: dict[str, ProfileData],
           features: dict[str, HybridFeatures]) -> dict[str, ProfilePredictor]:
    """The VAE and the hybrid, each with its interval scale fitted on the calibration split."""
    predictors = {}
    for name, hybrid in (("vae", False), ("hybrid", True)):
        vae = train_profile_vae(splits["train"], splits["validation"], hybrid=hybrid,
                                train_hybrid=features["train"] if hybrid else None,
                                validation_hybrid=features["validation"] if hybrid else None,
                                epochs=args.epochs, seed=args.seed)
        raw = ProfilePredictor(vae)
        cal = splits["calibration"]
        h = features["calibration"] if hybrid else None
        median, low, high = raw.auc_interval(_inputs(cal, h), cal.doses_mg[:, 0], h,
                                             n_draws=args.draws, seed=args.seed)
        scale = calibrate_interval_scale(median, low, high, cal.aucs[:, 0])
        predictors[name] = ProfilePredictor(vae, scale)
        vae.metadata["interval_scale"] = scale
    return predictors


def _reconstruction(data: ProfileData, preds: dict[str, dict[str, np.ndarray]],
                    rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """AUC and profile errors at the observed dose, per method (with paired CIs)."""
    levels_obs = np.searchsorted(DEFAULT_DOSE_LEVELS_MG, data.doses_mg[:, 0])
    truth_auc = data.aucs[:, 0]
    log_true = np.log(np.maximum(data.profiles_mg_per_l[:, 0], 1e-3))
    out: dict[str, dict[str, Any]] = {}
    for name, p in preds.items():
        err = p["aucs"][np.arange(data.n), levels_obs] / truth_auc - 1.0
        sq = (np.log(np.maximum(p["profile"], 1e-3)) - log_true) ** 2
        out[name] = {
            "auc_mape": _bootstrap(lambda r, e=err: np.median(np.abs(e[r])) * 100, data.n, rng),
            "auc_bias": _bootstrap(lambda r, e=err: np.median(e[r]) * 100, data.n, rng),
            "auc_rmse": _bootstrap(lambda r, e=err: np.sqrt(np.mean(e[r] ** 2)) * 100,
                                   data.n, rng),
            "log_rmse": _bootstrap(lambda r, s=sq: np.sqrt(s[r].mean()), data.n, rng),
            "log_rmse_6_12h": _bootstrap(lambda r, s=sq: np.sqrt(s[r][:, LATE].mean()),
                                         data.n, rng),
            "abs_errors": np.abs(err)}
    return out


def _dosing(true_aucs: np.ndarray, preds: dict[str, dict[str, np.ndarray]],
            rng: np.random.Generator) -> dict[str, dict[str, Any]]:
    """Each method's dose scored in the true model; the oracle picks by the true AUCs."""
    levels, n = DEFAULT_DOSE_LEVELS_MG, true_aucs.shape[0]
    choices = {name: nearest_target_dose(p["aucs"], levels, TARGET) for name, p in preds.items()}
    choices["oracle"] = nearest_target_dose(true_aucs, levels, TARGET)
    out = {}
    for name, dose in choices.items():
        achieved = true_aucs[np.arange(n), np.searchsorted(levels, dose)]
        inside = ((achieved >= WINDOW[0]) & (achieved <= WINDOW[1])).astype(float)
        error = np.abs(achieved / TARGET - 1.0) * 100
        out[name] = {"in_target": _bootstrap(lambda r, x=inside: x[r].mean() * 100, n, rng),
                     "abs_pct_error_to_45": _bootstrap(lambda r, x=error: np.median(x[r]), n,
                                                       rng),
                     "_inside": inside, "_error": error}
    return out


def _paired(values: dict[str, np.ndarray], base: str, rng: np.random.Generator,
            stat: Callable[[np.ndarray], float]) -> dict[str, tuple[float, float, float]]:
    """``stat(method) - stat(base)`` per method, resampling patients jointly."""
    n = len(values[base])
    return {name: _bootstrap(lambda r, v=v: stat(v[r]) - stat(values[base][r]), n, rng)
            for name, v in values.items() if name != base}


def _gap_closed(errors: dict[str, np.ndarray], rng: np.random.Generator, method: str,
                truth: str = "map_true") -> tuple[float, float, float]:
    """(E_no_ehc - E_method) / (E_no_ehc - E_truth) of the median absolute AUC error."""
    def fraction(r: np.ndarray) -> float:
        worst = np.median(errors["map_no_ehc"][r])
        gap = worst - np.median(errors[truth][r])
        return float((worst - np.median(errors[method][r])) / gap) if gap != 0 else np.nan
    return _bootstrap(fraction, len(errors[method]), rng)


def _coverage(predictors: dict[str, ProfilePredictor], test: ProfileData,
              features: HybridFeatures, args: argparse.Namespace) -> dict[str, Any]:
    """Coverage of the 90 % AUC intervals on the test patients, raw and rescaled."""
    out = {}
    for name, predictor in predictors.items():
        h = features if name == "hybrid" else None
        raw = ProfilePredictor(predictor.vae)
        for label, p in (("raw", raw), ("calibrated", predictor)):
            _, low, high = p.auc_interval(_inputs(test, h), test.doses_mg[:, 0], h,
                                          n_draws=args.draws, seed=args.seed + 1)
            truth = test.aucs[:, 0]
            out[f"{name}_{label}"] = {
                "coverage": float(np.mean((truth >= low) & (truth <= high)) * 100),
                "median_width_ratio": float(np.median(high / low)),
                "scale": p.interval_scale}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Simulate, train, predict and score; the JSON-able results."""
    started = time.perf_counter()
    names = ("train", "validation", "calibration", "test")
    sizes = {"train": args.n_train, "validation": max(args.n_train // 8, 20),
             "calibration": args.n_test, "test": args.n_test}
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(args.seed).spawn(5)]
    splits = {name: simulate_profiles(streams[k], sizes[name]) for k, name in enumerate(names)}
    features = {name: _hybrid(data) for name, data in splits.items()}
    timings = {"simulate_and_prior_fits_s": time.perf_counter() - started}
    predictors = _train(args, splits, features)
    timings["train_both_s"] = time.perf_counter() - started - timings["simulate_and_prior_fits_s"]
    test, levels = splits["test"], DEFAULT_DOSE_LEVELS_MG
    preds = {"population": _map_predictions(test, "true", levels, None, population=True),
             "map_true": _map_predictions(test, "true", levels, None),
             "map_true_sd0.15": _map_predictions(test, "true", levels, 0.15),
             "map_no_ehc": _map_predictions(test, "no_ehc", levels, None),
             "vae": _vae_predictions(predictors["vae"], test, levels, None),
             "hybrid": _vae_predictions(predictors["hybrid"], test, levels, features["test"])}
    timings["predict_s"] = time.perf_counter() - started - sum(timings.values())
    rng = streams[4]
    recon = _reconstruction(test, preds, rng)
    errors = {name: r.pop("abs_errors") for name, r in recon.items()}
    dosing = _dosing(_true_level_aucs(test, levels), preds, rng)
    inside = {k: v.pop("_inside") for k, v in dosing.items()}
    to_target = {k: v.pop("_error") for k, v in dosing.items()}
    results = {
        "args": vars(args), "reconstruction": recon, "dosing": dosing,
        "paired_vs_map_no_ehc": {
            "auc_mape_diff": _paired(errors, "map_no_ehc", rng, lambda x: np.median(x) * 100),
            "in_target_diff": _paired(inside, "map_no_ehc", rng, lambda x: x.mean() * 100),
            "abs_pct_error_to_45_diff": _paired(to_target, "map_no_ehc", rng, np.median)},
        "gap_closed": {m: _gap_closed(errors, rng, m) for m in ("vae", "hybrid")},
        "gap_closed_vs_sd0.15": {m: _gap_closed(errors, rng, m, "map_true_sd0.15")
                                 for m in ("vae", "hybrid")},
        "coverage": _coverage(predictors, test, features["test"], args),
        "training": {k: p.vae.metadata.get("best_epoch") for k, p in predictors.items()},
        "timings_s": timings}
    results["timings_s"]["total_s"] = time.perf_counter() - started
    if args.out:
        for name, predictor in predictors.items():  # the VAE VaeDosingPolicy loads
            save_profile_vae(predictor.vae, Path(args.out) / name)
    if args.out and not args.no_env:
        results["env"] = run_env_stage(args.out, Path(args.out) / "env",
                                       n_patients=args.env_patients, seed=args.env_seed,
                                       progress=not args.quick)
        results["timings_s"]["env_stage_s"] = results["env"]["timings_s"]["env_stage_s"]
        results["timings_s"]["total_with_env_s"] = time.perf_counter() - started
    return results


def _ci(x: tuple[float, float, float] | list[float], digits: int = 1) -> str:
    return f"{x[0]:.{digits}f} [{x[1]:.{digits}f}, {x[2]:.{digits}f}]"


def markdown(results: dict[str, Any]) -> str:
    """The results as markdown tables."""
    rec, dos = results["reconstruction"], results["dosing"]
    lines = ["| method | AUC median abs % err | AUC median % err (bias) | AUC RMSE % | "
             "log RMSE 0-12 h | log RMSE 6-12 h |", "|---|---|---|---|---|---|"]
    lines += [f"| {m} | {_ci(r['auc_mape'])} | {_ci(r['auc_bias'])} | {_ci(r['auc_rmse'])} | "
              f"{_ci(r['log_rmse'], 3)} | {_ci(r['log_rmse_6_12h'], 3)} |" for m, r in rec.items()]
    lines += ["", "| method | true AUC in 30-60 (%) | median abs % error to 45 | "
              "in-target diff vs map_no_ehc (pp) |", "|---|---|---|---|"]
    diffs = results["paired_vs_map_no_ehc"]["in_target_diff"]
    lines += [f"| {m} | {_ci(d['in_target'])} | {_ci(d['abs_pct_error_to_45'])} | "
              f"{_ci(diffs[m]) if m in diffs else '-'} |" for m, d in dos.items()]
    lines += ["", "| interval | coverage of true AUC (%) | median high/low | scale |",
              "|---|---|---|---|"]
    lines += [f"| {k} | {v['coverage']:.1f} | {v['median_width_ratio']:.2f} | "
              f"{v['scale']:.2f} |" for k, v in results["coverage"].items()]
    lines += ["", "| method | fraction of the MAP-no-EHC -> MAP-true gap closed (AUC median abs "
              "error) | same, gap to map_true_sd0.15 |", "|---|---|---|"]
    lines += [f"| {m} | {_ci(g, 2)} | {_ci(results['gap_closed_vs_sd0.15'][m], 2)} |"
              for m, g in results["gap_closed"].items()]
    if "env" in results:
        lines += ["", env_markdown(results["env"]).rstrip("\n")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, run, write ``beyond_odes.json`` and ``beyond_odes.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=4000, help="training patients")
    parser.add_argument("--n-test", type=int, default=400,
                        help="held-out test patients (and as many for calibration)")
    parser.add_argument("--epochs", type=int, default=60, help="VAE training epochs")
    parser.add_argument("--draws", type=int, default=200, help="posterior draws of z")
    parser.add_argument("--seed", type=int, default=0, help="root seed")
    parser.add_argument("--env-patients", type=int, default=200,
                        help="patients of the env stage's evaluation cohort")
    parser.add_argument("--env-seed", type=int, default=0,
                        help="seed of the env stage's evaluation cohort, noise and bootstrap")
    parser.add_argument("--no-env", action="store_true",
                        help="skip the env stage (whole episodes in pkgym/Mycophenolate-v0)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--out", default="results/beyond_odes", help="output directory")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.epochs, args.draws = 200, 40, 3, 20
        args.env_patients = 5
    if args.env_patients < 1:
        raise ValueError(f"--env-patients must be >= 1, got {args.env_patients}")
    results = run(args)
    out = Path(args.out)
    write_text(json.dumps(results, indent=1, default=float), out / "beyond_odes.json")
    write_text(markdown(results), out / "beyond_odes.md")
    print(markdown(results))
    print(json.dumps(results["timings_s"], indent=1))


if __name__ == "__main__":
    main()
