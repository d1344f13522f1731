"""TUI benchmark (a script, not a test): the chart browser on 100,000 charts vs a bare Textual app.

    python tests/benchmarks/bench_tui.py [--charts 100000] [--runs 5]

Measured in one run, on this machine, each app in fresh subprocesses (headless, 80×24):

- first screen interactive: from spawning the process to the first screen being up and having
  handled a key press (FrontDesk: the chart browser, the key in its search box; bare: an Input
  that received the key). Median of --runs. FrontDesk is started the quick way, with a
  services factory: the database layer imports and opens in a worker behind the first screen.
- first page of charts: from spawning to the browser showing 100k charts' first page (after a
  key typed at once, so it is the page of that search).
- search keystroke → list updated: from sending a key to the browser's table holding that
  query's results and the screen having been refreshed after it (p50 / p95 over real words
  typed one key at a time, prefix and substring searches).
- peak memory: the process's maximum resident set size (ru_maxrss) at the end of each run.

Targets (issue 3): start within 1.5× the bare app, p95 keystroke ≤ 30 ms, memory within 1.5×.
The 100k-chart SQLite store is built once with bulk inserts and reused (see --db).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

FIRST = [
    "Ana", "Ben", "Chloé", "Dmitri", "Esther", "Farah", "Gabriel", "Hana", "Ikaika", "José",
    "Keisha", "Liam", "María", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sean", "Thảo", "Uma",
    "Víctor", "Wen", "Ximena", "Yusuf", "Zoë",
]  # fmt: skip
LAST = [
    "O'Brien", "García", "Nguyễn", "D'Angelo", "Smith-Jones", "Müller", "Okafor", "Kowalski",
    "Haddad", "Lefèvre", "Park", "MacDonald", "Silva", "Cohen", "Patel", "Yamamoto",
    "Johansson", "Rossi", "Brown", "Ó Súilleabháin", "Novák", "Abebe", "Chen", "Lee",
]  # fmt: skip
# Words typed one key at a time, as at the desk: last-name prefixes, chart numbers, emails,
# and substrings.
WORDS = ["garc", "smith", "obri", "c-1234", "yama", "ana.5", "ilvg", "chen", "park", "rossi"]


# ------------------------------------------------------------------------------ the store


def build_store(path: Path, count: int) -> None:
    """A migrated SQLite store with `count` charts, inserted in bulk through the store."""
    import sqlalchemy as sa

    from frontdesk.text import search_key
    from store.db import open_database
    from store.models import Chart, Practice

    db = open_database(f"sqlite:///{path}")
    rng = random.Random(20261126)
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    db.transact(
        lambda s: s.merge(
            Practice(id=1, name="Cedar Counseling", phone="(555) 010-0100", portal_active=True)
        )
    )
    batch: list[dict[str, object]] = []
    for i in range(count):
        first = rng.choice(FIRST)
        last = rng.choice(LAST) + ("" if i % 3 == 0 else f"{rng.randrange(1000)}")
        number = f"C-{100000 + i}"
        email = f"{search_key(first).replace(' ', '')}.{i}@example.com"
        batch.append(
            {
                "chart_number": number,
                "first_name": first,
                "last_name": last,
                "preferred_name": None,
                "date_of_birth": date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000)),
                "email": email,
                "phone": None,
                "last_key": search_key(last),
                "first_key": search_key(first),
                "email_key": email.lower(),
                "search_text": search_key(f"{last} {first} {number} {email}"),
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == 5000:
            rows = list(batch)
            db.transact(lambda s, rows=rows: s.execute(sa.insert(Chart), rows))
            batch.clear()
    if batch:
        db.transact(lambda s: s.execute(sa.insert(Chart), batch))
    db.dispose()


# ------------------------------------------------------------------------------ child processes


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_bare(spawned_at: float) -> dict[str, object]:
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Input

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Input(placeholder="type")
            yield Footer()

    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.query_one(Input)
        field.focus()
        await pilot.press("a")
        while field.value != "a":
            await asyncio.sleep(0.001)
        ready = time.time() - spawned_at
    return {"ready": ready, "rss_mb": peak_rss_mb()}


async def run_frontdesk(
    spawned_at: float, database_url: str, keystrokes: bool
) -> dict[str, object]:
    from textual import events
    from textual.widgets import Input

    from frontdesk.app import FrontDeskApp
    from screens.chart_browser import ChartBrowser
    from screens.chart_table import ChartTable

    def open_services():  # type: ignore[no-untyped-def]
        from frontdesk.config import Settings
        from frontdesk.services import build_services

        return build_services(Settings(database_url=database_url), actor="bench")

    app = FrontDeskApp(services=open_services)
    painted: dict[str, float] = {}

    async with app.run_test(size=(80, 24)) as pilot:
        browser = app.screen
        assert isinstance(browser, ChartBrowser)
        table = browser.query_one(ChartTable)
        search = browser.query_one("#search", Input)
        original_show = table.show_charts

        def show_and_stamp(charts, *, keep=None, at_end=False):  # type: ignore[no-untyped-def]
            original_show(charts, keep=keep, at_end=at_end)
            text = browser.query_state.text
            app.call_after_refresh(lambda: painted.setdefault(text, time.perf_counter()))

        table.show_charts = show_and_stamp  # type: ignore[method-assign]
        # The key goes in as the terminal would send it (Pilot.press would also wait for the
        # whole process to idle, which it does not while the database layer loads behind).
        app.post_message(events.Key("x", "x"))
        while search.value != "x":
            await asyncio.sleep(0.001)
        ready = time.time() - spawned_at
        while "x" not in painted:
            await asyncio.sleep(0.001)
        first_page = time.time() - spawned_at
        latencies: list[float] = []
        if keystrokes:
            for word in WORDS:
                await pilot.press("ctrl+u")
                await pilot.pause(0.05)
                typed = ""
                for char in word:
                    typed += char
                    painted.pop(typed, None)
                    sent = time.perf_counter()
                    await pilot.press(char)
                    deadline = time.monotonic() + 5
                    while typed not in painted and time.monotonic() < deadline:
                        await asyncio.sleep(0.0005)
                    latencies.append((painted.get(typed, time.perf_counter()) - sent) * 1000)
        rows = table.row_count
    return {
        "ready": ready,
        "first_page": first_page,
        "rss_mb": peak_rss_mb(),
        "latencies_ms": latencies,
        "rows": rows,
    }


def child(argv: list[str]) -> None:
    spawned_at = float(os.environ["BENCH_SPAWNED_AT"])
    if argv[0] == "bare":
        result = asyncio.run(run_bare(spawned_at))
    else:
        result = asyncio.run(run_frontdesk(spawned_at, argv[1], keystrokes=argv[2] == "keys"))
    print("BENCH " + json.dumps(result))


def spawn(*args: str) -> dict[str, object]:
    env = dict(os.environ, BENCH_SPAWNED_AT=repr(time.time()))
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            result: dict[str, object] = json.loads(line[6:])
            return result
    raise SystemExit(f"benchmark child failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


# ------------------------------------------------------------------------------ the report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None, help="store file (built if missing)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    path = args.db or Path("/tmp") / f"frontdesk-bench-{args.charts}.db"
    if not path.exists():
        started = time.perf_counter()
        build_store(path, args.charts)
        print(f"built {args.charts:,} charts in {time.perf_counter() - started:.1f} s: {path}")
    url = f"sqlite:///{path}"

    bare: list[dict[str, object]] = []
    ours: list[dict[str, object]] = []
    spawn("bare")  # warm the file cache for both, not measured
    spawn("frontdesk", url, "start")
    for _ in range(args.runs):  # alternate, so drift on a shared machine hits both
        bare.append(spawn("bare"))
        ours.append(spawn("frontdesk", url, "start"))
    typing = spawn("frontdesk", url, "keys")

    def median(runs: list[dict[str, object]], key: str) -> float:
        return statistics.median(float(run[key]) for run in runs)  # type: ignore[arg-type]

    bare_start, our_start = median(bare, "ready"), median(ours, "ready")
    first_page = median(ours, "first_page")
    bare_rss = max(float(run["rss_mb"]) for run in bare)  # type: ignore[arg-type]
    our_rss = max(float(run["rss_mb"]) for run in [*ours, typing])  # type: ignore[arg-type]
    latencies = [float(v) for v in typing["latencies_ms"]]  # type: ignore[attr-defined]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)

    rows = [
        ("first screen interactive (median)", f"{bare_start:.3f} s", f"{our_start:.3f} s",
         f"{our_start / bare_start:.2f}×", "≤ 1.5×"),
        ("first page of charts shown (median)", "—", f"{first_page:.3f} s",
         f"{first_page / bare_start:.2f}×", ""),
        ("search keystroke → list updated p50", "—", f"{p50:.1f} ms", "", ""),
        ("search keystroke → list updated p95", "—", f"{p95:.1f} ms", "", "≤ 30 ms"),
        ("peak memory (max RSS)", f"{bare_rss:.1f} MB", f"{our_rss:.1f} MB",
         f"{our_rss / bare_rss:.2f}×", "≤ 1.5×"),
    ]  # fmt: skip
    print(
        f"\nFrontDesk TUI on {args.charts:,} charts (SQLite), {args.runs} runs each, "
        f"{len(latencies)} keystrokes; the browser holds one page of rows at a time "
        f"(rows held at the end: {typing['rows']})\n"
    )
    header = ("metric", "bare Textual", "FrontDesk", "ratio", "target")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(5)]
    for row in (header, tuple("-" * w for w in widths), *rows):
        cells = (str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
