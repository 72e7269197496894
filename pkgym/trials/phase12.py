"""BOIN12: the Bayesian optimal interval phase I/II design for the optimal biological dose.

Lin R, Zhou Y, Yan F, Li D, Yuan Y (2020). BOIN12: Bayesian optimal interval phase I/II trial
design for utility-based dose finding in immunotherapy and targeted therapies. JCO Precis Oncol
4:PO.20.00257 (pp. 1393-1402). Rules as the paper states them, with the details the paper leaves
to its software read from two public implementations (rules only, no code copied): the R package
``escalation`` (Brock K; ``boin12_logic.R``, checked there against the MD Anderson BOIN12 Shiny
app) and the reference code of ``phase12designs`` (Cao A; ``oc_boin12.R``, in the style of the
authors' simulation code). Batched over trials:

* **Utility** of the four outcomes: u(E, no T) = 100, u(no E, no T) = u2, u(E, T) = u3,
  u(no E, T) = 0; paper's default u2 = 40, u3 = 60.
* **Benchmark**: u_bar = 100 phi_E (1 - phi_T) + u2 (1 - phi_T)(1 - phi_E) + u3 phi_T phi_E
  (the utility of a dose at the toxicity limit and the lowest acceptable efficacy, independent
  outcomes) and u_b = u_bar + (100 - u_bar) / 2.
* **Desirability**: quasi-binomial pseudo-data x_j = (100 y_E,noT + u2 y_noE,noT + u3 y_E,T)/100
  and the posterior Pr(u_j > u_b | data) = 1 - I_{u_b/100}(1 + x_j, 1 + n_j - x_j) under a
  Beta(1, 1) prior; its rank among the possible outcomes is the paper's rank-based desirability
  score (RDS, Table 3), so ranking doses by it or by the RDS is the same decision.
* **Admissible** doses: dose j and all higher doses are eliminated when n_j >= 3 and
  Pr(p_T,j > phi_T | data) > c_T (0.95); dose j alone when n_j >= 3 and
  Pr(p_E,j < phi_E | data) > c_E (0.90); Beta(1, 1) priors.
* **Dose finding** at the current dose j with n_j patients and DLT rate p_j (BOIN boundaries
  lambda_e, lambda_d of phi_T): if p_j >= lambda_d go to the highest admissible dose below j
  (stay at j if none; stop if j is not admissible either); otherwise choose, by desirability,
  among j, the highest admissible dose below it and the lowest admissible dose above it, the
  last only while n_j < N* = 6 or p_j <= lambda_e (ties: the higher dose, as the Shiny app).
  Exploration rule (Data Supplement): with n_j >= 9, p_j < lambda_d and the next admissible
  dose above j untried, go there. The trial stops with no selection when the lowest dose is
  too toxic, no dose is admissible, or the chosen dose is not admissible.
* **Final OBD** (:mod:`pkgym.trials.phase12_selection`): the admissible, treated dose of highest
  estimated utility at or below the estimated MTD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from scipy import special, stats

from pkgym.models.dose_efficacy import U_BOTH, U_NEITHER
from pkgym.trials.boin import boin_boundaries
from pkgym.trials.phase12_selection import U_EFFICACY_ONLY, U_TOXICITY_ONLY, select_obd
from pkgym.trials.state import TrialState

MIN_PATIENTS_TO_ELIMINATE = 3
"""A dose is eliminated for toxicity or futility only with >= 3 patients (BOIN convention; the
reference code's boundaries start at 3 patients)."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Phase12State(TrialState):
    """A :class:`TrialState` with efficacy: responses per dose and patients with both events.

    Attributes:
        responses: Patients with a response per dose (n_trials, n_doses), int64.
        both: Patients with a DLT and a response per dose (n_trials, n_doses), int64.

    Examples:
        >>> state = Phase12State.from_outcomes([[3, 3]], [[0, 1]], [[1, 2]], [[0, 1]], [1])
        >>> state.responses.tolist(), state.both.tolist()
        ([[1, 2]], [[0, 1]])
    """

    responses: np.ndarray  # (n_trials, n_doses)
    both: np.ndarray  # (n_trials, n_doses)

    @classmethod
    def empty(cls, *, n_trials: int, n_doses: int, start_level: int) -> Phase12State:
        """State before the first cohort."""
        base = TrialState.empty(n_trials=n_trials, n_doses=n_doses, start_level=start_level)
        zeros = np.zeros((n_trials, n_doses), dtype=np.int64)
        return cls(**_base_fields(base), responses=zeros, both=zeros.copy())

    @classmethod
    def from_outcomes(cls, patients: object, dlts: object, responses: object, both: object,
                      levels: object) -> Phase12State:
        """Hand-made state from per-dose counts; ``both`` counts patients with DLT and response."""
        base = TrialState.from_counts(patients, dlts, levels)
        resp = np.atleast_2d(np.asarray(responses, dtype=np.int64))
        joint = np.atleast_2d(np.asarray(both, dtype=np.int64))
        if resp.shape != base.patients.shape or joint.shape != resp.shape:
            raise ValueError("responses and both must have the shape of patients")
        if np.any(joint > np.minimum(resp, base.dlts)) or np.any(
                resp + base.dlts - joint > base.patients) or np.any(joint < 0):
            raise ValueError("need 0 <= both <= min(dlts, responses) and "
                             "dlts + responses - both <= patients")
        return cls(**_base_fields(base), responses=resp, both=joint)


def _base_fields(state: TrialState) -> dict[str, np.ndarray]:
    """The :class:`TrialState` fields of ``state``, whatever they are."""
    return {field.name: getattr(state, field.name) for field in dataclasses.fields(TrialState)}


def utility_benchmark(phi_t: float, phi_e: float, u2: float, u3: float) -> float:
    """The desirable utility u_b of Lin et al. (2020), from u_bar at (phi_T, phi_E).

    Examples:
        >>> utility_benchmark(0.35, 0.25, 40, 60)  # u_bar = 41.0
        70.5
    """
    u_bar = (U_EFFICACY_ONLY * phi_e * (1 - phi_t) + u2 * (1 - phi_t) * (1 - phi_e)
             + u3 * phi_t * phi_e + U_TOXICITY_ONLY * phi_t * (1 - phi_e))
    return float(u_bar + (100.0 - u_bar) / 2)


def desirability(patients: np.ndarray, dlts: np.ndarray, responses: np.ndarray,
                 both: np.ndarray, benchmark: float, u2: float, u3: float) -> np.ndarray:
    """Posterior Pr(utility > benchmark) per dose from the quasi-binomial pseudo-data.

    Args:
        patients: Patients per dose (any shape).
        dlts: Patients with a DLT, same shape.
        responses: Patients with a response, same shape.
        both: Patients with a DLT and a response, same shape.
        benchmark: u_b on the 0-100 utility scale.
        u2: Utility of neither event (0-100).
        u3: Utility of both events (0-100).

    Examples:
        >>> p = desirability(np.array([0, 3]), np.array([0, 0]), np.array([0, 3]),
        ...                  np.array([0, 0]), 70.5, 40, 60)
        >>> p.round(4).tolist()  # untried: 1 - 0.705; 3 responses, no DLT: 1 - 0.705 ** 4
        [0.295, 0.753]
    """
    efficacy_only = responses - both
    neither = patients - dlts - efficacy_only
    x = (U_EFFICACY_ONLY * efficacy_only + u2 * neither + u3 * both
         + U_TOXICITY_ONLY * (dlts - both)) / 100.0
    return _on_unique(lambda a, b: special.betaincc(a, b, benchmark / 100.0), 1.0 + x,
                      1.0 + patients - x)


def admissible_doses(patients: np.ndarray, dlts: np.ndarray, responses: np.ndarray,
                     phi_t: float, phi_e: float, c_t: float = 0.95,
                     c_e: float = 0.90) -> np.ndarray:
    """Doses neither too toxic (with every dose above one that is) nor futile (n_trials, D) bool.

    Examples:
        >>> admissible_doses(np.array([[3, 3, 3]]), np.array([[0, 3, 0]]),
        ...                  np.array([[0, 2, 2]]), 0.35, 0.25).tolist()  # 3/3 DLTs at dose 2
        [[True, False, False]]
    """
    enough = patients >= MIN_PATIENTS_TO_ELIMINATE
    toxic = enough & (_on_unique(lambda a, b: special.betaincc(a, b, phi_t), 1.0 + dlts,
                                 1.0 + patients - dlts) > c_t)
    futile = enough & (_on_unique(lambda a, b: special.betainc(a, b, phi_e), 1.0 + responses,
                                  1.0 + patients - responses) > c_e)
    return ~(np.cumsum(toxic, axis=1) > 0) & ~futile


def _on_unique(function: Callable[[np.ndarray, np.ndarray], np.ndarray], a: np.ndarray,
               b: np.ndarray) -> np.ndarray:
    """``function(a, b)`` evaluated once per distinct (a, b) pair, broadcast back.

    A batch of trials repeats few count pairs, and the incomplete beta function is the
    simulation's main cost.
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    # a complex key sorts (a, b) lexicographically in one fast 1-D sort
    keys, inverse = np.unique((a + 1j * b).ravel(), return_inverse=True)
    return np.asarray(function(keys.real, keys.imag))[inverse.ravel()].reshape(a.shape)


def rds_table(sample_sizes: tuple[int, ...], phi_t: float, phi_e: float,
              u2: float = U_NEITHER, u3: float = U_BOTH, c_t: float = 0.95,
              c_e: float = 0.90) -> dict[tuple[int, int, int], float]:
    """The paper's rank-based desirability scores (Table 3): {(n, DLTs, responses): RDS}.

    All (n, y_T, y_E) with n in ``sample_sizes`` are ranked by Pr(u > u_b) among the admissible
    ones (average ranks for ties, 1 = least desirable); inadmissible ones get NaN. The table's
    pseudo-data use marginal counts, x = (u3 y_E + u2 (n - y_T)) / 100, which equals the joint
    form only when u2 + u3 = 100 (the paper's 40/60).

    Examples:
        >>> table = rds_table((0, 3, 6, 9), 0.35, 0.25)
        >>> table[(0, 0, 0)], table[(3, 0, 3)], table[(9, 2, 3)]  # Lin et al. Table 3
        (60.0, 91.0, 32.5)
    """
    if abs(u2 + u3 - 100.0) > 1e-9:
        raise ValueError(f"u2 + u3 must be 100 for the marginal-count table, got {u2 + u3}")
    keys = [(n, t, e) for n in sample_sizes for t in range(n + 1) for e in range(n + 1)]
    n, t, e = (np.array(column, dtype=np.float64) for column in zip(*keys, strict=True))
    ok = ~(special.betaincc(1 + t, 1 + n - t, phi_t) > c_t)  # at any n, as the table does
    ok &= ~(special.betainc(1 + e, 1 + n - e, phi_e) > c_e)
    x = (u3 * e + u2 * (n - t)) / 100.0
    prob = special.betaincc(1 + x, 1 + n - x, utility_benchmark(phi_t, phi_e, u2, u3) / 100)
    ranks = np.full(len(keys), np.nan)
    ranks[ok] = stats.rankdata(prob[ok])
    return {key: float(rank) for key, rank in zip(keys, ranks, strict=True)}


def _lower_upper(admissible: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Highest admissible level below and lowest above each current level (-1 / n_doses: none)."""
    n_doses = admissible.shape[1]
    index = np.arange(n_doses)[None, :]
    below = admissible & (index < levels[:, None])
    above = admissible & (index > levels[:, None])
    lower = np.where(below.any(axis=1), n_doses - 1 - below[:, ::-1].argmax(axis=1), -1)
    upper = np.where(above.any(axis=1), above.argmax(axis=1), n_doses)
    return lower, upper


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """One BOIN12 decision per trial: the next level and whether and how the trial stops.

    Attributes:
        levels: Next zero-based level (the current one where the trial stops) (n_trials,).
        stop_no_selection: Stop now and select no dose (safety or futility) (n_trials,).
        stop_select: Stop now and select the OBD (``n_earlystop`` reached) (n_trials,).
    """

    levels: np.ndarray
    stop_no_selection: np.ndarray
    stop_select: np.ndarray


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Boin12Design:
    """BOIN12 (Lin et al. 2020), batched over trials; runs on a :class:`Phase12State`.

    Attributes:
        target: Highest acceptable DLT probability phi_T, in (0, 1) (paper: 0.35).
        min_efficacy: Lowest acceptable response probability phi_E, in (0, 1) (paper: 0.25).
        utility_neither: u2, utility of neither DLT nor response, in [0, 100] (paper: 40).
        utility_both: u3, utility of a response with a DLT, in [0, 100] (paper: 60).
        n_star: N*, patients at a dose beyond which escalation needs p_j <= lambda_e (paper: 6).
        n_explore: Patients at a dose after which an untried higher dose is explored (9).
        toxicity_cutoff: c_T of the safety rule (paper: 0.95).
        efficacy_cutoff: c_E of the futility rule (paper: 0.90).
        n_earlystop: Stop and select once the current dose has this many patients (None: off,
            as in the reference code; the paper's example trial stops at 12 on a dose).

    Examples:
        >>> design = Boin12Design(target=0.35, min_efficacy=0.25)
        >>> state = Phase12State.from_outcomes([[3, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]],
        ...                                    [[0, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], [0])
        >>> design.next_dose(state).tolist()  # "1NNN" -> dose 2 (Lin et al. Data Supplement)
        [1]
    """

    target: float
    min_efficacy: float
    utility_neither: float = U_NEITHER
    utility_both: float = U_BOTH
    n_star: int = 6
    n_explore: int = 9
    toxicity_cutoff: float = 0.95
    efficacy_cutoff: float = 0.90
    n_earlystop: int | None = None

    def __post_init__(self) -> None:
        """Validate every field, naming it and the allowed values."""
        for name in ("target", "min_efficacy"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must lie in (0, 1), got {getattr(self, name)}")
        for name in ("utility_neither", "utility_both"):
            if not 0 <= getattr(self, name) <= 100:
                raise ValueError(f"{name} must lie in [0, 100], got {getattr(self, name)}")
        for name in ("n_star", "n_explore"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("toxicity_cutoff", "efficacy_cutoff"):
            if not 0.5 <= getattr(self, name) < 1:
                raise ValueError(f"{name} must be in [0.5, 1), got {getattr(self, name)}")
        if self.n_earlystop is not None and self.n_earlystop < 1:
            raise ValueError(f"n_earlystop must be None or >= 1, got {self.n_earlystop}")

    @property
    def benchmark(self) -> float:
        """The desirable utility u_b."""
        return utility_benchmark(self.target, self.min_efficacy, self.utility_neither,
                                 self.utility_both)

    def admissible(self, state: TrialState) -> np.ndarray:
        """Admissible doses per trial (n_trials, n_doses) bool."""
        return admissible_doses(state.patients, state.dlts, _efficacy(state).responses,
                                self.target, self.min_efficacy, self.toxicity_cutoff,
                                self.efficacy_cutoff)

    def scores(self, state: TrialState) -> np.ndarray:
        """Pr(utility > u_b | data) per dose (n_trials, n_doses)."""
        eff = _efficacy(state)
        return desirability(state.patients, state.dlts, eff.responses, eff.both,
                            self.benchmark, self.utility_neither, self.utility_both)

    def decide(self, state: TrialState) -> Decision:
        """The decision after the latest cohort, for every trial."""
        admissible = self.admissible(state)
        rows, current = np.arange(state.levels.size), state.levels
        n = state.patients[rows, current]
        rate = state.dlts[rows, current] / np.maximum(n, 1)
        lambda_e, lambda_d = boin_boundaries(self.target)
        lower, upper = _lower_upper(admissible, current)
        n_doses = admissible.shape[1]
        here_ok = admissible[rows, current]
        # de-escalation: the highest admissible dose below, else stay if still admissible
        down = np.where(lower >= 0, lower, current)
        down_stop = (lower < 0) & ~here_ok
        # otherwise the most desirable of lower, current and (if allowed) upper
        may_rise = (upper < n_doses) & ((n < self.n_star) | (rate <= lambda_e))
        chosen = self._most_desirable(state, admissible, current, lower, np.where(
            may_rise, upper, -1))
        chosen_stop = ~admissible[rows, chosen]
        deescalate = rate >= lambda_d
        levels = np.where(deescalate, down, chosen)
        stop = np.where(deescalate, down_stop, chosen_stop)
        safe_upper = np.minimum(upper, n_doses - 1)
        explore = (~deescalate & (n >= self.n_explore) & (upper < n_doses)
                   & (state.patients[rows, safe_upper] == 0))
        levels = np.where(explore & ~stop, safe_upper, levels)
        full = np.zeros_like(stop) if self.n_earlystop is None else n >= self.n_earlystop
        # reference code's order: no admissible dose stops first, then n_earlystop, then a
        # decision that cannot be carried out
        no_selection = ~admissible.any(axis=1) | (stop & ~full)
        return Decision(levels=np.where(no_selection | full, current, levels),
                        stop_no_selection=no_selection, stop_select=full & ~no_selection)

    def _most_desirable(self, state: TrialState, admissible: np.ndarray, current: np.ndarray,
                        lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """Among current, lower (if >= 0) and upper (if >= 0): highest score, ties to higher."""
        scores = np.where(admissible, self.scores(state), -1.0)
        rows = np.arange(current.size)
        candidates = np.stack([lower, current, upper], axis=1)  # ascending: ties keep the last
        valid = candidates >= 0
        values = np.where(valid, scores[rows[:, None], np.maximum(candidates, 0)], -np.inf)
        best = values.max(axis=1, keepdims=True)
        last = 2 - (values == best)[:, ::-1].argmax(axis=1)
        return candidates[rows, last]

    def next_dose(self, state: TrialState) -> np.ndarray:
        """Next level per trial (the current level where the trial stops)."""
        return self.decide(state).levels

    def stop(self, state: TrialState) -> np.ndarray:
        """Whether each trial stops now (safety, futility or ``n_earlystop``)."""
        decision = self.decide(state)
        return decision.stop_no_selection | decision.stop_select

    def select_mtd(self, state: TrialState) -> np.ndarray:
        """The selected optimal biological dose per trial, -1 for none (protocol name kept)."""
        no_selection = self.decide(state).stop_no_selection
        eff = _efficacy(state)
        chosen = select_obd(state.patients, state.dlts, eff.responses, self.admissible(state),
                            self.target, self.utility_neither, self.utility_both)
        return np.where(no_selection, -1, chosen)


def _efficacy(state: TrialState) -> Phase12State:
    """The state as a :class:`Phase12State`, or a one-line error."""
    if not isinstance(state, Phase12State):
        raise ValueError("BOIN12 needs efficacy counts: pass a Phase12State "
                         "(simulate with pkgym.trials.phase12_simulation.simulate_phase12_trials)")
    return state
