"""Operating-characteristics reports of phase I designs: chunked simulation, tables, a plot.

The trials are simulated in chunks of ``chunk_size`` (trial k always uses stream child k of
the root seed, see :func:`~pkgym.trials.operating_characteristics.simulate_trials`), so the
results do not depend on the chunk size; the chunks drive the progress bar.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from pkgym.io import write_atomic
from pkgym.trials.a_plus_b import a_plus_b_from_spec
from pkgym.trials.a_plus_b_plus_c import (
    a_plus_b_plus_c_from_spec,
    three_plus_three_plus_three_from_spec,
)
from pkgym.trials.boin import BoinDesign, boin_from_spec
from pkgym.trials.crm_spec import crm_from_spec
from pkgym.trials.operating_characteristics import (
    OperatingCharacteristics,
    TrialResults,
    simulate_trials,
)
from pkgym.trials.phase12 import Boin12Design
from pkgym.trials.phase12_simulation import Phase12Scenario, boin12_from_spec
from pkgym.trials.scenarios import DoseFindingScenario
from pkgym.trials.state import DoseFindingDesign, TrialState
from pkgym.trials.thompson import ThompsonSamplingDesign
from pkgym.trials.three_plus_three import three_plus_three_from_spec
from pkgym.trials.tite_crm import TiteCrmDesign, tite_crm_from_spec
from pkgym.trials.tite_simulation import simulate_tite_trials

DesignFactory = Callable[[str, DoseFindingScenario], DoseFindingDesign]
"""Builds a design from its spec (``name`` or ``name:key=value,...``) and the scenario."""


def _boin(spec: str, scenario: DoseFindingScenario) -> DoseFindingDesign:
    """BOIN; ``boin:key=value,...`` takes the options of :func:`boin_from_spec`."""
    if spec == "boin":
        return BoinDesign(target=scenario.target_dlt_rate)
    return boin_from_spec(spec, scenario.target_dlt_rate)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TimeToEventDesign:
    """TITE-CRM with its own simulator: staggered entry, follow-up weighted likelihood.

    :func:`~pkgym.trials.operating_characteristics.simulate_trials` hands a design with a
    ``simulate_trials`` method its trials; this one runs
    :func:`~pkgym.trials.tite_simulation.simulate_tite_trials` (dfcrm ``titesim`` rules).
    ``next_dose``/``stop``/``select_mtd`` are the TITE-CRM's with every patient fully
    followed (what the dose-transition pathways show).

    Attributes:
        design: The TITE-CRM (window, weights, accrual).
    """

    design: TiteCrmDesign

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Next level with complete follow-up (n_trials,)."""
        return self.design.next_dose(state)

    def stop(self, state: TrialState) -> np.ndarray:
        """The TITE-CRM never stops early (as dfcrm's ``titesim``)."""
        return self.design.stop(state)

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """MTD from the complete data (n_trials,)."""
        return self.design.select_mtd(state)

    def simulate_trials(self, scenario: DoseFindingScenario, n_trials: int, seed: int, *,
                        first_trial: int = 0) -> TrialResults:
        """Trials with staggered entry; trial k uses stream child k of ``seed``."""
        return simulate_tite_trials(self.design, scenario, n_trials, seed,
                                    first_trial=first_trial).results


FAMILIES: dict[str, DesignFactory] = {
    "3+3": three_plus_three_from_spec,
    "a+b": a_plus_b_from_spec,
    "3+3+3": three_plus_three_plus_three_from_spec,
    "a+b+c": a_plus_b_plus_c_from_spec,
    "crm": crm_from_spec,
    "boin": _boin,
    "thompson": lambda spec, scenario: ThompsonSamplingDesign(
        target=scenario.target_dlt_rate),
    "tite_crm": lambda spec, scenario: TimeToEventDesign(
        design=tite_crm_from_spec(spec, scenario)),
}
"""Design families: each name alone gives its published defaults; a family whose factory
reads options also takes ``name:key=value[,key=value]``."""

TAKES_OPTIONS = frozenset({"3+3", "a+b", "3+3+3", "a+b+c", "boin", "crm", "tite_crm"})
"""Families whose factory reads ``name:key=value`` options (the others refuse a colon)."""

DESIGNS = tuple(FAMILIES)
"""Design names of :func:`make_design` (every family name alone is a design)."""

