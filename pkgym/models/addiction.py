# lines: the numpy reference functions and their compiled numba twins, side by side (bit-identical)
"""The patient as a TD learner: Redish 2004's model of addiction, batched over patients.

Redish AD. Addiction as a computational process gone awry. Science 2004;306:1944-1947.
Temporal-difference learning TD(0) over a small state space, where a drug delivers a
non-compensable dopamine signal ``D``::

    delta = max(r + gamma V(s') - V(s) + D, D)    (drug delivery)
    delta = r + gamma V(s') - V(s)                (anything else)
    V(s) <- V(s) + alpha delta

Because ``delta >= D > 0`` for the drug, the value of drug-taking never converges: it keeps
rising with each exposure, while a natural reward's value settles where ``delta = 0``.

The daily decision problem (pkgym's, after the paper's state-space sketch): each day the
patient is in the CHOICE state and picks one option, softmax over ``beta (V(option) - cost)``
(Redish 2004 also chose by values against costs); the option's state then pays its reward
and the next day's CHOICE state follows::

    CHOICE --0--> DRUG | NATURAL | ABSTAIN --r--> CHOICE (next day)

States are indexed CHOICE 0, DRUG 1, NATURAL 2, ABSTAIN 3; options 0, 1, 2 are DRUG,
NATURAL, ABSTAIN. Values are arrays of shape (n_patients, 4). All functions are pure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

from pkgym.populations import BetweenSubjectVariability, omega_from_cv
from pkgym.sim.layout import transpose_into

CHOICE, DRUG, NATURAL, ABSTAIN = 0, 1, 2, 3
N_STATES = 4
OPTIONS = ("drug", "natural", "abstain")
"""Options, in the order of the choice probabilities (state = option + 1)."""
VARIED = ("learning_rate", "dopamine_surge", "inverse_temperature", "reward_sensitivity")
"""Parameters that vary between patients, in the order of the etas."""


def _unit(unit: str) -> dict[str, str]:
    return {"unit": unit}


@dataclass(frozen=True, slots=True, kw_only=True)
class Redish2004:
    """Typical-patient parameters and between-patient variability (values per the table).

    Redish 2004 gives the update rule, not a parameter table that pkgym could read: every
    default below is ASSUMED (chosen so that untreated patients use on most days and the
    drug keeps a clear lead over the alternative), except the rule's structure itself.

    Attributes:
        learning_rate: alpha, fraction of the prediction error learned per visit (assumed).
        discount_per_day: gamma, discount of the next day's value (assumed).
        dopamine_surge: D, the drug's non-compensable dopamine signal, reward units (assumed).
        drug_reward: r of one day's drug use, reward units (assumed equal to the natural
            reward, so that the drug's lead comes from D alone).
        natural_reward: r of one day's alternative natural reward (assumed).
        abstain_reward: r of a day doing neither (assumed 0).
        reward_sensitivity: multiplies drug and natural rewards (typical 1).
        inverse_temperature: softmax beta, 1/reward unit (assumed).
        drug_cost, natural_cost, abstain_cost: cost of each option (price, effort), reward
            units, subtracted from its value in the choice (assumed).
        cv_learning_rate: SD of alpha's logit-normal eta (assumed 0.3).
        cv_dopamine_surge, cv_inverse_temperature, cv_reward_sensitivity: log-normal CVs
            (assumed 0.4, 0.3, 0.2).
    """

    learning_rate: float = field(default=0.1, metadata=_unit("1"))
    discount_per_day: float = field(default=0.8, metadata=_unit("1/day"))
    dopamine_surge: float = field(default=0.1, metadata=_unit("reward"))
    drug_reward: float = field(default=1.0, metadata=_unit("reward"))
    natural_reward: float = field(default=1.0, metadata=_unit("reward"))
    abstain_reward: float = field(default=0.0, metadata=_unit("reward"))
    reward_sensitivity: float = field(default=1.0, metadata=_unit("1"))
    inverse_temperature: float = field(default=3.0, metadata=_unit("1/reward"))
    drug_cost: float = field(default=0.3, metadata=_unit("reward"))
    natural_cost: float = field(default=0.3, metadata=_unit("reward"))
    abstain_cost: float = field(default=0.0, metadata=_unit("reward"))
    cv_learning_rate: float = field(default=0.3, metadata=_unit("1"))
    cv_dopamine_surge: float = field(default=0.4, metadata=_unit("1"))
    cv_inverse_temperature: float = field(default=0.3, metadata=_unit("1"))
    cv_reward_sensitivity: float = field(default=0.2, metadata=_unit("1"))

    def __post_init__(self) -> None:
        """Rates in (0, 1), D and beta >= 0, everything finite, CVs in [0, 2]."""
        for name in ("learning_rate", "discount_per_day"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        for name in ("dopamine_surge", "inverse_temperature", "reward_sensitivity",
                     "cv_learning_rate", "cv_dopamine_surge", "cv_inverse_temperature",
                     "cv_reward_sensitivity"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0) or (name.startswith("cv") and value > 2):
                raise ValueError(f"{name} must be finite and >= 0 (CVs <= 2), got {value}")
        for name in ("drug_reward", "natural_reward", "abstain_reward", "drug_cost",
                     "natural_cost", "abstain_cost"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be finite, got {getattr(self, name)}")

    @property
    def variability(self) -> BetweenSubjectVariability:
        """Independent etas on alpha (logit scale), D, beta and sensitivity (log scale).

        Examples:
            >>> Redish2004().variability.eta_columns[0]
            'eta_learning_rate'
        """
        cvs = [self.cv_learning_rate, self.cv_dopamine_surge, self.cv_inverse_temperature,
               self.cv_reward_sensitivity]
        return BetweenSubjectVariability(names=VARIED, omega=omega_from_cv(cvs))

    @property
    def option_costs(self) -> np.ndarray:
        """Costs of (drug, natural, abstain), shape (3,).

        Examples:
            >>> Redish2004().option_costs.tolist()
            [0.3, 0.3, 0.0]
        """
        return np.array([self.drug_cost, self.natural_cost, self.abstain_cost])

    def patients(self, etas: np.ndarray) -> dict[str, np.ndarray]:
        """Individual alpha, D, beta and sensitivity of n patients from etas (n, 4).

        Examples:
            >>> p = Redish2004().patients(np.zeros((1, 4)))
            >>> [round(float(p[k][0]), 3) for k in VARIED]
            [0.1, 0.1, 3.0, 1.0]
        """
        etas = np.atleast_2d(np.asarray(etas, dtype=np.float64))
        logit = math.log(self.learning_rate / (1 - self.learning_rate)) + etas[:, 0]
        return {"learning_rate": 1.0 / (1.0 + np.exp(-logit)),
                "dopamine_surge": self.dopamine_surge * np.exp(etas[:, 1]),
                "inverse_temperature": self.inverse_temperature * np.exp(etas[:, 2]),
                "reward_sensitivity": self.reward_sensitivity * np.exp(etas[:, 3])}


def choice_probabilities(values: np.ndarray, costs: np.ndarray,
                         inverse_temperatures: np.ndarray) -> np.ndarray:
    """Softmax over ``beta (V(option) - cost)`` of each patient, shape (n, 3).

    Args:
        values: state values, (n, 4).
        costs: option costs, reward units, (3,) or (n, 3).
        inverse_temperatures: beta, (n,).

    Examples:
        >>> v = np.array([[0.0, 1.0, 1.0, 0.0]])
        >>> choice_probabilities(v, np.zeros(3), np.array([0.0])).round(3).tolist()
        [[0.333, 0.333, 0.333]]
    """
    utilities = inverse_temperatures[:, None] * (values[:, 1:] - costs)
    utilities = utilities - utilities.max(axis=1, keepdims=True)
    weights = np.exp(utilities)
    return weights / weights.sum(axis=1, keepdims=True)


def choose(probabilities: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """The option index each patient picks, by inverse CDF of one uniform each, (n,).

    Examples:
        >>> choose(np.array([[0.2, 0.5, 0.3], [0.2, 0.5, 0.3]]), np.array([0.1, 0.9])).tolist()
        [0, 2]
    """
    cumulative = np.cumsum(probabilities, axis=1)
    return np.minimum((uniforms[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def td_error(rewards: np.ndarray, next_values: np.ndarray, values: np.ndarray,
             discount: float, dopamine: np.ndarray, is_drug: np.ndarray) -> np.ndarray:
    """Redish's prediction error: ``max(r + g V' - V + D, D)`` where ``is_drug``, else ordinary.

    Examples:
        >>> td_error(np.array([1.0, 1.0]), np.zeros(2), np.array([5.0, 5.0]), 0.9,
        ...          np.array([0.1, 0.1]), np.array([True, False])).tolist()
        [0.1, -4.0]
    """
    ordinary = rewards + discount * next_values - values
    return np.where(is_drug, np.maximum(ordinary + dopamine, dopamine), ordinary)


def td_day(values: np.ndarray, options: np.ndarray, rewards: np.ndarray,
           dopamine: np.ndarray, blocked: np.ndarray, learning_rates: np.ndarray,
           discount: float) -> np.ndarray:
    """One day's two TD(0) updates of every patient; returns new values (n, 4).

    First CHOICE -> option state (no reward), then option state -> next CHOICE with the
    option's reward. A drug use of which the fraction ``blocked`` (receptor occupancy by a
    treatment) is blocked learns the occupancy-weighted mix of a blocked delivery (ordinary
    TD, no reward, no D) and Redish's unblocked delivery (pkgym's assumption; Redish 2004 has
    no antagonist).

    Args:
        values: state values (n, 4).
        options: chosen option (n,) in 0..2.
        rewards: its reward for an unblocked delivery, reward units (n,).
        dopamine: D, reward units (n,).
        blocked: fraction of the drug's effect blocked, in [0, 1] (n,).
        learning_rates: alpha (n,).
        discount: gamma, per day.

    Examples:
        >>> v = td_day(np.zeros((1, 4)), np.array([1]), np.array([1.0]), np.array([0.1]),
        ...            np.zeros(1), np.array([0.5]), 0.9)
        >>> v.round(3).tolist()
        [[0.0, 0.0, 0.5, 0.0]]
    """
    out = values.copy()
    rows = np.arange(values.shape[0])
    states = options + 1
    out[:, CHOICE] += learning_rates * (discount * out[rows, states] - out[:, CHOICE])
    current = out[rows, states]
    is_drug = states == DRUG
    unblocked = td_error(rewards, out[:, CHOICE], current, discount, dopamine, is_drug)
    blocked_error = discount * out[:, CHOICE] - current
    weight = np.where(is_drug, blocked, 0.0)
    out[rows, states] = current + learning_rates * ((1 - weight) * unblocked
                                                    + weight * blocked_error)
    return out


def untreated_rewards(model: Redish2004, sensitivities: np.ndarray) -> np.ndarray:
    """Unblocked rewards of (drug, natural, abstain) for each patient, (n, 3).

    Examples:
        >>> untreated_rewards(Redish2004(), np.array([2.0])).tolist()
        [[2.0, 2.0, 0.0]]
    """
    base = np.array([model.drug_reward, model.natural_reward, 0.0])
    rewards = sensitivities[:, None] * base
    rewards[:, 2] = model.abstain_reward
    return rewards


def drug_naive_values(model: Redish2004, sensitivities: np.ndarray) -> np.ndarray:
    """Values before any drug use: TD's fixed point of a life of CHOICE -> NATURAL.

    ``V(NATURAL) = r_n / (1 - gamma^2)``, ``V(CHOICE) = gamma V(NATURAL)``, ``V(ABSTAIN) =
    r_a + gamma V(CHOICE)`` and the drug expected at its reward without D, ``V(DRUG) = r_d +
    gamma V(CHOICE)`` (rewards times sensitivity): pkgym's start of the use history (an
    assumption; Redish 2004 starts from zero values).

    Examples:
        >>> drug_naive_values(Redish2004(discount_per_day=0.5), np.array([1.0])).tolist()
        [[0.6666666666666666, 1.3333333333333333, 1.3333333333333333, 0.3333333333333333]]
    """
    gamma = model.discount_per_day
    natural = model.natural_reward * sensitivities / (1 - gamma**2)
    drug = model.drug_reward * sensitivities + gamma**2 * natural
    return np.column_stack([gamma * natural, drug, natural,
                            model.abstain_reward + gamma**2 * natural])


def simulate_untreated(model: Redish2004, patients: dict[str, np.ndarray], values: np.ndarray,
                       uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days of free choice without treatment (the use history before the clinic).

    Args:
        model: the parameter set.
        patients: from :meth:`Redish2004.patients`, each (n,).
        values: start values (n, 4).
        uniforms: one per patient and day, (n, n_days).

    Returns:
        Final values (n, 4) and the options chosen (n, n_days).

    Examples:
        >>> m = Redish2004()
        >>> v, chosen = simulate_untreated(m, m.patients(np.zeros((2, 4))), np.zeros((2, 4)),
        ...                                np.full((2, 50), 0.1))
        >>> bool(np.all(chosen == 0)), bool(v[0, DRUG] > v[0, NATURAL])
        (True, True)
    """
    rewards = untreated_rewards(model, patients["reward_sensitivity"])
    n = values.shape[0]
    rows, chosen = np.arange(n), np.empty(uniforms.shape, dtype=np.int64)
    for day in range(uniforms.shape[1]):
        probabilities = choice_probabilities(values, model.option_costs,
                                             patients["inverse_temperature"])
        chosen[:, day] = options = choose(probabilities, uniforms[:, day])
        values = td_day(values, options, rewards[rows, options], patients["dopamine_surge"],
                        np.zeros(n), patients["learning_rate"], model.discount_per_day)
    return values, chosen


