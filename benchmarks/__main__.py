"""Run every benchmark: ``python -m benchmarks``."""

from benchmarks import bench_sim

if __name__ == "__main__":
    bench_sim.main()
