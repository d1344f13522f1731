"""Search at 100,000 charts on SQLite: `PortalService.search_charts` (one page, as the browser asks
for it on each keystroke) against a bare indexed SQLite prefix query and a bare FTS5 trigram
query on the same file, in the same run.

    python -m tests.benchmarks.bench_search [--charts 100000] [--quick]

Every prefix of the typed words is searched (what each keystroke asks for), several rounds; the
substring words are searched whole (3+ characters, where the trigram index applies). Times are
per query, p50 and p95. The target is the keystroke budget of issue 3 (30 ms p95 from key to
list): the search is most of it.
"""

from __future__ import annotations

import argparse
import sqlite3
import time
from collections.abc import Callable

from tests.benchmarks.common import (
    CHARTS,
    SUBSTRINGS,
    WORDS,
    Result,
    ensure_store,
    median,
    percentile,
    print_table,
)

BUDGET_MS = 30.0
PAGE = 20

BARE_PREFIX = (
    "SELECT id, chart_number, last_name, first_name, date_of_birth, email FROM chart "
    "WHERE last_key >= ? AND last_key < ? ORDER BY last_key, first_key, id LIMIT ?"
)
BARE_FTS = (
    "SELECT c.id, c.chart_number, c.last_name, c.first_name, c.date_of_birth, c.email "
    "FROM chart_fts JOIN chart c ON c.id = chart_fts.rowid WHERE chart_fts MATCH ? LIMIT ?"
)


def _times(queries: list[str], run: Callable[[str], object], rounds: int) -> list[float]:
    for text in queries:  # warm the page cache and the statement caches, not measured
        run(text)
    out: list[float] = []
    for _ in range(rounds):
        for text in queries:
            started = time.perf_counter()
            run(text)
            out.append((time.perf_counter() - started) * 1000)
    return out


def run(quick: bool = False, charts: int = CHARTS) -> list[Result]:
    from frontdesk.core.config import Settings
    from frontdesk.core.text import search_key
    from frontdesk.services import build_services

    path = ensure_store(charts)
    rounds = 2 if quick else 5
    prefixes = [word[:n] for word in WORDS for n in range(1, len(word) + 1)]
    substrings = [w for w in SUBSTRINGS if len(w) >= 3]

    services = build_services(Settings(database_url=f"sqlite:///{path}"), actor="bench")
    try:
        ours_prefix = _times(
            prefixes, lambda t: services.search.search_charts(t, limit=PAGE), rounds
        )
        ours_sub = _times(
            substrings, lambda t: services.search.search_charts(t, limit=PAGE), rounds
        )
    finally:
        services.close()

    conn = sqlite3.connect(path)
    try:

        def bare_prefix(text: str) -> object:
            key = search_key(text)
            return conn.execute(BARE_PREFIX, (key, key + "\U0010ffff", PAGE)).fetchall()

        def bare_fts(text: str) -> object:
            phrase = '"' + search_key(text).replace('"', '""') + '"'
            return conn.execute(BARE_FTS, (phrase, PAGE)).fetchall()

        base_prefix = _times(prefixes, bare_prefix, rounds)
        base_sub = _times(substrings, bare_fts, rounds)
    finally:
        conn.close()

    results = []
    for label, ours, base, bare in (
        ("prefix, per keystroke", ours_prefix, base_prefix, "indexed prefix"),
        ("substring", ours_sub, base_sub, "FTS5 trigram"),
    ):
        p95, b95 = percentile(ours, 0.95), percentile(base, 0.95)
        results.append(
            Result(
                f"search {charts // 1000}k charts: {label} (p50 / p95)",
                f"{median(ours):.2f} / {p95:.2f} ms",
                f"{median(base):.2f} / {b95:.2f} ms {bare}",
                p95 / b95,
                f"p95 ≤ {BUDGET_MS:.0f} ms (key budget)",
                p95 <= BUDGET_MS,
                f"{len(ours)} queries; ours returns full page rows with status and owner",
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=CHARTS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_table(run(args.quick, args.charts))


if __name__ == "__main__":
    main()
