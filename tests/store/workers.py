"""Code run in child processes by the store tests (spawned, so it must be importable)."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import sqlalchemy as sa

from store.db import open_database


def increment_counter(url: str, barrier: Any, results: Any) -> None:
    db = open_database(url)
    met = threading.Event()

    def work(session: sa.orm.Session) -> None:
        n = session.execute(sa.text("SELECT n FROM counter")).scalar_one()
        if not met.is_set():
            met.set()
            # The other process is blocked in BEGIN IMMEDIATE or waits here; wait only briefly.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=1)
        session.execute(sa.text("UPDATE counter SET n = :n"), {"n": n + 1})

    try:
        db.transact(work)
        results.put("ok")
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(f"error: {exc}")
    finally:
        db.dispose()
