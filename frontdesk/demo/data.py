"""Demo data: a practice with charts in every portal status, seeded through the real service.

Used by `frontdesk demo`, the tests (tests/factories.py) and the benchmarks. Status variety comes
from running the real lifecycle at earlier moments (a clock set back), so nothing is faked in the
tables. The steps it takes (set up the practice, invite at a moment, read the link's token from
the queued email, register, lock, deliver at a moment) are small public functions here, so the
tests seed their own data with the very same steps.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.access.rules import MAX_IDENTITY_FAILURES
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core import links
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.core.text import search_key
from frontdesk.demo.portal_activity import seed_portal_activity
from frontdesk.services import Services
from store.db import Database
from store.models import Chart, OutboxEmail

if TYPE_CHECKING:  # the outbox loads when mail is first delivered
    from frontdesk.access.outcomes import ActionOutcome, RegistrationResult
    from frontdesk.mail.outbox import DeliveryReport

SERVICE_CHARTS = 50  # charts added one by one through the service; the rest are bulk-inserted
DEMO_PASSWORD = "cedar river morning walk"  # noqa: S105 - the demo's published sample password
DEMO_ACTOR = "demo"  # who did what the demo's history shows at earlier moments
PRACTICE_NAME = "Cedar Counseling"
PRACTICE_PHONE = "(555) 010-0100"
PRACTICE_TIMEZONE = "America/New_York"
WRONG_LAST_NAME = "Wrong"  # the identity details a lockout is made of
WRONG_DATE_OF_BIRTH = "1900-01-01"
BATCH = 5000  # chart rows per bulk INSERT

FIRST = [
    "Ana",
    "Ben",
    "Chloé",
    "Dmitri",
    "Esther",
    "Farah",
    "Gabriel",
    "Hana",
    "Ikaika",
    "José",
    "Keisha",
    "Liam",
    "María",
    "Noah",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sean",
    "Thảo",
    "Uma",
    "Víctor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
]
LAST = [
    "O'Brien",
    "García",
    "Nguyễn",
    "D'Angelo",
    "Smith-Jones",
    "Müller",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Lefèvre",
    "Park",
    "MacDonald",
    "Silva",
    "Cohen",
    "Patel",
    "Yamamoto",
    "Johansson",
    "Rossi",
    "Brown",
    "Ó Súilleabháin",
    "Novák",
    "Abebe",
    "Lee [twin]",
    "Chen",
]


@dataclass(frozen=True)
class DemoPlan:
    """How many charts of each kind to seed (the rest get no invitation)."""

    expired: int = 6
    expiring_soon: int = 1
    locked: int = 1
    invited: int = 8
    active: int = 5  # each registration hashes a password (argon2): keep the demo quick
    revoked: int = 1
    guardians: int = 5


def _people(count: int, seed: int) -> Iterator[tuple[str, str, date]]:
    rng = random.Random(seed)
    fixed = [
        ("Ana", "O'Brien", date(1985, 3, 4)),
        ("José", "García", date(1979, 11, 2)),
        ("Chloé", "Lefèvre", date(2009, 6, 17)),
        ("Keisha", "Müller", date(1992, 1, 30)),
        ("Liam", "Smith [/]", date(2012, 8, 9)),
    ]
    yield from fixed[:count]
    for _ in range(count - len(fixed)):
        first = rng.choice(FIRST)
        last = rng.choice(LAST)
        dob = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 60))
        yield first, last, dob


# ------------------------------------------------------------------------------ the steps


def set_up_practice(
    services: Services, *, phone: str | None = None, timezone: str | None = None
) -> None:
    """The practice "Cedar Counseling" with its portal on (and, when given, a phone and a time
    zone; None leaves them as they are)."""
    services.practice.update_practice(
        name=PRACTICE_NAME, phone=phone, portal_active=True, timezone=timezone
    )


def acting_at(
    services: Services,
    moment: datetime,
    *,
    actor: str | None = None,
    settings: Settings | None = None,
) -> Services:
    """The same store's services, acting at `moment` (a frozen clock), as `actor`."""
    return services.at(FrozenClock(moment), settings=settings, actor=actor)


