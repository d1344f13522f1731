"""The desk's Portal inbox (SQLite and PostgreSQL): one open item per source by the schema,
the order (urgent, unread, oldest waiting), filters, done and ack (audited), the item never
stale whatever happens to its thread, and the speed of a filter at 10,000 open items."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from frontdesk.core.clock import FrozenClock
from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.desk.inbox import InboxOutcome
from frontdesk.portal.message_results import MessageRefused
from frontdesk.services import Services
from store.bulk import insert_many, reserve_ids
from store.models import (
    Chart,
    InboxCloseReason,
    InboxItem,
    InboxState,
    MessageAudience,
    MessageThread,
    ThreadState,
)
from tests.factories import T0

from .conftest import Client, audit_actions


def _item_row(chart_id: int, source_id: int, state: str = "open", **extra: object) -> dict:
    now = extra.pop("at", T0)
    return {
        "chart_id": chart_id, "kind": "message", "source_id": source_id, "subject": "s",
        "audience": extra.pop("audience", "front_desk"), "state": state,
        "urgent": extra.pop("urgent", False), "unread": extra.pop("unread", True),
        "waiting_since": extra.pop("waiting_since", now), "created_at": now, "updated_at": now,
    }  # fmt: skip


def test_at_most_one_open_item_per_source_is_enforced_by_the_schema(
    services: Services, ana: Client
) -> None:
    with services.db.write_once() as session:
        conn = session.connection()
        insert_many(conn, InboxItem, [_item_row(ana.chart_id, 7, "done")] * 3)
        insert_many(conn, InboxItem, [_item_row(ana.chart_id, 7)])
    with pytest.raises(IntegrityError), services.db.write_once() as session:
        insert_many(session.connection(), InboxItem, [_item_row(ana.chart_id, 7)])
    assert services.inbox.items(state=None).total == 4


def test_order_urgent_then_unread_then_longest_waiting_and_filters(
    services: Services, ana: Client, ben: Client, clock: FrozenClock
) -> None:
    t0 = clock.now()
    rows = [
        _item_row(ana.chart_id, 1, waiting_since=t0 - timedelta(hours=5), unread=False),
        _item_row(ana.chart_id, 2, waiting_since=t0 - timedelta(hours=1)),
        _item_row(ben.chart_id, 3, waiting_since=t0 - timedelta(hours=3), audience="billing"),
        _item_row(ben.chart_id, 4, waiting_since=t0, urgent=True, unread=False),
        _item_row(ana.chart_id, 5, "done", waiting_since=t0 - timedelta(days=1)),
    ]
    with services.db.write_once() as session:
        insert_many(session.connection(), InboxItem, rows)
    page = services.inbox.items()
    assert [i.source_id for i in page.items] == [4, 3, 2, 1]
    assert page.total == 4
    assert [i.source_id for i in services.inbox.items(limit=2, offset=1).items] == [3, 2]
    billing = services.inbox.items(audience=MessageAudience.BILLING)
    assert [i.source_id for i in billing.items] == [3]
    assert [i.source_id for i in services.inbox.items(kind="message").items] == [4, 3, 2, 1]
    assert [i.source_id for i in services.inbox.items(state="done").items] == [5]
    assert services.inbox.items(state=None).total == 5
    # The search: client names (accents and apostrophes folded), chart numbers, subjects.
    assert {i.chart_number for i in services.inbox.items(search="obri").items} == {"C-1001"}
    assert {i.chart_number for i in services.inbox.items(search="c-2002").items} == {"C-2002"}
    assert services.inbox.items(search="okafor ben").total == 2
    assert services.inbox.items(search="100%_").total == 0
    counts = services.inbox.counts()
    assert (counts.open, counts.unread, counts.urgent) == (4, 2, 1)
    with pytest.raises(InvalidInput):
        services.inbox.items(kind="parcel")


def test_done_closes_the_thread_until_the_client_writes_again(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience=None, subject="Thanks", body="No reply needed"
    )
    (item,) = services.inbox.items().items
    stamp = services.inbox.stamp()
    clock.advance(minutes=1)
    change = services.inbox.done(item.id)
    assert change.outcome is InboxOutcome.DONE
    assert (change.item.state, change.item.close_reason, change.item.closed_by) == (
        InboxState.DONE,
        InboxCloseReason.DONE,
        "alice",
    )
    assert services.inbox.stamp() != stamp
    assert services.messages.thread_summary(sent.thread_id).state is ThreadState.CLOSED
    assert services.inbox.done(item.id).outcome is InboxOutcome.ALREADY_DONE
    assert ("alice", "inbox item done", f"item {item.id}, message {sent.thread_id}") in (
        audit_actions(services)
    )
    clock.advance(minutes=1)
    services.messages.client_reply(ana.account_id, ana.chart_id, sent.thread_id, body="PS")
    (again,) = services.inbox.items().items
    assert again.id != item.id and again.waiting_since == clock.now()
    with pytest.raises(NotFound):
        services.inbox.done(999_999)


def test_ack_refuses_an_item_that_is_not_urgent(services: Services, ana: Client) -> None:
    with services.db.write_once() as session:
        insert_many(session.connection(), InboxItem, [_item_row(ana.chart_id, 9, urgent=False)])
    (item,) = services.inbox.items().items
    with pytest.raises(NotAllowed, match="not urgent"):
        services.inbox.ack(item.id)
    assert services.inbox.item(item.id).acknowledged_at is None
    assert audit_actions(services) == []


def test_ack_records_who_saw_it(services: Services, ana: Client, clock: FrozenClock) -> None:
    with services.db.write_once() as session:
        insert_many(session.connection(), InboxItem, [_item_row(ana.chart_id, 9, urgent=True)])
    (item,) = services.inbox.items().items
    clock.advance(seconds=30)
    change = services.inbox.ack(item.id)
    assert change.outcome is InboxOutcome.ACKNOWLEDGED
    assert (change.item.acknowledged_by, change.item.acknowledged_at) == ("alice", clock.now())
    assert change.item.state is InboxState.OPEN  # still open until its work is done
    assert services.inbox.ack(item.id).outcome is InboxOutcome.ALREADY_ACKNOWLEDGED
    assert [a for _, a, _ in audit_actions(services)] == ["inbox item acknowledged"]


def _check_never_stale(services: Services) -> None:
    """Every thread that waits for the practice has exactly one open item, unread exactly
    when the practice has not read it since; every other thread has none."""
    with services.db.read() as session:
        threads = session.exec(select(MessageThread)).all()
        items = session.exec(select(InboxItem).where(InboxItem.state == "open")).all()
    open_by_thread = {i.source_id: i for i in items}
    assert len(open_by_thread) == len(items)
    for thread in threads:
        item = open_by_thread.pop(thread.id or 0, None)
        if thread.state == ThreadState.WAITING:
            assert item is not None, thread
            read = thread.practice_last_read_at
            last = thread.last_client_message_at
            assert last is not None
            assert item.unread == (read is None or read < last), (thread, item)
            assert item.subject == thread.subject and item.audience == thread.audience
        else:
            assert item is None, (thread, item)
    assert open_by_thread == {}


ACTIONS = (
    "start",
    "start_staff",
    "reply",
    "staff_reply",
    "view",
    "client_view",
    "withdraw",
    "done",
)


@pytest.mark.parametrize("seed", [13, 1013])
def test_the_inbox_is_never_stale_through_any_sequence(
    services: Services, ana: Client, ben: Client, clock: FrozenClock, seed: int
) -> None:
    rng = random.Random(seed)
    clients = (ana, ben)
    threads: list[tuple[Client, int]] = []
    for _step in range(70):
        clock.advance(seconds=rng.randint(1, 600))
        who = rng.choice(clients)
        action = rng.choice(ACTIONS)
        mine = [t for c, t in threads if c == who]
        try:
            if action == "start" or not mine:
                sent = services.messages.client_start(
                    who.account_id, who.chart_id, audience=rng.choice(["billing", None]),
                    subject=f"s{_step}", body="b",
                )  # fmt: skip
                threads.append((who, sent.thread_id))
            elif action == "start_staff":
                sent = services.messages.staff_start(who.chart_number, subject="x", body="y")
                threads.append((who, sent.thread_id))
            elif action == "reply":
                services.messages.client_reply(
                    who.account_id, who.chart_id, rng.choice(mine), body="r"
                )
            elif action == "staff_reply":
                services.messages.staff_reply(rng.choice(mine), body="a")
            elif action == "view":
                services.messages.staff_thread(rng.choice(mine))
            elif action == "client_view":
                services.messages.client_thread(who.account_id, who.chart_id, rng.choice(mine))
            elif action == "withdraw":
                services.messages.client_withdraw(who.account_id, who.chart_id, rng.choice(mine))
            else:
                open_items = services.inbox.items().items
                if open_items:
                    services.inbox.done(rng.choice(open_items).id)
        except MessageRefused:
            pass  # a withdrawal the rules refuse changes nothing
        _check_never_stale(services)
    assert len(threads) > 5


@pytest.mark.slow
def test_a_filter_at_10000_open_items_reads_a_page_in_order(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    """The target (issue 13): a keystroke on the inbox filter ≤ 30 ms p95 at 10,000 open
    items; the query's share of it must be a small part of that."""
    t0 = clock.now()
    charts = [
        {
            "chart_number": f"P-{n:05}",
            "first_name": "Pat",
            "last_name": f"Doe{n:05}",
            "date_of_birth": date(1990, 1, 1),
            "last_key": f"doe{n:05}",
            "first_key": "pat",
            "email_key": "",
            "search_text": f"doe{n:05} pat p-{n:05}",
            "created_at": t0,
            "updated_at": t0,
        }
        for n in range(2_000)
    ]
    with services.db.write_once() as session:
        conn = session.connection()
        chart_ids = reserve_ids(conn, Chart, len(charts))
        insert_many(conn, Chart, [{"id": i, **c} for i, c in zip(chart_ids, charts, strict=True)])
        rows = [
            _item_row(
                chart_ids[n % len(chart_ids)],
                n,
                waiting_since=t0 - timedelta(minutes=n % 5000),
                audience=("front_desk", "billing", "clinical")[n % 3],
                urgent=n % 97 == 0,
                unread=n % 2 == 0,
            )
            for n in range(10_000)
        ]
        insert_many(conn, InboxItem, rows)
        session.execute(sa.text("ANALYZE"))
    filters = [
        {}, {"audience": "billing"}, {"kind": "message"}, {"search": "doe0"}, {"search": "pat d"},
    ]  # fmt: skip
    # Each query's time is the best of three tries, and on SQLite (in this process) the CPU
    # time of this thread: the machine's other work (two shared cores, often a load of 10)
    # must not count as the query's. On a quiet machine the two are the same.
    clock_of = time.thread_time if services.db.is_sqlite else time.perf_counter
    times = []
    for n in range(40):
        tries = []
        for _ in range(3):
            started = clock_of()
            page = services.inbox.items(**filters[n % len(filters)], limit=50)
            tries.append(clock_of() - started)
        times.append(min(tries))
        assert len(page.items) == 50
    p95, median = statistics.quantiles(times, n=20)[-1], statistics.median(times)
    if services.db.is_sqlite:  # the default store, which the TUI benchmark measures
        assert p95 < 0.030, f"p95 {p95 * 1000:.1f} ms"
    # PostgreSQL works in its own process, on the same loaded cores: its median (wall time)
    # is the query's, its tail the machine's.
    assert median < 0.015, f"median {median * 1000:.1f} ms"
    if services.db.is_sqlite:
        with services.db.read_connection() as conn:
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM inbox_item WHERE state = 'open' "
                    "ORDER BY urgent DESC, unread DESC, waiting_since, id LIMIT 50"
                )
            )
        assert "ix_inbox_item_order" in plan and "TEMP B-TREE" not in plan, plan
    assert services.inbox.counts().open == 10_000
