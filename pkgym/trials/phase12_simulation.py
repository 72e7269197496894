"""Phase I/II trials with toxicity and efficacy: scenario, batched simulation, OC, BOIN12 spec.

Each patient's outcome is one of four (DLT and response, DLT only, response only, neither),
drawn from the dose's joint probabilities with one uniform: DLT when U < p_T, response when
U < p_TE or p_T <= U < p_T + p_E - p_TE. Trial k draws its uniforms from child k of the root
``SeedSequence``, so trial k is the same in any batch or chunk (``first_trial``), as in
:func:`pkgym.trials.operating_characteristics.simulate_trials`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pkgym.models.dose_efficacy import PHI_E, PHI_T, U_BOTH, U_NEITHER
from pkgym.models.dose_toxicity import MAX_SAMPLE_SIZE
from pkgym.trials.phase12 import Boin12Design, Phase12State
from pkgym.utils import as_seed_sequence


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Phase12Scenario:
    """Truth and size rules of a simulated phase I/II trial.

    Attributes:
        true_dlt_probabilities: DLT probability per level, non-decreasing, in (0, 1) (n_doses,).
        true_efficacy_probabilities: Response probability per level, in (0, 1) (n_doses,).
        true_joint_probabilities: Pr(DLT and response) per level, or None for independent
            outcomes; each within [max(0, p_T + p_E - 1), min(p_T, p_E)].
        target_dlt_rate: Highest acceptable DLT probability phi_T.
        min_efficacy_rate: Lowest acceptable response probability phi_E.
        utility_neither: Utility of neither event, 0-100 (Lin et al. 2020 default 40).
        utility_both: Utility of a response with a DLT, 0-100 (default 60).
        cohort_size: Patients per cohort.
        max_sample_size: Most patients (a multiple of ``cohort_size``).
        start_level: Zero-based starting level.

    Examples:
        >>> s = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.3, 0.5),
        ...                     true_efficacy_probabilities=(0.1, 0.4, 0.5, 0.55),
        ...                     target_dlt_rate=0.35, min_efficacy_rate=0.25)
        >>> s.true_mtd, s.true_obd, s.true_utilities.round(1).tolist()
        (2, 1, [44.0, 60.0, 58.0, 53.0])
    """

    true_dlt_probabilities: tuple[float, ...]
    true_efficacy_probabilities: tuple[float, ...]
    true_joint_probabilities: tuple[float, ...] | None = None
    target_dlt_rate: float = PHI_T
    min_efficacy_rate: float = PHI_E
    utility_neither: float = U_NEITHER
    utility_both: float = U_BOTH
    cohort_size: int = 3
    max_sample_size: int = 36
    start_level: int = 0

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        tox = _probabilities("true_dlt_probabilities", self.true_dlt_probabilities)
        eff = _probabilities("true_efficacy_probabilities", self.true_efficacy_probabilities)
        object.__setattr__(self, "true_dlt_probabilities", tuple(float(p) for p in tox))
        object.__setattr__(self, "true_efficacy_probabilities", tuple(float(p) for p in eff))
        if np.any(np.diff(tox) < 0) or tox.size < 2 or eff.shape != tox.shape:
            raise ValueError("true_dlt_probabilities must be non-decreasing over >= 2 levels and "
                             "true_efficacy_probabilities must have one value per level")
        if self.true_joint_probabilities is not None:
            joint = np.asarray(self.true_joint_probabilities, dtype=np.float64)
            low, high = np.maximum(0.0, tox + eff - 1), np.minimum(tox, eff)
            if joint.shape != tox.shape or np.any(joint < low - 1e-12) or np.any(
                    joint > high + 1e-12):
                raise ValueError("true_joint_probabilities must give one Pr(DLT and response) "
                                 "per level within [max(0, pT + pE - 1), min(pT, pE)]")
            object.__setattr__(self, "true_joint_probabilities", tuple(float(p) for p in joint))
        # the design validates phi_T, phi_E and the utilities the same way
        self.design()
        if not 1 <= self.cohort_size <= self.max_sample_size <= MAX_SAMPLE_SIZE or \
                self.max_sample_size % self.cohort_size:
            raise ValueError(f"max_sample_size must be a multiple of cohort_size="
                             f"{self.cohort_size} in [1, {MAX_SAMPLE_SIZE}], "
                             f"got {self.max_sample_size}")
        if not 0 <= self.start_level < tox.size:
            raise ValueError(f"start_level must be in [0, {tox.size - 1}], got {self.start_level}")

    @property
    def n_doses(self) -> int:
        """Number of dose levels."""
        return len(self.true_dlt_probabilities)

    @property
    def max_cohorts(self) -> int:
        """Most cohorts, ``max_sample_size // cohort_size``."""
        return self.max_sample_size // self.cohort_size

    @property
    def joint(self) -> np.ndarray:
        """Pr(DLT and response) per level (independence where not given) (n_doses,)."""
        if self.true_joint_probabilities is not None:
            return np.asarray(self.true_joint_probabilities)
        return np.asarray(self.true_dlt_probabilities) * np.asarray(
            self.true_efficacy_probabilities)

    @property
    def true_utilities(self) -> np.ndarray:
        """Mean utility of each level, 100 p(E, no T) + u2 p(neither) + u3 p(E, T) (n_doses,)."""
        tox = np.asarray(self.true_dlt_probabilities)
        eff = np.asarray(self.true_efficacy_probabilities)
        both = self.joint
        return (100.0 * (eff - both) + self.utility_neither * (1 - tox - eff + both)
                + self.utility_both * both)

    @property
    def true_mtd(self) -> int:
        """Level whose DLT probability is closest to phi_T (ties: the lower)."""
        distance = np.abs(np.asarray(self.true_dlt_probabilities) - self.target_dlt_rate)
        return int(np.flatnonzero(np.isclose(distance, distance.min()))[0])

    @property
    def true_obd(self) -> int:
        """Level of highest true utility at or below the true MTD (the reference code's OBD)."""
        return int(np.argmax(self.true_utilities[: self.true_mtd + 1]))

    def design(self, **options: object) -> Boin12Design:
        """BOIN12 with this scenario's phi_T, phi_E and utilities (plus ``options``)."""
        return Boin12Design(target=self.target_dlt_rate, min_efficacy=self.min_efficacy_rate,
                            utility_neither=self.utility_neither,
                            utility_both=self.utility_both, **options)  # type: ignore[arg-type]


