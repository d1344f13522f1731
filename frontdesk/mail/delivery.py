"""How an email fared, as staff see it: the delivery state of one outbox row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from frontdesk.core.clock import as_utc
from frontdesk.mail.dsn import bounce_reason
from store.models import (
    OUTBOX_BOUNCED,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OutboxEmail,
)


@dataclass(frozen=True)
class Delivery:
    """Email delivery of the newest message of an invitation."""

    state: str  # queued | sending | sent | retrying | failed | cancelled | bounced
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None  # the server's words ("550 5.1.1 user unknown")
    bounce_status: str | None = None  # the returned notification's status code ("5.1.1")

    @property
    def reason(self) -> str | None:
        """Why it is not delivered (yet), in words staff read: the mail server's ("550 5.1.1
        user unknown"), or what a returned notification's status means ("address does not
        exist"). None while nothing went wrong."""
        if self.state == "bounced":
            return bounce_reason(self.bounce_status)
        if self.state == "failed":
            return self.error or "mail server refused it"
        if self.state == "retrying":
            return self.error
        return None

    @property
    def label(self) -> str:
        if self.state in ("bounced", "failed"):
            return f"Not delivered: {self.reason}"
        if self.state == "retrying":
            return "Delivery retrying"
        return {"queued": "Email queued", "sending": "Sending", "sent": "Email sent"}.get(
            self.state, self.state.capitalize()
        )


def delivery_of(row: OutboxEmail) -> Delivery:
    """Staff-facing delivery state of one outbox row."""
    return delivery_from(
        row.state, row.sent_at, row.next_attempt_at, row.last_error, row.bounce_status
    )


def delivery_from(
    state: str,
    sent_at: datetime | None,
    next_attempt_at: datetime | None,
    error: str | None,
    bounce_status: str | None = None,
) -> Delivery:
    """Staff-facing delivery state from an outbox row's columns."""
    shown = {
        OUTBOX_PENDING: "queued",
        OUTBOX_SENDING: "sending",
        OUTBOX_SENT: "sent",
        OUTBOX_RETRYING: "retrying",
        OUTBOX_FAILED: "failed",
        OUTBOX_CANCELLED: "cancelled",
        OUTBOX_BOUNCED: "bounced",
    }.get(state, state)
    return Delivery(
        state=shown,
        sent_at=as_utc(sent_at) if sent_at else None,
        next_attempt_at=(
            as_utc(next_attempt_at) if state == OUTBOX_RETRYING and next_attempt_at else None
        ),
        error=error,
        bounce_status=bounce_status if state == OUTBOX_BOUNCED else None,
    )
