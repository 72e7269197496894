"""numpy vs torch backends of ``pkgym/Vancomycin-v0`` and of the interval solution.

``python -m benchmarks.bench_torch_backend [--sizes 1000 10000 100000] [--steps 14]
[--torch-threads N]``

Two tables: steps/s of the vector env (one step advances every patient), and patient-steps/s
of :func:`pkgym.sim.interval.infuse_compartments` and its torch twin alone (numpy arrays in
and out), plus the torch kernel on tensors already on the device (what a caller keeping its
state there gets). Torch runs on the CPU, and on CUDA when torch sees a GPU. Resets are not
timed. The header gives torch's CPU threads and the load average: torch's OpenMP threads
slow down badly when the cores are shared (``--torch-threads 1`` is then the fairer CPU figure).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import pkgym  # noqa: F401
from pkgym.accel.backend import load_torch
from pkgym.sim.interval import infuse_compartments

ENV_ID = "pkgym/Vancomycin-v0"


def backends() -> list[tuple[str, str, str | None]]:
    """(label, backend, device) of every backend this machine can run."""
    rows: list[tuple[str, str, str | None]] = [("numpy", "numpy", None),
                                               ("torch-cpu", "torch", "cpu")]
    if load_torch().cuda.is_available():
        rows.append(("torch-cuda", "torch", "cuda"))
    return rows


def env_steps_per_s(n: int, backend: str, device: str | None, steps: int) -> float:
    """Vector-env steps per second with ``n`` patients (random doses, one episode)."""
    kwargs = {} if device is None else {"device": device}
    vec = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point",
                       backend=backend, **kwargs)
    actions = np.random.default_rng(0).integers(0, 13, size=(steps, n))
    vec.reset(seed=0)
    vec.step(actions[0])  # warm-up: compilation, CUDA context
    vec.reset(seed=1)
    start = time.perf_counter()
    for action in actions:
        vec.step(action)
    elapsed = time.perf_counter() - start
    vec.close()
    return steps / elapsed


def _interval_inputs(n: int) -> tuple:
    """Random two-compartment patients with drug on board, a dose each and two offsets."""
    rng = np.random.default_rng(0)
    doses = rng.choice([500.0, 1000.0, 2000.0], n)
    durations = np.maximum(1.0, doses / 1000.0)
    offsets = np.stack([np.full(n, 11.5), durations + 1.0], axis=1)
    return (rng.lognormal(np.log(4.0), 0.5, n), rng.lognormal(np.log(50.0), 0.3, (n, 2)),
            np.full((n, 1), 6.5), rng.uniform(0.0, 2000.0, (n, 2)), doses, durations, 12.0,
            offsets)


def _per_s(call: Callable[[], object], sync: Callable[[], object], repeats: int) -> float:
    """Calls per second of ``call`` (after one warm-up), ``sync`` closing each timing."""
    call()
    sync()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    sync()
    return repeats / (time.perf_counter() - start)


def interval_patient_steps_per_s(n: int, backend: str, device: str | None,
                                 repeats: int = 10) -> tuple[float, float | None]:
    """Patient-steps/s of ``infuse_compartments``; and of its tensor kernel on the device."""
    args = _interval_inputs(n)
    function = infuse_compartments
    if backend == "torch":
        from pkgym.accel.interval_torch import infuse_compartments as function  # noqa: N813
    options = {} if backend == "numpy" else {"device": device}
    through_numpy = _per_s(lambda: function(*args, **options),
                           lambda: None, repeats)
    if backend == "numpy":
        return n * through_numpy, None
    torch = load_torch()
    from pkgym.accel.interval_torch import as_tensor, infuse_compartments_tensors

    tensors = [as_tensor(a, str(device)) if isinstance(a, np.ndarray) else a for a in args]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    resident = _per_s(lambda: infuse_compartments_tensors(*tensors), sync, repeats)
    return n * through_numpy, n * resident


def main(argv: list[str] | None = None) -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--steps", type=int, default=14, help="timed steps per env run")
    parser.add_argument("--torch-threads", type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    args = parser.parse_args(argv)
    torch = load_torch()
    if args.torch_threads is not None:
        torch.set_num_threads(args.torch_threads)
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} CPU thread(s), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("\nVancomycin-v0 vector env, steps/s (patient-steps/s)")
    print(f"{'patients':>9} | " + " | ".join(f"{label:>24}" for label, *_ in backends()))
    for n in args.sizes:
        cells = [env_steps_per_s(n, backend, device, args.steps)
                 for _, backend, device in backends()]
        print(f"{n:>9} | " + " | ".join(f"{c:>9.1f} ({c * n:>11,.0f})" for c in cells))
    print("\ninfuse_compartments, patient-steps/s (numpy in/out; [tensors on device])")
    print(f"{'patients':>9} | " + " | ".join(f"{label:>28}" for label, *_ in backends()))
    for n in args.sizes:
        cells = [interval_patient_steps_per_s(n, backend, device)
                 for _, backend, device in backends()]
        print(f"{n:>9} | " + " | ".join(
            f"{a:>13,.0f} [{'-' if b is None else f'{b:,.0f}':>12}]" for a, b in cells))


if __name__ == "__main__":
    main()
