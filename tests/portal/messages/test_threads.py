"""The main paths of portal messages, on SQLite and PostgreSQL: a client starts a thread and
replies, staff reply and start threads, lists for the account and for the chart, reading
marks read for the reader, and the Portal inbox follows every step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from frontdesk.charts.records import ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.errors import NotFound
from frontdesk.portal.message_results import MessageRefused
from frontdesk.services import Services
from store.models import (
    InboxCloseReason,
    InboxKind,
    InboxState,
    MessageAudience,
    PortalAccount,
    ThreadState,
)
from tests.factories import register_chart

from .conftest import Client, audit_actions


def test_client_starts_a_thread_and_the_inbox_gets_an_item(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience="billing", subject="  Invoice question ",
        body="Hello,\r\nwhy was I charged twice?\r\n", client_address="203.0.113.9",
    )  # fmt: skip
    assert sent.started and sent.thread_state is ThreadState.WAITING

    page = services.messages.client_threads(ana.account_id, ana.chart_id)
    assert page.total == 1 and page.unread == 0
    (thread,) = page.threads
    assert (thread.id, thread.subject, thread.audience) == (
        sent.thread_id,
        "Invoice question",
        MessageAudience.BILLING,
    )
    assert thread.messages == 1 and not thread.unread_by_client and thread.unread_by_practice

    inbox = services.inbox.items()
    assert inbox.total == 1
    (item,) = inbox.items
    assert (item.kind, item.source_id, item.chart_number, item.client_name) == (
        InboxKind.MESSAGE,
        sent.thread_id,
        "C-1001",
        "Ana O'Brien",
    )
    assert (item.subject, item.audience, item.unread, item.urgent) == (
        "Invoice question",
        MessageAudience.BILLING,
        True,
        False,
    )
    assert item.waiting_since == clock.now()

    view = services.messages.staff_thread(sent.thread_id)
    assert [m.body for m in view.messages] == ["Hello,\nwhy was I charged twice?"]
    assert view.messages[0].author_name == "Ana O'Brien"
    assert view.practice_read_by == "alice"
    assert services.inbox.items().items[0].unread is False  # opened at the desk
    assert services.inbox.counts().open == 1  # still waiting for an answer


def test_staff_reply_closes_the_item_and_the_client_sees_it_unread(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience=None, subject="Hi", body="Question"
    )
    clock.advance(minutes=3)
    reply = services.messages.staff_reply(sent.thread_id, body="Answer")
    assert reply.thread_state is ThreadState.ANSWERED
    assert services.inbox.items().total == 0
    closed = services.inbox.items(state=InboxState.DONE).items[0]
    assert (closed.close_reason, closed.closed_by) == (InboxCloseReason.ANSWERED, "alice")

    page = services.messages.client_threads(ana.account_id, ana.chart_id)
    assert page.unread == 1 and page.threads[0].unread_by_client
    assert services.messages.client_overview(ana.account_id, ana.chart_id).unread_threads == 1

    view = services.messages.client_thread(ana.account_id, ana.chart_id, sent.thread_id)
    assert [(m.author_name, m.body) for m in view.messages] == [
        ("Ana O'Brien", "Question"),
        ("Cedar Counseling", "Answer"),
    ]
    assert all(m.staff_login is None for m in view.messages)  # no staff login to clients
    assert services.messages.client_threads(ana.account_id, ana.chart_id).unread == 0

    # The client writes again: the thread waits again, one new open item.
    clock.advance(minutes=1)
    services.messages.client_reply(ana.account_id, ana.chart_id, sent.thread_id, body="Thanks!")
    open_items = services.inbox.items().items
    assert len(open_items) == 1 and open_items[0].waiting_since == clock.now()
    assert services.messages.thread_summary(sent.thread_id).state is ThreadState.WAITING


def test_a_second_client_message_refreshes_the_one_open_item(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience="front_desk", subject="Hi", body="One"
    )
    started = clock.now()
    services.messages.staff_thread(sent.thread_id)  # read at the desk: no longer unread
    clock.advance(minutes=5)
    services.messages.client_reply(ana.account_id, ana.chart_id, sent.thread_id, body="Two")
    (item,) = services.inbox.items().items
    assert item.unread is True and item.waiting_since == started  # waiting since the first
    assert item.updated_at == clock.now()


def test_staff_starts_a_thread_and_lists_per_chart(
    services: Services, ana: Client, ben: Client, clock: FrozenClock
) -> None:
    sent = services.messages.staff_start(
        "C-1001", subject="Your forms", body="Please bring your insurance card."
    )
    assert sent.started and sent.thread_state is ThreadState.ANSWERED
    assert services.inbox.items().total == 0  # nothing waits for the desk

    clock.advance(minutes=1)
    services.messages.client_start(
        ana.account_id, ana.chart_id, audience="clinical", subject="Later", body="x"
    )
    chart_page = services.messages.chart_threads("C-1001")
    assert [t.subject for t in chart_page.threads] == ["Later", "Your forms"]
    assert chart_page.unread == 1  # unread by the practice: the client's new thread
    assert services.messages.chart_threads("C-2002").total == 0
    with pytest.raises(NotFound):
        services.messages.chart_threads("NOPE")


def test_another_charts_thread_is_not_found_for_every_client_action(
    services: Services, ana: Client, ben: Client
) -> None:
    theirs = services.messages.client_start(
        ben.account_id, ben.chart_id, audience=None, subject="Private", body="Ben's words"
    )
    for action in (
        lambda: services.messages.client_thread(ana.account_id, ana.chart_id, theirs.thread_id),
        lambda: services.messages.client_reply(
            ana.account_id, ana.chart_id, theirs.thread_id, body="hijack"
        ),
        lambda: services.messages.client_withdraw(ana.account_id, ana.chart_id, theirs.thread_id),
        lambda: services.messages.client_thread(ana.account_id, ana.chart_id, 999_999),
        lambda: services.messages.client_thread(ana.account_id, ana.chart_id, 10**12),
        lambda: services.messages.client_thread(ana.account_id, ana.chart_id, -1),
    ):
        with pytest.raises(NotFound) as refused:
            action()
        assert str(refused.value) == "No such message thread."
    # An account paired with another chart's id (never from a real session) is refused too.
    with pytest.raises(NotFound):
        services.messages.client_threads(ana.account_id, ben.chart_id)
    assert services.messages.client_threads(ana.account_id, ana.chart_id).total == 0
    view = services.messages.staff_thread(theirs.thread_id)
    assert [m.body for m in view.messages] == ["Ben's words"]  # nothing was added


def test_views_sends_and_replies_are_audited_without_text(services: Services, ana: Client) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience="billing", subject="Secret subject",
        body="Secret body", client_address="203.0.113.9",
    )  # fmt: skip
    services.messages.staff_thread(sent.thread_id)
    services.messages.staff_reply(sent.thread_id, body="Secret reply")
    services.messages.client_thread(ana.account_id, ana.chart_id, sent.thread_id)
    t = sent.thread_id
    client = f"client:{ana.account_id}"
    assert audit_actions(services) == [
        (client, "message thread started", f"thread {t}, audience billing"),
        ("alice", "message thread viewed", f"thread {t}"),
        ("alice", "message reply sent", f"thread {t}"),
        (client, "message thread viewed", f"thread {t}"),
    ]
    text = repr(services.audit.audit(limit=100))
    assert "Secret" not in text


def test_a_long_thread_pages_from_the_newest(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience=None, subject="Long", body="message 0"
    )
    for number in range(1, 120):
        clock.advance(seconds=1)
        if number % 2:
            services.messages.staff_reply(sent.thread_id, body=f"message {number}")
        else:
            services.messages.client_reply(
                ana.account_id, ana.chart_id, sent.thread_id, body=f"message {number}"
            )
    newest = services.messages.client_thread(
        ana.account_id, ana.chart_id, sent.thread_id, per_page=50
    )
    assert (newest.page, newest.pages, newest.total) == (3, 3, 120)
    assert [m.body for m in newest.messages] == [f"message {n}" for n in range(100, 120)]
    first = services.messages.staff_thread(sent.thread_id, page=1, per_page=50)
    assert [m.body for m in first.messages][:2] == ["message 0", "message 1"]
    assert first.thread.messages == 120
    assert clock.now() - first.thread.created_at == timedelta(seconds=119)


def test_a_new_owner_does_not_read_the_earlier_owners_threads(
    services: Services, ana: Client
) -> None:
    """Threads belong to the account that owned portal access: when a guardian takes the
    chart's access over, the client's own threads stay with the desk, not with them."""
    earlier = services.messages.client_start(
        ana.account_id, ana.chart_id, audience=None, subject="Mine", body="Private to Ana"
    )
    services.invitations.change_owner(
        "C-1001",
        new_contact=ContactInput("Maria Lopez", "Guardian", "maria@example.com"),
        invite=True,
    )
    assert register_chart(services, "C-1001").state == "registered"
    with services.db.read() as session:
        maria = session.exec(
            select(PortalAccount).where(PortalAccount.email == "maria@example.com")
        ).one()
    assert maria.id is not None and maria.id != ana.account_id
    assert services.messages.client_threads(maria.id, ana.chart_id).total == 0
    with pytest.raises(NotFound):
        services.messages.client_thread(maria.id, ana.chart_id, earlier.thread_id)
    assert services.messages.chart_threads("C-1001").total == 1  # the desk keeps it
    with pytest.raises(MessageRefused):  # Ana's access ended with the change
        services.messages.client_threads(ana.account_id, ana.chart_id)