# ----- compiled twins (numba), one patient at a time --------------------------------------
# The same float operations in the same order as the numpy functions above, so results are
# bit-identical; only ``exp`` stays in numpy (its SIMD ``exp`` differs from libm's in the
# last bit), which is why a day is split around one batched ``numpy.exp``. Scalars in and
# out, so that numba inlines them into the loops over patients.


@numba.njit(cache=True, nogil=True)
def patient_utilities(v_drug: float, v_natural: float, v_abstain: float, costs: np.ndarray,
                      beta: float) -> tuple[float, float, float]:
    """One patient's softmax exponents ``beta (V - cost)``, max-shifted (as above)."""
    u0 = beta * (v_drug - costs[0])
    u1 = beta * (v_natural - costs[1])
    u2 = beta * (v_abstain - costs[2])
    top = max(u0, u1, u2)
    return u0 - top, u1 - top, u2 - top


@numba.njit(cache=True, nogil=True)
def patient_choice(w0: float, w1: float, w2: float, uniform: float) -> int:
    """The option one patient picks from its softmax weights ``exp(utilities)``."""
    total = w0 + w1 + w2
    c0 = w0 / total
    c1 = c0 + w1 / total
    c2 = c1 + w2 / total
    return min(int(uniform >= c0) + int(uniform >= c1) + int(uniform >= c2), 2)


