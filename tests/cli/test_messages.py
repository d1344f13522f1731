"""`frontdesk inbox`, `frontdesk messages ...` and the practice's messaging settings (issue
13), on SQLite and PostgreSQL: the --json shapes, literal text, one-line errors, audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from frontdesk.core.clock import FrozenClock
from frontdesk.portal.message_results import MessageInvalid, MessageRefused, Refusal
from frontdesk.services import Services
from store.models import PortalMessage
from tests.factories import outbox_rows
from tests.portal.messages.conftest import Client, registered_client

from .conftest import Cli, set_up_practice

ANA_CHART = "C-1001"


@pytest.fixture
def ana(cli: Cli, services: Services) -> Client:
    set_up_practice(cli)
    from tests.factories import ANA_OBRIEN

    return registered_client(services, ANA_OBRIEN)


def _client_writes(services: Services, ana: Client, **fields: str) -> int:
    values = {"audience": "billing", "subject": "Invoice", "body": "Why twice?"}
    values.update(fields)
    return services.messages.client_start(ana.account_id, ana.chart_id, **values).thread_id


def test_practice_messaging_settings(cli: Cli) -> None:
    set_up_practice(cli)
    shown = cli("practice", "show", "--json").json()
    assert (shown["messaging"], shown["message_promise"], shown["message_notify_email"]) == (
        "on",
        None,
        None,
    )
    assert shown["message_audiences"] == ["front_desk", "billing", "clinical"]
    done = cli.ok(
        "practice", "set", "--messaging", "reply-only", "--message-promise",
        "within one business day", "--message-audiences", "billing,front_desk",
        "--message-notify-email", "Desk@Cedar.example",
    )  # fmt: skip
    assert done.out.endswith("; portal messages reply-only.\n")
    shown = cli("practice", "show", "--json").json()
    assert shown["messaging"] == "reply-only"
    assert shown["message_promise"] == "within one business day"
    assert shown["message_audiences"] == ["billing", "front_desk"]
    assert shown["message_notify_email"] == "Desk@cedar.example"
    text = cli.ok("practice", "show").out
    assert "within one business day" in text and "billing, front_desk" in text

    assert cli.fails("practice", "set", "--name", "Renamed", "--message-audiences", "hr") == (
        "frontdesk: error: --message-audiences: Unknown message audience 'hr'; use "
        "front_desk, billing, clinical."
    )
    assert cli("practice", "show", "--json").json()["name"] == "Cedar Counseling"  # nothing
    assert cli.fails("practice", "set", "--message-notify-email", "not-an-address").startswith(
        "frontdesk: error: --message-notify-email: "
    )
    assert cli("practice", "set", "--messaging", "sometimes").code == 2
    cli.ok("practice", "set", "--message-notify-email", "", "--message-promise", "")
    shown = cli("practice", "show", "--json").json()
    assert (shown["message_notify_email"], shown["message_promise"]) == (None, None)
    audit = [r["action"] for r in cli("audit", "--json").json()]
    assert audit.count("messaging settings changed") == 2


def test_inbox_lists_filters_and_closes(
    cli: Cli, services: Services, ana: Client, clock: FrozenClock
) -> None:
    assert cli.ok("inbox").out == "Nothing in the Portal inbox.\n"
    assert cli("inbox", "--json").json() == []
    thread_id = _client_writes(services, ana)
    clock.advance(hours=2, minutes=5)
    (item,) = cli("inbox", "--json").json()
    assert item == {
        "id": item["id"],
        "kind": "message",
        "chart_number": ANA_CHART,
        "client_name": "Ana O'Brien",
        "subject": "Invoice",
        "audience": "billing",
        "state": "open",
        "urgent": False,
        "unread": True,
        "waiting_since": "2026-11-26T15:00:00+00:00",
        "created_at": "2026-11-26T15:00:00+00:00",
        "source_id": thread_id,
        "closed_at": None,
        "close_reason": None,
    }
    table = cli.ok("inbox").out
    assert "Ana O'Brien" in table and "2 h 5 min" in table and "unread" in table
    assert cli("inbox", "--audience", "clinical", "--json").json() == []
    assert len(cli("inbox", "--search", "o'bri", "--json").json()) == 1
    assert cli.ok("inbox", "--kind", "message", "--audience", "billing").out == table

    item_id = str(item["id"])
    assert cli.fails("inbox", "ack", item_id) == (  # only an urgent item is acknowledged
        f"frontdesk: error: Inbox item {item_id} is not urgent: there is nothing to acknowledge."
    )
    assert cli.ok("inbox", "done", item_id).out == (
        f"Inbox item {item_id} (message, chart {ANA_CHART}) marked done.\n"
    )
    assert cli.ok("inbox", "done", item_id).out.endswith("was already done.\n")
    assert cli("inbox", "--json").json() == []
    (closed,) = cli("inbox", "--state", "done", "--json").json()
    assert closed["close_reason"] == "done"
    assert len(cli("inbox", "--state", "all", "--json").json()) == 1
    assert cli.fails("inbox", "done", "999") == "frontdesk: error: No inbox item 999."
    assert cli("inbox", "done", "x").code == 2
    actions = [(r["actor"], r["action"]) for r in cli("audit", "--json").json()]
    assert ("alice", "inbox item done") in actions
    assert ("alice", "inbox item acknowledged") not in actions


def test_messages_list_show_reply_send(
    cli: Cli, services: Services, ana: Client, clock: FrozenClock
) -> None:
    assert (
        cli.ok("messages", "list", ANA_CHART).out == f"No message threads for chart {ANA_CHART}.\n"
    )
    hostile = "[bold red]not markup[/] \x1b[2Jcleared?\nsecond line\n\ttabbed"
    thread_id = _client_writes(services, ana, subject="[link=https://x]", body="Why twice?")
    clock.advance(minutes=1)
    services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body="x")
    with pytest.raises(MessageInvalid):  # the control character is refused at the service
        services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body=hostile)
    literal = hostile.replace("\x1b[2J", "")
    services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body=literal)
    with services.db.write_once() as session:  # one that got into the store some other way
        session.execute(
            sa.update(PortalMessage).where(PortalMessage.body == "x").values(body="x\x1b[2J\x07")
        )

    (listed,) = cli("messages", "list", ANA_CHART, "--json").json()
    assert listed == {
        "id": thread_id,
        "chart_number": ANA_CHART,
        "audience": "billing",
        "subject": "[link=https://x]",
        "state": "waiting",
        "created_by": "client",
        "created_at": "2026-11-26T15:00:00+00:00",
        "unread_by_practice": True,
        "unread_by_client": False,
        "last_activity_at": "2026-11-26T15:01:00+00:00",
        "messages": 3,
    }
    assert "unread" in cli.ok("messages", "list", ANA_CHART).out

    shown = cli.ok("messages", "show", str(thread_id)).out
    assert "[link=https://x]" in shown
    assert "[bold red]not markup[/] cleared?\nsecond line\n" in shown  # literal, lines kept
    assert "Client: Ana O'Brien — Thu Nov 26, 10:00 AM" in shown
    assert "\x1b" not in shown and "\x07" not in shown  # never reaches the terminal
    # Shown at the desk = read by the practice: the client can no longer withdraw.
    with pytest.raises(MessageRefused) as refused:
        services.messages.client_withdraw(ana.account_id, ana.chart_id, thread_id)
    assert refused.value.reason is Refusal.ALREADY_READ
    as_json = cli("messages", "show", str(thread_id), "--json").json()
    assert [m["body"] for m in as_json["messages"]] == ["Why twice?", "x\x1b[2J\x07", literal]
    assert (as_json["page"], as_json["pages"], as_json["total"]) == (1, 1, 3)
    assert as_json["unread_by_practice"] is False

    assert cli.fails("messages", "reply", str(thread_id), "--body", " ") == (
        "frontdesk: error: --body: Message is required."
    )
    done = cli.ok("messages", "reply", str(thread_id), "--body", "Fixed it.\nSorry!")
    assert done.out.startswith(f"Reply sent in thread {thread_id} (chart {ANA_CHART})")
    assert cli("inbox", "--json").json() == []
    assert cli.fails("messages", "show", "999") == "frontdesk: error: No message thread 999."

    sent = cli.ok(
        "messages", "send", ANA_CHART, "--subject", "Forms", "--body", "Bring your card",
        "--audience", "clinical",
    )  # fmt: skip
    assert sent.out.startswith(f"Message sent to chart {ANA_CHART}'s portal account (thread ")
    assert cli.fails("messages", "send", ANA_CHART, "--subject", "x" * 121, "--body", "b") == (
        "frontdesk: error: --subject: Subject is longer than 120 characters."
    )
    assert cli.fails("messages", "send", "NOPE", "--subject", "s", "--body", "b") == (
        "frontdesk: error: No chart with number 'NOPE'."
    )
    threads = cli("messages", "list", ANA_CHART, "--json").json()
    assert [(t["subject"], t["created_by"]) for t in threads] == [
        ("Forms", "staff"),
        ("[link=https://x]", "client"),
    ]
    actions = [r["action"] for r in cli("audit", "--chart", ANA_CHART, "--json").json()]
    assert actions.count("message thread viewed") == 2
    assert "message reply sent" in actions and "message thread started" in actions
    cli.ok("practice", "set", "--messaging", "off")
    assert cli.fails("messages", "reply", str(thread_id), "--body", "b") == (
        "frontdesk: error: Portal messaging is turned off for this practice."
    )


def test_outbox_deliver_queues_the_due_notices(
    cli: Cli, services: Services, ana: Client, clock: FrozenClock
) -> None:
    cli.ok("messages", "send", ANA_CHART, "--subject", "Hello", "--body", "From us")
    cli("outbox", "deliver")
    assert [r for r in outbox_rows(services) if r.kind == "message_notice"] == []
    clock.advance(minutes=10)
    cli("outbox", "deliver")  # no mail server answers here: the notice stays queued
    (notice,) = [r for r in outbox_rows(services) if r.kind == "message_notice"]
    assert notice.to_address == "ana@example.com"


def test_messages_show_a_page_the_thread_does_not_have(
    cli: Cli, services: Services, ana: Client
) -> None:
    """Asking for a page past the last (or 0, or below) is a usage error naming the pages
    there are: the thread is not shown, so it is not marked read and nothing is audited."""
    thread_id = _client_writes(services, ana, body="first")
    for n in range(1, 51):  # 51 messages: two pages of 50
        services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body=f"m{n}")
    for page in ("3", "99", "0", "-1"):
        result = cli("messages", "show", str(thread_id), "--page", page)
        assert (result.code, result.out) == (2, ""), (page, result)
        assert result.err == ("frontdesk: error: This thread has 2 pages: use --page 1 to 2.\n"), (
            page
        )
    (listed,) = cli("messages", "list", ANA_CHART, "--json").json()
    assert listed["unread_by_practice"] is True  # not shown, so not read
    actions = [r["action"] for r in cli("audit", "--chart", ANA_CHART, "--json").json()]
    assert "message thread viewed" not in actions
    assert cli("messages", "show", str(thread_id), "--page", "x").code == 2

    older = cli.ok("messages", "show", str(thread_id), "--page", "1").out
    assert "Page 1 of 2 (51 messages; --page N for others)." in older
    assert "first" in older and "m50" not in older
    assert "m50" in cli.ok("messages", "show", str(thread_id), "--page", "2").out

    one_page = _client_writes(services, ana, subject="Parking")
    assert cli("messages", "show", str(one_page), "--page", "2").err == (
        "frontdesk: error: This thread has 1 page: use --page 1.\n"
    )


def test_a_thread_the_practice_started_is_not_answered(
    cli: Cli, services: Services, ana: Client
) -> None:
    """Nobody asked, so nothing was answered: until the client writes, a thread the practice
    began reads 'Sent by the practice' (the --json state stays the stored 'answered')."""
    cli.ok("messages", "send", ANA_CHART, "--subject", "Forms", "--body", "Bring your card")
    (thread,) = cli("messages", "list", ANA_CHART, "--json").json()
    thread_id = thread["id"]
    assert (thread["state"], thread["created_by"]) == ("answered", "staff")

    def state_shown() -> tuple[str, str]:
        (row,) = [line for line in cli.ok("messages", "list", ANA_CHART).out.splitlines()[1:]]
        header = cli.ok("messages", "show", str(thread_id)).out.splitlines()[0]
        return row, header

    row, header = state_shown()
    assert "Sent by the practice" in row and "Answered" not in row
    assert header.endswith("· Front desk · Sent by the practice, waiting for the client's reply")
    # A second word from the practice before the client writes: still nobody asked.
    cli.ok("messages", "reply", str(thread_id), "--body", "And your insurance card, please.")
    row, header = state_shown()
    assert "Sent by the practice" in row and "Answered" not in row

    services.messages.client_reply(ana.account_id, ana.chart_id, thread_id, body="Will do")
    row, header = state_shown()
    assert "Waiting for the practice" in row and header.endswith("· Waiting for the practice")
    cli.ok("messages", "reply", str(thread_id), "--body", "Thanks!")
    row, header = state_shown()
    assert "Answered" in row and header.endswith("· Front desk · Answered")
    assert cli("messages", "list", ANA_CHART, "--json").json()[0]["state"] == "answered"