def invite_at(
    services: Services, chart_number: str, moment: datetime, *, actor: str | None = None
) -> ActionOutcome:
    """Send the chart's invitation at an earlier (or later) moment, as `actor`."""
    return acting_at(services, moment, actor=actor).invitations.send_invitation(chart_number)


def deliver_at(services: Services, moment: datetime, settings: Settings) -> DeliveryReport:
    """Deliver the due emails at `moment` through the mail server that `settings` names."""
    return acting_at(services, moment, settings=settings).delivery().deliver_due()


def latest_token(services: Services, chart_number: str | None = None) -> str:
    """The registration token in the newest invitation email queued (of the chart, when
    given): until that email is delivered, the only place a raw token exists."""
    query = (
        select(OutboxEmail)
        .where(col(OutboxEmail.invitation_id).is_not(None))
        .order_by(col(OutboxEmail.id).desc())
    )
    with services.db.read() as session:
        if chart_number is not None:
            chart_id = session.exec(
                select(Chart.id).where(Chart.chart_number == chart_number)
            ).one()
            query = query.where(OutboxEmail.chart_id == chart_id)
        row = session.exec(query).first()
    token = links.find_register_token(row.body_text) if row is not None else None
    if token is None:
        raise LookupError(f"no registration link queued for {chart_number or 'any chart'}")
    return token


def register_token(
    services: Services,
    token: str,
    *,
    last_name: str,
    date_of_birth: str,
    password: str = DEMO_PASSWORD,
) -> RegistrationResult:
    """Submit the registration form of a link (the password typed twice alike)."""
    return services.registration.register(
        token,
        last_name=last_name,
        date_of_birth=date_of_birth,
        password=password,
        password_confirm=password,
    )


def register_chart(
    services: Services,
    chart_number: str,
    *,
    token: str | None = None,
    password: str = DEMO_PASSWORD,
) -> RegistrationResult:
    """Register the chart's owner with the chart's own last name and date of birth, through
    `token` (by default the chart's newest queued link)."""
    chart = services.views.chart(chart_number)
    return register_token(
        services,
        latest_token(services, chart_number) if token is None else token,
        last_name=chart.last_name,
        date_of_birth=chart.date_of_birth.isoformat(),
        password=password,
    )


def lock_invitation(
    services: Services,
    token: str,
    *,
    last_name: str = WRONG_LAST_NAME,
    date_of_birth: str = WRONG_DATE_OF_BIRTH,
    password: str = DEMO_PASSWORD,
) -> None:
    """Lock the link's invitation: as many wrong identity checks as it takes (5)."""
    for _ in range(MAX_IDENTITY_FAILURES):
        register_token(
            services, token, last_name=last_name, date_of_birth=date_of_birth, password=password
        )


# ------------------------------------------------------------------------------ the demo


