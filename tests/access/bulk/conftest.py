"""Fixtures and helpers of the bulk suite (SQLite and PostgreSQL through `practice_ready`, data
from tests/factories.py); the real SMTP server comes from tests/mail/conftest.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.demo.data import chart_row, insert_chart_rows
from frontdesk.services import Services
from store.models import AuditEvent, Chart, Invitation, OutboxEmail
from tests.mail.conftest import start_smtp

__all__ = ["start_smtp"]  # the fixture, re-exported for this folder

DOB = date(1980, 1, 2)


def add_charts(
    services: Services,
    numbers: Iterable[int],
    *,
    last: str = "Lee",
    email: bool = True,
    numbered: bool = True,
    at: datetime | None = None,
) -> list[str]:
    """Charts B-<n> "Pat <last><n>" (`numbered`, else "Pat <last>") with pat<n>@example.com
    (or no email), bulk inserted as the importer and the demo do (so they have no chart_owner
    row yet). Returns the numbers."""
    now = at or services.clock.now()
    rows = []
    for n in numbers:
        name = f"{last}{n:04d}" if numbered else last
        row = chart_row(f"B-{n:04d}", "Pat", name, DOB, f"pat{n}@example.com", now)
        if not email:
            row.update(email=None, email_key="")
        rows.append(row)
    insert_chart_rows(services.db, rows)
    return [str(row["chart_number"]) for row in rows]


def set_email(services: Services, numbers: Iterable[str], email: str | None) -> None:
    """Change charts' email straight in the store (a state the forms would refuse, or a
    change that must not touch the invitations)."""
    chart = Chart.__table__  # type: ignore[attr-defined]
    with services.db.write_once() as session:
        session.execute(
            sa.update(chart).where(chart.c.chart_number.in_(list(numbers))).values(email=email)
        )


def invitations_of(services: Services) -> list[Invitation]:
    with services.db.read() as session:
        return list(session.exec(select(Invitation).order_by(col(Invitation.id))).all())


def live_per_chart(services: Services) -> dict[int, int]:
    with services.db.read() as session:
        rows = session.exec(
            select(Invitation.chart_id, sa.func.count())
            .where(Invitation.state == "live")
            .group_by(col(Invitation.chart_id))
        ).all()
    return {chart_id: count for chart_id, count in rows}


def counts(services: Services) -> tuple[int, int, int]:
    """(invitations, outbox rows, audit rows) in the store."""
    with services.db.read() as session:
        return tuple(  # type: ignore[return-value]
            session.exec(select(sa.func.count()).select_from(table)).one()
            for table in (Invitation, OutboxEmail, AuditEvent)
        )


def audit_actions(services: Services, action: str) -> list[AuditEvent]:
    with services.db.read() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
            ).all()
        )
