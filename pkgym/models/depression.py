"""Anhedonia as reduced reward sensitivity in the probabilistic reward task (Huys et al. 2013).

Huys QJM, Pizzagalli DA, Bogdan R, Dayan P. "Mapping anhedonia onto reinforcement learning:
a behavioural meta-analysis." Biol Mood Anxiety Disord 2013;3:12.

The probabilistic reward task (PRT; Pizzagalli et al. 2005, Biol Psychiatry 57:319): on each
trial a "rich" or a "lean" stimulus (a long or a short mouth) is shown and the subject
answers "rich" or "lean". Correct "rich" answers are rewarded with probability 0.75, correct
"lean" answers with probability 0.30, wrong answers never (Huys 2013 Fig. 1B): about 30 rich
and 10 lean rewards per 100 trials, the 3:1 asymmetric schedule of Pizzagalli 2005.

Huys' "stimulus-action" model (their Eq. 1 and the choice rule of their Methods), with
``s`` the stimulus and ``a`` the answer::

    Q(s, a) <- Q(s, a) + epsilon * (rho * r - Q(s, a))         (r = 1 rewarded, else 0)
    W(s, a) = gamma * I(s, a) + Q(s, a)       (I = 1 for the instructed, correct answer)
    P(a | s) = exp W(s, a) / sum_a' exp W(s, a')

``rho`` is the reward sensitivity, ``epsilon`` the learning rate and ``gamma`` how strongly
the instructed (perceived) answer drives the choice. MDD and anhedonia lower ``rho`` more
than ``epsilon`` (Huys 2013, Fig. 4); a low rho gives a small response bias towards "rich".

*Assumptions* (marked where used): stimuli are i.i.d. with probability 1/2 (the PRT uses a
pseudorandom 50/50 order); every session starts from ``Q = initial_q`` for all pairs (the
initial bias term); the numeric values of rho, epsilon and gamma below are chosen to give
block-3 response biases of about 0.2 (healthy) and 0.1 (MDD), the ranges Pizzagalli et al.
(2005, 2008) report; Huys 2013 reports posterior distributions, not point values we reuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from pkgym.models.depression_kernel import hashed_sessions, learners_valid, splitmix64

RICH_CORRECT, RICH_INCORRECT, LEAN_CORRECT, LEAN_INCORRECT = 0, 1, 2, 3
"""Columns of the per-session answer counts."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbabilisticRewardTask:
    """The PRT schedule (Pizzagalli 2005; probabilities from Huys 2013 Fig. 1B).

    Attributes:
        n_trials: trials per session (3 blocks of 100 in Pizzagalli 2005).
        p_reward_rich: reward probability of a correct answer to the rich stimulus.
        p_reward_lean: reward probability of a correct answer to the lean stimulus.
    """

    n_trials: int = field(default=300, metadata={"unit": "trials"})
    p_reward_rich: float = field(default=0.75, metadata={"unit": "probability"})
    p_reward_lean: float = field(default=0.30, metadata={"unit": "probability"})

    def __post_init__(self) -> None:
        """Validate the schedule."""
        if not 10 <= self.n_trials <= 2000:
            raise ValueError(f"n_trials must be in 10..2000, got {self.n_trials}")
        if not 0 <= self.p_reward_lean <= self.p_reward_rich <= 1:
            raise ValueError("need 0 <= p_reward_lean <= p_reward_rich <= 1, got "
                             f"{self.p_reward_lean}, {self.p_reward_rich}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Huys2013:
    """Typical learner parameters of the stimulus-action model (see the module docstring).

    Attributes:
        reward_sensitivity_healthy: rho of a typical healthy adult (*assumed* scale, see above).
        reward_sensitivity_mdd: rho of a typical untreated MDD patient; half the healthy value
            (*assumed* size of Huys' "MDD lowers rho" effect, giving half the response bias).
        learning_rate: epsilon (*assumed* 0.1; MDD leaves it unchanged, Huys 2013 Fig. 4).
        instruction_sensitivity: gamma (*assumed* 1.5: ~82% correct before any reward).
        initial_q: Q of every (stimulus, answer) pair at the start of a session (*assumed*).
    """

    reward_sensitivity_healthy: float = 1.0
    reward_sensitivity_mdd: float = 0.5
    learning_rate: float = 0.1
    instruction_sensitivity: float = 1.5
    initial_q: float = 0.0

    def __post_init__(self) -> None:
        """Validate positivity and ranges."""
        if not 0 < self.reward_sensitivity_mdd < self.reward_sensitivity_healthy:
            raise ValueError("need 0 < reward_sensitivity_mdd < reward_sensitivity_healthy")
        if not 0 < self.learning_rate < 1 or self.instruction_sensitivity < 0:
            raise ValueError("learning_rate must be in (0, 1) and instruction_sensitivity >= 0")


@numba.njit(cache=True, nogil=True)
def _session(rho: float, epsilon: float, gamma: float, q0: float, p_rich: float,
             p_lean: float, uniforms: np.ndarray, counts: np.ndarray) -> None:
    """One PRT session of one subject; uniforms (n_trials, 3): stimulus, answer, reward."""
    q = np.full((2, 2), q0)  # (stimulus rich/lean, answer rich/lean)
    for t in range(uniforms.shape[0]):
        s = 0 if uniforms[t, 0] < 0.5 else 1
        advantage = gamma * (1.0 if s == 0 else -1.0) + q[s, 0] - q[s, 1]
        a = 0 if uniforms[t, 1] < 1.0 / (1.0 + np.exp(-advantage)) else 1
        p = (p_rich if s == 0 else p_lean) if a == s else 0.0
        r = 1.0 if uniforms[t, 2] < p else 0.0
        q[s, a] += epsilon * (rho * r - q[s, a])
        counts[2 * s + (0 if a == s else 1)] += 1.0


@numba.njit(cache=True, nogil=True)
def _sessions(rho: np.ndarray, epsilon: np.ndarray, gamma: np.ndarray, q0: float,
              p_rich: float, p_lean: float, uniforms: np.ndarray) -> np.ndarray:
    counts = np.zeros((rho.shape[0], 4))
    for i in range(rho.shape[0]):
        _session(rho[i], epsilon[i], gamma[i], q0, p_rich, p_lean, uniforms[i], counts[i])
    return counts


def simulate_prt(reward_sensitivity: np.ndarray, learning_rate: np.ndarray,
                 instruction_sensitivity: np.ndarray, uniforms: np.ndarray,
                 task: ProbabilisticRewardTask = ProbabilisticRewardTask(),
                 initial_q: float = 0.0) -> np.ndarray:
    """Answer counts of one PRT session per subject, from pre-drawn uniforms.

    Args:
        reward_sensitivity: rho of each subject, >= 0. # (n,)
        learning_rate: epsilon of each subject, in (0, 1]. # (n,)
        instruction_sensitivity: gamma of each subject. # (n,)
        uniforms: in [0, 1): stimulus, answer and reward draw of each trial. # (n, n_trials, 3)
        task: the reward schedule (``task.n_trials`` is not used: ``uniforms`` sets it).
        initial_q: Q of every pair at the session start.

    Returns:
        Counts (n, 4): rich correct, rich incorrect, lean correct, lean incorrect.

    Examples:
        >>> u = np.random.default_rng(0).random((2, 300, 3))
        >>> c = simulate_prt(np.array([1.0, 1.0]), np.array([0.1, 0.1]), np.array([1.5, 1.5]), u)
        >>> c.sum(axis=1).tolist()
        [300.0, 300.0]
    """
    rho, eps, gam = (np.ascontiguousarray(x, dtype=np.float64).reshape(-1) for x in (
        reward_sensitivity, learning_rate, instruction_sensitivity))
    u = np.ascontiguousarray(uniforms, dtype=np.float64)
    if u.ndim != 3 or u.shape[2] != 3 or not rho.shape == eps.shape == gam.shape == u.shape[:1]:
        raise ValueError(f"uniforms must be (n, n_trials, 3) with n = {rho.size} subjects, got "
                         f"{u.shape}")
    if np.any(rho < 0) or np.any((eps <= 0) | (eps > 1)) or not np.all(np.isfinite(gam)):
        raise ValueError("need reward_sensitivity >= 0, learning_rate in (0, 1], finite gamma")
    return _sessions(rho, eps, gam, float(initial_q), task.p_reward_rich, task.p_reward_lean, u)


@numba.njit(cache=True, nogil=True)
def _hash_uniforms(seeds: np.ndarray, n_trials: int) -> np.ndarray:
    out = np.empty((seeds.shape[0], n_trials, 3))
    for i in range(seeds.shape[0]):
        state = seeds[i]
        for t in range(n_trials):
            for k in range(3):
                state = splitmix64(state)
                out[i, t, k] = float(state >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return out


def session_uniforms(seeds: np.ndarray, n_trials: int) -> np.ndarray:
    """Uniforms (n, n_trials, 3) in [0, 1) of a session, a counter-based hash of its seed.

    A seed drawn once per session from an episode's stream fixes every trial of it, so a
    session needs no generator object per patient (SplitMix64, Steele et al. 2014).

    Examples:
        >>> u = session_uniforms(np.array([1, 1, 2], dtype=np.uint64), 4)
        >>> u.shape, bool((u[0] == u[1]).all()), bool((u[0] != u[2]).all())
        ((3, 4, 3), True, True)
    """
    return _hash_uniforms(np.asarray(seeds, dtype=np.uint64).reshape(-1), int(n_trials))


PARALLEL_SESSIONS = 256
"""From this many subjects on, blocks of sessions run on numba's threads (a session is a
few microseconds of work, so a block pays for waking the threads)."""


def simulate_hashed_prt(reward_sensitivity: np.ndarray, learning_rate: np.ndarray,
                        instruction_sensitivity: np.ndarray, seeds: np.ndarray,
                        task: ProbabilisticRewardTask = ProbabilisticRewardTask(),
                        initial_q: float = 0.0) -> np.ndarray:
    """:func:`simulate_prt` on :func:`session_uniforms` of ``seeds``, fused (same counts).

    Each trial's uniforms are hashed when the trial needs them, so no (n, n_trials, 3)
    array is built; blocks of subjects run on numba's threads from ``PARALLEL_SESSIONS``
    subjects on (subjects are independent, so the counts are the same). The compiled
    kernel, and why it computes the same answers with fewer ``exp``, is
    :mod:`pkgym.models.depression_kernel`.

    Args:
        reward_sensitivity: rho of each subject, >= 0. # (n,)
        learning_rate: epsilon of each subject, in (0, 1]. # (n,)
        instruction_sensitivity: gamma of each subject. # (n,)
        seeds: one session seed per subject. # (n,) uint64
        task: the reward schedule (``task.n_trials`` trials).
        initial_q: Q of every pair at the session start.

    Returns:
        Counts (n, 4): rich correct, rich incorrect, lean correct, lean incorrect.

    Examples:
        >>> seeds = np.array([3, 4], dtype=np.uint64)
        >>> one = np.ones(2), np.full(2, 0.1), np.full(2, 1.5)
        >>> bool((simulate_hashed_prt(*one, seeds)
        ...       == simulate_prt(*one, session_uniforms(seeds, 300))).all())
        True
    """
    rho, eps, gam = (np.ascontiguousarray(x, dtype=np.float64).reshape(-1) for x in (
        reward_sensitivity, learning_rate, instruction_sensitivity))
    seeds = np.ascontiguousarray(seeds, dtype=np.uint64).reshape(-1)
    if not rho.shape == eps.shape == gam.shape == seeds.shape:
        raise ValueError(f"need one seed and parameter of each of {seeds.size} subjects")
    if not learners_valid(rho, eps, gam):
        raise ValueError("need reward_sensitivity >= 0, learning_rate in (0, 1], finite gamma")
    schedule = (float(initial_q), task.p_reward_rich, task.p_reward_lean, int(task.n_trials))
    return hashed_sessions(seeds, rho, eps, gam, schedule, seeds.size >= PARALLEL_SESSIONS)


def response_bias(counts: np.ndarray) -> np.ndarray:
    """Log b = 1/2 log[(RC * LI) / (RI * LC)], 0.5 added to every cell (Pizzagalli 2005).

    Args:
        counts: rich correct, rich incorrect, lean correct, lean incorrect. # (n, 4)

    Examples:
        >>> round(float(response_bias(np.array([[135.0, 15.0, 120.0, 30.0]]))[0]), 4)
        0.3971
    """
    c = np.asarray(counts, dtype=np.float64) + 0.5
    return 0.5 * np.log((c[:, RICH_CORRECT] * c[:, LEAN_INCORRECT])
                        / (c[:, RICH_INCORRECT] * c[:, LEAN_CORRECT]))


def discriminability(counts: np.ndarray) -> np.ndarray:
    """Log d = 1/2 log[(RC * LC) / (RI * LI)], 0.5 added to every cell (Pizzagalli 2005).

    Examples:
        >>> round(float(discriminability(np.array([[135.0, 15.0, 120.0, 30.0]]))[0]), 4)
        1.771
    """
    c = np.asarray(counts, dtype=np.float64) + 0.5
    return 0.5 * np.log((c[:, RICH_CORRECT] * c[:, LEAN_CORRECT])
                        / (c[:, RICH_INCORRECT] * c[:, LEAN_INCORRECT]))


def accuracy(counts: np.ndarray) -> np.ndarray:
    """Share of correct answers.

    Examples:
        >>> accuracy(np.array([[135.0, 15.0, 120.0, 30.0]])).tolist()
        [0.85]
    """
    c = np.asarray(counts, dtype=np.float64)
    return (c[:, RICH_CORRECT] + c[:, LEAN_CORRECT]) / c.sum(axis=1)
