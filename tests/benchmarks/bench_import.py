"""Import benchmark (issue 15): 100,000 charts from a CSV file as a practice exports it, through
`frontdesk.charts.importer.import_charts`, against a bare `executemany` of the same rows into
the same tables (same indexes and triggers) in one transaction, measured in the same run, on
SQLite and PostgreSQL; and the import's peak memory.

    python -m tests.benchmarks.bench_import [--charts 100000] [--quick] [--no-postgres]

The file: US dates, people's headers ("Chart Number", "DOB", "E-mail", ...), a column that is
not ours, and every tenth chart a child without an email whose mother is a related contact (so
she becomes its Chart Owner). The bare side inserts what the import writes, with the driver's
own `executemany` (sqlite3, psycopg) in one transaction: the charts (their search keys
computed beforehand, untimed), the related contacts, the Chart Owner rows and the audit rows
(chart added, contact added, owner changed). Each side runs in a child process of its own on
a fresh copy of the same migrated store (with its practice set up); the import's peak RSS is
that child's (VmHWM: Python, the product and SQLAlchemy loaded). The target: the import's rate
at least 0.25x the bare rate, and its peak RSS under 200 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.benchmarks.common import CHARTS, LAST, ROOT, Result, median, print_table

TARGET_RATIO = 0.25
TARGET_RSS_MB = 200.0
HEADER = [
    "Chart Number", "First Name", "Last Name", "Preferred Name", "DOB", "E-mail", "Phone",
    "Insurance", "Contact Name", "Relationship", "Contact Email",
]  # fmt: skip
ACTOR = "bench"


# ------------------------------------------------------------------------------ the file


def write_export(path: Path, count: int) -> None:
    """A practice's export of `count` charts (deterministic)."""
    from frontdesk.demo.data import FIRST

    rng = random.Random(20261126)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(count):
            first = rng.choice(FIRST)
            last = rng.choice(LAST) + ("" if i % 3 == 0 else f"{rng.randrange(1000)}")
            number = f"C-{100000 + i}"
            if i % 10 == 0:  # a child, no email of its own; the mother owns portal access
                born = date(2010, 1, 1) + timedelta(days=rng.randrange(0, 4000))
                mother = f"{rng.choice(FIRST)} {last}"
                email, contact = "", [mother, "Mother", f"parent.{i}@example.com"]
            else:
                born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 25000))
                email, contact = f"{first.lower()}.{i}@example.com", ["", "", ""]
            dob = f"{born.month:02}/{born.day:02}/{born.year}"
            writer.writerow(
                [number, first, last, "", dob, email, "(555) 010-0100", "Aetna", *contact]
            )


def bare_rows(path: Path, now: datetime, sqlite: bool) -> dict[str, list[tuple[Any, ...]]]:
    """The rows the import writes for the file, computed beforehand for the bare side."""
    from frontdesk.core.text import search_key

    stamp: Any = now.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else now
    rows: dict[str, list[tuple[Any, ...]]] = {"chart": [], "contact": [], "owner": [], "audit": []}
    with path.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        next(reader)
        for chart_id, cells in enumerate(reader, start=1):
            number, first, last, _, dob, email, phone, _, name, relationship, contact_email = cells
            month, day, year = (int(p) for p in dob.split("/"))
            born: Any = date(year, month, day)
            key = search_key
            rows["chart"].append(
                (
                    chart_id, number, first, last, None, born.isoformat() if sqlite else born,
                    email or None, phone, key(last), key(first), email.lower(),
                    key(f"{last} {first}  {number} {email}"), stamp, stamp,
                )
            )  # fmt: skip
            audit = [(stamp, ACTOR, "chart added", chart_id, number, "ok", "", f"os:{ACTOR}")]
            contact_id = None
            if name:
                contact_id = len(rows["contact"]) + 1
                rows["contact"].append(
                    (contact_id, chart_id, name, relationship, contact_email, None, stamp, None)
                )
                detail = f"{name} ({relationship})"
                audit.append(
                    (stamp, ACTOR, "contact added", chart_id, number, "ok", detail, "os:bench")
                )
                audit.append(
                    (
                        stamp,
                        ACTOR,
                        "owner changed",
                        chart_id,
                        number,
                        "ok",
                        f"to {detail}",
                        "os:bench",
                    )
                )
            rows["owner"].append((chart_id, contact_id, 1, stamp, ACTOR))
            rows["audit"].extend(audit)
    return rows


