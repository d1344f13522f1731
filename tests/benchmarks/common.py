"""Shared parts of the benchmarks: the result row, the 100k-chart store, percentiles, the table."""

from __future__ import annotations

import io
import random
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHARTS = 100_000

# The demo's last names without its markup ("Lee", not "Lee [twin]"); first names are the
# demo's own (frontdesk.demo.data.FIRST).
LAST = [
    "O'Brien", "García", "Nguyễn", "D'Angelo", "Smith-Jones", "Müller", "Okafor", "Kowalski",
    "Haddad", "Lefèvre", "Park", "MacDonald", "Silva", "Cohen", "Patel", "Yamamoto",
    "Johansson", "Rossi", "Brown", "Ó Súilleabháin", "Novák", "Abebe", "Chen", "Lee",
]  # fmt: skip
# Words typed one key at a time, as at the desk: last-name prefixes, chart numbers, emails,
# and substrings (the last ones match inside names and addresses only).
WORDS = ["garc", "smith", "obri", "c-1234", "yama", "ana.5", "ilvg", "chen", "park", "rossi"]
SUBSTRINGS = ["ilva", "mura", "kafo", "ohan", "evre", "ngel", "ddad", "ovak", "ebe", "wals"]


@dataclass(frozen=True)
class Result:
    """One line of the table. `ratio` is ours / baseline (or ours / target for absolute
    targets); `met` None means there is no target to meet (shown for information)."""

    benchmark: str
    ours: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""


def compile_project() -> None:
    """Byte-compile the project's own packages, as installing it does (pip compiles a wheel's
    modules). A process started with PYTHONDONTWRITEBYTECODE (set on some machines) never
    writes bytecode for an editable checkout, so each start-up would compile our modules from
    source again: a cost no installed FrontDesk pays, which start-up figures must not carry."""
    import compileall

    for package in ("frontdesk", "screens", "store", "tests"):
        compileall.compile_dir(ROOT / package, quiet=1)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def store_path(charts: int = CHARTS) -> Path:
    return Path("/tmp") / f"frontdesk-bench-{charts}.db"


def ensure_store(charts: int = CHARTS) -> Path:
    """The migrated SQLite store with `charts` charts (built once, then reused)."""
    path = store_path(charts)
    if not path.exists():
        partial = path.with_suffix(".building")
        partial.unlink(missing_ok=True)
        build_store(partial, charts)
        partial.rename(path)
    return path


def build_store(path: Path, count: int) -> None:
    """A migrated SQLite store with `count` charts, inserted in bulk through the store."""
    from frontdesk.core.text import search_key
    from frontdesk.demo.data import FIRST, chart_row, insert_chart_rows
    from store.db import open_database
    from store.models import Practice

    db = open_database(f"sqlite:///{path}")
    rng = random.Random(20261126)
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    db.transact(
        lambda s: s.merge(
            Practice(id=1, name="Cedar Counseling", phone="(555) 010-0100", portal_active=True)
        )
    )

    def rows() -> Iterator[dict[str, object]]:
        for i in range(count):
            first = rng.choice(FIRST)
            last = rng.choice(LAST) + ("" if i % 3 == 0 else f"{rng.randrange(1000)}")
            number = f"C-{100000 + i}"
            email = f"{search_key(first).replace(' ', '')}.{i}@example.com"
            dob = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 30000))
            yield chart_row(number, first, last, dob, email, now)

    insert_chart_rows(db, rows())
    db.dispose()


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def print_table(results: Sequence[Result], title: str = "", *, plain: bool = False) -> str:
    """Print ONE table of results (rich); returns its plain-text form."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None, box=box.ASCII if plain else box.ROUNDED)
    for name, justify in (
        ("benchmark", "left"),
        ("ours", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("target", "left"),
        ("met?", "center"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in results:
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        style = "" if r.met is None else ("green" if r.met else "bold red")
        table.add_row(
            r.benchmark, r.ours, r.baseline, fmt_ratio(r.ratio), r.target, met, style=style
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)
    capture = Console(
        width=160, no_color=True, force_terminal=False, record=True, file=io.StringIO()
    )
    plain_table = Table(title=title or None, box=box.ASCII)
    for column in table.columns:
        plain_table.add_column(str(column.header), justify=column.justify)
    for r in results:
        met = "—" if r.met is None else ("yes" if r.met else "NO")
        plain_table.add_row(r.benchmark, r.ours, r.baseline, fmt_ratio(r.ratio), r.target, met)
    capture.print(plain_table)
    notes = [f"- {r.benchmark}: {r.note}" for r in results if r.note]
    text = capture.export_text()
    if notes:
        text += "\nNotes:\n" + "\n".join(notes) + "\n"
        print("\n".join(notes))
    return text
