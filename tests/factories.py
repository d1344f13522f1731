"""Test data, made through the real services: the one home of the steps every suite takes.

Plain functions taking a `Services` (or a database URL) and keyword arguments: settings for a
test store, services built on it, throwaway PostgreSQL databases, the practice, charts,
invitations at a chosen moment, the link's token from the queued email, registering, locking,
delivering, and the small practice with a chart in every portal status that the TUI suites use.

The steps the demo takes as well (`set_up_practice`, `acting_at`, `invite_at`, `deliver_at`,
`latest_token`, `register_token`, `register_chart`, `lock_invitation`) live once, in
`frontdesk.demo.data` (product code never imports from tests/), and are re-exported here.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import Clock, FrozenClock
from frontdesk.core.config import Settings
from frontdesk.demo.data import (
    DEMO_PASSWORD,
    PRACTICE_NAME,
    PRACTICE_PHONE,
    PRACTICE_TIMEZONE,
    acting_at,
    deliver_at,
    invite_at,
    latest_token,
    lock_invitation,
    register_chart,
    register_token,
    set_up_practice,
)
from frontdesk.services import Services, build_services
from store.db import create_engine_for
from store.models import OutboxEmail

if TYPE_CHECKING:
    from frontdesk.mail.outbox import OutboxDelivery

__all__ = [  # with the demo's steps and names (frontdesk.demo.data), re-exported
    "ACTIVE",
    "ACTOR",
    "ANA_OBRIEN",
    "CHARTS",
    "DEMO_PASSWORD",
    "EXPIRED",
    "EXPIRING",
    "INVITED",
    "LOCKED",
    "MAIL_FROM",
    "NO_ACCESS",
    "PG_ADMIN_URL",
    "PRACTICE_NAME",
    "PRACTICE_PHONE",
    "PRACTICE_TIMEZONE",
    "PUBLIC_URL",
    "REFUSED_ADDRESS",
    "REGISTER_LINK",
    "T0",
    "WITH_GUARDIAN",
    "acting_at",
    "add_numbered_charts",
    "deliver_at",
    "delivery_for",
    "invite_at",
    "latest_token",
    "lock_invitation",
    "make_settings",
    "outbox_rows",
    "pg_admin_engine",
    "pg_database",
    "pg_database_url",
    "register_chart",
    "register_token",
    "seed_small_practice",
    "services_for",
    "set_up_practice",
    "smtp_settings",
]

T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # the tests' "now": 10:00 AM in New York
PUBLIC_URL = "http://127.0.0.1:8080"
MAIL_FROM = "portal@cedar.example"
ACTOR = "alice"  # the staff member at the desk in the tests
# A registration link in a received email (every one of them: `REGISTER_LINK.findall`).
REGISTER_LINK = re.compile(r"/register/([A-Za-z0-9_-]{43})")
PG_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# ------------------------------------------------------------------------ settings and services


def make_settings(database_url: str, **changes: Any) -> Settings:
    """The tests' settings on `database_url`: the public URL on loopback, mail from
    MAIL_FROM to a loopback server without TLS (port 587 unless `smtp_port` says)."""
    base = Settings(
        database_url=database_url,
        public_url=PUBLIC_URL,
        smtp_host="127.0.0.1",
        smtp_security="none",
        mail_from=MAIL_FROM,
    )
    return replace(base, **changes)


def smtp_settings(database_url: str, smtp_port: int, **changes: Any) -> Settings:
    """`make_settings` pointing at a test SMTP server on 127.0.0.1:`smtp_port` (10 s timeout)."""
    return make_settings(database_url, smtp_port=smtp_port, smtp_timeout=10.0, **changes)


def services_for(
    settings: Settings | str,
    *,
    clock: Clock | None = None,
    actor: str = ACTOR,
    migrate: bool = True,
) -> Services:
    """Services on a test store (settings, or a database URL for `make_settings`), at T0 on a
    frozen clock unless `clock` is given, acting as `actor`. The caller closes them."""
    if isinstance(settings, str):
        settings = make_settings(settings)
    return build_services(settings, clock=clock or FrozenClock(T0), actor=actor, migrate=migrate)


# ------------------------------------------------------------------------------ PostgreSQL


def pg_admin_engine() -> sa.Engine | None:
    """An AUTOCOMMIT engine on the server's admin database, or None when no server answers."""
    engine = create_engine_for(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


def pg_database_url(name: str) -> str:
    """The URL of database `name` on the test server."""
    return sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def pg_database(prefix: str = "fd_", *, template: str | None = None) -> Iterator[str]:
    """A throwaway PostgreSQL database (a copy of `template`, or empty), dropped afterwards."""
    engine = create_engine_for(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    name = f"{prefix}{uuid.uuid4().hex[:16]}"
    copy_of = f' TEMPLATE "{template}"' if template else ""
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"{copy_of}')
    try:
        yield pg_database_url(name)
    finally:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


# ------------------------------------------------------------------------------ charts

# The chart most suites start from (its owner is the client; greeted by preferred name).
ANA_OBRIEN = ChartInput("C-1001", "Ana", "O'Brien", "1985-03-04", "ana@example.com", "Annie")


def add_numbered_charts(services: Services, count: int) -> None:
    """Charts P-000, P-001, ... (Pat Doe000, ..., no email), in name order, one transaction."""
    with services.db.write_once() as session:
        for number in range(count):
            services.charts.add_chart(
                ChartInput(f"P-{number:03}", "Pat", f"Doe{number:03}", "1990-01-01"),
                session=session,
            )


# ------------------------------------------------------------------------------ the outbox


def outbox_rows(services: Services) -> list[OutboxEmail]:
    """Every stored email, oldest first."""
    with services.db.read() as session:
        return list(session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id))).all())