_INSERTS = {
    "chart": "INSERT INTO chart (id, chart_number, first_name, last_name, preferred_name, "
    "date_of_birth, email, phone, last_key, first_key, email_key, search_text, created_at, "
    "updated_at) VALUES ({})",
    "contact": "INSERT INTO related_contact (id, chart_id, name, relationship, email, phone, "
    "created_at, removed_at) VALUES ({})",
    "owner": "INSERT INTO chart_owner (chart_id, related_contact_id, version, updated_at, "
    "updated_by) VALUES ({})",
    "audit": "INSERT INTO audit_event (at, actor, action, chart_id, chart_number, outcome, "
    "detail, source) VALUES ({})",
}


# ------------------------------------------------------------------------------ child processes


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_ours(url: str, csv_path: str) -> dict[str, Any]:
    from frontdesk.charts.importer import import_charts
    from frontdesk.core.clock import FrozenClock
    from frontdesk.core.config import Settings
    from frontdesk.services import build_services
    from tests.factories import T0

    services = build_services(
        Settings(database_url=url), clock=FrozenClock(T0), actor=ACTOR, migrate=False
    )
    try:
        started = time.perf_counter()
        report = import_charts(services.charts, Path(csv_path))
        took = time.perf_counter() - started
    finally:
        services.close()
    assert report.ok and report.committed, report.errors[:5]
    return {"seconds": took, "charts": len(report.charts_added), "rss_mb": _peak_rss_mb()}


def child_bare(url: str, csv_path: str) -> dict[str, Any]:
    from tests.factories import T0

    sqlite = url.startswith("sqlite")
    rows = bare_rows(Path(csv_path), T0, sqlite)
    if sqlite:
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        for pragma in (
            "busy_timeout = 5000",
            "journal_mode = WAL",
            "foreign_keys = ON",
            "synchronous = FULL",
            "secure_delete = ON",
        ):
            conn.execute(f"PRAGMA {pragma}")
        mark = "?"
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        cursor: Any = conn
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))  # type: ignore[assignment]
        mark = "%s"
        started = time.perf_counter()
        cursor = conn.cursor()
    for table in ("chart", "contact", "owner", "audit"):
        values = rows[table]
        sql = _INSERTS[table].format(", ".join([mark] * len(values[0])))
        cursor.executemany(sql, values)
    conn.commit() if not sqlite else conn.execute("COMMIT")
    took = time.perf_counter() - started
    conn.close()
    return {"seconds": took, "charts": len(rows["chart"])}


