"""Run every benchmark and print ONE table: benchmark, ours, baseline, ratio, target, met?

    python -m tests.benchmarks [--quick] [--only tui,search,...,inbox] [--out FILE]

Each benchmark measures its bare baseline in the same run (see each module's docstring). The
benchmarks run one after another, never at once (they would share the cores). --quick runs
shorter and smaller where that does not change what is measured (the store stays at 100k
charts); --out also writes the plain-text table with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks.common import Result, ensure_store, print_table

BENCHMARKS = ("tui", "search", "mail", "web", "import", "timing", "inbox")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"nproc {len(os.sched_getaffinity(0))}, {model}; "
        f"Python {platform.python_version()}; {platform.system()} {platform.release()}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def load() -> str:
    """The 1/5/15-minute load averages: other work on the machine shifts every figure."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def runners(quick: bool) -> dict[str, Callable[[], list[Result]]]:
    from tests.benchmarks import (
        bench_import,
        bench_inbox,
        bench_mail,
        bench_search,
        bench_timing,
        bench_tui,
        bench_web,
    )

    return {
        "tui": lambda: bench_tui.run(quick),
        "search": lambda: bench_search.run(quick),
        "mail": lambda: bench_mail.run(quick),
        "web": lambda: bench_web.run(quick),
        "import": lambda: bench_import.run(quick),
        "timing": lambda: bench_timing.run(quick),
        "inbox": lambda: bench_inbox.run(quick),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke check)")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    if {"tui", "search"} & set(chosen):
        ensure_store()  # built once (a minute), not part of any measurement
    results: list[Result] = []
    load_before = load()
    table = runners(args.quick)
    started = time.perf_counter()
    for name in chosen:
        print(f"running {name}…", file=sys.stderr, flush=True)
        results.extend(table[name]())
    took = time.perf_counter() - started
    about = machine()
    loads = f"load average (1/5/15 min) {load_before} before, {load()} after"
    title = f"FrontDesk benchmarks{' (quick)' if args.quick else ''}"
    text = print_table(results, title)
    print(f"\n{about}\n{loads}; took {took:.0f} s")
    if args.out is not None:
        args.out.write_text(
            f"# Latest benchmark run\n\n"
            f"`python -m tests.benchmarks{' --quick' if args.quick else ''}`, on: {about}.  \n"
            f"{loads}; took {took:.0f} s.\n\n```text\n{text.rstrip()}\n```\n"
        )
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
