"""Bounces read back, end to end: invitations go out through a real SMTP server (aiosmtpd) with
a tagged envelope sender; the relay's notifications land in a real IMAP mailbox (Dovecot);
`frontdesk outbox bounces` matches them, marks the emails bounced and leaves the rest."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.mail.bounces import BouncesNotConfigured
from frontdesk.mail.imap import IMAP_SERVICE
from frontdesk.services import Services
from store.models import BounceNotice, OutboxEmail
from tests.factories import MAIL_FROM, delivery_for, outbox_rows
from tests.mail.bounces.conftest import BOUNCE_ADDRESS
from tests.mail.bounces.dsns import exchange_ndr, ordinary_email, postfix_dsn
from tests.mail.conftest import MemoryKeyring, Received, StartSmtp
from tests.mail.dovecot import Dovecot
from tests.mail.test_cli_mail import Run

TYPO, NOT_FOUND, SLOW = "C-3001", "C-3002", "C-3003"
CHARTS = (
    ChartInput(TYPO, "Ana", "O'Brien", "1985-03-04", "ana.obrien@gmial.example"),
    ChartInput(NOT_FOUND, "José", "García", "1979-11-02", "jose.garcia@contoso.example"),
    ChartInput(SLOW, "Chloé", "Lefèvre", "2009-06-17", "chloe@slow.example"),
)
EMAILS = {c.chart_number: c.email for c in CHARTS}


@dataclass
class Sent:
    services: Services
    settings: Settings
    received: dict[str, Received]  # chart number -> what the mail server got
    rows: dict[str, OutboxEmail]  # chart number -> its outbox row

    def run(self) -> Run:
        return Run(self.services, self.settings)


@pytest.fixture
def sent(
    practice_ready: Services,
    start_smtp: StartSmtp,
    mail_settings: Callable[..., Settings],
    bounce_settings: Callable[..., Settings],
    clock: FrozenClock,
) -> Sent:
    """Three invitations handed to the mail server, with the bounce mailbox configured."""
    server = start_smtp()
    settings = bounce_settings(mail_settings(server.port))
    services = practice_ready.at(clock, settings=settings)
    for chart in CHARTS:
        services.charts.add_chart(chart)
        services.invitations.send_invitation(chart.chart_number)
    report = delivery_for(services, settings).deliver_due()
    assert report.sent == 3
    by_address = {m.rcpt_tos[0]: m for m in server.messages}
    rows = {r.to_address: r for r in outbox_rows(services)}
    return Sent(
        services,
        settings,
        {number: by_address[address] for number, address in EMAILS.items()},
        {number: rows[address] for number, address in EMAILS.items()},
    )


def _fill_mailbox(sent: Sent, dovecot: Dovecot, user: str, clock: FrozenClock) -> None:
    """What a relay sends back: a Postfix bounce to the tagged envelope sender, an Exchange
    NDR to the bare bounce address (only its Message-ID names the email), a delay warning,
    a person's reply and a bounce of a message FrontDesk never sent."""
    now = clock.now()
    typo, not_found, slow = (sent.received[n] for n in (TYPO, NOT_FOUND, SLOW))
    dovecot.append(
        user,
        postfix_dsn(typo.raw, to=typo.mail_from, recipient=EMAILS[TYPO], when=now),
    )
    dovecot.append(
        user,
        exchange_ndr(not_found.raw, to=BOUNCE_ADDRESS, recipient=EMAILS[NOT_FOUND], when=now),
    )
    dovecot.append(
        user,
        postfix_dsn(
            slow.raw,
            to=slow.mail_from,
            recipient=EMAILS[SLOW],
            when=now,
            status="4.4.1",
            action="delayed",
            diagnostic="X-Postfix; connect to mx.slow.example[198.51.100.7]:25: timed out",
        ),
    )
    dovecot.append(user, ordinary_email(to=MAIL_FROM, when=now))
    stranger = (
        b"From: someone@cedar.example\r\nTo: vendor@example.net\r\nSubject: Order\r\n"
        b"Message-ID: <never-sent-by-frontdesk@cedar.example>\r\n\r\nHello\r\n"
    )
    dovecot.append(
        user,
        postfix_dsn(
            stranger,
            to="bounces+00ff00ff00ff00ff@cedar.example",
            recipient="vendor@example.net",
            when=now,
        ),
    )