@numba.njit(cache=True, nogil=True)
def patient_td_day(v_choice: float, v_option: float, is_drug: bool, reward: float,
                   dopamine: float, blocked: float, learning_rate: float,
                   discount: float) -> tuple[float, float]:
    """:func:`td_day` of one patient: new V(CHOICE) and V(option state)."""
    choice = v_choice + learning_rate * (discount * v_option - v_choice)
    ordinary = reward + discount * choice - v_option
    unblocked, weight = ordinary, 0.0
    if is_drug:
        surged = ordinary + dopamine
        unblocked, weight = (surged if surged > dopamine else dopamine), blocked
    blocked_error = discount * choice - v_option
    return choice, v_option + learning_rate * ((1 - weight) * unblocked
                                               + weight * blocked_error)


@numba.njit(cache=True, nogil=True)
def patient_reward(option: int, sensitivity: float, constants: np.ndarray) -> float:
    """Unblocked reward of an option (:func:`untreated_rewards`; ``model_constants``)."""
    return (sensitivity * constants[1] if option == 0 else
            sensitivity * constants[2] if option == 1 else constants[3])


@numba.njit(cache=True, nogil=True)
def patient_learn(values: np.ndarray, i: int, option: int, reward: float, params: np.ndarray,
                  blocked: float, discount: float) -> None:
    """Row ``i`` of values (n, 4) learns from its day (:func:`td_day`), in place."""
    state = option + 1
    values[i, CHOICE], values[i, state] = patient_td_day(
        values[i, CHOICE], values[i, state], state == DRUG, reward, params[i, 1], blocked,
        params[i, 0], discount)


