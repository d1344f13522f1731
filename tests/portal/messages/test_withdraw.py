"""A client may withdraw their own last message while no one at the practice has read it
(SQLite and PostgreSQL): its text is erased, the inbox follows, the desk sees that something
was withdrawn, and every refusal leaves everything as it was."""

from __future__ import annotations

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.portal.message_results import MessageRefused, Refusal
from frontdesk.services import Services
from store.models import InboxCloseReason, InboxState, ThreadState

from .conftest import Client, audit_actions


def _start(services: Services, ana: Client, body: str = "Oops, wrong chart") -> int:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience=None, subject="Hello", body=body
    )
    return sent.thread_id


def _refused(services: Services, ana: Client, thread_id: int, **kwargs: int) -> Refusal:
    with pytest.raises(MessageRefused) as refused:
        services.messages.client_withdraw(ana.account_id, ana.chart_id, thread_id, **kwargs)
    return refused.value.reason


def test_withdrawing_the_only_message_closes_the_item_and_erases_the_text(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    thread_id = _start(services, ana)
    view = services.messages.client_thread(ana.account_id, ana.chart_id, thread_id)
    assert view.withdrawable_id == view.messages[0].id
    clock.advance(minutes=2)
    done = services.messages.client_withdraw(
        ana.account_id, ana.chart_id, thread_id, message_id=view.messages[0].id,
        client_address="203.0.113.9",
    )  # fmt: skip
    assert (done.thread_state, done.inbox_closed) == (ThreadState.CLOSED, True)
    assert services.inbox.items().total == 0
    (closed,) = services.inbox.items(state=InboxState.DONE).items
    assert closed.close_reason is InboxCloseReason.WITHDRAWN

    staff = services.messages.staff_thread(thread_id)
    (message,) = staff.messages
    assert (message.withdrawn, message.body, message.withdrawn_at) == (True, "", clock.now())
    assert staff.thread.messages == 0
    # Nothing the client wrote is left: the subject (in the inbox too) is gone as well.
    assert (staff.thread.subject, staff.thread.withdrawn) == ("", True)
    assert services.inbox.items(state=InboxState.DONE).items[0].subject == ""
    assert ("message withdrawn") in [a for _, a, _ in audit_actions(services)]
    assert "wrong chart" not in repr(services.audit.audit(limit=50))
    # Nothing left to withdraw.
    assert _refused(services, ana, thread_id) is Refusal.NOTHING_TO_WITHDRAW


def test_a_practice_read_after_the_message_refuses_it(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    thread_id = _start(services, ana)
    clock.advance(minutes=1)
    services.messages.staff_thread(thread_id)  # opened at the desk (TUI or messages show)
    assert _refused(services, ana, thread_id) is Refusal.ALREADY_READ
    view = services.messages.client_thread(ana.account_id, ana.chart_id, thread_id)
    assert view.withdrawable_id is None
    assert view.messages[0].body == "Oops, wrong chart"
    assert services.inbox.items().total == 1  # still waiting for an answer


def test_a_read_at_the_same_instant_counts_as_read(services: Services, ana: Client) -> None:
    thread_id = _start(services, ana)
    services.messages.staff_thread(thread_id)  # the frozen clock has not moved
    assert _refused(services, ana, thread_id) is Refusal.ALREADY_READ


def test_only_the_last_message_and_a_read_earlier_one_does_not_count(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    thread_id = _start(services, ana, body="first")
    first_at = clock.now()
    clock.advance(minutes=1)
    services.messages.staff_thread(thread_id)  # the practice read the first
    clock.advance(minutes=1)
    services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body="second")
    view = services.messages.client_thread(ana.account_id, ana.chart_id, thread_id)
    first, second = view.messages
    assert view.withdrawable_id == second.id
    assert _refused(services, ana, thread_id, message_id=first.id) is Refusal.NOT_LAST

    done = services.messages.client_withdraw(
        ana.account_id, ana.chart_id, thread_id, message_id=second.id
    )
    # The first message still waits for an answer: the item stays open, waiting since it.
    assert (done.thread_state, done.inbox_closed) == (ThreadState.WAITING, False)
    (item,) = services.inbox.items().items
    assert item.waiting_since == first_at
    # ... and the first one was read, so it cannot be withdrawn now.
    assert _refused(services, ana, thread_id) is Refusal.ALREADY_READ


def test_after_a_staff_reply_the_clients_message_was_read(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    thread_id = _start(services, ana)
    clock.advance(minutes=1)
    services.messages.staff_reply(thread_id, body="Got it")
    assert _refused(services, ana, thread_id) is Refusal.ALREADY_READ


def test_nothing_to_withdraw_in_a_thread_the_practice_started(
    services: Services, ana: Client
) -> None:
    sent = services.messages.staff_start("C-1001", subject="Forms", body="Bring them")
    assert _refused(services, ana, sent.thread_id) is Refusal.NOTHING_TO_WITHDRAW
    view = services.messages.client_thread(ana.account_id, ana.chart_id, sent.thread_id)
    assert view.withdrawable_id is None


def test_withdrawn_after_an_answer_leaves_the_thread_answered(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    thread_id = _start(services, ana)
    clock.advance(minutes=1)
    services.messages.staff_reply(thread_id, body="Answer")
    clock.advance(minutes=1)
    services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body="Never mind")
    assert services.inbox.items().total == 1
    done = services.messages.client_withdraw(ana.account_id, ana.chart_id, thread_id)
    assert (done.thread_state, done.inbox_closed) == (ThreadState.ANSWERED, True)
    assert services.inbox.items().total == 0
    summary = services.messages.thread_summary(thread_id)
    assert (summary.messages, summary.unread_by_practice) == (2, False)
