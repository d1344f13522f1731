"""Finding a chart and its portal owner inside a transaction: the steps every capability that
acts on a chart starts with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from frontdesk.core.errors import NotFound
from frontdesk.core.text import single_line
from store.models import Chart, ChartOwner, RelatedContact


@dataclass(frozen=True)
class Owner:
    """Who owns a chart's portal access: the client, or a related contact."""

    name: str
    relationship: str
    email: str | None
    contact_id: int | None  # None: the client owns the chart

    @property
    def is_client(self) -> bool:
        return self.contact_id is None


def chart_by_number(session: Session, chart_number: str, *, lock: bool = False) -> Chart:
    """The chart with that number (`lock`: FOR UPDATE where the database has row locks), or
    NotFound."""
    query = select(Chart).where(Chart.chart_number == chart_number.strip())
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    chart = session.exec(query).first()
    if chart is None:
        raise NotFound(f"No chart with number {single_line(chart_number)!r}.")
    return chart


def owner_row(session: Session, chart: Chart, *, now: datetime, actor: str) -> ChartOwner:
    """The chart's ChartOwner row, created (the client owns) where it is missing."""
    row = session.get(ChartOwner, chart.id)
    if row is None:
        assert chart.id is not None
        row = ChartOwner(chart_id=chart.id, updated_at=now, updated_by=actor)
        session.add(row)
        session.flush()
    return row


def owner_of(session: Session, chart: Chart, row: ChartOwner) -> Owner:
    """The owner that `row` names: its related contact, or the client."""
    if row.related_contact_id is not None:
        contact = session.get(RelatedContact, row.related_contact_id)
        if contact is not None:
            return Owner(contact.name, contact.relationship, contact.email, contact.id)
    return Owner(f"{chart.first_name} {chart.last_name}", "Client", chart.email, None)


def greeting_name(chart: Chart, owner: Owner) -> str:
    """The one name an email greets the owner with (the client's preferred or first name, or
    a contact's first name)."""
    if owner.is_client:
        return single_line(chart.preferred_name or chart.first_name)
    return single_line(owner.name.split()[0] if owner.name.split() else owner.name)
