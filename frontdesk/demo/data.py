"""Demo data: a practice with charts in every portal status, seeded through the real service.

Used by `frontdesk demo`, the TUI tests and the benchmarks. Status variety comes from running
the real lifecycle at earlier moments (a clock set back), so nothing is faked in the tables.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core import links
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.core.text import search_key
from frontdesk.services import Services
from store.models import Chart, OutboxEmail

SERVICE_CHARTS = 50  # charts added one by one through the service; the rest are bulk-inserted
DEMO_PASSWORD = "cedar river morning walk"  # noqa: S105 - the demo's published sample password

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
    services.practice.update_practice(
        name="Cedar Counseling",
        phone="(555) 010-0100",
        portal_active=True,
        timezone="America/New_York",
    )
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

    def earlier(moment: datetime) -> Services:
        """The same services, acting at an earlier moment."""
        return services.at(FrozenClock(moment), actor="demo")

    def deliver(moment: datetime) -> None:
        if deliver_to is not None:
            services.at(FrozenClock(moment), settings=deliver_to).delivery().deliver_due()

    def invite(numbers: list[str], moment: datetime) -> None:
        for number in numbers:
            earlier(moment).invitations.send_invitation(number)
        deliver(moment)

    invite(take(plan.expired), now - timedelta(days=9))
    invite(take(plan.expiring_soon), now - timedelta(days=6, hours=2))
    invite(take(plan.invited), now - timedelta(days=1))
    for number in take(plan.locked):
        moment = now - timedelta(days=2)
        _lock(services, earlier(moment), number, deliver=partial(deliver, moment))
    twenty_days = now - timedelta(days=20)
    _register(
        services, earlier(twenty_days), take(plan.active), deliver=partial(deliver, twenty_days)
    )
    month = now - timedelta(days=30)
    revoked = take(plan.revoked)
    _register(services, earlier(month), revoked, deliver=partial(deliver, month))
    for number in revoked:
        services.invitations.revoke_access(number)
    # Guardians: one invited, one expired, the rest untouched.
    if len(guardians) >= 2:
        invite(guardians[1:2], now - timedelta(days=10))
        invite(guardians[:1], now - timedelta(days=1))
    deliver(now)


def _latest_token(services: Services, number: str) -> str:
    with services.db.read() as session:
        chart_id = session.exec(select(Chart.id).where(Chart.chart_number == number)).one()
        row = session.exec(
            select(OutboxEmail)
            .where(OutboxEmail.chart_id == chart_id, col(OutboxEmail.invitation_id).is_not(None))
            .order_by(col(OutboxEmail.id).desc())
        ).first()
    assert row is not None
    token = links.find_register_token(row.body_text)
    assert token is not None
    return token


def _register(
    services: Services,
    acting: Services,
    numbers: list[str],
    *,
    deliver: Callable[[], None] = lambda: None,
) -> None:
    """Invite these charts and register each with DEMO_PASSWORD (argon2: the slow part)."""
    tokens = []
    for number in numbers:
        acting.invitations.send_invitation(number)
        tokens.append(_latest_token(services, number))  # before delivery takes it out
    deliver()
    for number, token in zip(numbers, tokens, strict=True):
        chart = acting.views.chart(number)
        acting.registration.register(
            token,
            last_name=chart.last_name,
            date_of_birth=chart.date_of_birth.isoformat(),
            password=DEMO_PASSWORD,
            password_confirm=DEMO_PASSWORD,
        )
    deliver()


def _lock(
    services: Services,
    acting: Services,
    number: str,
    *,
    deliver: Callable[[], None] = lambda: None,
) -> None:
    acting.invitations.send_invitation(number)
    token = _latest_token(services, number)  # read before delivery takes it out of the row
    deliver()
    for _ in range(5):
        acting.registration.register(
            token,
            last_name="Wrong",
            date_of_birth="1900-01-01",
            password=DEMO_PASSWORD,
            password_confirm=DEMO_PASSWORD,
        )


def bulk_insert_charts(services: Services, count: int, *, start: int, now: datetime) -> None:
    """Insert many plain charts quickly (for trying scale); same columns the service writes."""
    rng = random.Random(11)
    batch: list[dict[str, object]] = []

    def flush() -> None:
        if batch:
            services.db.transact(lambda s: s.execute(sa.insert(Chart), batch))
            batch.clear()

    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST) + ("" if i % 3 else f"{i % 97}")
        number = f"C-{start + i}"
        email = f"{search_key(first).replace(' ', '')}.{start + i}@example.com"
        batch.append(
            {
                "chart_number": number,
                "first_name": first,
                "last_name": last,
                "preferred_name": None,
                "date_of_birth": date(1950, 1, 1) + timedelta(days=rng.randrange(0, 21900)),
                "email": email,
                "phone": None,
                "last_key": search_key(last),
                "first_key": search_key(first),
                "email_key": email.lower(),
                "search_text": search_key(f"{last} {first}  {number} {email}"),
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) >= 5000:
            flush()
    flush()
