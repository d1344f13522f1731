"""Benchmarks are scripts run by hand (`python tests/benchmarks/bench_*.py`), never collected."""

collect_ignore_glob = ["bench_*.py"]
