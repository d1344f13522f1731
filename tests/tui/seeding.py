"""A small practice with a chart in every portal status, made through the real service at
earlier moments (and the real outbox delivery against a local SMTP server), so nothing in the
tables is faked.

At T0 (2026-11-26 15:00 UTC = 10:00 AM in New York):
C-1001 Ana O'Brien        Expired         (sent 9 days earlier by bob)
C-1002 José García        Invited         (sent yesterday; the mail server refused it: 550)
C-1003 Chloé Lefèvre      Expiring soon   (sent 6 days 2 hours earlier)
C-1004 Keisha Müller      Locked          (5 wrong identity checks)
C-1005 Liam Smith [/]     Active          (registered 20 days earlier)
C-1006 Noah Park          No Portal Access
C-1007 Priya Patel        No Portal Access, guardian "Maria Patel [guardian]" on file
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import col, select

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import Services
from store.models import OutboxEmail

LINK_RE = re.compile(r"/register/([A-Za-z0-9_-]{43})")
PASSWORD = "cedar river morning walk"
REFUSED_ADDRESS = "jose.garcia@example.com"

CHARTS = (
    ChartInput("C-1001", "Ana", "O'Brien", "1985-03-04", "ana.obrien@example.com", "Annie"),
    ChartInput("C-1002", "José", "García", "1979-11-02", REFUSED_ADDRESS),
    ChartInput("C-1003", "Chloé", "Lefèvre", "2009-06-17", "chloe.lefevre@example.com"),
    ChartInput("C-1004", "Keisha", "Müller", "1992-01-30", "keisha.muller@example.com"),
    ChartInput("C-1005", "Liam", "Smith [/]", "2012-08-09", "liam.smith@example.com"),
    ChartInput("C-1006", "Noah", "Park", "1990-05-05", "noah.park@example.com"),
    ChartInput("C-1007", "Priya", "Patel", "2014-02-14", "priya.patel@example.com"),
)
EXPIRED, INVITED, EXPIRING, LOCKED, ACTIVE, NO_ACCESS, WITH_GUARDIAN = (
    c.chart_number for c in CHARTS
)


def latest_token(services: Services, chart_number: str) -> str:
    """The registration token in the newest email queued for a chart."""
    chart_id = services.views.chart(chart_number)  # raises NotFound for a bad number
    with services.db.read() as session:
        rows = session.exec(
            select(OutboxEmail)
            .where(col(OutboxEmail.invitation_id).is_not(None))
            .order_by(col(OutboxEmail.id).desc())
        ).all()
    for row in rows:
        match = LINK_RE.search(row.body_text or "")
        if match and row.to_address == (chart_id.owner.email or ""):
            return match.group(1)
    raise AssertionError(f"no queued registration link for {chart_number}")


def seed_practice(services: Services, smtp_settings: Settings) -> None:
    """Seed the charts above; deliver their emails through `smtp_settings` (a local server
    that refuses REFUSED_ADDRESS)."""
    now = services.clock.now()
    services.practice.update_practice(
        name="Cedar Counseling",
        phone="(555) 010-0100",
        portal_active=True,
        timezone="America/New_York",
    )

    def at(moment: datetime, actor: str = "bob") -> Services:
        return services.at(FrozenClock(moment), actor=actor)

    month_ago = at(now - timedelta(days=30), "alice")
    for chart in CHARTS:
        month_ago.charts.add_chart(chart)
    month_ago.charts.add_contact(
        WITH_GUARDIAN, ContactInput("Maria Patel [guardian]", "Mother", "maria.patel@example.com")
    )

    def deliver(moment: datetime) -> None:
        services.at(FrozenClock(moment), settings=smtp_settings).delivery().deliver_due()

    registered = now - timedelta(days=20)
    at(registered).invitations.send_invitation(ACTIVE)
    at(registered).registration.register(
        latest_token(services, ACTIVE),
        last_name="Smith [/]",
        date_of_birth="2012-08-09",
        password=PASSWORD,
        password_confirm=PASSWORD,
    )
    deliver(registered)

    nine_days = now - timedelta(days=9)
    at(nine_days).invitations.send_invitation(EXPIRED)
    deliver(nine_days)

    almost = now - timedelta(days=6, hours=2)
    at(almost, "carol").invitations.send_invitation(EXPIRING)
    deliver(almost)

    two_days = now - timedelta(days=2)
    at(two_days).invitations.send_invitation(LOCKED)
    token = latest_token(services, LOCKED)
    for _ in range(5):
        at(two_days).registration.register(
            token,
            last_name="Wrong",
            date_of_birth="1900-01-01",
            password=PASSWORD,
            password_confirm=PASSWORD,
        )
    deliver(two_days)

    yesterday = now - timedelta(days=1)
    at(yesterday, "alice").invitations.send_invitation(INVITED)
    deliver(yesterday)
