"""What the demo's registered clients have done on the portal, so the Portal inbox, a chart's
messages and its Forms have something to show: a question waiting for the desk, a billing
question the desk answered, a message from the practice the client has not read yet, and a
package of forms with a PHQ-9 and a GAD-7 sent in (the PHQ-9's item 9 above "Not at all":
an urgent item on top of the inbox until someone acknowledges it).

Everything goes through the services, at the moment it happened, as the client or the desk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from store.models import Chart, PortalAccount

# PHQ-9: 12 (moderate), item 9 "Several days"; GAD-7: 8 (mild).
PHQ9_ANSWERS = {f"phq9_{n}": v for n, v in enumerate("221221101", start=1)} | {
    "difficulty": "Somewhat difficult"
}
GAD7_ANSWERS = {f"gad7_{n}": v for n, v in enumerate("1211201", start=1)} | {
    "difficulty": "Somewhat difficult"
}


@dataclass(frozen=True)
class DemoClient:
    """A registered client as the portal's services take it (the session's account and
    chart)."""

    account_id: int
    chart_id: int


def client_of(services: Services, chart_number: str) -> DemoClient:
    """The chart's enabled portal account."""
    with services.db.read() as session:
        chart_id = session.exec(select(Chart.id).where(Chart.chart_number == chart_number)).one()
        account_id = session.exec(
            select(PortalAccount.id).where(
                PortalAccount.chart_id == chart_id, col(PortalAccount.disabled_at).is_(None)
            )
        ).one()
    assert chart_id is not None and account_id is not None
    return DemoClient(account_id, chart_id)


def seed_portal_activity(
    services: Services,
    active: Sequence[str],
    now: datetime,
    deliver: Callable[[datetime], None],
    *,
    actor: str,
) -> None:
    """Messages and forms on the first four of the `active` (registered) charts."""
    if len(active) < 4:
        return
    waiting, answered, from_practice, forms = active[:4]

    def at(moment: datetime) -> Services:
        return services.at(FrozenClock(moment), actor=actor)

    client = client_of(services, waiting)
    at(now - timedelta(hours=3)).messages.client_start(
        client.account_id,
        client.chart_id,
        audience="front_desk",
        subject="Moving my Thursday appointment",
        body="Hi, something came up at work on Thursday.\n"
        "Could we move my 4 PM to Friday afternoon?\n\nThank you!",
    )

    client = client_of(services, answered)
    asked = at(now - timedelta(days=2)).messages.client_start(
        client.account_id,
        client.chart_id,
        audience="billing",
        subject="Question about my statement",
        body="My statement shows two charges for Nov 3. Was I billed twice?",
    )
    at(now - timedelta(days=1, hours=2)).messages.staff_reply(
        asked.thread_id,
        body="Thanks for catching that: the second charge was a duplicate and has been "
        "removed. Your next statement will show the correction.",
    )
    at(now - timedelta(hours=20)).messages.client_thread(
        client.account_id, client.chart_id, asked.thread_id
    )

    at(now - timedelta(hours=1)).messages.staff_start(
        from_practice,
        subject="Before your first visit",
        body="Welcome! Parking is behind the building; the entrance is on Elm Street.\n"
        "Please arrive 10 minutes early.",
        audience="front_desk",
    )

    assignment = at(now - timedelta(days=4)).tasks.assign(forms, package_key="new-client")
    deliver(now - timedelta(days=4))
    client = client_of(services, forms)
    by_key = {task.form_key: task.id for task in assignment.tasks}
    for hours, key, answers in ((5, "gad-7", GAD7_ANSWERS), (4, "phq-9", PHQ9_ANSWERS)):
        sent = at(now - timedelta(hours=hours)).tasks.submit(client, by_key[key], answers)
        if not sent.ok:  # the built-in form changed under the demo's answers
            raise ValueError(f"demo {key} answers refused: {sent.errors}")
