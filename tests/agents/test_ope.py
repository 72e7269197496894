"""Off-policy estimators: a hand-computed toy MDP; unbiasedness against the simulator."""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import numpy as np
import pytest

import pkgym  # noqa: F401  (registers the envs)
from agents.offline.ope import OPEInputs, estimate
from agents.offline.ope_fqe import fit_fqe, q_inputs
from agents.offline.ope_run import (
    LoggedEpisodes,
    evaluate_targets,
    ope_inputs,
    target_probabilities,
    true_returns,
)
from agents.policies.registry import make_policy

ENV = "pkgym/Vancomycin-v0"


class Variability:
    """A clinician made stochastic as the dataset contract says (test-local generator).

    pi(a|s) = (1 - eps) D(a; a_c(s), sd) + eps / n_levels, D a normal over level indices.
    """

    def __init__(self, core, eps: float, sd: float) -> None:
        """The env's label clinician with ``eps`` and ``sd`` (levels)."""
        self.core, self.eps, self.sd = core, eps, sd
        self.clinician = make_policy("label", core)
        self.name = f"label~eps{eps}"

    def reset(self, n_envs: int) -> None:
        """Reset the clinician."""
        self.clinician.reset(n_envs)

    def probabilities(self, observation: Mapping[str, np.ndarray], info=None) -> np.ndarray:
        """``(n, n_levels)``: the clinician's level blurred and mixed with a uniform."""
        levels = self.core.encode_decisions(self.clinician.act(observation, info), False)
        grid = np.arange(self.core.dose_levels_mg.size)
        d = np.exp(-0.5 * ((grid[None, :] - levels[:, None]) / self.sd) ** 2)
        return (1 - self.eps) * d / d.sum(axis=1, keepdims=True) + self.eps / grid.size


def generate(behaviour: Variability, n: int, seed: int, rng: np.random.Generator):
    """Episodes of ``behaviour`` on patients seeded ``seed + k``, in the contract's layout."""
    env = gym.make_vec(ENV, num_envs=n, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=[seed + k for k in range(n)])
    behaviour.reset(n)
    observations, actions, rewards, probabilities = [obs], [], [], []
    done = np.zeros(n, dtype=bool)
    while not done.all():
        p = behaviour.probabilities(obs)
        a = np.minimum((np.cumsum(p, axis=1) < rng.random((n, 1))).sum(axis=1), p.shape[1] - 1)
        obs, r, terminated, truncated, _ = env.step(a)
        done |= terminated | truncated
        observations.append(obs), actions.append(a), rewards.append(r), probabilities.append(p)
    stacked = {key: np.stack([o[key] for o in observations], axis=1) for key in obs}
    horizon = len(actions)
    return LoggedEpisodes(env_id=ENV, observations=stacked, infos={},
                          actions=np.stack(actions, 1), rewards=np.stack(rewards, 1),
                          mask=np.ones((n, horizon), dtype=bool),
                          behaviour_probabilities=np.stack(probabilities, 1),
                          seeds=seed + np.arange(n))


@pytest.fixture(scope="module")
def core():
    """The vancomycin env's core."""
    return gym.make(ENV).unwrapped.core


def _toy() -> OPEInputs:
    """All four 2-step paths of a uniform behaviour, r_t = a_t, pi_e(1) = 0.8 (value 1.6)."""
    actions = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    ratios = np.where(actions == 1, 0.8 / 0.5, 0.2 / 0.5)
    return OPEInputs(rewards=actions.astype(float), mask=np.ones((4, 2), dtype=bool),
                     ratios=ratios)


def test_estimators__toy_mdp_closed_form():
    """Toy MDP: every estimator is 1.6 on all four paths; by hand without path (1, 1)."""
    x = _toy()
    for name in ("is", "wis", "pdis", "wpdis"):
        assert estimate(x, name) == pytest.approx(1.6)
    three = x.take(np.arange(3))  # weights 0.16, 0.64, 0.64; per-step 0.4/0.4/1.6, then W
    assert estimate(three, "is") == pytest.approx(1.28 / 3)
    assert estimate(three, "wis") == pytest.approx(1.28 / 1.44)
    assert estimate(three, "pdis") == pytest.approx((0.64 + 1.6) / 3)
    assert estimate(three, "wpdis") == pytest.approx(1.6 / 2.4 + 0.64 / 1.44)
    actions = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    exact_q = actions + np.array([0.8, 0.0])  # Q_0(a) = a + 0.8, Q_1(a) = a
    exact = OPEInputs(rewards=x.rewards, mask=x.mask, ratios=x.ratios, q_taken=exact_q,
                      v_states=np.tile([1.6, 0.8], (4, 1)))
    for one in range(4):  # zero variance: every path alone gives the value
        assert estimate(exact.take(np.array([one])), "dr") == pytest.approx(1.6)
    assert estimate(exact, "wdr") == pytest.approx(1.6)
    zero = OPEInputs(rewards=x.rewards, mask=x.mask, ratios=x.ratios,
                     q_taken=np.zeros((4, 2)), v_states=np.zeros((4, 2)))
    assert estimate(zero, "dr") == pytest.approx(estimate(x, "pdis"))
    assert estimate(zero, "wdr") == pytest.approx(estimate(x, "wpdis"))