@numba.njit(cache=True, nogil=True)
def all_utilities(values: np.ndarray, rows: np.ndarray, costs: np.ndarray, params: np.ndarray,
                  out: np.ndarray) -> None:
    """Softmax exponents (m, 3) of values rows ``rows`` (m,) (betas in ``params[:, 2]``)."""
    for j in range(rows.size):
        i = rows[j]
        out[j, 0], out[j, 1], out[j, 2] = patient_utilities(
            values[i, DRUG], values[i, NATURAL], values[i, ABSTAIN], costs, params[i, 2])


@numba.njit(cache=True, nogil=True)
def _untreated_day(day: int, values: np.ndarray, weights: np.ndarray, uniforms: np.ndarray,
                   params: np.ndarray, constants: np.ndarray, drug_days: np.ndarray,
                   utilities: np.ndarray) -> None:
    costs = constants[4:7]
    for i in range(values.shape[0]):
        option = patient_choice(weights[i, 0], weights[i, 1], weights[i, 2], uniforms[day, i])
        reward = patient_reward(option, params[i, 3], constants)
        patient_learn(values, i, option, reward, params, 0.0, constants[0])
        if option == 0:
            drug_days[i] += 1
        utilities[i, 0], utilities[i, 1], utilities[i, 2] = patient_utilities(
            values[i, DRUG], values[i, NATURAL], values[i, ABSTAIN], costs, params[i, 2])


