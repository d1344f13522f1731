"""Benchmarks are scripts (`python -m tests.benchmarks [--quick]`), never collected as tests:
they time things, and timed assertions do not belong in the test suite."""

collect_ignore_glob = ["bench_*.py", "common.py", "__main__.py"]