def test_fqe__toy_mdp_recovers_q():
    """FQE on the toy MDP's paths finds Q_0(a) = a + 0.8, Q_1(a) = a, so its value is 1.6."""
    actions = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    target = np.tile([0.2, 0.8], (4, 2, 1))
    q = fit_fqe(np.zeros((4, 3, 1)), actions, actions.astype(float),
                np.ones((4, 2), dtype=bool), target, ridge=1e-9)
    np.testing.assert_allclose(q[0], [[0.8, 1.8], [0.0, 1.0]], atol=1e-6)
    q_taken, v_states = q_inputs(q, actions, target)
    x = OPEInputs(rewards=actions.astype(float), mask=np.ones((4, 2), dtype=bool),
                  ratios=np.ones((4, 2)), q_taken=q_taken, v_states=v_states)
    assert estimate(x, "fqe") == pytest.approx(1.6, abs=1e-6)


def test_wis__behaviour_policy_gives_the_mean_return(core):
    """WIS and WPDIS of the behaviour policy (ratios 1) are the dataset's mean return exactly."""
    behaviour = Variability(core, 0.1, 0.5)
    episodes = generate(behaviour, 12, 7, np.random.default_rng(0))
    target = target_probabilities(Variability(core, 0.1, 0.5), episodes, core)
    np.testing.assert_allclose(target, episodes.behaviour_probabilities, atol=1e-12)
    inputs = ope_inputs(episodes, target, ["wis", "wpdis"], rng=np.random.default_rng(1))
    for name in ("wis", "wpdis"):
        assert estimate(inputs[name], name) == pytest.approx(episodes.returns.mean(), abs=1e-9)


def _replicate_errors(core, target_policy, n: int, reps: int) -> dict[str, np.ndarray]:
    """Per replicate (n patients each, new patients each time): estimate - true value."""
    episodes = generate(Variability(core, 0.1, 0.5), n * reps, 100, np.random.default_rng(2))
    target = target_probabilities(target_policy, episodes, core)
    truth = true_returns(target_policy, episodes, rng=np.random.default_rng(3))
    errors: dict[str, list[float]] = {"is": [], "pdis": [], "dr": []}
    rng = np.random.default_rng(4)
    for r in range(reps):
        rows = np.arange(r * n, (r + 1) * n)
        part = LoggedEpisodes(env_id=ENV, infos={}, seeds=episodes.seeds[rows],
                              observations={k: v[rows] for k, v in episodes.observations.items()},
                              actions=episodes.actions[rows], rewards=episodes.rewards[rows],
                              mask=episodes.mask[rows],
                              behaviour_probabilities=episodes.behaviour_probabilities[rows])
        inputs = ope_inputs(part, target[rows], list(errors), rng=rng)
        for name in errors:
            errors[name].append(estimate(inputs[name], name) - truth[rows].mean())
    return {name: np.array(values) for name, values in errors.items()}


@pytest.mark.parametrize("eps", [0.1, 0.2])
def test_unbiased_estimators__mean_within_3_se_of_truth(core, eps):
    """Must-show: over 200 datasets of 20 patients, IS, PDIS and DR average to the true value.

    eps 0.1: the target is the behaviour policy itself (a separate object, same distribution);
    eps 0.2: a different stochastic target. Truth: the target run in the simulator on the same
    patients (same seeds and noise), with its own action draws; each replicate's error is
    paired, so its mean must be within 3 SE of 0.
    """
    errors = _replicate_errors(core, Variability(core, eps, 0.5), 20, 200)
    for name, values in errors.items():
        se = values.std(ddof=1) / np.sqrt(values.size)
        assert abs(values.mean()) <= 3 * se, (name, values.mean(), se)
        assert se > 0


def test_evaluate_targets__deterministic_baselines_table(core):
    """Label and trough as targets: one row per (policy, estimator), truth from the simulator."""
    episodes = generate(Variability(core, 0.1, 0.5), 30, 500, np.random.default_rng(5))
    policies = {"label": make_policy("label", core), "trough": make_policy("trough", core)}
    table = evaluate_targets(episodes, policies, core, estimators=["wpdis", "dr", "fqe"],
                             reps=50, seed=0)
    assert table.shape[0] == 6
    label = table[table.policy == "label"]
    assert label.true_value.nunique() == 1
    assert np.all(table.ci_low <= table.estimate) and np.all(table.estimate <= table.ci_high)
    assert np.all(np.isfinite(table.error))


def test_fqe__values_stay_within_the_returns_a_course_can_have():
    """More features than episodes, a target off the data (levels 0-1 logged, 4 targeted).

    Unclipped, the backward ridge fits extrapolate and compound to |Q| > 1000 on this case
    (measured); every Q_t must lie in [(T - t) r_min, (T - t) r_max].
    """
    rng = np.random.default_rng(0)
    n, horizon, d, n_levels = 30, 40, 60, 5
    rewards = rng.random((n, horizon))
    target = np.zeros((n, horizon + 1, n_levels))
    target[..., n_levels - 1] = 1.0
    q = fit_fqe(rng.normal(size=(n, horizon + 1, d)), rng.integers(0, 2, size=(n, horizon)),
                rewards, np.ones((n, horizon), dtype=bool), target, ridge=1e-3)
    remaining = (horizon - np.arange(horizon))[None, :, None]
    assert np.all(q <= remaining * rewards.max() + 1e-12)
    assert np.all(q >= remaining * rewards.min() - 1e-12)
    assert np.abs(q).max() > 0.5 * horizon * rewards.max()  # the bound binds near its edge
