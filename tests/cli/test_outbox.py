"""`frontdesk outbox list` as staff read it in an 80-column terminal: every kind of email the
product sends, long addresses and each delivery state (through a real SMTP server that refuses
one address and greylists another), every word whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from tests.cli.conftest import Cli, add_chart, set_up_practice
from tests.factories import register_chart, services_for
from tests.mail.conftest import Sink, StartSmtp
from tests.portal.conftest import client_of

LONG = "christopher.montgomery-whitfield@riverside-family-services.example.org"
LONGER = "maximiliana.alvarez-oyelaran@cedar-counseling-clients.example.net"
SLOW = "noah.park@slow-relay.example.com"
REFUSED = f"550 5.1.1 <{LONG}>: Recipient address rejected: User unknown"
GREYLISTED = "451 4.7.1 Greylisted, please try again later"
KIND_WORDS = {
    "invitation": "Invitation",
    "resend": "Resent invite",
    "registration_complete": "Registered",
    "password_reset": "Reset link",
    "forms_waiting": "Forms waiting",
    "message_notice": "New message",
    "practice_message_notice": "Client wrote",
    "access_restored": "Reactivated",
}
STATE_WORDS = {
    "queued": "Queued",
    "sent": "Sent",
    "retrying": "Retrying",
    "failed": "Not delivered",
    "cancelled": "Cancelled",
}
ROW_START = re.compile(r"^ *(\d+) ")  # a row's first line begins with its id (right-aligned)


@dataclass
class Picky(Sink):
    """A mail server that refuses LONG for good and greylists SLOW every time."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address == LONG:
            return REFUSED
        if address == SLOW:
            return GREYLISTED
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.fixture
def desk(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    """The same store's services, for what a client does on the web."""
    built = services_for(sqlite_url, clock=clock)
    yield built
    built.close()


def _fill_the_outbox(lite: Cli, desk: Services, clock: FrozenClock, port: int) -> None:
    set_up_practice(lite)
    lite.ok("practice", "set", "--message-notify-email", "front.desk@cedar-counseling.example")
    add_chart(lite, "C-1001", email=LONG)
    add_chart(lite, "C-1002", last="Okafor", email="ana@example.com")
    add_chart(lite, "C-1003", last="Alvarez", email=LONGER)
    add_chart(lite, "C-1004", last="Park", email=SLOW)
    for chart in ("C-1001", "C-1002", "C-1003", "C-1004"):
        lite.ok("invites", "send", chart, "--yes")
    register_chart(desk, "C-1002")  # before its invitation goes out: it is cancelled
    for name, value in {"HOST": "127.0.0.1", "PORT": str(port), "SECURITY": "none"}.items():
        lite.mp.setenv(f"FRONTDESK_SMTP_{name}", value)
    lite("outbox", "deliver")  # C-1001's is refused, C-1004's greylisted, the others sent
    clock.advance(minutes=2)
    lite.ok("invites", "resend", "C-1003", "--yes")
    lite.ok("signin", "reset", "C-1002", "--yes")
    lite.ok("tasks", "assign", "C-1002", "--form", "phq-9")
    lite.ok("messages", "send", "C-1002", "--subject", "Hello", "--body", "From us")
    clock.advance(minutes=10)
    client = client_of(desk, "C-1002")
    desk.messages.client_start(
        client.account_id, client.chart_id, audience="billing", subject="Bill", body="Why?"
    )
    lite("outbox", "deliver")  # the client's notice is due now: these all go out
    lite.ok("invites", "revoke", "C-1002", "--yes")
    lite.ok("invites", "activate", "C-1002", "--yes")  # "access restored", queued


def _rows(table: str) -> dict[int, list[str]]:
    """The lines of each row of the list (up to the blank line before the reasons), by id."""
    rows: dict[int, list[str]] = {}
    current: list[str] = []
    for line in table.split("\n\n")[0].splitlines()[1:]:
        start = ROW_START.match(line)
        if start:
            current = rows.setdefault(int(start.group(1)), [])
        current.append(line)
    return rows


def test_outbox_list_reads_well_at_80_columns(
    lite: Cli, desk: Services, clock: FrozenClock, start_smtp: StartSmtp
) -> None:
    server = start_smtp(sink=Picky())
    _fill_the_outbox(lite, desk, clock, server.port)
    items: list[dict[str, Any]] = lite("outbox", "list", "--json").json()
    assert {i["kind"] for i in items} == set(KIND_WORDS)  # --json keeps the stored kinds
    assert {i["state"] for i in items} == set(STATE_WORDS)

    lite.mp.setenv("COLUMNS", "80")
    out = lite.ok("outbox", "list").out
    assert max(len(line) for line in out.splitlines()) <= 80
    header = out.splitlines()[0]
    assert header.split() == ["ID", "Chart", "Kind", "To", "State", "When"]
    columns = {
        name: slice(header.index(name), header.index(after) if after else None)
        for name, after in zip(
            ("Chart", "Kind", "To", "State", "When"),
            ("Kind", "To", "State", "When", None),
            strict=True,
        )
    }
    rows = _rows(out)
    assert sorted(rows) == sorted(i["id"] for i in items)
    for item in items:
        lines = rows[item["id"]]

        def cell(name: str, lines: list[str] = lines) -> list[str]:
            return [text for line in lines if (text := line[columns[name]].strip())]

        # Each cell whole on the row's first line: chart, kind, state.
        assert cell("Chart") == ([item["chart_number"]] if item["chart_number"] else [])
        assert cell("Kind") == [KIND_WORDS[item["kind"]]], lines
        assert cell("State") == [STATE_WORDS[item["state"]]], lines
        # The time breaks only after the day: "Thu Nov 26," over "10:12 AM".
        day, time = cell("When")
        assert day == "Thu Nov 26," and re.fullmatch(r"\d{1,2}:\d\d [AP]M", time), lines
        # An address longer than its column is folded, never cut: all of it is there; one
        # that fits stays on one line.
        shown = cell("To")
        assert "".join(shown) == item["to"], lines
        if len(item["to"]) <= columns["To"].stop - columns["To"].start - 2:
            assert shown == [item["to"]], lines
    assert rows[items[0]["id"]][0].split()[1:4] == ["C-1002", "Reactivated", "ana@example.com"]

    # Why the emails in trouble are not delivered, below the list, with their tries.
    reasons = out.split("\n\n")[1].splitlines()
    assert reasons[0].split() == ["ID", "Tries", "Why", "it", "is", "not", "delivered"]
    troubled = [i for i in items if i["state"] in ("failed", "retrying")]
    assert [int(line.split()[0]) for line in reasons[1:] if ROW_START.match(line)] == [
        i["id"] for i in troubled
    ]
    retrying = next(i for i in items if i["state"] == "retrying")
    said = rf" *{retrying['id']} +{retrying['attempts']}  {re.escape(GREYLISTED)} *"
    assert any(re.fullmatch(said, line) for line in reasons), reasons
    assert any("Recipient address rejected: User unknown" in line for line in reasons)

    # In a wide terminal each email is one line.
    lite.mp.setenv("COLUMNS", "200")
    wide = lite.ok("outbox", "list").out.split("\n\n")[0].splitlines()
    assert len(wide) == 1 + len(items)
    assert all(re.search(r"Thu Nov 26, \d{1,2}:\d\d [AP]M$", line) for line in wide[1:])
