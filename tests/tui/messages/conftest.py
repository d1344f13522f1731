"""Portal messages at the desk: clients of the seeded practice (tests/tui/conftest.py) who
write through the real messages service, at chosen moments before the tests' frozen "now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import select

from frontdesk.portal.message_results import MessageSent
from frontdesk.services import Services
from store.models import Chart, PortalAccount
from tests.factories import ACTIVE, NO_ACCESS, T0, acting_at, register_chart


@dataclass(frozen=True)
class Client:
    """A signed-in client as the web's session guard gives them."""

    account_id: int
    chart_id: int
    chart_number: str


def client_of(services: Services, chart_number: str = ACTIVE) -> Client:
    """The chart's enabled portal account (C-1005 Liam Smith [/] is Active when seeded)."""
    with services.db.read() as session:
        chart = session.exec(select(Chart).where(Chart.chart_number == chart_number)).one()
        account = session.exec(
            select(PortalAccount).where(PortalAccount.chart_id == chart.id)
        ).one()
        assert account.id is not None and chart.id is not None
        return Client(account.id, chart.id, chart_number)


def register_second_client(services: Services) -> Client:
    """C-1006 Noah Park is invited and registers two hours before T0."""
    earlier = acting_at(services, T0 - timedelta(hours=2))
    earlier.invitations.send_invitation(NO_ACCESS)
    register_chart(earlier, NO_ACCESS)
    return client_of(services, NO_ACCESS)


def client_writes(
    services: Services,
    subject: str,
    body: str = "Hello,\nplease call me back.",
    *,
    chart_number: str = ACTIVE,
    audience: str = "front_desk",
    minutes_ago: int = 0,
) -> MessageSent:
    """The client starts a thread on the portal, `minutes_ago` before T0."""
    client = client_of(services, chart_number)
    at = acting_at(services, T0 - timedelta(minutes=minutes_ago))
    return at.messages.client_start(
        client.account_id, client.chart_id, audience=audience, subject=subject, body=body
    )


def client_replies(
    services: Services, thread_id: int, body: str, *, chart_number: str = ACTIVE
) -> MessageSent:
    client = client_of(services, chart_number)
    return services.messages.client_reply(client.account_id, client.chart_id, thread_id, body=body)