def test_envelope_sender_carries_a_random_tag_per_email(sent: Sent) -> None:
    tags = set()
    for number, received in sent.received.items():
        row = sent.rows[number]
        assert row.bounce_tag and re.fullmatch(r"[0-9a-f]{16}", row.bounce_tag)
        assert received.mail_from == f"bounces+{row.bounce_tag}@cedar.example"
        assert received.message["From"].addresses[0].addr_spec == MAIL_FROM  # header unchanged
        assert received.message_id == row.message_id
        assert row.bounce_tag not in received.raw.decode()  # only in the envelope
        tags.add(row.bounce_tag)
    assert len(tags) == 3


def test_envelope_sender_defaults_to_the_from_address(
    invited: Services, start_smtp: StartSmtp, mail_settings: Callable[..., Settings]
) -> None:
    server = start_smtp()
    delivery_for(invited, mail_settings(server.port)).deliver_due()
    [row] = outbox_rows(invited)
    [received] = server.messages
    local, _, domain = MAIL_FROM.partition("@")
    assert received.mail_from == f"{local}+{row.bounce_tag}@{domain}"


def test_outbox_bounces_matches_by_tag_and_message_id(
    sent: Sent, dovecot: Dovecot, bounce_user: str, clock: FrozenClock
) -> None:
    _fill_mailbox(sent, dovecot, bounce_user, clock)
    run = sent.run()
    assert run("outbox", "bounces") == 0, run.err
    assert run.out.splitlines()[-2:] == [
        "2 matched, 1 left unmatched.",
        "Unmatched notifications stay unread in the bounce mailbox (INBOX) for a person to read.",
    ]
    assert "address does not exist" in run.out and "C-3001" in run.out and "C-3002" in run.out

    rows = {r.to_address: r for r in outbox_rows(sent.services)}
    typo, not_found, slow = (rows[EMAILS[n]] for n in (TYPO, NOT_FOUND, SLOW))
    assert (typo.state, typo.bounce_status) == ("bounced", "5.1.1")
    assert typo.last_error == (
        "550 5.1.1 <ana.obrien@gmial.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    assert (not_found.state, not_found.bounce_status) == ("bounced", "5.1.10")
    assert not_found.last_error == (
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
    )
    assert slow.state == "sent"  # a delay warning is not a bounce
    with sent.services.db.read() as session:
        notices = {n.outbox_id: n for n in session.exec(select(BounceNotice)).all()}
    assert notices[typo.id].outcome == "matched" and notices[not_found.id].outcome == "matched"
    assert notices[slow.id].outcome == "notice"

    # Nothing was deleted; handled notifications are \Seen, the others untouched.
    stored = dovecot.messages(bounce_user)
    assert len(stored) == 5
    seen = {m.uid: m.seen for m in stored}
    subjects = {m.uid: _subject(m.raw) for m in stored}
    assert [subjects[u] for u in sorted(seen) if seen[u]] == [
        "Undelivered Mail Returned to Sender",
        "Undeliverable: " + _subject(sent.received[NOT_FOUND].raw),
        "Delayed Mail (still being retried)",
    ]
    assert [subjects[u] for u in sorted(seen) if not seen[u]] == [
        "Re: Your Client Portal invitation",
        "Undelivered Mail Returned to Sender",
    ]

    # A second run counts nothing twice.
    assert run("outbox", "bounces", "--json") == 0, run.err
    assert json.loads(run.out) == {
        "matched": 0,
        "unmatched": 1,
        "notices": 0,
        "already_read": 3,
        "bounced": [],
    }
    assert len(dovecot.messages(bounce_user)) == 5


def test_bounce_shows_in_invites_list_chart_and_history(
    sent: Sent, dovecot: Dovecot, bounce_user: str, clock: FrozenClock
) -> None:
    _fill_mailbox(sent, dovecot, bounce_user, clock)
    run = sent.run()
    assert run("outbox", "bounces", "--json") == 0, run.err
    report = json.loads(run.out)
    assert (report["matched"], report["unmatched"], report["notices"]) == (2, 1, 1)
    assert {(b["chart_number"], b["status"], b["matched_by"]) for b in report["bounced"]} == {
        (TYPO, "5.1.1", "tag"),
        (NOT_FOUND, "5.1.10", "message_id"),
    }

    assert run("invites", "list", "--json") == 0
    invites = {i["chart_number"]: i for i in json.loads(run.out)}
    assert invites[TYPO]["delivery"] == "bounced"
    assert invites[TYPO]["delivery_detail"].startswith("550 5.1.1 <ana.obrien@gmial.example>")
    assert invites[NOT_FOUND]["delivery"] == "bounced"
    assert invites[SLOW]["delivery"] == "sent" and invites[SLOW]["delivery_detail"] is None

    assert run("charts", "show", TYPO) == 0
    assert "Not delivered: address does not exist" in run.out
    assert "invitation delivery bounced" in run.out
    assert run("outbox", "list") == 0  # the list says it, and below it why, with the words
    assert re.search(r" C-3001 +Invitation +ana\.obrien@gmial\.example +Not delivered ", run.out)
    assert re.search(r"\n *\d+ +1  address does not exist: 550 5\.1\.1 <ana\.obrien@", run.out)

    detail = sent.services.views.chart(TYPO)
    assert detail.delivery is not None
    assert detail.delivery.label == "Not delivered: address does not exist"
    [event] = [
        e for e in sent.services.history.history(TYPO) if e.action == "invitation delivery bounced"
    ]
    assert event.outcome == "bounced" and event.actor == "system:mail"
    assert "ana.obrien@gmial.example" not in event.detail  # masked in the audit trail
    assert "550 5.1.1" in event.detail

    # The worklist filter, in the CLI and the search the browser uses.
    for command in ("invites", "charts"):
        assert run(command, "list", "--status", "bounced", "--json") == 0
        assert sorted(c["chart_number"] for c in json.loads(run.out)) == [TYPO, NOT_FOUND]
    found = sent.services.search.search_charts(status="bounced")
    assert [c.chart_number for c in found] == [NOT_FOUND, TYPO]  # by last name
    assert sent.services.search.count_charts("garc", status="bounced") == 1

    # A resend starts over: the new invitation has not bounced.
    clock.set(clock.now() + timedelta(hours=2))
    sent.services.invitations.resend_invitation(TYPO)
    assert [c.chart_number for c in sent.services.search.search_charts(status="bounced")] == [
        NOT_FOUND
    ]


def test_starttls_and_keyring_password(
    sent: Sent,
    dovecot: Dovecot,
    bounce_user: str,
    clock: FrozenClock,
    use_keyring: Callable[[Any], None],
) -> None:
    from dataclasses import replace

    memory = MemoryKeyring()
    memory.set_password(IMAP_SERVICE, bounce_user, "imap-Test-pw-5150")
    use_keyring(memory)
    settings = replace(
        sent.settings,
        imap_security="starttls",
        imap_port=dovecot.starttls_port,
        imap_password=None,
    )
    _fill_mailbox(sent, dovecot, bounce_user, clock)
    report = sent.services.at(clock, settings=settings).bounces().read()
    assert report.summary() == "2 matched, 1 left unmatched"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"imap_password": "wrong"}, "refused the IMAP login"),
        ({"imap_ca_file": None}, "certificate not trusted"),
        ({"imap_security": "starttls"}, "set FRONTDESK_IMAP_SECURITY=tls"),  # the TLS port
        ({"imap_folder": "Bounces"}, "has no folder 'Bounces'"),
        ({"imap_port": "STARTTLS_PORT"}, "set FRONTDESK_IMAP_SECURITY=starttls"),
        ({"imap_host": None}, "FRONTDESK_IMAP_HOST is not set"),
    ],
)
def test_setup_problems_are_one_line_and_change_nothing(
    sent: Sent,
    dovecot: Dovecot,
    bounce_user: str,
    clock: FrozenClock,
    changes: dict[str, Any],
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    monkeypatch.setattr("frontdesk.mail.imap.GREETING_TIMEOUT", 0.5)
    if changes.get("imap_port") == "STARTTLS_PORT":  # implicit TLS to the plaintext port
        changes = {**changes, "imap_port": dovecot.starttls_port}
    _fill_mailbox(sent, dovecot, bounce_user, clock)
    run = Run(sent.services, replace(sent.settings, **changes))
    assert run("outbox", "bounces") == 1
    assert expected in run.err and run.err.count("\n") == 1
    assert "imap-Test-pw-5150" not in run.err
    assert {r.state for r in outbox_rows(sent.services)} == {"sent"}
    assert not any(m.seen for m in dovecot.messages(bounce_user))


def test_the_reader_raises_one_error_type(sent: Sent) -> None:
    from dataclasses import replace

    settings = replace(sent.settings, imap_username="nobody-here", imap_password=None)
    with pytest.raises(BouncesNotConfigured, match="IMAP password not set"):
        sent.services.at(sent.services.clock, settings=settings).bounces().read()


def _subject(raw: bytes) -> str:
    match = re.search(rb"^Subject: (.*)$", raw, re.MULTILINE)
    assert match
    return match.group(1).decode().strip()


def test_serve_reads_the_bounce_mailbox_in_the_background(
    sent: Sent, dovecot: Dovecot, bounce_user: str, clock: FrozenClock
) -> None:
    from dataclasses import replace

    unset = sent.services.at(sent.services.clock, settings=replace(sent.settings, imap_host=None))
    assert unset.bounce_loop() is None
    _fill_mailbox(sent, dovecot, bounce_user, clock)
    loop = sent.services.bounce_loop(interval=60)
    assert loop is not None
    loop.start()
    try:
        assert loop.round_done.wait(30)
    finally:
        loop.stop()
    states = {r.to_address: r.state for r in outbox_rows(sent.services)}
    assert [states[EMAILS[n]] for n in (TYPO, NOT_FOUND, SLOW)] == ["bounced", "bounced", "sent"]


def test_without_tags_the_envelope_is_the_bare_address_and_message_id_matches(
    invited: Services,
    start_smtp: StartSmtp,
    mail_settings: Callable[..., Settings],
    bounce_settings: Callable[..., Settings],
    dovecot: Dovecot,
    bounce_user: str,
    clock: FrozenClock,
) -> None:
    """FRONTDESK_BOUNCE_TAGS=off, for a relay that refuses any sender but the login's own."""
    from frontdesk.core.config import load_settings

    assert load_settings(env={"FRONTDESK_BOUNCE_TAGS": "off"}).bounce_tags is False
    server = start_smtp()
    settings = bounce_settings(mail_settings(server.port), bounce_tags=False)
    delivery_for(invited, settings).deliver_due()
    [received] = server.messages
    assert received.mail_from == BOUNCE_ADDRESS
    dovecot.append(
        bounce_user,
        postfix_dsn(
            received.raw, to=BOUNCE_ADDRESS, recipient="alex@example.com", when=clock.now()
        ),
    )
    report = invited.at(clock, settings=settings).bounces().read()
    assert [(b.matched_by, b.status) for b in report.bounced] == [("message_id", "5.1.1")]
