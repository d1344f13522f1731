"""The outbox as staff see it (`frontdesk outbox list`): the newest rows with their delivery
state in the delivery's own names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from frontdesk.core.clock import as_utc
from frontdesk.mail.delivery import delivery_of
from store.db import Database
from store.models import OUTBOX_PENDING, OUTBOX_RETRYING, Chart, OutboxEmail


@dataclass(frozen=True)
class OutboxItem:
    """One outbox row as staff see it (`state` uses the delivery names: queued, sending, sent,
    retrying, failed, cancelled, bounced; `reason` says why it is not delivered yet, when
    something went wrong)."""

    id: int
    kind: str
    chart_number: str | None
    to_address: str
    state: str
    label: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "chart_number": self.chart_number,
            "to": self.to_address,
            "state": self.state,
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat(),
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "last_error": self.last_error,
        }


def list_outbox(db: Database, limit: int = 200) -> list[OutboxItem]:
    """The newest `limit` outbox rows, newest first."""
    with db.read() as session:
        rows = session.exec(
            select(OutboxEmail, Chart.chart_number)
            .join(Chart, col(Chart.id) == col(OutboxEmail.chart_id), isouter=True)
            .order_by(col(OutboxEmail.id).desc())
            .limit(limit)
        ).all()
    items = []
    for row, chart_number in rows:
        delivery = delivery_of(row)
        items.append(
            OutboxItem(
                id=row.id or 0,
                kind=row.kind,
                chart_number=chart_number,
                to_address=row.to_address,
                state=delivery.state,
                label=delivery.label,
                attempts=row.attempts,
                created_at=as_utc(row.created_at),
                next_attempt_at=(
                    as_utc(row.next_attempt_at)
                    if row.state in (OUTBOX_PENDING, OUTBOX_RETRYING)
                    else None
                ),
                sent_at=as_utc(row.sent_at) if row.sent_at else None,
                last_error=row.last_error,
                reason=delivery.reason,
            )
        )
    return items
