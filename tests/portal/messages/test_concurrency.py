"""A withdrawal and the desk opening the thread at the same moment (threads behind a
barrier, SQLite and PostgreSQL): either the desk saw the message and the withdrawal is
refused, or the withdrawal came first and the desk sees only that something was withdrawn —
never both. Two replies at once leave one open inbox item."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from frontdesk.core.clock import FrozenClock
from frontdesk.portal.message_results import MessageRefused, Refusal
from frontdesk.services import Services

from .conftest import Client

ROUNDS = 8


def _together(*calls: Any) -> list[Any]:
    """Run the calls at once (behind a barrier); each one's result or exception."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> Any:
        barrier.wait(timeout=30)
        try:
            return call()
        except MessageRefused as refused:
            return refused

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_withdraw_and_a_desk_read_never_both_win(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    outcomes = set()
    for n in range(ROUNDS):
        clock.advance(minutes=1)
        sent = services.messages.client_start(
            ana.account_id, ana.chart_id, audience=None, subject=f"r{n}", body="secret"
        )
        thread_id = sent.thread_id
        withdraw, view = _together(
            partial(services.messages.client_withdraw, ana.account_id, ana.chart_id, thread_id),
            partial(services.messages.staff_thread, thread_id),
        )
        (message,) = view.messages
        if isinstance(withdraw, MessageRefused):
            assert withdraw.reason is Refusal.ALREADY_READ
            assert message.body == "secret" and not message.withdrawn
            outcomes.add("read first")
        else:
            assert message.withdrawn and message.body == ""
            outcomes.add("withdrawn first")
    assert outcomes  # (which order wins each round is up to the database)


def test_two_replies_at_once_leave_one_open_item(
    services: Services, ana: Client, clock: FrozenClock
) -> None:
    sent = services.messages.client_start(
        ana.account_id, ana.chart_id, audience=None, subject="s", body="b"
    )
    for _ in range(ROUNDS):
        clock.advance(minutes=1)
        services.messages.staff_reply(sent.thread_id, body="answer")
        _together(
            *(
                lambda: services.messages.client_reply(
                    ana.account_id, ana.chart_id, sent.thread_id, body="more"
                )
                for _ in range(3)
            )
        )
        assert services.inbox.items().total == 1
    assert services.messages.thread_summary(sent.thread_id).messages == 1 + ROUNDS * 4