def delivery_for(
    services: Services, settings: Settings, password: str | None = None, **kwargs: Any
) -> OutboxDelivery:
    """The outbox delivery of this store and clock through `settings`' mail server, with a
    fixed SMTP password (none by default) instead of the keyring."""
    from frontdesk.mail.outbox import OutboxDelivery

    return OutboxDelivery(services.db, services.clock, settings, lambda: password, **kwargs)


# ------------------------------------------------------- a small practice, every portal status

# At T0 (2026-11-26 15:00 UTC = 10:00 AM in New York), made by `seed_small_practice`:
# C-1001 Ana O'Brien        Expired         (sent 9 days earlier by bob)
# C-1002 José García        Invited         (sent yesterday; the mail server refused it: 550)
# C-1003 Chloé Lefèvre      Expiring soon   (sent 6 days 2 hours earlier)
# C-1004 Keisha Müller      Locked          (5 wrong identity checks)
# C-1005 Liam Smith [/]     Active          (registered 20 days earlier)
# C-1006 Noah Park          No Portal Access
# C-1007 Priya Patel        No Portal Access, guardian "Maria Patel [guardian]" on file

REFUSED_ADDRESS = "jose.garcia@example.com"  # the test mail server answers 550 for it
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


def seed_small_practice(services: Services, mail: Settings) -> None:
    """Seed the charts above through the real services at earlier moments; deliver their
    emails through `mail` (a local server that refuses REFUSED_ADDRESS)."""
    now = services.clock.now()
    set_up_practice(services, phone=PRACTICE_PHONE, timezone=PRACTICE_TIMEZONE)

    month_ago = acting_at(services, now - timedelta(days=30), actor="alice")
    for chart in CHARTS:
        month_ago.charts.add_chart(chart)
    month_ago.charts.add_contact(
        WITH_GUARDIAN, ContactInput("Maria Patel [guardian]", "Mother", "maria.patel@example.com")
    )

    registered = now - timedelta(days=20)
    invite_at(services, ACTIVE, registered, actor="bob")
    register_chart(acting_at(services, registered, actor="bob"), ACTIVE)
    deliver_at(services, registered, mail)

    nine_days = now - timedelta(days=9)
    invite_at(services, EXPIRED, nine_days, actor="bob")
    deliver_at(services, nine_days, mail)

    almost = now - timedelta(days=6, hours=2)
    invite_at(services, EXPIRING, almost, actor="carol")
    deliver_at(services, almost, mail)

    two_days = now - timedelta(days=2)
    invite_at(services, LOCKED, two_days, actor="bob")
    lock_invitation(acting_at(services, two_days, actor="bob"), latest_token(services, LOCKED))
    deliver_at(services, two_days, mail)

    yesterday = now - timedelta(days=1)
    invite_at(services, INVITED, yesterday, actor="alice")
    deliver_at(services, yesterday, mail)
