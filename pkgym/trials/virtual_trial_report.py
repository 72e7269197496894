"""Reports of virtual trials of dosing policies: the operating-characteristics table, a plot.

A design is simulated twice on the same endpoint pool: as simulated (each arm reveals its own
policy's outcomes) and under the null (every arm reveals the control's outcomes, so each
rejection is a type I error). :func:`characteristics_table` puts the two side by side (power
next to type I error, family-wise rejection, expected sample sizes, stopping probabilities and
futility drops, each with its Monte-Carlo SE); :func:`write_virtual_trial_report` writes
``virtual_trial.csv`` (one row per trial and scenario), ``operating_characteristics.csv/.md``
and ``power.png`` atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pkgym.io import write_atomic, write_table, write_text
from pkgym.trials.endpoints import EndpointPool
from pkgym.trials.virtual_trial import VirtualTrialCharacteristics, VirtualTrialDesign

SCENARIOS = ("simulated", "under_null")
"""Column prefixes of :func:`characteristics_table` and ``scenario`` values of the trials table:
as simulated, and with every arm given the control's outcomes."""


def null_pool(pool: EndpointPool) -> EndpointPool:
    """The pool with every arm's outcome replaced by the control's (column 0).

    Examples:
        >>> null_pool(EndpointPool(np.array([[1.0, 2.0, 3.0]]))).outcomes.tolist()
        [[1.0, 1.0, 1.0]]
    """
    outcomes = np.asarray(pool.outcomes)
    return EndpointPool(outcomes[:, np.zeros(outcomes.shape[1], dtype=np.int64)])


def characteristics_table(design: VirtualTrialDesign, simulated: VirtualTrialCharacteristics,
                          null: VirtualTrialCharacteristics) -> pd.DataFrame:
    """One row per characteristic; value and MC SE as simulated and under the null.

    Args:
        design: the design both were simulated with.
        simulated: characteristics on the policies' own outcomes.
        null: characteristics with every arm given the control's outcomes.

    Examples:
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> from pkgym.trials.virtual_trial import simulate_virtual_trials
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b", "c"), endpoint="y",
        ...                        max_patients=60)
        >>> ocs = [simulate_virtual_trials(d, GaussianEndpoints(m, (1.0,) * 3), 20, seed=0)
        ...        for m in ((0.0, 1.0, 0.0), (0.0, 0.0, 0.0))]
        >>> characteristics_table(d, *ocs)["characteristic"].tolist()[:3]
        ['reject H0: b vs a', 'reject H0: c vs a', 'reject any (family-wise)']
    """
    columns: dict[str, list[str] | list[float]] = {}
    for name, oc in zip(SCENARIOS, (simulated, null), strict=True):
        rows = _rows(design, oc)
        columns["characteristic"] = [label for label, _, _ in rows]
        columns[name] = [value for _, value, _ in rows]
        columns[f"{name}_se"] = [se for _, _, se in rows]
    return pd.DataFrame(columns)


def _rows(design: VirtualTrialDesign,
          oc: VirtualTrialCharacteristics) -> list[tuple[str, float, float]]:
    """(label, value, MC SE) of every characteristic of one simulation."""
    control, n_trials = design.arms[0], len(oc.trials)
    rows = [(f"reject H0: {arm} vs {control}", rate, se) for arm, rate, se in zip(
        design.arms[1:], oc.comparison_rejection_rates, oc.comparison_rejection_rate_ses,
        strict=True)]
    rows.append(("reject any (family-wise)", oc.rejection_rate, oc.rejection_rate_se))
    if design.futility_z is not None:
        for arm, suffix in zip(design.arms[1:], design.comparison_suffixes, strict=True):
            rate = float(oc.trials[f"futile{suffix}"].mean())
            rows.append((f"dropped for futility: {arm}", rate, _binomial_se(rate, n_trials)))
    rows.append(("expected N (total)", oc.expected_n, oc.expected_n_se))
    rows += [(f"expected n: {arm}", n, se) for arm, n, se in zip(
        design.arms, oc.expected_n_per_arm, oc.expected_n_per_arm_ses, strict=True)]
    rows += [(f"P(stop at look {k}, N = {size})", p, _binomial_se(p, n_trials)) for k, (size, p)
             in enumerate(zip(design.look_sizes.tolist(), oc.stop_probabilities, strict=True),
                          start=1)]
    return rows


def _binomial_se(rate: float, n_trials: int) -> float:
    """Monte-Carlo SE of a proportion over ``n_trials`` trials."""
    return float(np.sqrt(rate * (1.0 - rate) / max(n_trials - 1, 1)))