def spawn(kind: str, url: str, csv_path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.benchmarks.bench_import",
            "--child",
            kind,
            url,
            str(csv_path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            result: dict[str, Any] = json.loads(line[6:])
            return result
    raise SystemExit(f"benchmark child failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")


# ------------------------------------------------------------------------------ the stores


def _template_sqlite(folder: Path) -> Path:
    """A migrated SQLite store with its practice set up (copied for every side)."""
    from frontdesk.services import build_services
    from tests.factories import PRACTICE_PHONE, make_settings, set_up_practice

    path = folder / "template.db"
    services = build_services(make_settings(f"sqlite:///{path}"), actor=ACTOR)
    set_up_practice(services, phone=PRACTICE_PHONE)
    services.close()
    return path


def sqlite_stores(folder: Path) -> Iterator[str]:
    template = _template_sqlite(folder)
    for i in range(10_000):
        copy = folder / f"store-{i}.db"
        shutil.copy(template, copy)
        yield f"sqlite:///{copy}"


def postgres_stores() -> Iterator[str] | None:
    """Fresh PostgreSQL databases copied from a migrated template (None: no server)."""
    from frontdesk.services import build_services
    from tests.factories import (
        PRACTICE_PHONE,
        make_settings,
        pg_admin_engine,
        pg_database_url,
        set_up_practice,
    )

    admin = pg_admin_engine()
    if admin is None:
        return None
    template = f"fd_bench_import_{os.getpid()}"

    def stores() -> Iterator[str]:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{template}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{template}"')
        services = build_services(make_settings(pg_database_url(template)), actor=ACTOR)
        set_up_practice(services, phone=PRACTICE_PHONE)
        services.close()
        made: list[str] = []
        try:
            for i in range(10_000):
                name = f"{template}_{i}"
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                made.append(name)
                yield pg_database_url(name)
        finally:
            with admin.connect() as conn:
                for name in [*made, template]:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    return stores()


# ------------------------------------------------------------------------------ the report


def _measure(stores: Iterator[str], csv_path: Path, runs: int) -> tuple[list[Any], list[Any]]:
    ours: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    for _ in range(runs):  # alternate, so drift on a shared machine hits both
        bare.append(spawn("bare", next(stores), csv_path))
        ours.append(spawn("ours", next(stores), csv_path))
    return ours, bare


def run(quick: bool = False, charts: int = CHARTS, postgres: bool = True) -> list[Result]:
    runs = 1 if quick else 3
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="frontdesk-bench-import-") as tmp:
        folder = Path(tmp)
        csv_path = folder / "clients.csv"
        write_export(csv_path, charts)
        size = csv_path.stat().st_size / 1e6
        engines: list[tuple[str, Iterator[str] | None]] = [("SQLite", sqlite_stores(folder))]
        if postgres:
            engines.append(("PostgreSQL", postgres_stores()))
        rss: list[float] = []
        for engine, stores in engines:
            if stores is None:
                results.append(
                    Result(f"import {charts // 1000}k charts, {engine}", "—", "—", None,
                           f"≥ {TARGET_RATIO}× bare executemany", None, "no server answered")
                )  # fmt: skip
                continue
            ours, bare = _measure(stores, csv_path, runs)
            close = getattr(stores, "close", None)
            if close is not None:
                close()
            ours_s = median([o["seconds"] for o in ours])
            bare_s = median([b["seconds"] for b in bare])
            ratio = (charts / ours_s) / (charts / bare_s)
            rss += [o["rss_mb"] for o in ours]
            results.append(
                Result(
                    f"import {charts // 1000}k charts from CSV, {engine}",
                    f"{ours_s:.1f} s ({charts / ours_s:,.0f}/s)",
                    f"{bare_s:.1f} s ({charts / bare_s:,.0f}/s) bare executemany",
                    ratio,
                    f"≥ {TARGET_RATIO}× bare rate",
                    ratio >= TARGET_RATIO,
                    f"{size:.1f} MB file, {charts // 10:,} guardians; median of {runs}; ours "
                    "reads, decodes, checks every row and writes charts, contacts, owners and "
                    "audit rows; bare inserts the same rows computed beforehand",
                )
            )
        peak = max(rss) if rss else 0.0
        results.append(
            Result(
                f"import {charts // 1000}k charts: peak RSS",
                f"{peak:.0f} MB",
                "—",
                peak / TARGET_RSS_MB,
                f"< {TARGET_RSS_MB:.0f} MB",
                peak < TARGET_RSS_MB,
                "the importing process's VmHWM (Python, the product and SQLAlchemy loaded)",
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", type=int, default=CHARTS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "URL", "CSV"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, url, csv_path = args.child
        result = child_ours(url, csv_path) if kind == "ours" else child_bare(url, csv_path)
        print("BENCH " + json.dumps(result))
        return
    print_table(run(args.quick, args.charts, postgres=not args.no_postgres))


if __name__ == "__main__":
    main()
