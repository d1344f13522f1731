"""Setup failures pause the outbox; recipient failures fail their email (issue 16).

Against aiosmtpd on 127.0.0.1: every reply code at MAIL FROM, RCPT TO and after DATA, a login
refused (counted once per try at the server), a plaintext server under `tls` and an
implicit-TLS server under `starttls` (named within 10 seconds), a 3-day setup failure that
fails no email and a 3-day recipient deferral that does, and the resume after a probe."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlmodel import select

from frontdesk.core.clock import FrozenClock, as_utc
from frontdesk.core.config import Settings
from frontdesk.mail.failures import SetupKind
from frontdesk.mail.pause import MailPauses
from frontdesk.mail.sender import SendError, SmtpSender
from frontdesk.services import Services
from store.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENT,
    AuditEvent,
    Invitation,
)
from tests.factories import T0, delivery_for, latest_token, outbox_rows
from tests.mail.conftest import Certs, Sink, SmtpServer, StartSmtp, _Controller

SENDER_REJECTED = (
    "553 5.7.1 <portal@cedar.example>: Sender address rejected: not owned by user desk"
)


@dataclass
class MailSink(Sink):
    """A Sink whose MAIL FROM replies can be scripted too."""

    mail_replies: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        with self.lock:
            reply = self.mail_replies.pop(0) if self.mail_replies else "250 OK"
        if reply.startswith("250"):
            envelope.mail_from = address
        return reply


@dataclass
class Logins:
    """An aiosmtpd authenticator that counts every login attempt it is asked to judge."""

    username: str
    password: str
    attempts: list[str] = field(default_factory=list)

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        self.attempts.append(mechanism)
        ok = (
            isinstance(data, LoginPassword)
            and data.login == self.username.encode()
            and data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False)


@pytest.fixture
def login_server() -> Iterator[Any]:
    """Start a plain loopback server that counts logins: login_server(sink) -> (server, Logins)."""
    running: list[_Controller] = []

    def start(sink: Sink | None = None) -> tuple[SmtpServer, Logins]:
        logins = Logins("desk", "right")
        sink = sink or Sink()
        controller = _Controller(
            sink,
            hostname="127.0.0.1",
            port=0,
            server_hostname="mail.test",
            ready_timeout=10,
            authenticator=logins,
            auth_require_tls=False,
        )
        controller.start()
        running.append(controller)
        return SmtpServer(controller, sink), logins

    yield start
    for controller in running:
        controller.stop()


def paused_kind(services: Services) -> SetupKind | None:
    paused = services.mail_pauses().current()
    return paused.kind if paused is not None else None


def audit_actions(services: Services, action: str) -> list[AuditEvent]:
    with services.db.read() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


# --------------------------------------------------------------------------------------------
# Each reply code: setup (pause) or recipient (this email)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "reply", "state", "kind"),
    [
        ("mail", "553 5.7.1 Sender address rejected: not owned by user desk", None, "sender"),
        ("mail", "550 5.7.1 Sender not allowed", None, "sender"),
        ("mail", "530 5.7.0 Authentication required", None, "relay"),
        ("rcpt", SENDER_REJECTED, None, "sender"),
        ("rcpt", "454 4.7.1 <alex@example.com>: Relay access denied", None, "relay"),
        ("rcpt", "554 5.7.1 <alex@example.com>: Relay access denied", None, "relay"),
        ("rcpt", "550 5.1.1 <alex@example.com>: Recipient address rejected", "failed", None),
        ("rcpt", "552 5.2.2 Mailbox full", "failed", None),
        ("rcpt", "451 4.7.1 Greylisted, try again", "retrying", None),
        ("rcpt", "450 4.2.0 Mailbox busy", "retrying", None),
        ("data", "554 5.7.1 Message rejected as spam", "failed", None),
        ("data", "451 4.3.0 Local error", "retrying", None),
        ("data", "452 4.3.1 Insufficient system storage", "retrying", None),
    ],
)
def test_each_reply_code_is_setup_or_recipient(
    invited: Services,
    start_smtp: StartSmtp,
    mail_settings: Any,
    where: str,
    reply: str,
    state: str | None,
    kind: str | None,
) -> None:
    sink = MailSink(
        mail_replies=[reply] if where == "mail" else [],
        rcpt_replies=[reply] if where == "rcpt" else [],
        data_replies=[reply] if where == "data" else [],
    )
    server = start_smtp(sink=sink)
    report = delivery_for(invited, mail_settings(server.port)).deliver_due()
    [row] = outbox_rows(invited)
    assert not server.messages
    if kind is not None:  # setup: the outbox pauses; the email is as it was
        assert report.paused and report.total == 0
        assert paused_kind(invited) == kind
        assert row.state == OUTBOX_PENDING and row.attempts == 0
        assert row.first_failure_at is None and row.last_error == reply
        paused = invited.mail_pauses().current()
        assert paused is not None and paused.failure.detail == reply
        assert len(audit_actions(invited, "email sending paused")) == 1
        assert not audit_actions(invited, "email delivery failed")
    else:  # recipient: this email only, as before
        assert not report.paused and paused_kind(invited) is None
        assert row.state == state and row.attempts == 1 and row.last_error == reply


def test_sender_rejected_at_rcpt_pauses_a_bulk_send_after_the_first(
    practice_ready: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    """Issue item 3: a refused From address no longer fails every email of a bulk send."""
    from frontdesk.charts.records import ChartInput

    for n in range(5):
        practice_ready.charts.add_chart(
            ChartInput(f"C-{n}", "Pat", f"Lee{n}", "1990-01-01", f"pat{n}@example.com")
        )
    practice_ready.invitations.send_all_without_access()
    sink = Sink(rcpt_replies=[SENDER_REJECTED] * 5)
    server = start_smtp(sink=sink)
    report = delivery_for(practice_ready, mail_settings(server.port)).deliver_due()
    assert report.paused and report.failed == 0
    rows = outbox_rows(practice_ready)
    assert [r.state for r in rows] == [OUTBOX_PENDING] * 5
    assert [r.attempts for r in rows] == [0] * 5
    assert sink.rcpt_replies == [SENDER_REJECTED] * 4  # one try, then the run stopped


def test_login_refused_counts_once_per_try(
    invited: Services, login_server: Any, mail_settings: Any, clock: FrozenClock
) -> None:
    """Issue item 5: one mechanism (PLAIN) per try, so a wrong password counts once."""
    server, logins = login_server()
    settings = mail_settings(server.port, smtp_username="desk")
    with pytest.raises(SendError) as caught:
        SmtpSender(settings, "wrong").connect()
    assert caught.value.setup is not None and caught.value.setup.kind is SetupKind.LOGIN
    assert logins.attempts == ["PLAIN"]
    delivery = delivery_for(invited, settings, password="wrong")
    assert delivery.deliver_due().paused
    assert logins.attempts == ["PLAIN"] * 2
    assert delivery.deliver_due().paused  # the next probe is not due: no login at all
    assert logins.attempts == ["PLAIN"] * 2
    clock.advance(minutes=1)
    assert delivery.deliver_due().paused  # one probe, one login
    assert logins.attempts == ["PLAIN"] * 3
    paused = invited.mail_pauses().current()
    assert paused is not None and paused.probes == 1
    assert paused.banner == (
        "Email is paused: the mail server refused the login — fix the password with "
        "`frontdesk smtp set-password`"
    )
    assert "wrong" not in paused.line
    right = delivery_for(invited, settings, password="right")
    assert right.deliver_due(probe_now=True).sent == 1
    assert logins.attempts == ["PLAIN"] * 5  # the probe's login, then the send's
    assert paused_kind(invited) is None


# --------------------------------------------------------------------------------------------
# Wrong security for the port: named, with the setting that fits, within 10 seconds
# --------------------------------------------------------------------------------------------


def test_plaintext_server_under_tls_says_starttls(
    invited: Services, start_smtp: StartSmtp, certs: Certs, mail_settings: Any
) -> None:
    server = start_smtp(starttls=certs.server_context())  # a submission port (587-style)
    settings = mail_settings(server.port, smtp_security="tls", smtp_ca_file=str(certs.ca_file))
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        SmtpSender(settings).connect()
    assert time.monotonic() - started < 10
    setup = caught.value.setup
    assert setup is not None and setup.kind is SetupKind.SECURITY
    assert "answered in plain text, not TLS" in caught.value.reason
    assert "FRONTDESK_SMTP_SECURITY=starttls" in setup.fix
    assert delivery_for(invited, settings).deliver_due().paused
    assert paused_kind(invited) is SetupKind.SECURITY


def test_implicit_tls_server_under_starttls_says_tls_within_ten_seconds(
    invited: Services, start_smtp: StartSmtp, certs: Certs, mail_settings: Any
) -> None:
    """The server waits for a TLS ClientHello and never greets: with the default 30 s
    timeout the client still says why within 10 s."""
    server = start_smtp(tls=certs.server_context())  # an implicit-TLS port (465-style)
    settings = mail_settings(
        server.port,
        smtp_security="starttls",
        smtp_ca_file=str(certs.ca_file),
        smtp_timeout=30.0,
    )
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        SmtpSender(settings).connect()
    assert time.monotonic() - started < 10
    setup = caught.value.setup
    assert setup is not None and setup.kind is SetupKind.SECURITY
    assert "it probably expects implicit TLS" in caught.value.reason
    assert "FRONTDESK_SMTP_SECURITY=tls" in setup.fix


def test_untrusted_certificate_pauses(
    invited: Services, start_smtp: StartSmtp, certs: Certs, mail_settings: Any
) -> None:
    server = start_smtp(starttls=certs.server_context(self_signed=True))
    settings = mail_settings(server.port, smtp_security="starttls")
    assert delivery_for(invited, settings).deliver_due().paused
    paused = invited.mail_pauses().current()
    assert paused is not None and paused.kind is SetupKind.TLS
    assert "certificate not trusted" in paused.failure.detail
    assert "FRONTDESK_SMTP_CA_FILE" in paused.failure.fix


# --------------------------------------------------------------------------------------------
# Three days: a setup failure fails nothing, a recipient deferral fails its email
# --------------------------------------------------------------------------------------------


def test_three_day_setup_failure_fails_no_email_and_gives_the_time_back(
    invited: Services,
    start_smtp: StartSmtp,
    login_server: Any,
    mail_settings: Any,
    clock: FrozenClock,
) -> None:
    token = latest_token(invited)
    greylist = start_smtp(sink=Sink(clock=clock, data_replies=["451 4.7.1 Greylisted"]))
    assert delivery_for(invited, mail_settings(greylist.port)).deliver_due().retrying == 1
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_RETRYING and as_utc(row.first_failure_at) == T0

    # The practice moves to a relay and types the password wrong, on a Friday afternoon.
    relay, logins = login_server(Sink(clock=clock, data_replies=["451 4.7.1 Greylisted"]))
    settings = mail_settings(relay.port, smtp_username="desk")
    wrong = delivery_for(invited, settings, password="wrong")
    clock.advance(minutes=5)
    assert wrong.deliver_due().paused
    paused_at = clock.now()
    for _ in range(72):  # three days, the delivery loop running every hour
        clock.advance(hours=1)
        assert wrong.deliver_due().paused
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_RETRYING and row.attempts == 1  # nothing burnt, nothing failed
    assert not audit_actions(invited, "email delivery failed")
    assert len(logins.attempts) == 73  # one login per try

    # Monday: the password is fixed; the next probe passes and the email goes at once.
    right = delivery_for(invited, settings, password="right")
    paused = invited.mail_pauses().current()
    assert paused is not None and paused.since == paused_at
    clock.set(paused.next_probe_at)
    report = right.deliver_due()
    assert report.retrying == 1 and not report.paused  # sent at once; greylisted once more
    [row] = outbox_rows(invited)
    # The three paused days are not counted: 48 hours from T0, plus the pause.
    assert as_utc(row.first_failure_at) == T0 + (clock.now() - paused_at)
    assert row.state == OUTBOX_RETRYING and row.attempts == 2
    clock.set(as_utc(row.next_attempt_at))
    assert right.deliver_due().sent == 1
    assert [m.token for m in relay.messages] == [token]
    assert [a.action for a in audit_actions(invited, "email sending resumed")] == [
        "email sending resumed"
    ]


def test_three_day_recipient_deferral_fails_the_email(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    sink = Sink(clock=clock, rcpt_replies=["451 4.2.0 Mailbox temporarily unavailable"] * 500)
    server = start_smtp(sink=sink)
    delivery = delivery_for(invited, mail_settings(server.port))
    end = T0 + timedelta(days=3)
    while clock.now() < end:
        delivery.deliver_due()
        row = outbox_rows(invited)[0]
        if row.state == OUTBOX_FAILED:
            break
        clock.set(as_utc(row.next_attempt_at))
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_FAILED
    assert row.last_error == "gave up after 48 hours: 451 4.2.0 Mailbox temporarily unavailable"
    assert paused_kind(invited) is None
    assert len(audit_actions(invited, "email delivery failed")) == 1


def test_resume_sends_every_paused_email_at_once(
    practice_ready: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    from frontdesk.charts.records import ChartInput
    from tests.mail.conftest import free_port

    port = free_port()
    down = delivery_for(practice_ready, mail_settings(port))
    practice_ready.charts.add_chart(
        ChartInput("C-1", "Ana", "Lee", "1990-01-01", "ana@example.com")
    )
    practice_ready.invitations.send_invitation("C-1")
    assert down.deliver_due().paused  # the server is down: paused
    clock.advance(minutes=30)
    # Emails queued while paused wait too, and nothing is tried between probes.
    practice_ready.charts.add_chart(ChartInput("C-2", "Bo", "Kim", "1990-01-01", "bo@example.com"))
    practice_ready.invitations.send_invitation("C-2")
    server = start_smtp(port=port)
    assert down.deliver_due().sent == 2  # the probe passed: both due at once
    assert len(server.messages) == 2
    assert [r.state for r in outbox_rows(practice_ready)] == [OUTBOX_SENT] * 2
    with practice_ready.db.read() as session:
        assert len(session.exec(select(Invitation)).all()) == 2
    assert MailPauses(practice_ready.db, clock).current() is None


def test_probe_refusing_the_sender_keeps_the_pause(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    sink = MailSink(mail_replies=[SENDER_REJECTED] * 3)
    server = start_smtp(sink=sink)
    delivery = delivery_for(invited, mail_settings(server.port))
    assert delivery.deliver_due().paused
    clock.advance(minutes=1)
    assert delivery.deliver_due().paused  # the probe's MAIL FROM was refused
    paused = invited.mail_pauses().current()
    assert paused is not None and paused.kind is SetupKind.SENDER and paused.probes == 1
    assert as_utc(paused.next_probe_at) == clock.now() + timedelta(minutes=2)
    clock.advance(minutes=2)
    assert delivery.deliver_due().paused
    clock.advance(minutes=5)
    assert delivery.deliver_due().sent == 1  # MAIL FROM accepted again
    assert server.messages[0].rcpt_tos == ["alex@example.com"]


def test_nothing_paused_sends_as_before(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server = start_smtp()
    settings: Settings = mail_settings(server.port)
    assert delivery_for(invited, settings).deliver_due().sent == 1
    assert invited.mail_pauses().current() is None and invited.mail_pauses().waiting() == 0
