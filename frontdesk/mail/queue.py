"""Queueing an email: one outbox row, written in the caller's transaction (so an invitation and
its email are committed together, or neither is)."""

from __future__ import annotations

from datetime import datetime
from email.utils import make_msgid

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
    domain = (settings.mail_from or "frontdesk.invalid").rpartition("@")[2] or "frontdesk.invalid"
    row = OutboxEmail(
        kind=kind,
        chart_id=chart_id,
        invitation_id=invitation_id,
        to_address=to_address,
        to_name=single_line(to_name),
        subject=message.subject,
        body_text=message.text,
        body_html=message.html,
        message_id=make_msgid(domain=domain),
        bounce_tag=new_bounce_tag(),
        state=OUTBOX_PENDING,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id
