"""Delivering the outbox: claim due rows with a lease, send them over one connection, record.

Several delivery processes may run at once (the TUI after an action, `frontdesk serve`,
`frontdesk outbox deliver`). Each claims rows before sending: PostgreSQL `SELECT ... FOR UPDATE
SKIP LOCKED`, SQLite one conditional UPDATE inside a BEGIN IMMEDIATE transaction. A claim is a
5-minute lease, so rows of a killed process come back. Delivery is at least once: a connection
lost after the data was sent is retried with the same message and link (never a new token).

Temporary failures retry after 5, 10, 20, 40 minutes, then hourly, and give up 48 hours after
the first failure; a 5xx reply fails the row at once with the server's reason. Failures are
audited. Once delivered, the stored bodies lose the link's token.
A setup failure (`frontdesk.mail.failures`) fails no row: it pauses the outbox (`.pause`).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core import links
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.core.emails import mask_email
from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import single_line
from frontdesk.mail.compose import MessageError, build_message
from frontdesk.mail.dsn import envelope_sender
from frontdesk.mail.pause import MailPauses
from frontdesk.mail.secrets import PasswordLookup, SecretError
from frontdesk.mail.sender import SendError, SmtpSender
from frontdesk.practice import practice_row
from store.db import Database, StoreError
from store.models import (
    INVITATION_LIVE,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    Chart,
    Invitation,
    OutboxEmail,
    Practice,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF = (
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=20),
    timedelta(minutes=40),
)
MAX_BACKOFF = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=48)
CHUNK = 200  # rows claimed, sent and recorded per round (a commit each: fsync)
LIVENESS_BATCH = 10  # re-check invitations this many emails ahead: a resend is seen within ms
SYSTEM_ACTOR = "system:mail"


class MailNotConfigured(FrontDeskError):
    """Delivery cannot start (no sender address, no SMTP password, keyring stuck); the rows
    stay queued. str(error) is one line for staff."""


@dataclass(frozen=True)
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    notes: tuple[str, ...] = ()
    paused: bool = False  # a setup failure paused the outbox (frontdesk.mail.pause)

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.cancelled

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(
            self.sent + other.sent,
            self.retrying + other.retrying,
            self.failed + other.failed,
            self.cancelled + other.cancelled,
            tuple(dict.fromkeys(self.notes + other.notes)),
            self.paused or other.paused,
        )

    def summary(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} retrying, {self.failed} failed, "
            f"{self.cancelled} cancelled"
        )


def retry_delay(failures: int) -> timedelta:
    """Wait after the n-th consecutive temporary failure: 5, 10, 20, 40 min, then hourly."""
    if failures < 1:
        return timedelta(0)
    return BACKOFF[failures - 1] if failures <= len(BACKOFF) else MAX_BACKOFF


def reduce_body(body: str) -> str:
    """The body with every registration link's token replaced, so no usable link stays."""
    return links.remove_link_tokens(body)


# --------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    kind: str  # sent | temporary | permanent | cancelled | released | paused
    reason: str = ""


SenderFactory = Callable[[Settings, "str | None"], SmtpSender]


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(
            col(OutboxEmail.state).in_([OUTBOX_PENDING, OUTBOX_RETRYING]),
            col(OutboxEmail.next_attempt_at) <= now,
        ),
        sa.and_(
            col(OutboxEmail.state) == OUTBOX_SENDING,
            col(OutboxEmail.lease_until) < now,
        ),
    )


