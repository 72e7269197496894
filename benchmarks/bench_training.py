"""PPO on the batched env: environment steps collected per second and the env's share of time.

``python -m benchmarks.bench_training``. For each env and number of parallel patients, PPO
(SB3, MLP policy on the scaled observation) learns for a fixed budget; a timing VecEnv wrapper
records the time spent inside the pkgym env. Collection throughput counts the rollout phase
only (env + policy forward passes); the total includes PPO's gradient updates.
"""

from __future__ import annotations

import time

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

import pkgym  # noqa: F401
from agents.rl.encoders import ScaledDictExtractor
from agents.rl.sb3_vec_env import make_sb3_vec_env
from benchmarks import no_options

CASES = (("pkgym/Vancomycin-v0", (16, 64, 256)), ("pkgym/Warfarin-v0", (16, 64, 256)))
TIMESTEPS = 65_536


class TimedVecEnv(VecEnvWrapper):
    """Accumulates the wall time spent in the wrapped env's reset and step."""

    def __init__(self, venv: VecEnv) -> None:
        """Wrap ``venv`` with a zeroed clock."""
        super().__init__(venv)
        self.env_seconds = 0.0

    def reset(self):  # noqa: ANN201
        """Timed reset."""
        start = time.perf_counter()
        obs = self.venv.reset()
        self.env_seconds += time.perf_counter() - start
        return obs

    def step_wait(self):  # noqa: ANN201
        """Timed step."""
        start = time.perf_counter()
        result = self.venv.step_wait()
        self.env_seconds += time.perf_counter() - start
        return result


class RolloutClock(BaseCallback):
    """Wall time of the rollout (collection) phases."""

    def __init__(self) -> None:
        """A zeroed clock."""
        super().__init__()
        self.seconds, self._start = 0.0, 0.0

    def _on_rollout_start(self) -> None:
        self._start = time.perf_counter()

    def _on_rollout_end(self) -> None:
        self.seconds += time.perf_counter() - self._start

    def _on_step(self) -> bool:
        return True


def measure(env_id: str, n_envs: int, timesteps: int = TIMESTEPS) -> dict[str, float]:
    """Steps/s collected, steps/s overall, and the env's share of collection and total time."""
    venv = TimedVecEnv(make_sb3_vec_env(env_id, n_envs))
    venv.seed(0)
    model = PPO("MultiInputPolicy", venv, n_steps=max(2048 // n_envs, 8), batch_size=256,
                policy_kwargs={"features_extractor_class": ScaledDictExtractor}, seed=0,
                device="cpu")
    clock = RolloutClock()
    start = time.perf_counter()
    model.learn(timesteps, callback=clock)
    total = time.perf_counter() - start
    steps = model.num_timesteps
    return {"collected_steps_per_s": steps / clock.seconds, "total_steps_per_s": steps / total,
            "env_share_of_collection": venv.env_seconds / clock.seconds,
            "env_share_of_total": venv.env_seconds / total}


def main() -> None:
    """Print one row per (env, n_envs)."""
    torch.set_num_threads(1)  # small networks: one thread is fastest (as pkgym train does)
    print("\nPPO on the batched env (SB3 adapter), "
          f"{TIMESTEPS} steps, 2048-step rollouts, 10 epochs of 256-sample minibatches")
    print(f"{'env':<22}{'patients':>9}{'collected/s':>13}{'overall/s':>11}"
          f"{'env % of collection':>21}{'env % of total':>16}")
    for env_id, sizes in CASES:
        for n_envs in sizes:
            row = measure(env_id, n_envs)
            print(f"{env_id:<22}{n_envs:>9}{row['collected_steps_per_s']:>13,.0f}"
                  f"{row['total_steps_per_s']:>11,.0f}"
                  f"{100 * row['env_share_of_collection']:>20.0f}%"
                  f"{100 * row['env_share_of_total']:>15.0f}%")


if __name__ == "__main__":
    no_options(__doc__)
    main()