def seed_demo(
    services: Services,
    *,
    charts: int = 40,
    plan: DemoPlan | None = None,
    deliver_to: Settings | None = None,
) -> None:
    """A practice "Cedar Counseling" with `charts` charts in every status.

    With `deliver_to` (settings naming a mail server), each email is delivered through the real
    outbox at the moment it was queued, as if the practice had been running for a month."""
    plan = plan or DemoPlan()
    now = services.clock.now()
    set_up_practice(services, phone=PRACTICE_PHONE, timezone=PRACTICE_TIMEZONE)
    numbers: list[str] = []
    people = list(_people(min(charts, SERVICE_CHARTS), seed=7))
    for i, (first, last, dob) in enumerate(people, start=1):
        number = f"C-{1000 + i}"
        email = f"{search_key(first).replace(' ', '')}.{i}@example.com"
        services.charts.add_chart(
            ChartInput(
                number,
                first,
                last,
                dob.isoformat(),
                email,
                preferred_name="Annie" if first == "Ana" else None,
                phone=f"(555) 01{i % 10}-{1000 + i}",
            )
        )
        numbers.append(number)
    if charts > len(people):
        bulk_insert_charts(services, charts - len(people), start=1000 + len(people) + 1, now=now)

    queue = iter(numbers)

    def take(n: int) -> list[str]:
        return [number for _, number in zip(range(n), queue, strict=False)]

    guardians = take(plan.guardians)
    for number in guardians:
        last_name = services.views.chart(number).last_name
        services.invitations.change_owner(
            number,
            new_contact=ContactInput(
                f"Maria {last_name} [guardian]" if number == guardians[0] else f"Sam {last_name}",
                "Mother" if number == guardians[0] else "Guardian",
                f"guardian.{number.lower()}@example.com",
            ),
        )

    def deliver(moment: datetime) -> None:
        if deliver_to is not None:
            deliver_at(services, moment, deliver_to)

    def invite(numbers: list[str], moment: datetime) -> None:
        for number in numbers:
            invite_at(services, number, moment, actor=DEMO_ACTOR)
        deliver(moment)

    def lock(number: str, moment: datetime) -> None:
        invite_at(services, number, moment, actor=DEMO_ACTOR)
        token = latest_token(services, number)  # read before delivery takes it out of the row
        deliver(moment)
        lock_invitation(acting_at(services, moment, actor=DEMO_ACTOR), token)

    def register(numbers: list[str], moment: datetime) -> None:
        """Invite these charts and register each with DEMO_PASSWORD (argon2: the slow part)."""
        acting = acting_at(services, moment, actor=DEMO_ACTOR)
        tokens = []
        for number in numbers:
            acting.invitations.send_invitation(number)
            tokens.append(latest_token(services, number))  # before delivery takes it out
        deliver(moment)
        for number, token in zip(numbers, tokens, strict=True):
            register_chart(acting, number, token=token)
        deliver(moment)

    invite(take(plan.expired), now - timedelta(days=9))
    invite(take(plan.expiring_soon), now - timedelta(days=6, hours=2))
    invite(take(plan.invited), now - timedelta(days=1))
    for number in take(plan.locked):
        lock(number, now - timedelta(days=2))
    active = take(plan.active)
    register(active, now - timedelta(days=20))
    revoked = take(plan.revoked)
    register(revoked, now - timedelta(days=30))
    for number in revoked:
        services.invitations.revoke_access(number)
    # Guardians: one invited, one expired, the rest untouched.
    if len(guardians) >= 2:
        invite(guardians[1:2], now - timedelta(days=10))
        invite(guardians[:1], now - timedelta(days=1))
    seed_portal_activity(services, active, now, deliver, actor=DEMO_ACTOR)
    deliver(now)


# ------------------------------------------------------------------------------ many charts


def chart_row(
    number: str, first: str, last: str, dob: date, email: str, now: datetime
) -> dict[str, object]:
    """One plain chart as a row for a bulk INSERT: the columns the service writes."""
    return {
        "chart_number": number,
        "first_name": first,
        "last_name": last,
        "preferred_name": None,
        "date_of_birth": dob,
        "email": email,
        "phone": None,
        "last_key": search_key(last),
        "first_key": search_key(first),
        "email_key": email.lower(),
        "search_text": search_key(f"{last} {first} {number} {email}"),
        "created_at": now,
        "updated_at": now,
    }


def insert_chart_rows(db: Database, rows: Iterable[dict[str, object]]) -> None:
    """Insert chart rows (`chart_row`) in batches, one transaction a batch."""
    batch: list[dict[str, object]] = []

    def flush() -> None:
        if batch:
            db.transact(lambda s: s.execute(sa.insert(Chart), batch))
            batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            flush()
    flush()


def bulk_insert_charts(services: Services, count: int, *, start: int, now: datetime) -> None:
    """Insert many plain charts quickly (for trying scale); same columns the service writes."""
    rng = random.Random(11)

    def rows() -> Iterator[dict[str, object]]:
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST) + ("" if i % 3 else f"{i % 97}")
            number = f"C-{start + i}"
            email = f"{search_key(first).replace(' ', '')}.{start + i}@example.com"
            dob = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 21900))
            yield chart_row(number, first, last, dob, email, now)

    insert_chart_rows(services.db, rows())