def model_constants(model: Redish2004) -> np.ndarray:
    """gamma, drug/natural/abstain rewards and the three option costs, (7,), for kernels.

    Examples:
        >>> model_constants(Redish2004()).tolist()
        [0.8, 1.0, 1.0, 0.0, 0.3, 0.3, 0.0]
    """
    return np.array([model.discount_per_day, model.drug_reward, model.natural_reward,
                     model.abstain_reward, *model.option_costs.tolist()])


BURN_IN_CHUNK = 4096
"""Patients whose use histories run side by side: a day's arrays of a chunk stay in cache."""


def simulate_untreated_days(model: Redish2004, params: np.ndarray, values: np.ndarray,
                            uniforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`simulate_untreated` compiled: final values (n, 4) and drug-use days (n,).

    Args:
        model: the parameter set.
        params: alpha, D, beta, sensitivity of each patient (``VARIED`` order), (n, 4).
        values: start values (n, 4) (not modified).
        uniforms: one per patient and day, (n, n_days).

    Examples:
        >>> m = Redish2004()
        >>> v, days = simulate_untreated_days(m, np.tile([0.1, 0.1, 3.0, 1.0], (2, 1)),
        ...                                   np.zeros((2, 4)), np.full((2, 50), 0.1))
        >>> days.tolist(), bool(v[0, DRUG] > v[0, NATURAL])
        ([50, 50], True)
    """
    uniforms = np.asarray(uniforms, dtype=np.float64)
    by_day = np.empty((uniforms.shape[1], uniforms.shape[0]))
    transpose_into(uniforms, by_day)
    return simulate_untreated_by_day(model, params, values, by_day)


BURN_IN_CHUNK = 4096
"""Patients whose use histories run side by side: a day's arrays of a chunk stay in cache."""


def simulate_untreated_by_day(model: Redish2004, params: np.ndarray, values: np.ndarray,
                              by_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`simulate_untreated_days` from the uniforms by day, ``by_day`` (n_days, n).

    Patients run in chunks of :data:`BURN_IN_CHUNK` (each patient's numbers are the same
    whatever its chunk: a day is one batched ``numpy.exp`` and one kernel call per chunk).

    Examples:
        >>> m = Redish2004()
        >>> v, days = simulate_untreated_by_day(m, np.tile([0.1, 0.1, 3.0, 1.0], (2, 1)),
        ...                                     np.zeros((2, 4)), np.full((50, 2), 0.1))
        >>> days.tolist()
        [50, 50]
    """
    n = values.shape[0]
    values = np.array(values, dtype=np.float64, order="C")
    params = np.ascontiguousarray(params, dtype=np.float64)
    constants, drug_days = model_constants(model), np.zeros(n, dtype=np.int64)
    size = min(n, BURN_IN_CHUNK)
    utilities, weights = np.empty((size, 3)), np.empty((size, 3))
    for start in range(0, n, BURN_IN_CHUNK):
        part = slice(start, min(start + BURN_IN_CHUNK, n))
        m = part.stop - start
        values_part, params_part = values[part], params[part]
        all_utilities(values_part, np.arange(m), constants[4:7], params_part, utilities[:m])
        for day in range(by_day.shape[0]):
            np.exp(utilities[:m], out=weights[:m])
            _untreated_day(day, values_part, weights[:m], by_day[:, part], params_part,
                           constants, drug_days[part], utilities[:m])
    return values, drug_days