PHASE12_FAMILIES: dict[str, Callable[[str, Phase12Scenario], Boin12Design]] = {
    "boin12": boin12_from_spec,
}
"""Phase I/II design families (toxicity and efficacy; the optimal biological dose): they run
on :class:`~pkgym.trials.phase12_simulation.Phase12Scenario` truths with their own simulator
(``boin12:key=value,...`` takes the options of :func:`boin12_from_spec`)."""


def make_design(name: str, scenario: DoseFindingScenario) -> DoseFindingDesign:
    """A design with its published defaults (or the spec's options), for the scenario's target.

    ``crm`` alone is the power-model CRM on the indifference-interval skeleton (half-width
    0.05, prior MTD the middle level); the families' options are their factories' (e.g.
    :func:`pkgym.trials.crm_spec.crm_from_spec`, :func:`pkgym.trials.boin.boin_from_spec`).

    Args:
        name: One of :data:`DESIGNS`, or ``family:key=value[,key=value]`` for a family in
            :data:`TAKES_OPTIONS` (e.g. ``boin:extrasafe=1``, ``crm:model=logistic``).
        scenario: Supplies the target DLT rate and the number of dose levels.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3)
        >>> type(make_design("crm", scenario)).__name__
        'CrmDesign'
        >>> make_design("thompson:x=1", scenario)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: design thompson takes no options (families with options: [...]), ...
    """
    family, colon, _ = name.partition(":")
    if family not in FAMILIES:
        raise ValueError(f"design must be one of {list(DESIGNS)} (options as "
                         f"name:key=value,...), got {name!r}")
    if colon and family not in TAKES_OPTIONS:
        raise ValueError(f"design {family} takes no options (families with options: "
                         f"{sorted(TAKES_OPTIONS)}), got {name!r}")
    return FAMILIES[family](name, scenario)


