"""Multi-env, multi-seed RL benchmarks and leaderboards."""
