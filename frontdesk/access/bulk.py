"""Bulk invitation actions (issue 12): every chart in a status when the action starts, many
charts per transaction, each chart's result its own.

**Reach.** A run first reads the id and number of every chart in the action's statuses (one
statement: one snapshot), then works through that list in id order, BATCH charts at a time.
However many are skipped, each chart of the snapshot ends up sent, skipped (a SkipReason),
failed, or (after a cancel) counted as not tried.

**A batch** is one write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: its charts locked
FOR UPDATE in id order first, as the single-chart path locks its chart). Its rows are read in a
few statements, each chart is decided again on those fresh rows with the single-chart path's
rules, each email is rendered by the compose functions, and the writes go out as a few
executemany statements inside one SAVEPOINT (frontdesk.access.bulk_rows). If a row's data
breaks that group (an integrity or data error), the savepoint is rolled back and the batch is
written again chart by chart, each in its own SAVEPOINT (`session.begin_nested()`): a chart whose
new invitation collides with another's on the one-live-invitation index is skipped as CHANGED,
another failing chart is listed as failed, and the others commit. A batch the database refuses
as a whole (locked through every retry, unreachable) lists its charts as failed; the run goes on.

**Two desks at once** (SECURITY.md D4): each batch re-reads its charts under the write lock, so
a chart the other desk has just sent to is no longer in the action's status and its newest
invitation is seconds old: it is skipped as COOLDOWN ("resend refused" is audited, as for a
single resend). The schema's partial unique index stays the backstop: no chart gets two live
invitations, and an earlier link's unsent emails are cancelled in the transaction that queues
the new one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlmodel import Session

from frontdesk import audit
from frontdesk.access import bulk_rows as rows
from frontdesk.access.outcomes import (
    BulkAction,
    BulkFailure,
    BulkPlan,
    BulkPlanEntry,
    BulkResult,
    BulkSkip,
    FailureKind,
    SkipReason,
)
from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.practice import practice_row
from store.db import Database, StoreBusy, StoreError, describe_error

log = logging.getLogger(__name__)

BATCH = 200  # charts per write transaction
PLAN_BATCH = 500  # charts per read of a plan

Progress = Callable[[int, int], object]
"""progress(done, total), called once per chart as soon as its batch has committed (done
counts up by one to total; outside any transaction, from the thread running the action)."""

CancelCheck = Callable[[], bool] | threading.Event
"""Checked before each chart; once set (or True) the run stops there. What is done stays."""


@dataclass
class _Batch:
    """What one batch attempt did."""

    sent: list[str] = field(default_factory=list)
    skipped: list[BulkSkip] = field(default_factory=list)
    failed: list[BulkFailure] = field(default_factory=list)
    stopped: bool = False  # the cancel check stopped the run inside this batch

    @property
    def count(self) -> int:
        return len(self.sent) + len(self.skipped) + len(self.failed)


@dataclass
class _Cancel:
    check: CancelCheck | None
    reached: int = 0  # charts the current batch attempt has gone through

    def __call__(self) -> bool:
        if self.check is None:
            return False
        if isinstance(self.check, threading.Event):
            return self.check.is_set()
        return bool(self.check())


@contextmanager
def _savepoint(session: Session) -> Iterator[sa.Connection]:
    """A SAVEPOINT (`session.begin_nested()`) and the connection to write in it: the session
    emits the SAVEPOINT when its connection is asked for, so the statements go after it."""
    with session.begin_nested():
        yield session.connection()


class BulkInvitations:
    """Bulk invitation actions over every chart in a status, acting as one staff member;
    `cooldown` and `daily_cap` are the lifecycle's resend limits."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        actor: str,
        *,
        cooldown: timedelta,
        daily_cap: int,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor
        self.cooldown = cooldown
        self.daily_cap = daily_cap

    def plan(self, action: BulkAction) -> BulkPlan:
        """Who the action would send to (name, full address) and who it would skip and why,
        if started now; reads only. Each list is in the browser's name order."""
        now = self.clock.now()
        to_send: list[tuple[tuple[str, str, int], BulkPlanEntry]] = []
        to_skip: list[tuple[tuple[str, str, int], BulkPlanEntry]] = []
        with self.db.read_connection() as conn:
            charts = rows.snapshot(conn, action, now)
            portal_on = rows.portal_active(conn)
            for start in range(0, len(charts), PLAN_BATCH):
                page = charts[start : start + PLAN_BATCH]
                facts = rows.read_facts(conn, [chart_id for chart_id, _ in page], now)
                for chart_id, number in page:
                    found = facts.get(chart_id)
                    if found is None:  # removed since the snapshot
                        entry = BulkPlanEntry(number, "", "", "", None, SkipReason.CHANGED)
                        to_skip.append((("", "", chart_id), entry))
                        continue
                    reason, recipient = self._decide(found, action, now, portal_on)
                    owner = found.owner()
                    entry = BulkPlanEntry(
                        found.chart_number,
                        found.client_name,
                        owner.name,
                        owner.relationship,
                        recipient or owner.email,
                        reason,
                    )
                    (to_send if reason is None else to_skip).append((found.sort_key, entry))
        to_send.sort(key=lambda pair: pair[0])
        to_skip.sort(key=lambda pair: pair[0])
        return BulkPlan(
            action, tuple(entry for _, entry in to_send), tuple(entry for _, entry in to_skip)
        )

    def run(
        self,
        action: BulkAction,
        *,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> BulkResult:
        """Do the action to every chart in its statuses now (see the module's docstring).
        Blocking: run it in a worker thread."""
        with self.db.read_connection() as conn:
            charts = rows.snapshot(conn, action, self.clock.now())
        total = len(charts)
        stop = _Cancel(cancel)
        sent: list[str] = []
        skipped: list[BulkSkip] = []
        failed: list[BulkFailure] = []
        cancelled = False
        for start in range(0, total, BATCH):
            if stop():
                cancelled = True
                break
            batch = charts[start : start + BATCH]
            try:
                done = self.db.transact(partial(self._batch, action=action, batch=batch, stop=stop))
            except (StoreError, DBAPIError) as exc:  # the whole batch: nothing of it was kept
                kind = FailureKind.BUSY if isinstance(exc, StoreBusy) else FailureKind.DATABASE
                log.warning("bulk %s: a batch of %d charts failed (%s)", action, len(batch), kind)
                reached = stop.reached if stop() else len(batch)
                detail = describe_error(exc)
                done = _Batch(
                    failed=[BulkFailure(number, kind, detail) for _, number in batch[:reached]],
                    stopped=reached < len(batch),
                )
            before = len(sent) + len(skipped) + len(failed)
            sent += done.sent
            skipped += done.skipped
            failed += done.failed
            if progress is not None:
                for count in range(before + 1, before + done.count + 1):
                    progress(count, total)
            if done.stopped:
                cancelled = True
                break
        tried = len(sent) + len(skipped) + len(failed)
        return BulkResult(
            sent=tuple(sent),
            skipped=tuple(skipped),
            failed=tuple(failed),
            action=action,
            total=total,
            cancelled=cancelled,
            not_tried=total - tried,
        )

    # ---------------------------------------------------------------- one batch

    def _decide(
        self, facts: rows.Facts, action: BulkAction, now: datetime, portal_on: bool
    ) -> tuple[SkipReason | None, str | None]:
        return rows.decide(
            facts,
            action,
            now,
            portal_on=portal_on,
            cooldown=self.cooldown,
            daily_cap=self.daily_cap,
        )

    def _batch(
        self,
        session: Session,
        *,
        action: BulkAction,
        batch: list[tuple[int, str]],
        stop: _Cancel,
    ) -> _Batch:
        """One transaction: decide and write every chart of `batch` (until a cancel)."""
        stop.reached = 0
        result = _Batch()
        conn = session.connection()
        now = self.clock.now()
        ids = [chart_id for chart_id, _ in batch]
        if self.db.is_postgres:
            rows.lock_charts(conn, ids)
        practice = practice_row(session)
        facts = rows.read_facts(conn, ids, now)
        sends: list[rows.Send] = []
        refusals: list[dict[str, Any]] = []
        for chart_id, number in batch:
            if stop():
                result.stopped = True
                break
            stop.reached += 1
            found = facts.get(chart_id)
            if found is None:  # removed since the snapshot
                result.skipped.append(BulkSkip(number, SkipReason.CHANGED))
                continue
            try:
                reason, recipient = self._decide(found, action, now, practice.portal_active)
                if recipient is not None:
                    sends.append(
                        rows.prepare_send(
                            found,
                            recipient,
                            practice=practice,
                            settings=self.settings,
                            resend=action.resends,
                            actor=self.actor,
                            now=now,
                        )
                    )
                    continue
                assert reason is not None
                result.skipped.append(BulkSkip(found.chart_number, reason))
                if action.resends and reason in (SkipReason.COOLDOWN, SkipReason.CHANGED):
                    refusals.append(rows.refusal_row(found, reason, self.actor, now))
            except Exception as exc:  # one chart's surprise is that chart's failure
                log.exception("bulk %s: chart id %d failed", action, chart_id)
                result.failed.append(
                    BulkFailure(found.chart_number, FailureKind.ERROR, type(exc).__name__)
                )
        self._write(session, sends, refusals, result, action, now)
        return result

    def _write(
        self,
        session: Session,
        sends: list[rows.Send],
        refusals: list[dict[str, Any]],
        result: _Batch,
        action: BulkAction,
        now: datetime,
    ) -> None:
        """Write the batch as one group; if a row's data breaks it, chart by chart."""
        if sends:
            try:
                with _savepoint(session):
                    rows.write_sends(session, sends)
                result.sent += [send.facts.chart_number for send in sends]
                sends = []
            except (IntegrityError, DataError) as exc:
                log.warning("bulk %s: batch writes failed (%s); chart by chart", action, type(exc))
        for send in sends:
            number = send.facts.chart_number
            try:
                with _savepoint(session):
                    rows.write_sends(session, [send])
                result.sent.append(number)
            except rows.Collision:  # another live invitation appeared: nothing of it was kept
                result.skipped.append(BulkSkip(number, SkipReason.CHANGED))
                if action.resends:
                    refusals.append(
                        rows.refusal_row(send.facts, SkipReason.CHANGED, self.actor, now)
                    )
            except (IntegrityError, DataError) as exc:
                result.failed.append(BulkFailure(number, FailureKind.DATABASE, describe_error(exc)))
        if refusals:
            try:
                with _savepoint(session):
                    audit.record_many(session, refusals)
            except (IntegrityError, DataError) as exc:
                log.warning("bulk %s: refusal audit rows not written (%s)", action, type(exc))
