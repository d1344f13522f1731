"""Forms and tasks: a practice with charts, one of them registered (an Active account), and
the signed-in client of that account as the client side's methods take it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import col, select

from frontdesk.charts.records import ChartInput
from frontdesk.services import Services
from store.models import Chart, PortalAccount
from tests.factories import invite_at, register_chart

ACTIVE_CHART = "C-1"
OTHER_CHART = "C-2"
NEW_CHART = "C-3"  # no portal access


@dataclass(frozen=True)
class Client:
    """A signed-in client as `frontdesk.portal.task_views.ClientRef` describes it."""

    account_id: int
    chart_id: int


def client_of(services: Services, chart_number: str) -> Client:
    with services.db.read() as session:
        chart_id = session.exec(select(Chart.id).where(Chart.chart_number == chart_number)).one()
        account_id = session.exec(
            select(PortalAccount.id).where(
                PortalAccount.chart_id == chart_id, col(PortalAccount.disabled_at).is_(None)
            )
        ).one()
    assert account_id is not None and chart_id is not None
    return Client(account_id, chart_id)


@pytest.fixture
def desk(practice_ready: Services) -> Services:
    """An active practice; C-1 and C-2 registered (Active), C-3 without portal access."""
    services = practice_ready
    services.charts.add_chart(
        ChartInput(ACTIVE_CHART, "Ana", "O'Brien", "1985-03-04", "ana@example.com")
    )
    services.charts.add_chart(
        ChartInput(OTHER_CHART, "Ben", "Lee", "1979-01-02", "ben@example.com")
    )
    services.charts.add_chart(ChartInput(NEW_CHART, "Cy", "Park", "1990-05-05", "cy@example.com"))
    now = services.clock.now()
    for number in (ACTIVE_CHART, OTHER_CHART):
        invite_at(services, number, now)
        register_chart(services, number)
    return services


@pytest.fixture
def ana(desk: Services) -> Client:
    return client_of(desk, ACTIVE_CHART)


@pytest.fixture
def ben(desk: Services) -> Client:
    return client_of(desk, OTHER_CHART)