def _probabilities(name: str, values: tuple[float, ...]) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or not np.all((array > 0) & (array < 1)):
        raise ValueError(f"{name} must be a list of probabilities in (0, 1), got {values}")
    return array


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Phase12Results:
    """Outcome of simulated phase I/II trials (counts (n_trials, n_doses), selection (n,))."""

    patients: np.ndarray
    dlts: np.ndarray
    responses: np.ndarray
    selected: np.ndarray
    stopped_early: np.ndarray
    seed_entropy: int
    first_trial: int = 0


def _uniforms(scenario: Phase12Scenario, n_trials: int, seed: int,
              first_trial: int) -> np.ndarray:
    """Per-trial outcome uniforms (n_trials, n_cohorts, cohort_size), one stream per trial."""
    root = as_seed_sequence(seed)
    shape = (scenario.max_cohorts, scenario.cohort_size)
    out = np.empty((n_trials, *shape))
    for k in range(n_trials):
        child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, first_trial + k))
        out[k] = np.random.default_rng(child).random(shape)
    return out


def simulate_phase12_trials(design: Boin12Design, scenario: Phase12Scenario, n_trials: int,
                            seed: int, *, first_trial: int = 0) -> Phase12Results:
    """Simulate ``n_trials`` phase I/II trials, all cohorts batched.

    Examples:
        >>> s = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.3),
        ...                     true_efficacy_probabilities=(0.2, 0.5, 0.5), max_sample_size=18)
        >>> r = simulate_phase12_trials(s.design(), s, 20, seed=3)
        >>> r.patients.shape, bool(np.all(r.patients.sum(axis=1) <= 18))
        ((20, 3), True)
    """
    if n_trials < 1 or first_trial < 0:
        raise ValueError(f"n_trials must be >= 1 and first_trial >= 0, got {n_trials}, "
                         f"{first_trial}")
    uniforms = _uniforms(scenario, n_trials, seed, first_trial)
    tox, eff = np.asarray(scenario.true_dlt_probabilities), np.asarray(
        scenario.true_efficacy_probabilities)
    both = scenario.joint
    state = Phase12State.empty(n_trials=n_trials, n_doses=scenario.n_doses,
                               start_level=scenario.start_level)
    no_selection = np.zeros(n_trials, dtype=bool)
    for cohort in range(scenario.max_cohorts):
        rows = np.flatnonzero(~state.stopped)
        if rows.size == 0:
            break
        levels = state.levels[rows]
        u = uniforms[rows, cohort]
        p_t, p_e, p_te = (x[levels][:, None] for x in (tox, eff, both))
        dlt = u < p_t
        response = (u < p_te) | ((u >= p_t) & (u < p_t + p_e - p_te))
        state.patients[rows, levels] += scenario.cohort_size
        state.dlts[rows, levels] += dlt.sum(axis=1)
        state.responses[rows, levels] += response.sum(axis=1)
        state.both[rows, levels] += (dlt & response).sum(axis=1)
        decision = design.decide(state)
        full = state.patients.sum(axis=1) >= scenario.max_sample_size
        done = decision.stop_no_selection | decision.stop_select | full
        no_selection[rows] = decision.stop_no_selection[rows]
        state.stopped[rows] |= done[rows]
        moving = ~state.stopped
        state.levels[moving] = decision.levels[moving]
    selected = np.where(no_selection, -1, design.select_mtd(state))
    return Phase12Results(patients=state.patients, dlts=state.dlts, responses=state.responses,
                          selected=selected, stopped_early=no_selection,
                          seed_entropy=int(as_seed_sequence(seed).entropy),  # type: ignore[arg-type]
                          first_trial=first_trial)


