"""The audit trail: the only writer of `AuditEvent` rows, and its reads.

Every state change writes one append-only row (UTC time, actor, action, chart, outcome) in the
transaction that made the change. Details are cut to one line of 500 characters; callers put
no PHI in them (masked addresses, "date of birth changed", never the value)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.errors import NotFound
from frontdesk.core.text import single_line
from store.bulk import insert_many
from store.db import Database
from store.models import AuditEvent, Chart


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    chart_number: str | None
    outcome: str
    detail: str


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    source: str,
    chart: Chart | None = None,
    chart_id: int | None = None,
    chart_number: str | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """Add one audit row to `session`'s transaction. `chart` (or its id and number) names the
    chart it concerns; `source` says where the change came from (os:<login>, web:<addr>, ...)."""
    if chart is not None:
        chart_id, chart_number = chart.id, chart.chart_number
    session.add(
        AuditEvent(
            **event_row(
                at=at,
                actor=actor,
                action=action,
                source=source,
                chart_id=chart_id,
                chart_number=chart_number,
                outcome=outcome,
                detail=detail,
            )
        )
    )


def event_row(
    *,
    at: datetime,
    actor: str,
    action: str,
    source: str,
    chart_id: int | None = None,
    chart_number: str | None = None,
    outcome: str = "ok",
    detail: str = "",
) -> dict[str, Any]:
    """One audit row's columns, cut to their widths (details to one line of 500 characters),
    for `record` or for `record_many`."""
    return {
        "at": at,
        "actor": actor[:100],
        "action": action,
        "chart_id": chart_id,
        "chart_number": chart_number,
        "outcome": outcome,
        "detail": single_line(detail)[:500],
        "source": source[:100],
    }


def record_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Add many audit rows (`event_row`) to `session`'s transaction in one executemany: the
    CSV import writes one per chart and contact it adds, without an ORM object per row."""
    insert_many(session.connection(), AuditEvent, rows)


class AuditLog:
    """Reads of the audit trail, newest first."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def history(self, chart_number: str, *, limit: int = 200) -> list[AuditRow]:
        """The chart's audit trail, newest first."""
        return self.audit(chart_number=chart_number, limit=limit)

    def audit(self, *, chart_number: str | None = None, limit: int = 500) -> list[AuditRow]:
        with self.db.read() as session:
            query = select(AuditEvent)
            if chart_number is not None:
                chart_id = session.exec(
                    select(Chart.id).where(Chart.chart_number == chart_number.strip())
                ).first()
                if chart_id is None:
                    raise NotFound(f"No chart with number {single_line(chart_number)!r}.")
                query = query.where(AuditEvent.chart_id == chart_id)
            rows = session.exec(
                query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
            ).all()
            return [
                AuditRow(as_utc(r.at), r.actor, r.action, r.chart_number, r.outcome, r.detail)
                for r in rows
            ]