class OutboxDelivery:
    """Sends due outbox rows. Blocking (SMTP, database): run it in a worker thread."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        password_provider: Callable[[], PasswordLookup | str | None],
        *,
        sender_factory: SenderFactory | None = None,
        lease: timedelta = LEASE,
        chunk: int = CHUNK,
        owner: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.password_provider = password_provider
        self.sender_factory: SenderFactory = sender_factory or (
            lambda s, password: SmtpSender(s, password)
        )
        self.lease = lease
        self.chunk = max(1, chunk)
        self.owner = owner or f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.monotonic = monotonic
        self.pauses = MailPauses(db, clock)
        self._paused_now = False

    # ------------------------------------------------------------------ queries

    def due_count(self) -> int:
        with self.db.read() as session:
            return int(
                session.exec(
                    select(sa.func.count()).select_from(OutboxEmail).where(_due(self.clock.now()))
                ).one()
            )

    def next_due_at(self) -> datetime | None:
        """When the earliest queued or retrying row becomes due (None when nothing waits)."""
        with self.db.read() as session:
            value = session.exec(
                select(sa.func.min(OutboxEmail.next_attempt_at)).where(
                    col(OutboxEmail.state).in_([OUTBOX_PENDING, OUTBOX_RETRYING])
                )
            ).one()
        return as_utc(value) if value is not None else None

    # ------------------------------------------------------------------ the run

    def deliver_due(self, limit: int = 200, *, probe_now: bool = False) -> DeliveryReport:
        """Send up to `limit` due rows. Raises MailNotConfigured before touching any row when
        sending cannot start; send failures are recorded on the rows, not raised. While the
        outbox is paused nothing is sent; a probe runs when due (`probe_now`: at once)."""
        if limit >= 1 and not self._unpaused(probe_now):
            return DeliveryReport(paused=True)
        if limit < 1 or self.due_count() == 0:
            return DeliveryReport()
        if not self.settings.mail_from:
            raise MailNotConfigured(
                "Emails are queued but FRONTDESK_MAIL_FROM (the sender address) is not set."
            )
        password, notes = self._password()
        with self.db.read() as session:
            practice = practice_row(session)
        report = DeliveryReport(notes=notes)
        sender = self.sender_factory(self.settings, password)
        try:
            remaining = limit
            while remaining > 0:
                rows = self._claim(min(self.chunk, remaining))
                if not rows:
                    break
                remaining -= len(rows)
                outcomes, server_down = self._send(sender, rows, practice)
                report += self._record(rows, outcomes)
                if server_down:
                    break
        finally:
            sender.close()
        report += DeliveryReport(paused=self._paused_now)
        if report.sent or report.failed or report.cancelled:
            self._forget_old_bodies()
        if report.total:
            log.info("outbox delivery: %s", report.summary())
        return report

    def _forget_old_bodies(self) -> None:
        """SQLite keeps the pre-update pages (with the links) in its WAL file until a checkpoint
        overwrites them: checkpoint and truncate it now. Busy readers make this a no-op that
        the next run repeats."""
        if not self.db.is_sqlite:
            return
        try:
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except sa.exc.OperationalError as exc:
            log.info("outbox: WAL checkpoint skipped (%s)", type(exc).__name__)

    def deliver_until_stopped(self, stop: threading.Event, *, interval: float = 15.0) -> None:
        """Deliver due rows every `interval` seconds until `stop` is set (for `frontdesk serve`).
        Problems are logged as one line and tried again next round."""
        while not stop.is_set():
            try:
                self.deliver_due()
            except (MailNotConfigured, StoreError) as exc:
                log.warning("outbox delivery: %s", exc)
            stop.wait(interval)

    def _unpaused(self, probe_now: bool) -> bool:
        """Whether sending may go on (not paused, or a probe just passed: MailPauses)."""
        self._paused_now = False
        return self.pauses.may_send(probe_now, self._probe_sender)

    def _probe_sender(self) -> tuple[SmtpSender, str]:
        if not self.settings.mail_from:
            raise MailNotConfigured("FRONTDESK_MAIL_FROM (the sender address) is not set.")
        return self.sender_factory(self.settings, self._password()[0]), self.settings.mail_from

    def _held(self, exc: SendError) -> _Outcome:
        """The rest of the chunk's outcome: paused (a setup failure: no row fails) or temporary."""
        if exc.setup is None:
            return _Outcome("temporary", exc.reason)
        self.pauses.pause(exc.setup)
        self._paused_now = True
        return _Outcome("paused", exc.reason)

    def _password(self) -> tuple[str | None, tuple[str, ...]]:
        if not self.settings.smtp_username:
            return None, ()
        try:
            found = self.password_provider()
        except SecretError as exc:
            raise MailNotConfigured(f"Emails stay queued: {exc}") from None
        lookup = found if isinstance(found, PasswordLookup) else PasswordLookup(found, "given")
        notes = (lookup.note,) if lookup.note else ()
        if not lookup.password:
            raise MailNotConfigured(
                "Emails stay queued: SMTP password not set. Run `frontdesk smtp set-password` "
                "(or set FRONTDESK_SMTP_PASSWORD where no keyring works)."
            )
        return lookup.password, notes

    # ------------------------------------------------------------------ claiming

    def _claim(self, count: int) -> list[OutboxEmail]:
        """Lease up to `count` due rows to this process; returns them (with their bodies)."""
        now = self.clock.now()

        def work(session: Session) -> list[OutboxEmail]:
            candidates = (
                select(OutboxEmail.id)
                .where(_due(now))
                .order_by(col(OutboxEmail.next_attempt_at), col(OutboxEmail.id))
                .limit(count)
            )
            if self.db.is_postgres:
                candidates = candidates.with_for_update(skip_locked=True)
            ids = list(session.exec(candidates).all())
            if not ids:
                return []
            claimed = session.execute(
                sa.update(OutboxEmail)
                .where(col(OutboxEmail.id).in_(ids), _due(now))
                .values(state=OUTBOX_SENDING, lease_until=now + self.lease, lease_owner=self.owner)
                .returning(col(OutboxEmail.id))
                .execution_options(synchronize_session=False)
            )
            claimed_ids = [row[0] for row in claimed]
            if not claimed_ids:
                return []
            return list(
                session.exec(
                    select(OutboxEmail)
                    .where(col(OutboxEmail.id).in_(claimed_ids))
                    .order_by(col(OutboxEmail.id))
                ).all()
            )

        return self.db.transact(work)

    # ------------------------------------------------------------------ sending

    def _live_invitations(self, conn: sa.Connection, invitation_ids: Sequence[int]) -> set[int]:
        """Which of these invitations are still live and unexpired. Read in a fresh transaction
        each time, so a resend committed a moment ago is seen."""
        if not invitation_ids:
            return set()
        table = Invitation.__table__  # type: ignore[attr-defined]
        now = self.clock.now()
        try:
            found = conn.execute(
                sa.select(table.c.id, table.c.expires_at).where(
                    table.c.id.in_(list(invitation_ids)), table.c.state == INVITATION_LIVE
                )
            ).all()
        finally:
            conn.rollback()
        return {row_id for row_id, expires_at in found if as_utc(expires_at) > now}

    def _send(
        self, sender: SmtpSender, rows: Sequence[OutboxEmail], practice: Practice
    ) -> tuple[dict[int, _Outcome], bool]:
        """Send each row; returns the outcome per row id and whether the server is unreachable
        (the rest of the chunk is then marked as a temporary failure and the run stops)."""
        outcomes: dict[int, _Outcome] = {}
        started = self.monotonic()
        budget = (self.lease - timedelta(minutes=1)).total_seconds()
        down: _Outcome | None = None
        live: set[int] = set()
        with self.db.engine.connect() as conn:
            for index, row in enumerate(rows):
                row_id = row.id or 0
                if index % LIVENESS_BATCH == 0:
                    upcoming = rows[index : index + LIVENESS_BATCH]
                    live = self._live_invitations(
                        conn, [r.invitation_id for r in upcoming if r.invitation_id is not None]
                    )
                if down is not None:
                    outcomes[row_id] = down
                    continue
                if self.monotonic() - started > budget:
                    outcomes[row_id] = _Outcome("released")  # lease nearly over: leave it
                    continue
                if row.invitation_id is not None and row.invitation_id not in live:
                    outcomes[row_id] = _Outcome("cancelled")
                    continue
                try:
                    message = build_message(row, self.settings, practice, now=self.clock.now())
                except MessageError as exc:
                    outcomes[row_id] = _Outcome("permanent", f"not sent: {exc}")
                    continue
                if not sender.connected:
                    try:
                        sender.connect()
                    except SendError as exc:
                        down = outcomes[row_id] = self._held(exc)
                        continue
                try:
                    sender.send(
                        message,
                        [row.to_address.strip()],
                        envelope_from=envelope_sender(
                            self.settings.bounce_mailbox, self.settings.envelope_tag(row.bounce_tag)
                        ),
                    )
                except SendError as exc:
                    if exc.setup is not None:  # the setup, not this message: stop here
                        down = outcomes[row_id] = self._held(exc)
                        continue
                    kind = "permanent" if exc.permanent else "temporary"
                    outcomes[row_id] = _Outcome(kind, exc.reason)
                    continue
                outcomes[row_id] = _Outcome("sent")
        return outcomes, down is not None

    # ------------------------------------------------------------------ recording

    def _record(self, rows: Sequence[OutboxEmail], outcomes: dict[int, _Outcome]) -> DeliveryReport:
        """Write every row's result in one transaction (only rows this process still holds)."""
        now = self.clock.now()
        table = OutboxEmail.__table__  # type: ignore[attr-defined]

        def work(session: Session) -> DeliveryReport:
            held_query = sa.select(table.c.id).where(
                table.c.id.in_([row.id for row in rows]),
                table.c.state == OUTBOX_SENDING,
                table.c.lease_owner == self.owner,
            )
            if self.db.is_postgres:
                held_query = held_query.with_for_update()
            held = {row_id for (row_id,) in session.execute(held_query)}
            counts = {"sent": 0, "retrying": 0, "failed": 0, "cancelled": 0}
            batches: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in rows:
                if row.id not in held:
                    log.warning("outbox %s: lease lost before its result was recorded", row.id)
                    continue
                values, counted, failure = self._transition(row, outcomes[row.id or 0], now)
                if counted:
                    counts[counted] += 1
                if failure:
                    self._audit_failure(session, row, failure, now)
                batches.setdefault(tuple(sorted(values)), []).append(
                    {"row_id": row.id, **{f"v_{key}": value for key, value in values.items()}}
                )
            for keys, params in batches.items():
                session.execute(
                    table.update()
                    .where(
                        table.c.id == sa.bindparam("row_id"),
                        table.c.state == OUTBOX_SENDING,
                        table.c.lease_owner == self.owner,
                    )
                    .values({key: sa.bindparam(f"v_{key}") for key in keys}),
                    params,
                )
            return DeliveryReport(
                sent=counts["sent"],
                retrying=counts["retrying"],
                failed=counts["failed"],
                cancelled=counts["cancelled"],
            )

        return self.db.transact(work)

    def _transition(
        self, row: OutboxEmail, outcome: _Outcome, now: datetime
    ) -> tuple[dict[str, Any], str | None, str | None]:
        """(column values, report bucket, audit reason) for one row's outcome."""
        release: dict[str, Any] = {"lease_until": None, "lease_owner": None}
        if outcome.kind == "sent":
            return (
                {
                    **release,
                    "state": OUTBOX_SENT,
                    "sent_at": now,
                    "attempts": row.attempts + 1,
                    "last_error": None,
                    "body_text": reduce_body(row.body_text),
                    "body_html": reduce_body(row.body_html),
                },
                "sent",
                None,
            )
        if outcome.kind == "cancelled":
            return (
                {
                    **release,
                    "state": OUTBOX_CANCELLED,
                    "body_text": "",
                    "body_html": "",
                    "last_error": "not sent: the invitation was replaced, revoked or used",
                },
                "cancelled",
                None,
            )
        if outcome.kind == "released":
            state = OUTBOX_PENDING if row.attempts == 0 else OUTBOX_RETRYING
            return {**release, "state": state}, None, None
        if outcome.kind == "paused":  # as it was: no attempt counted, no budget spent
            state = OUTBOX_PENDING if row.attempts == 0 else OUTBOX_RETRYING
            reason = single_line(outcome.reason)[:400]
            return {**release, "state": state, "last_error": reason}, None, None
        reason = single_line(outcome.reason)[:400]
        # Not delivered: it keeps its link for `frontdesk outbox retry` (dead once it expires).
        failed = {**release, "state": OUTBOX_FAILED, "attempts": row.attempts + 1}
        if outcome.kind == "permanent":
            log.warning("outbox %s: not delivered (permanent failure)", row.id)
            return {**failed, "last_error": reason}, "failed", reason
        first = as_utc(row.first_failure_at) if row.first_failure_at else now
        if now - first >= GIVE_UP_AFTER:
            hours = int(GIVE_UP_AFTER.total_seconds() // 3600)
            gave_up = f"gave up after {hours} hours: {reason}"[:500]
            log.warning("outbox %s: gave up after %d hours of temporary failures", row.id, hours)
            return {**failed, "last_error": gave_up, "first_failure_at": first}, "failed", gave_up
        next_at = min(now + retry_delay(row.attempts + 1), first + GIVE_UP_AFTER)
        log.info("outbox %s: temporary failure, retrying at %s", row.id, next_at.isoformat())
        return (
            {
                **release,
                "state": OUTBOX_RETRYING,
                "attempts": row.attempts + 1,
                "first_failure_at": first,
                "next_attempt_at": next_at,
                "last_error": reason,
            },
            "retrying",
            None,
        )

    def _audit_failure(
        self, session: Session, row: OutboxEmail, reason: str, now: datetime
    ) -> None:
        chart_number = None
        if row.chart_id is not None:
            chart_number = session.exec(
                select(Chart.chart_number).where(Chart.id == row.chart_id)
            ).first()
        audit.record(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            action="email delivery failed",
            chart_id=row.chart_id,
            chart_number=chart_number,
            outcome="failed",
            detail=f"outbox {row.id} ({row.kind}) to {mask_email(row.to_address)}: {reason}",
            source=f"mail:{socket.gethostname()}",
        )