def simulate_in_chunks(
    design: DoseFindingDesign,
    scenario: DoseFindingScenario,
    n_trials: int,
    seed: int,
    *,
    chunk_size: int = 1000,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> TrialResults:
    """Simulate ``n_trials`` trials in chunks; identical to one call for any ``chunk_size``.

    Args:
        design: A dose-finding design.
        scenario: True DLT probabilities and size rules.
        n_trials: Number of trials (>= 2).
        seed: Root seed (>= 0).
        chunk_size: Trials per chunk (>= 1).
        progress: Wraps the iterable of chunk starts, e.g. a ``tqdm`` factory.

    Examples:
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> a = simulate_in_chunks(BoinDesign(target=0.3), scenario, 30, 1, chunk_size=7)
        >>> b = simulate_trials(BoinDesign(target=0.3), scenario, 30, 1)
        >>> bool(np.array_equal(a.selected, b.selected) and np.array_equal(a.dlts, b.dlts))
        True
    """
    if n_trials < 2:
        raise ValueError(f"n_trials must be >= 2, got {n_trials}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    starts: Iterable[int] = range(0, n_trials, chunk_size)
    parts = [simulate_trials(design, scenario, min(chunk_size, n_trials - s), seed, first_trial=s)
             for s in (progress(starts) if progress else starts)]
    return TrialResults(
        patients=np.concatenate([p.patients for p in parts]),
        dlts=np.concatenate([p.dlts for p in parts]),
        selected=np.concatenate([p.selected for p in parts]),
        seed_entropy=parts[0].seed_entropy,
    )


def per_dose_table(
    oc: OperatingCharacteristics, scenario: DoseFindingScenario, doses: Iterable[float] | None
) -> pd.DataFrame:
    """One row per dose level: truth, selection % and patients treated, with MC SEs.

    Args:
        oc: Operating characteristics of the simulated trials.
        scenario: The scenario they were simulated under.
        doses: Dose of each level, mg/m2, or ``None`` when the truth is a fixed table.

    Examples:
        >>> from pkgym.trials.operating_characteristics import operating_characteristics
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> results = simulate_trials(BoinDesign(target=0.3), scenario, 100, 1)
        >>> table = per_dose_table(operating_characteristics(results, scenario), scenario, None)
        >>> table["true_mtd"].tolist()
        [False, True, False]
    """
    table = pd.DataFrame({
        "level": np.arange(1, scenario.n_doses + 1),
        "true_dlt_rate": scenario.true_dlt_probabilities,
        "true_mtd": np.arange(scenario.n_doses) == scenario.true_mtd,
        "selection_percent": oc.selection_percent,
        "selection_percent_se": oc.selection_percent_se,
        "mean_patients": oc.mean_patients_per_dose,
        "mean_patients_se": oc.mean_patients_per_dose_se,
    })
    if doses is not None:
        table.insert(1, "dose_mg_per_m2", list(doses))
    return table


def summary_rows(oc: OperatingCharacteristics) -> list[tuple[str, float, float]]:
    """(name, value, MC SE) of the trial-level operating characteristics.

    Examples:
        >>> from pkgym.trials.operating_characteristics import operating_characteristics
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> oc = operating_characteristics(
        ...     simulate_trials(BoinDesign(target=0.3), scenario, 100, 1), scenario)
        >>> [row[0] for row in summary_rows(oc)][:2]
        ['% correct selection', '% no selection (early stop)']
    """
    return [
        ("% correct selection", oc.percent_correct_selection, oc.percent_correct_selection_se),
        ("% no selection (early stop)", oc.no_selection_percent, oc.no_selection_percent_se),
        ("% patients treated above MTD", oc.percent_treated_above_mtd,
         oc.percent_treated_above_mtd_se),
        ("mean DLTs", oc.mean_dlts, oc.mean_dlts_se),
        ("mean sample size", oc.mean_sample_size, oc.mean_sample_size_se),
    ]


def markdown_report(
    table: pd.DataFrame, oc: OperatingCharacteristics, title: str
) -> str:
    """The per-dose table and the summary as Markdown, each value with ``± MC SE``.

    Examples:
        >>> from pkgym.trials.operating_characteristics import operating_characteristics
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> oc = operating_characteristics(
        ...     simulate_trials(BoinDesign(target=0.3), scenario, 100, 1), scenario)
        >>> markdown_report(per_dose_table(oc, scenario, None), oc, "BOIN").splitlines()[0]
        '# BOIN'
    """
    dose = "dose (mg/m²) | " if "dose_mg_per_m2" in table else ""
    lines = [f"# {title}", "", f"{oc.n_trials} simulated trials; ± is the Monte-Carlo SE.", "",
             f"| level | {dose}true DLT rate | selected % | patients treated |",
             "|---:|" + ("---:|" if dose else "") + "---:|---:|---:|"]
    for row in table.itertuples():
        mark = " (MTD)" if row.true_mtd else ""
        given = f"{row.dose_mg_per_m2:g} | " if dose else ""
        lines.append(
            f"| {row.level}{mark} | {given}{row.true_dlt_rate:.3f} | "
            f"{row.selection_percent:.1f} ± {row.selection_percent_se:.1f} | "
            f"{row.mean_patients:.2f} ± {row.mean_patients_se:.2f} |"
        )
    lines += ["", "| characteristic | value |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f} ± {se:.2f} |" for name, value, se in summary_rows(oc)]
    return "\n".join(lines) + "\n"


def plot_selection(
    table: pd.DataFrame, scenario: DoseFindingScenario, title: str, path: str | Path
) -> Path:
    """Write a PNG (atomically): selection % bars with SEs, the true DLT curve, the target.

    Examples:
        >>> import tempfile, os
        >>> from pkgym.trials.operating_characteristics import operating_characteristics
        >>> scenario = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3, 0.5),
        ...                                target_dlt_rate=0.3, max_sample_size=18)
        >>> oc = operating_characteristics(
        ...     simulate_trials(BoinDesign(target=0.3), scenario, 100, 1), scenario)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     png = plot_selection(per_dose_table(oc, scenario, None), scenario, "BOIN",
        ...                          os.path.join(folder, "s.png"))
        ...     png.stat().st_size > 0
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(6.4, 4.0))
    labels = [f"{d:g}" for d in table.get("dose_mg_per_m2", table["level"])]
    x = np.arange(len(table))
    left.bar(x, table["selection_percent"], yerr=table["selection_percent_se"], color="tab:blue",
             alpha=0.7, label="selected as MTD (%)")
    left.set(xticks=x, xticklabels=labels, ylabel="selected as MTD (%)", ylim=(0, 100),
             xlabel="dose (mg/m²)" if "dose_mg_per_m2" in table else "dose level", title=title)
    right = left.twinx()
    right.plot(x, table["true_dlt_rate"], "o-", color="tab:red", label="true DLT rate")
    right.axhline(scenario.target_dlt_rate, color="tab:red", ls="--", lw=1, label="target")
    right.set(ylabel="true DLT rate", ylim=(0, 1))
    left.legend(handles=[*left.get_legend_handles_labels()[0], *right.get_lines()],
                loc="upper left", fontsize="small")
    fig.tight_layout()
    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    finally:
        plt.close(fig)
