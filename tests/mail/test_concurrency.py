"""D5: two delivery processes over 1,000 due rows: each email handed to the server once; a relay
killed mid-batch leaves its rows to come back when the lease expires."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from collections import Counter
from dataclasses import replace

import sqlalchemy as sa
from sqlmodel import select

from frontdesk.core.clock import FrozenClock
from frontdesk.mail.outbox import OutboxDelivery
from frontdesk.services import Services
from store.models import OUTBOX_PENDING, OUTBOX_SENT, OutboxEmail
from tests.factories import T0
from tests.mail import workers
from tests.mail.conftest import Sink, StartSmtp

ROWS = 1000


def insert_rows(services: Services, count: int) -> None:
    rows = [
        OutboxEmail(
            kind="notice",
            to_address=f"client{n}@example.com",
            to_name=f"Client {n}",
            subject="Your Client Portal invitation",
            body_text=f"Hello, this is message {n}.\n",
            body_html=f"<p>Hello, this is message {n}.</p>",
            message_id=f"<m{n}@cedar.example>",
            state=OUTBOX_PENDING,
            created_at=T0,
            next_attempt_at=T0,
        )
        for n in range(count)
    ]

    def insert(session: sa.orm.Session) -> None:
        session.add_all(rows)

    services.db.transact(insert)


def test_two_delivery_processes_send_each_row_once(
    services: Services, start_smtp: StartSmtp
) -> None:
    insert_rows(services, ROWS)
    server = start_smtp()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=workers.relay,
            args=(services.settings.database_url, server.port, T0, barrier, results),
        )
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
    assert [o[0] for o in outcomes] == ["ok", "ok"], outcomes
    assert sum(o[1] for o in outcomes) == ROWS
    assert all(o[1] > 0 for o in outcomes), "both processes should have delivered some rows"
    assert all(o[2:] == (0, 0, 0) for o in outcomes)
    per_message = Counter(m.message_id for m in server.messages)
    assert len(per_message) == ROWS
    assert max(per_message.values()) == 1
    with services.db.read() as session:
        states = Counter(session.exec(select(OutboxEmail.state)).all())
    assert states == {OUTBOX_SENT: ROWS}


def test_rows_of_a_killed_relay_come_back_after_the_lease(
    services: Services, start_smtp: StartSmtp, clock: FrozenClock
) -> None:
    insert_rows(services, 5)
    sink = Sink(hold=threading.Event())
    server = start_smtp(sink=sink)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    relay = ctx.Process(
        target=workers.relay,
        args=(services.settings.database_url, server.port, T0, None, results),
    )
    relay.start()
    try:
        assert sink.holding.wait(60), "the relay never reached DATA"
        assert relay.pid is not None
        os.kill(relay.pid, signal.SIGKILL)
        relay.join(30)
    finally:
        assert sink.hold is not None
        sink.hold.set()
    with services.db.read() as session:
        leased = session.exec(select(OutboxEmail).where(OutboxEmail.state == "sending")).all()
    assert len(leased) == 5  # claimed by the dead relay, nothing recorded
    delivery = OutboxDelivery(
        services.db,
        clock,
        replace(services.settings, smtp_port=server.port),
        lambda: None,
    )
    clock.set(T0)
    assert delivery.deliver_due().total == 0  # still leased
    clock.advance(minutes=5, seconds=1)
    assert delivery.deliver_due().sent == 5
    assert sorted(m.message_id for m in server.messages) == sorted(
        f"<m{n}@cedar.example>" for n in range(5)
    )
