"""The client's thread views, written behind the page: the read mark and the audit row of
every "message thread viewed", group-committed.

`MessageService.client_thread` marks a thread read and writes its audit row in the same
transaction as the read: one durable commit (an fsync on SQLite) per page view, which caps a
thread page at a few hundred views a second however fast the page is. On SQLite the web reads
the thread in place (`message_reads`) and hands the view to a `ViewRecorder`: a writer thread
that commits the views waiting, in one transaction, at most every GATHER seconds (so under
load the writer is mostly idle and the pages are not held up behind it). A view is written
within about 50 ms of its page (the time of the view is the page's, so a message the practice
writes meanwhile stays unread), every view keeps its own audit row, and `close()` (the
server's shutdown) writes what is still waiting.

The rules are those of `client_thread`: the thread's `client_last_read_at` moves to the
view's time (never back), a due "you have a new message" email is cancelled unless the
practice wrote after the view, and the audit row is the service's ("message thread viewed",
actor `client:<account id>`, detail `thread <id>`, source `web:<address>`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from frontdesk import audit
from store.db import Database, StoreError
from store.models import MessageThread

log = logging.getLogger("frontdesk.portal")

VIEWED = "message thread viewed"  # the audit action, as MessageService.client_thread writes it
GATHER = 0.05  # seconds a batch may wait for more views before it is written
RETRIES = 5
RETRY_PAUSE = 0.2  # seconds between attempts when the store is busy or unreachable

_THREADS = MessageThread.__table__  # type: ignore[attr-defined]
_SEEN = sa.bindparam("seen", type_=sa.DateTime(timezone=True))
_MARK_READ = (
    sa.update(_THREADS)
    .where(_THREADS.c.id == sa.bindparam("thread"))
    .values(
        client_last_read_at=sa.case(
            (
                sa.or_(
                    _THREADS.c.client_last_read_at.is_(None),
                    _THREADS.c.client_last_read_at < _SEEN,
                ),
                _SEEN,
            ),
            else_=_THREADS.c.client_last_read_at,
        ),
        client_notice_due_at=sa.case(
            (
                sa.or_(
                    _THREADS.c.last_practice_message_at.is_(None),
                    _THREADS.c.last_practice_message_at <= _SEEN,
                ),
                sa.null(),
            ),
            else_=_THREADS.c.client_notice_due_at,
        ),
        updated_at=sa.case((_THREADS.c.updated_at < _SEEN, _SEEN), else_=_THREADS.c.updated_at),
    )
)


@dataclass(frozen=True)
class ThreadViewed:
    """One page view of a thread by its client."""

    thread_id: int
    account_id: int
    chart_id: int
    chart_number: str
    at: datetime
    client_address: str


def write_views(db: Database, views: list[ThreadViewed]) -> None:
    """Mark the threads read and audit every view, in one transaction."""
    latest: dict[int, datetime] = {}
    for view in views:
        seen = latest.get(view.thread_id)
        latest[view.thread_id] = view.at if seen is None or view.at > seen else seen
    rows = [
        audit.event_row(
            at=view.at,
            actor=f"client:{view.account_id}",
            action=VIEWED,
            source=f"web:{view.client_address}" if view.client_address else "web",
            chart_id=view.chart_id,
            chart_number=view.chart_number,
            detail=f"thread {view.thread_id}",
        )
        for view in views
    ]

    def work(session: Session) -> None:
        session.connection().execute(
            _MARK_READ, [{"thread": thread, "seen": seen} for thread, seen in latest.items()]
        )
        audit.record_many(session, rows)

    db.transact(work)


class ViewRecorder:
    """Writes thread views behind the page, each batch in one transaction (see the module's
    docstring). Thread-safe; its writer thread starts with the first view."""

    def __init__(
        self, db: Database, writer: Callable[[Database, list[ThreadViewed]], None] = write_views
    ) -> None:
        self.db = db
        self.writer = writer
        self._waiting: list[ThreadViewed] = []
        self._writing = 0
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._hurry = 0  # callers of flush() waiting

    def record(self, view: ThreadViewed) -> None:
        """Queue a view; it is written within milliseconds (the caller does not wait)."""
        with self._lock:
            if not self._closed:
                self._waiting.append(view)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="frontdesk-thread-views", daemon=True
                    )
                    self._thread.start()
                self._lock.notify_all()
                return
        self.writer(self.db, [view])  # after close(): written at once

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every view queued so far is written."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._hurry += 1
            self._lock.notify_all()
            try:
                while self._waiting or self._writing:
                    left = deadline - time.monotonic()
                    if left <= 0 or (self._thread is None and self._waiting):
                        break
                    self._lock.wait(left)
            finally:
                self._hurry -= 1

    def close(self) -> None:
        """Write what is waiting and stop the writer thread (later views are written at
        once, by the caller)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(30)
        with self._lock:
            leftover, self._waiting = self._waiting, []
        if leftover:
            self.writer(self.db, leftover)

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closed:
                    self._lock.wait()
                if not self._waiting:
                    return
                gathered = time.monotonic() + GATHER
                while not self._closed and not self._hurry:
                    left = gathered - time.monotonic()
                    if left <= 0:
                        break
                    self._lock.wait(left)
                batch, self._waiting = self._waiting, []
                self._writing = len(batch)
            try:
                self._write(batch)
            finally:
                with self._lock:
                    self._writing = 0
                    self._lock.notify_all()

    def _write(self, batch: list[ThreadViewed]) -> None:
        for attempt in range(1, RETRIES + 1):
            try:
                self.writer(self.db, batch)
                return
            except StoreError as exc:
                if attempt == RETRIES:
                    log.error("%d thread view(s) not recorded: %s", len(batch), type(exc).__name__)
                    return
                time.sleep(RETRY_PAUSE * attempt)
            except Exception as exc:  # the writer thread must survive to write later views
                log.error("%d thread view(s) not recorded: %s", len(batch), type(exc).__name__)
                return
