"""A practice with two registered clients (Ana, and Ben on another chart), on SQLite and
PostgreSQL, for the messages and inbox suites."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import col, select

from frontdesk.charts.records import ChartInput
from frontdesk.services import Services
from store.models import AuditEvent, PortalAccount
from tests.factories import ANA_OBRIEN, register_chart, set_up_practice

BEN = ChartInput("C-2002", "Ben", "Okafor", "1990-07-01", "ben@example.com")


@dataclass(frozen=True)
class Client:
    """A signed-in client as the session guard gives them: their account and chart."""

    account_id: int
    chart_id: int
    chart_number: str


def registered_client(services: Services, chart: ChartInput) -> Client:
    """Add the chart, invite and register its owner; the account and chart ids."""
    services.charts.add_chart(chart)
    services.invitations.send_invitation(chart.chart_number)
    assert register_chart(services, chart.chart_number).state == "registered"
    with services.db.read() as session:
        account = session.exec(
            select(PortalAccount).where(PortalAccount.email == chart.email)
        ).one()
        assert account.id is not None
        return Client(account.id, account.chart_id, chart.chart_number)


def audit_actions(services: Services) -> list[tuple[str, str, str]]:
    """(actor, action, detail) of every audit row about messages or the inbox, oldest first."""
    with services.db.read() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
        return [
            (r.actor, r.action, r.detail)
            for r in rows
            if "message" in r.action or "inbox" in r.action
        ]


@pytest.fixture
def ana(services: Services) -> Client:
    set_up_practice(services, phone="(555) 010-0100")
    return registered_client(services, ANA_OBRIEN)


@pytest.fixture
def ben(services: Services, ana: Client) -> Client:
    return registered_client(services, BEN)