def phase12_operating_characteristics(results: Phase12Results,
                                      scenario: Phase12Scenario) -> dict[str, object]:
    """Correct OBD selection, selection and allocation per dose, stops, with MC SEs.

    Examples:
        >>> s = Phase12Scenario(true_dlt_probabilities=(0.05, 0.1, 0.3),
        ...                     true_efficacy_probabilities=(0.2, 0.5, 0.5), max_sample_size=18)
        >>> oc = phase12_operating_characteristics(
        ...     simulate_phase12_trials(s.design(), s, 50, seed=1), s)
        >>> bool(abs(sum(oc["selection_percent"]) + oc["no_selection_percent"] - 100) < 1e-9)
        True
    """
    n = results.selected.size
    if n < 2 or results.patients.shape[1] != scenario.n_doses:
        raise ValueError("results must have the scenario's n_doses and at least 2 trials")
    chosen = results.selected[:, None] == np.arange(scenario.n_doses)[None, :]
    share = chosen.mean(axis=0)
    correct = share[scenario.true_obd]
    none = float((results.selected == -1).mean())
    return {
        "n_trials": n,
        "true_obd": scenario.true_obd,
        "percent_correct_selection": 100 * float(correct),
        "percent_correct_selection_se": 100 * float(np.sqrt(correct * (1 - correct) / n)),
        "selection_percent": (100 * share).tolist(),
        "no_selection_percent": 100 * none,
        "no_selection_percent_se": 100 * float(np.sqrt(none * (1 - none) / n)),
        "mean_patients_per_dose": results.patients.mean(axis=0).tolist(),
        "mean_sample_size": float(results.patients.sum(axis=1).mean()),
        "mean_dlts": float(results.dlts.sum(axis=1).mean()),
        "mean_responses": float(results.responses.sum(axis=1).mean()),
    }


BOIN12_OPTIONS = ("phi_e", "u2", "u3", "n_star", "n_explore", "c_t", "c_e", "n_earlystop")
"""Keys of :func:`boin12_from_spec`."""
_FIELDS = {"phi_e": "min_efficacy", "u2": "utility_neither", "u3": "utility_both",
           "n_star": "n_star", "n_explore": "n_explore", "c_t": "toxicity_cutoff",
           "c_e": "efficacy_cutoff", "n_earlystop": "n_earlystop"}


def boin12_from_spec(spec: str, scenario: object) -> Boin12Design:
    """``boin12`` or ``boin12:key=value[,key=value]`` (keys :data:`BOIN12_OPTIONS`) as a design.

    phi_T is the scenario's ``target_dlt_rate``; phi_E and the utilities default to the
    scenario's (a :class:`Phase12Scenario`) or to the paper's 0.25, 40, 60.

    Examples:
        >>> from pkgym.trials.scenarios import DoseFindingScenario
        >>> tox = DoseFindingScenario(true_dlt_probabilities=(0.1, 0.3), target_dlt_rate=0.3)
        >>> d = boin12_from_spec("boin12:phi_e=0.2,u2=35,u3=65,n_earlystop=12", tox)
        >>> d.target, d.min_efficacy, d.utility_neither, d.utility_both, d.n_earlystop
        (0.3, 0.2, 35.0, 65.0, 12)
        >>> boin12_from_spec("boin12:c_t=2", tox)
        Traceback (most recent call last):
        ...
        ValueError: design boin12: toxicity_cutoff must be in [0.5, 1), got 2.0
    """
    name, _, text = spec.partition(":")
    if name != "boin12":
        raise ValueError(f"design must be 'boin12' or 'boin12:key=value,...', got {spec!r}")
    options: dict[str, object] = {
        "min_efficacy": getattr(scenario, "min_efficacy_rate", PHI_E),
        "utility_neither": getattr(scenario, "utility_neither", U_NEITHER),
        "utility_both": getattr(scenario, "utility_both", U_BOTH)}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = (part.strip() for part in item.partition("="))
        if key not in BOIN12_OPTIONS or not equals or not value:
            raise ValueError(f"design boin12: options are key=value pairs separated by commas, "
                             f"keys {list(BOIN12_OPTIONS)}; got {item!r}")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"design boin12: {key} must be a number, got {value!r}") from None
        integer = key in ("n_star", "n_explore", "n_earlystop")
        if integer and not number.is_integer():
            raise ValueError(f"design boin12: {key} must be a whole number, got {value!r}")
        options[_FIELDS[key]] = int(number) if integer else number
    try:
        return Boin12Design(target=float(getattr(scenario, "target_dlt_rate")),  # noqa: B009
                            **options)  # type: ignore[arg-type]
    except ValueError as error:
        raise ValueError(f"design boin12: {error}") from None


__all__ = ["BOIN12_OPTIONS", "Phase12Results", "Phase12Scenario", "boin12_from_spec",
           "phase12_operating_characteristics", "simulate_phase12_trials"]