def markdown_table(table: pd.DataFrame, title: str, n_trials: int) -> str:
    """The characteristics table as Markdown, each value with ``± MC SE``.

    Examples:
        >>> t = pd.DataFrame({"characteristic": ["x"], "simulated": [0.8], "simulated_se": [0.01],
        ...                   "under_null": [0.05], "under_null_se": [0.005]})
        >>> markdown_table(t, "T", 10).splitlines()[-1]
        '| x | 0.800 ± 0.010 | 0.050 ± 0.005 |'
    """
    lines = [f"# {title}", "", f"{n_trials} simulated trials per column; ± is the Monte-Carlo "
             "SE. Null: every arm given the control's outcomes (rejections are type I errors).",
             "", "| characteristic | as simulated | null (all arms = control) |", "|---|---:|---:|"]
    for row in table.itertuples(index=False):
        digits = 1 if str(row.characteristic).startswith("expected") else 3
        lines.append(f"| {row.characteristic} | {row.simulated:.{digits}f} ± "
                     f"{row.simulated_se:.{digits}f} | {row.under_null:.{digits}f} ± "
                     f"{row.under_null_se:.{digits}f} |")
    return "\n".join(lines) + "\n"


def plot_power(design: VirtualTrialDesign, simulated: VirtualTrialCharacteristics,
               null: VirtualTrialCharacteristics, path: str | Path) -> Path:
    """Write a PNG (atomically): rejection rates per comparison and stopping by look.

    Examples:
        >>> import tempfile, os
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> from pkgym.trials.virtual_trial import simulate_virtual_trials
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y", max_patients=60)
        >>> oc = simulate_virtual_trials(d, GaussianEndpoints((0.0, 0.5), (1.0, 1.0)), 20, 0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     plot_power(d, oc, oc, os.path.join(folder, "p.png")).stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9.6, 4.0))
    labels = [*design.arms[1:], "any"]
    x, width = np.arange(len(labels)), 0.38
    for shift, name, oc in ((-width / 2, "as simulated", simulated),
                            (width / 2, "null", null)):
        rates = [*oc.comparison_rejection_rates, oc.rejection_rate]
        ses = [*oc.comparison_rejection_rate_ses, oc.rejection_rate_se]
        left.bar(x + shift, rates, width, yerr=ses, label=name, alpha=0.8)
    left.axhline(design.alpha, color="k", ls="--", lw=1, label=f"alpha = {design.alpha:g}")
    left.set(xticks=x, xticklabels=labels, ylim=(0, 1), ylabel="P(reject H0)",
             title=f"vs {design.arms[0]}")
    left.legend(fontsize="small")
    looks = np.arange(1, len(design.fractions) + 1)
    for shift, name, oc in ((-width / 2, "as simulated", simulated), (width / 2, "null", null)):
        right.bar(looks + shift, oc.stop_probabilities, width, label=name, alpha=0.8)
    right.set(xticks=looks, xticklabels=[f"{k}\n(N={n})" for k, n in
                                         zip(looks, design.look_sizes.tolist(), strict=True)],
              ylim=(0, 1), xlabel="look", ylabel="P(trial ends here)", title="stopping")
    fig.tight_layout()
    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    finally:
        plt.close(fig)


def write_virtual_trial_report(design: VirtualTrialDesign, simulated: VirtualTrialCharacteristics,
                               null: VirtualTrialCharacteristics, title: str,
                               out: str | Path) -> tuple[str, list[Path]]:
    """Write the trials, the characteristics (CSV, Markdown) and the plot into ``out``.

    Returns:
        The Markdown table and the paths written.

    Examples:
        >>> import tempfile
        >>> from pkgym.trials.endpoints import GaussianEndpoints
        >>> from pkgym.trials.virtual_trial import simulate_virtual_trials
        >>> d = VirtualTrialDesign(env_id="e", arms=("a", "b"), endpoint="y", max_patients=60)
        >>> oc = simulate_virtual_trials(d, GaussianEndpoints((0.0, 0.5), (1.0, 1.0)), 20, 0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     markdown, written = write_virtual_trial_report(d, oc, oc, "T", folder)
        ...     [p.suffix for p in written]
        ['.csv', '.csv', '.md', '.png']
    """
    out = Path(out)
    trials = pd.concat([oc.trials.assign(scenario=name) for name, oc in
                        zip(SCENARIOS, (simulated, null), strict=True)], ignore_index=True)
    trials.insert(0, "trial", np.tile(np.arange(len(simulated.trials)), 2))
    trials.insert(0, "scenario", trials.pop("scenario"))
    table = characteristics_table(design, simulated, null)
    markdown = markdown_table(table, title, len(simulated.trials))

    written = [write_table(trials, out / "virtual_trial.csv"),
               write_table(table, out / "operating_characteristics.csv"),
               write_text(markdown, out / "operating_characteristics.md"),
               plot_power(design, simulated, null, out / "power.png")]
    return markdown, written
