"""Content-free emails about portal messages (SECURITY.md E6).

- To the client: when the practice writes and the client has not opened the thread 10
  minutes later, one email "You have a new message from <practice>. Sign in to read it.",
  linking to the sign-in page only; at most one per thread per hour; never when the client
  turned them off or their access ended. The thread carries when the next one is due
  (`client_notice_due_at`, set by a staff message, cleared by the client opening it);
  `queue_due_notices` — run by the delivery loop and `frontdesk outbox deliver` before they
  deliver — queues those that are due through the outbox.
- To the practice (when it set an address): "A client sent a message. Open FrontDesk to read
  it.", queued with the client's message, at most one per thread per hour.

No subject, text, sender name, chart number or token is ever in these emails."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core import links
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.core.emails import mask_email
from frontdesk.mail import compose
from frontdesk.mail.queue import queue_email
from frontdesk.practice import messaging_settings, practice_row
from store.db import Database
from store.models import Chart, MessageThread, PortalAccount, Practice

NOTICE_DELAY = timedelta(minutes=10)  # unread this long after the practice wrote
NOTICE_SPACING = timedelta(hours=1)  # at most one notice per thread per hour
CLIENT_NOTICE_KIND = "message_notice"
PRACTICE_NOTICE_KIND = "practice_message_notice"
SWEEP_BATCH = 500


def queue_practice_notice(
    session: Session, settings: Settings, practice: Practice, thread: MessageThread, now: datetime
) -> int | None:
    """Step (a client wrote): email the practice's notification address, unless it got one
    for this thread within the hour; the outbox id, or None."""
    address = messaging_settings(practice).notify_email
    last = thread.last_practice_notice_at
    if not address or (last is not None and now - as_utc(last) < NOTICE_SPACING):
        return None
    outbox_id = queue_email(
        session, settings, compose.practice_message_email(practice), kind=PRACTICE_NOTICE_KIND,
        now=now, to_address=address, to_name=practice.name or "", chart_id=None,
    )  # fmt: skip
    thread.last_practice_notice_at = now
    session.add(thread)
    return outbox_id


def queue_due_notices(db: Database, clock: Clock, settings: Settings) -> int:
    """Queue every client notice that is due now; how many were queued. Idempotent: a
    notice queued moves its thread's next one an hour on, so two sweeps never send two.
    When nothing is due (nearly every round) it only reads: no write lock is taken."""
    with db.read() as session:
        due = session.exec(
            select(MessageThread.id).where(col(MessageThread.client_notice_due_at) <= clock.now())
        ).first()
    if due is None:
        return 0

    def work(session: Session) -> int:
        now = clock.now()
        query = (
            select(MessageThread)
            .where(col(MessageThread.client_notice_due_at) <= now)
            .order_by(col(MessageThread.client_notice_due_at), col(MessageThread.id))
            .limit(SWEEP_BATCH)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        threads = session.exec(query).all()
        if not threads:
            return 0
        practice = practice_row(session)
        enabled = messaging_settings(practice).enabled
        queued = 0
        for thread in threads:
            queued += _notice_one(session, settings, practice, thread, now, enabled=enabled)
        return queued

    return db.transact(work)


def _notice_one(
    session: Session,
    settings: Settings,
    practice: Practice,
    thread: MessageThread,
    now: datetime,
    *,
    enabled: bool,
) -> int:
    """Queue the thread's due notice (1), push it to the end of the hour (0), or drop it
    (0: read since, turned off, access ended, messaging off)."""
    account = session.get(PortalAccount, thread.account_id)
    newest, read = thread.last_practice_message_at, thread.client_last_read_at
    unread = newest is not None and (read is None or as_utc(newest) > as_utc(read))
    if (
        not enabled
        or not unread
        or account is None
        or account.disabled_at is not None
        or not account.message_notices
    ):
        thread.client_notice_due_at = None
        session.add(thread)
        return 0
    last = thread.last_client_notice_at
    if last is not None and now - as_utc(last) < NOTICE_SPACING:
        thread.client_notice_due_at = as_utc(last) + NOTICE_SPACING
        session.add(thread)
        return 0
    chart = session.get(Chart, thread.chart_id)
    assert chart is not None
    if account.related_contact_id is None:  # the client: greeted by preferred or first name
        greeting = chart.preferred_name or chart.first_name
    else:  # a guardian or other related contact: by the first word of their name
        greeting = (account.owner_name.split() or [""])[0]
    message = compose.new_message_email(
        practice, greeting_name=greeting, link=links.login_link(settings.public_base)
    )
    queue_email(
        session, settings, message, kind=CLIENT_NOTICE_KIND, now=now,
        to_address=account.email, to_name=account.owner_name, chart_id=chart.id,
    )  # fmt: skip
    thread.last_client_notice_at = now
    thread.client_notice_due_at = None
    session.add(thread)
    audit.record(
        session,
        at=now,
        actor="system",
        action="message email queued",
        chart=chart,
        detail=f"thread {thread.id}, to {mask_email(account.email)}",
        source="outbox",
    )
    return 1
