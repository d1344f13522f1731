"""Queueing an email: one outbox row, written in the caller's transaction (so an invitation and
its email are committed together, or neither is). `outbox_row` gives the row's values, for
`queue_email` and for the bulk actions, which insert many at once."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid
from typing import Any

from sqlmodel import Session

from frontdesk.core.config import Settings
from frontdesk.core.text import single_line
from frontdesk.mail.compose import ComposedEmail
from frontdesk.mail.dsn import new_bounce_tag
from store.models import OUTBOX_PENDING, OutboxEmail


def queue_email(
    session: Session,
    settings: Settings,
    message: ComposedEmail,
    *,
    kind: str,
    now: datetime,
    to_address: str,
    to_name: str,
    chart_id: int | None,
    invitation_id: int | None = None,
) -> int:
    """Add an email to the outbox, due now; returns its outbox id. Its Message-ID is made
    here, once, so every retry sends the same one."""
    row = OutboxEmail(
        **outbox_row(
            settings,
            message,
            kind=kind,
            now=now,
            to_address=to_address,
            to_name=to_name,
            chart_id=chart_id,
            invitation_id=invitation_id,
        )
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def outbox_row(
    settings: Settings,
    message: ComposedEmail,
    *,
    kind: str,
    now: datetime,
    to_address: str,
    to_name: str,
    chart_id: int | None,
    invitation_id: int | None = None,
) -> dict[str, Any]:
    """Every column of a new outbox row (but its id): due now, not yet tried, its Message-ID
    made here, once, so every retry sends the same one."""
    domain = (settings.mail_from or "frontdesk.invalid").rpartition("@")[2] or "frontdesk.invalid"
    return {
        "kind": kind,
        "chart_id": chart_id,
        "invitation_id": invitation_id,
        "to_address": to_address,
        "to_name": single_line(to_name),
        "subject": message.subject,
        "body_text": message.text,
        "body_html": message.html,
        "message_id": make_msgid(domain=domain),
        "bounce_tag": new_bounce_tag(),
        "state": OUTBOX_PENDING,
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "lease_until": None,
        "lease_owner": None,
        "first_failure_at": None,
        "last_error": None,
        "sent_at": None,
    }
