"""Checks the outbox: how many emails wait (and whether delivery is running), and the oldest
recent delivery failure. A failure is summarised by a class of error, never the server's text
(it may quote the address)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from frontdesk.core.clock import Clock, as_utc
from frontdesk.doctor.results import CheckResult, Status, result, skip
from store.db import Database, StoreError
from store.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    OutboxEmail,
)

OVERDUE = timedelta(minutes=15)  # a due email waiting longer than this: is delivery running?
FAILURE_WINDOW = timedelta(days=7)  # failures older than an invitation's life are history

_SMTP_CODE = re.compile(r"^(?:[a-z ]+: )?([245]\d\d)\b")


def error_class(last_error: str | None) -> str:
    """A short, address-free class for an outbox row's last error."""
    if not last_error:
        return "unknown error"
    text = last_error.strip()
    lower = text.lower()
    prefix = ""
    if lower.startswith("gave up after"):
        prefix = "gave up after 48 h: "
        text = text.split(":", 1)[1].strip() if ":" in text else ""
        lower = text.lower()
    code = _SMTP_CODE.match(lower)
    if "refused the login" in lower or "does not offer login" in lower:
        label = "login refused" + (f" (SMTP {code.group(1)})" if code else "")
    elif code:
        number = code.group(1)
        kind = "permanent" if number.startswith("5") else "temporary"
        label = f"SMTP {number} ({kind})"
    elif "certificate" in lower or "tls" in lower:
        label = "TLS failure"
    elif "not sent:" in lower:
        label = "message could not be built"
    elif any(
        word in lower
        for word in ("connect", "not found", "answer", "closed the connection", "lost")
    ):
        label = "connection failure"
    else:
        label = "other error"
    return prefix + label


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def check_outbox(db: Database | None, schema_current: bool, clock: Clock) -> Iterator[CheckResult]:
    """The backlog check, then the failures check."""
    if db is None or not schema_current:
        why = "skipped: the database is not reachable or not migrated"
        yield skip("outbox_backlog", why)
        yield skip("outbox_failures", why)
        return
    try:
        backlog, failures = _outbox_results(db, clock)
    except (StoreError, SQLAlchemyError) as exc:
        reason = f"cannot read the outbox: {exc}"
        yield result("outbox_backlog", Status.FAIL, reason, "see the database check")
        yield skip("outbox_failures", "skipped: the outbox cannot be read")
        return
    yield backlog
    yield failures


def _outbox_results(db: Database, clock: Clock) -> tuple[CheckResult, CheckResult]:
    now = clock.now()
    waiting_states = [OUTBOX_PENDING, OUTBOX_RETRYING, OUTBOX_SENDING]
    with db.read() as session:
        counts = dict(
            session.exec(
                select(OutboxEmail.state, sa.func.count())
                .where(col(OutboxEmail.state).in_(waiting_states))
                .group_by(OutboxEmail.state)
            ).all()
        )
        oldest_due = session.exec(
            select(sa.func.min(OutboxEmail.next_attempt_at)).where(
                col(OutboxEmail.state).in_([OUTBOX_PENDING, OUTBOX_RETRYING]),
                col(OutboxEmail.next_attempt_at) <= now,
            )
        ).one()
        failed_since = sa.func.coalesce(OutboxEmail.first_failure_at, OutboxEmail.created_at)
        failing = session.exec(
            select(
                OutboxEmail.id,
                OutboxEmail.state,
                OutboxEmail.last_error,
                failed_since,
            )
            .where(
                sa.or_(
                    sa.and_(
                        col(OutboxEmail.state) == OUTBOX_FAILED,
                        failed_since >= now - FAILURE_WINDOW,
                    ),
                    sa.and_(
                        col(OutboxEmail.state) == OUTBOX_RETRYING,
                        col(OutboxEmail.last_error).is_not(None),
                    ),
                )
            )
            .order_by(failed_since, col(OutboxEmail.id))
        ).all()
    return _backlog(counts, oldest_due, now), _failures(list(failing), now)


def _backlog(counts: dict[str, int], oldest_due: datetime | None, now: datetime) -> CheckResult:
    queued = int(counts.get(OUTBOX_PENDING, 0))
    retrying = int(counts.get(OUTBOX_RETRYING, 0))
    sending = int(counts.get(OUTBOX_SENDING, 0))
    waiting = queued + retrying + sending
    data: dict[str, Any] = {
        "waiting": waiting,
        "queued": queued,
        "retrying": retrying,
        "sending": sending,
        "oldest_due_at": _iso(oldest_due),
    }
    if waiting == 0:
        return result("outbox_backlog", Status.PASS, "no email is waiting", **data)
    summary = f"{waiting} email(s) waiting ({queued} queued, {retrying} retrying, "
    summary += f"{sending} being sent)"
    if oldest_due is not None and now - as_utc(oldest_due) > OVERDUE:
        return result(
            "outbox_backlog",
            Status.WARN,
            f"{summary}; the oldest has been due since {_age(now - as_utc(oldest_due))}",
            "is delivery running? `frontdesk serve` delivers in the background; "
            "`frontdesk outbox deliver` sends now",
            **data,
        )
    return result("outbox_backlog", Status.PASS, summary, **data)


def _failures(rows: list[Any], now: datetime) -> CheckResult:
    failed = sum(1 for row in rows if row[1] == OUTBOX_FAILED)
    retrying = len(rows) - failed
    days = FAILURE_WINDOW.days
    if not rows:
        return result(
            "outbox_failures",
            Status.PASS,
            f"no delivery failure in the last {days} days",
            failed=0,
            retrying=0,
        )
    row_id, state, last_error, since = rows[0]
    since = as_utc(since)
    kind = error_class(last_error)
    state_word = "not delivered" if state == OUTBOX_FAILED else "retrying"
    return result(
        "outbox_failures",
        Status.WARN,
        f"{failed} not delivered in the last {days} days, {retrying} retrying; oldest: "
        f"outbox {row_id}, {state_word}, failing since {_age(now - since)}: {kind}",
        "see `frontdesk outbox list` for the reason; correct the address and resend, or "
        "fix the mail server (see the SMTP checks)",
        failed=failed,
        retrying=retrying,
        oldest={
            "outbox_id": row_id,
            "state": state,
            "since": _iso(since),
            "error_class": kind,
        },
    )
