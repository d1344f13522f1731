"""Retry now: a failed or retrying email is made due at once, with the same message (the same
link and Message-ID; no new invitation). Staff ask for it (`frontdesk outbox retry`, the TUI's
⋮ menu) once a mailbox or an outage is fixed; each retry is audited. The delivery that follows
sends it (and probes the mail server first when the outbox is paused)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.emails import mask_email
from frontdesk.core.errors import NotAllowed, NotFound
from frontdesk.core.text import single_line
from store.db import Database
from store.models import (
    INVITATION_LIVE,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    Chart,
    Invitation,
    OutboxEmail,
)

RETRYABLE = (OUTBOX_FAILED, OUTBOX_RETRYING)
RECENT = timedelta(days=7)  # `--all` takes failures of the last 7 days: an invitation's life
REMOVED_MARK = "[removed]"  # what an older version left of a failed email's link


@dataclass(frozen=True)
class RetryOutcome:
    """What a retry request did: the emails now due, and those left alone with the reason."""

    retried: tuple[int, ...] = ()
    skipped: tuple[tuple[int, str], ...] = ()
    chart_number: str | None = None


def _why_not(row: OutboxEmail, invitation: Invitation | None, now: datetime) -> str | None:
    """Why this email cannot be retried now (None: it can)."""
    if row.state == OUTBOX_PENDING:
        return "it has not been tried yet; the next delivery sends it"
    if row.state == OUTBOX_SENDING:
        return "it is being sent right now"
    if row.state not in RETRYABLE:
        return f"it is {row.state}, not failed or retrying"
    if row.invitation_id is not None and (
        invitation is None
        or invitation.state != INVITATION_LIVE
        or as_utc(invitation.expires_at) <= now
    ):
        return (
            "its invitation was replaced, revoked, used or has expired; send a new one "
            "(Resend Invite)"
        )
    if REMOVED_MARK in row.body_text:
        return "its link was removed when it failed; send a new one (Resend Invite)"
    return None


class OutboxRetry:
    """Makes failed or retrying emails due now. Entry methods own their transaction."""

    def __init__(self, db: Database, clock: Clock, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor

    def retry(self, outbox_id: int) -> RetryOutcome:
        """Retry one email by its outbox id. Raises NotFound, or NotAllowed with the reason."""

        def work(session: Session) -> RetryOutcome:
            row = session.get(OutboxEmail, outbox_id)
            if row is None:
                raise NotFound(f"No outbox email with id {outbox_id}.")
            done = self._retry_rows(session, [row])
            if not done.retried:
                raise NotAllowed(f"Outbox email {outbox_id} not retried: {done.skipped[0][1]}.")
            return done

        return self.db.transact(work)

    def retry_all(self) -> RetryOutcome:
        """Retry every retrying email and every email that failed in the last 7 days (those
        whose invitation has ended are listed as skipped)."""
        now = self.clock.now()

        def work(session: Session) -> RetryOutcome:
            rows = session.exec(
                select(OutboxEmail)
                .where(
                    sa.or_(
                        col(OutboxEmail.state) == OUTBOX_RETRYING,
                        sa.and_(
                            col(OutboxEmail.state) == OUTBOX_FAILED,
                            col(OutboxEmail.created_at) >= now - RECENT,
                        ),
                    )
                )
                .order_by(col(OutboxEmail.id))
            ).all()
            return self._retry_rows(session, list(rows))

        return self.db.transact(work)

    def retry_chart(self, chart_number: str) -> RetryOutcome:
        """Retry the newest email of the chart's live invitation (what the chart screen shows
        as failed or retrying). Raises NotFound, or NotAllowed with the reason."""
        number = chart_number.strip()

        def work(session: Session) -> RetryOutcome:
            chart = session.exec(select(Chart).where(Chart.chart_number == number)).first()
            if chart is None:
                raise NotFound(f"No chart with number {single_line(number)!r}.")
            row = session.exec(
                select(OutboxEmail)
                .join(Invitation, col(Invitation.id) == col(OutboxEmail.invitation_id))
                .where(Invitation.chart_id == chart.id, Invitation.state == INVITATION_LIVE)
                .order_by(col(OutboxEmail.id).desc())
                .limit(1)
            ).first()
            if row is None:
                raise NotAllowed("This chart has no invitation email to retry.")
            done = self._retry_rows(session, [row])
            if not done.retried:
                raise NotAllowed(f"The email was not retried: {done.skipped[0][1]}.")
            return RetryOutcome(done.retried, done.skipped, chart.chart_number)

        return self.db.transact(work)

    def _retry_rows(self, session: Session, rows: list[OutboxEmail]) -> RetryOutcome:
        now = self.clock.now()
        invitation_ids = {r.invitation_id for r in rows if r.invitation_id is not None}
        invitations = {
            i.id: i
            for i in session.exec(
                select(Invitation).where(col(Invitation.id).in_(invitation_ids))
            ).all()
        }
        numbers = dict(
            session.exec(
                select(Chart.id, Chart.chart_number).where(
                    col(Chart.id).in_({r.chart_id for r in rows if r.chart_id is not None})
                )
            ).all()
        )
        retried: list[int] = []
        skipped: list[tuple[int, str]] = []
        table = OutboxEmail.__table__  # type: ignore[attr-defined]
        for row in rows:
            row_id = row.id or 0
            why = _why_not(row, invitations.get(row.invitation_id or 0), now)
            if why is not None:
                skipped.append((row_id, why))
                continue
            values: dict[str, object] = {"state": OUTBOX_RETRYING, "next_attempt_at": now}
            if row.state == OUTBOX_FAILED:
                values["first_failure_at"] = None  # a fresh 48 hours from the next failure
            changed = session.execute(  # type: ignore[attr-defined]
                table.update()
                .where(table.c.id == row_id, table.c.state == row.state)
                .values(values)
            ).rowcount
            if changed != 1:
                skipped.append((row_id, "it changed a moment ago; look again"))
                continue
            retried.append(row_id)
            audit.record(
                session,
                at=now,
                actor=self.actor,
                action="email retry",
                chart_id=row.chart_id,
                chart_number=numbers.get(row.chart_id),
                outcome="queued",
                detail=(
                    f"outbox {row_id} ({row.kind}) to {mask_email(row.to_address)}, "
                    f"{row.state} after {row.attempts} attempt(s): sent again now, same link"
                ),
                source=f"os:{self.actor}",
            )
        return RetryOutcome(tuple(retried), tuple(skipped))
