"""Throughput and quality benchmarks; run all with ``python -m benchmarks``."""
