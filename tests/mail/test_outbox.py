"""Outbox delivery against a real SMTP server (aiosmtpd on 127.0.0.1), on SQLite and PostgreSQL.

Covers SECURITY.md E1-E4, D5 (claims and leases), T2 (no token at rest after delivery)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.mail.outbox import MailNotConfigured, reduce_body, retry_delay
from frontdesk.mail.outbox_list import list_outbox
from frontdesk.services import Services
from store.models import (
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    AuditEvent,
    Invitation,
    OutboxEmail,
)
from tests.factories import T0, delivery_for, latest_token, outbox_rows
from tests.mail.conftest import (
    CHART_NUMBER,
    Certs,
    Sink,
    StartSmtp,
    free_port,
)


def minutes_since_t0(times: list[Any]) -> list[int]:
    return [int((t - T0).total_seconds() // 60) for t in times]


def audit_actions(services: Services) -> list[AuditEvent]:
    with services.db.read() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == "email delivery failed")
            ).all()
        )


def test_delivers_invitation_without_login(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    token = latest_token(invited)
    server = start_smtp(sink=Sink(clock=clock))
    report = delivery_for(invited, mail_settings(server.port)).deliver_due()
    assert (report.sent, report.retrying, report.failed, report.cancelled) == (1, 0, 0, 0)
    [received] = server.messages
    assert received.token == token
    assert received.rcpt_tos == ["alex@example.com"]
    [row] = outbox_rows(invited)
    # The envelope sender carries the email's bounce tag (issue 16); the From header does not.
    assert received.mail_from == f"portal+{row.bounce_tag}@cedar.example"
    assert not received.authenticated
    message = received.message
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["From"].addresses[0].display_name == "Cedar Counseling"
    assert message["From"].addresses[0].addr_spec == "portal@cedar.example"
    assert message["Message-ID"] == row.message_id
    assert row.state == OUTBOX_SENT and row.attempts == 1
    assert row.sent_at is not None and row.lease_owner is None
    # Nothing is due any more: a second run does nothing.
    assert delivery_for(invited, mail_settings(server.port)).deliver_due().total == 0
    assert len(server.messages) == 1


def test_delivers_with_login_on_plain_loopback(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server = start_smtp(login=("desk", "s3cret-pass"), auth_require_tls=False)
    settings = mail_settings(server.port, smtp_username="desk")
    report = delivery_for(invited, settings, password="s3cret-pass").deliver_due()
    assert report.sent == 1
    assert server.messages[0].authenticated


def test_wrong_password_keeps_email_queued_and_pauses(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server = start_smtp(login=("desk", "right"), auth_require_tls=False)
    settings = mail_settings(server.port, smtp_username="desk")
    report = delivery_for(invited, settings, password="wrong").deliver_due()
    assert report.paused and report.total == 0 and not server.messages
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_PENDING and row.attempts == 0  # no try counted
    assert row.last_error is not None and "refused the login" in row.last_error
    assert "wrong" not in row.last_error


def test_missing_password_refuses_to_start(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    """K3: a username without a password is 'not set', never an empty-password login."""
    server = start_smtp(login=("desk", "right"), auth_require_tls=False)
    settings = mail_settings(server.port, smtp_username="desk")
    with pytest.raises(MailNotConfigured, match="SMTP password not set"):
        delivery_for(invited, settings, password=None).deliver_due()
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_PENDING and row.attempts == 0


def test_missing_sender_address_refuses_to_start(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server = start_smtp()
    with pytest.raises(MailNotConfigured, match="FRONTDESK_MAIL_FROM"):
        delivery_for(invited, mail_settings(server.port, mail_from=None)).deliver_due()
    assert outbox_rows(invited)[0].state == OUTBOX_PENDING


@pytest.mark.parametrize("reply", ["451 4.3.0 Try again later", "421 4.3.2 Service shutting down"])
def test_temporary_failures_back_off_then_deliver(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock, reply: str
) -> None:
    """E2/E3: attempts at 0, 5, 15, 35, 75 min, then hourly; delivered after the backoff."""
    token = latest_token(invited)
    sink = Sink(clock=clock, data_replies=[reply] * 6)
    server = start_smtp(sink=sink)
    delivery = delivery_for(invited, mail_settings(server.port))
    for _ in range(7):
        row = outbox_rows(invited)[0]
        clock.set(row.next_attempt_at.replace(tzinfo=clock.now().tzinfo))
        # One second before it is due, nothing is sent.
        clock.advance(seconds=-1)
        assert delivery.deliver_due().total == 0
        clock.advance(seconds=1)
        delivery.deliver_due()
    assert minutes_since_t0(sink.attempts) == [0, 5, 15, 35, 75, 135, 195]
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_SENT and row.attempts == 7
    assert len(server.messages) == 1 and server.messages[0].token == token


def test_gives_up_after_48_hours(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    sink = Sink(clock=clock, data_replies=["451 4.7.1 Greylisted"] * 200)
    server = start_smtp(sink=sink)
    delivery = delivery_for(invited, mail_settings(server.port))
    for _ in range(100):
        row = outbox_rows(invited)[0]
        if row.state != OUTBOX_RETRYING and row.attempts:
            break
        clock.set(row.next_attempt_at.replace(tzinfo=clock.now().tzinfo))
        delivery.deliver_due()
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_FAILED
    assert row.last_error == "gave up after 48 hours: 451 4.7.1 Greylisted"
    minutes = minutes_since_t0(sink.attempts)
    assert minutes[:6] == [0, 5, 15, 35, 75, 135]
    hourly = minutes[5:-1]
    assert all(b - a == 60 for a, b in itertools.pairwise(hourly))
    assert hourly[-1] == 2835  # the last hourly retry; the final one is capped at 48 h
    assert minutes[-1] == 48 * 60
    [audit] = audit_actions(invited)
    assert audit.chart_number == CHART_NUMBER and audit.outcome == "failed"
    assert "gave up after 48 hours" in audit.detail
    assert "alex@example.com" not in audit.detail
    assert invited.views.chart(CHART_NUMBER).delivery.state == "failed"


@pytest.mark.parametrize(
    ("where", "reply"),
    [
        ("rcpt", "550 5.1.1 Mailbox unavailable"),
        ("data", "554 5.7.1 Message rejected as spam"),
    ],
)
def test_permanent_failure_stops_at_once(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, where: str, reply: str
) -> None:
    sink = Sink(
        rcpt_replies=[reply] if where == "rcpt" else [],
        data_replies=[reply] if where == "data" else [],
    )
    server = start_smtp(sink=sink)
    report = delivery_for(invited, mail_settings(server.port)).deliver_due()
    assert (report.sent, report.failed) == (0, 1)
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_FAILED and row.attempts == 1
    assert row.last_error == reply
    # Not delivered: it keeps its link, so `outbox retry` can send the same one.
    assert latest_token(invited) in row.body_text
    detail = invited.views.chart(CHART_NUMBER)
    assert detail.delivery is not None
    assert detail.delivery.label == f"Not delivered: {reply}"
    assert len(audit_actions(invited)) == 1
    assert [i.state for i in list_outbox(invited.db)] == ["failed"]


def test_server_down_keeps_email_and_delivers_when_back(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    token = latest_token(invited)
    port = free_port()
    delivery = delivery_for(invited, mail_settings(port))
    report = delivery.deliver_due()
    assert report.paused and report.total == 0  # unreachable: a setup failure pauses
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_PENDING and row.attempts == 0
    assert row.last_error == f"cannot connect to mail server 127.0.0.1:{port}: connection refused"
    assert token in row.body_text  # nothing lost
    server = start_smtp(port=port)
    assert delivery.deliver_due().total == 0  # the next probe is not due yet
    clock.advance(minutes=1)
    assert delivery.deliver_due().sent == 1
    assert [m.token for m in server.messages] == [token]


def test_connection_dropped_after_final_dot_resends_same_link(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    """E4: maybe delivered → retried with the same message and link; one invitation row."""
    sink = Sink(clock=clock, data_replies=["drop"])
    server = start_smtp(sink=sink)
    delivery = delivery_for(invited, mail_settings(server.port))
    report = delivery.deliver_due()
    assert report.retrying == 1
    row = outbox_rows(invited)[0]
    assert row.last_error is not None and "may have been delivered" in row.last_error
    clock.advance(minutes=5)
    assert delivery.deliver_due().sent == 1
    first, second = server.messages
    assert first.token == second.token
    assert first.message["Message-ID"] == second.message["Message-ID"]
    with invited.db.read() as session:
        invitations = session.exec(select(Invitation)).all()
    assert len(invitations) == 1 and invitations[0].state == "live"
    assert invited.registration.inspect_token(first.token).state == "valid"


def test_one_connection_serves_a_batch_and_failures_do_not_stop_it(
    practice_ready: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    from frontdesk.charts.records import ChartInput

    for n in range(5):
        practice_ready.charts.add_chart(
            ChartInput(f"C-{n}", "Pat", f"Lee{n}", "1990-01-01", f"pat{n}@example.com")
        )
    practice_ready.invitations.send_all_without_access()
    sink = Sink(rcpt_replies=["250", "550 5.1.1 No such user", "250", "250", "250"])
    server = start_smtp(sink=sink)
    connections: list[int] = []
    from frontdesk.mail.sender import SmtpSender

    class CountingSender(SmtpSender):
        def connect(self) -> None:
            if not self.connected:
                connections.append(1)
            super().connect()

    delivery = delivery_for(
        practice_ready, mail_settings(server.port), sender_factory=lambda s, p: CountingSender(s, p)
    )
    report = delivery.deliver_due()
    assert (report.sent, report.failed) == (4, 1)
    assert len(server.messages) == 4
    assert len(connections) == 1


def test_superseded_invitation_email_is_not_sent(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    """A relay died holding the first email; after a resend only the new link goes out."""
    first_token = latest_token(invited)

    def work(session: Any) -> None:
        session.execute(
            sa.update(OutboxEmail).values(
                state=OUTBOX_SENDING,
                lease_until=clock.now() + timedelta(minutes=5),
                lease_owner="dead-relay",
            )
        )

    invited.db.transact(work)
    clock.advance(seconds=61)
    invited.invitations.resend_invitation(CHART_NUMBER)
    new_token = latest_token(invited)
    server = start_smtp()
    delivery = delivery_for(invited, mail_settings(server.port))
    assert delivery.deliver_due().sent == 1  # only the new email: the old one is leased
    clock.advance(minutes=5)
    report = delivery.deliver_due()
    assert (report.sent, report.cancelled) == (0, 1)
    assert [m.token for m in server.messages] == [new_token]
    old, new = outbox_rows(invited)
    assert old.state == OUTBOX_CANCELLED and first_token not in old.body_text
    assert new.state == OUTBOX_SENT


def test_revoked_invitation_email_is_not_sent(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    def work(session: Any) -> None:
        session.execute(sa.update(Invitation).values(state="revoked"))

    invited.db.transact(work)
    server = start_smtp()
    report = delivery_for(invited, mail_settings(server.port)).deliver_due()
    assert report.cancelled == 1 and not server.messages


def test_expired_lease_comes_back(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    def work(session: Any) -> None:
        session.execute(
            sa.update(OutboxEmail).values(
                state=OUTBOX_SENDING,
                lease_until=clock.now() + timedelta(minutes=5),
                lease_owner="killed",
            )
        )

    invited.db.transact(work)
    server = start_smtp()
    delivery = delivery_for(invited, mail_settings(server.port))
    assert delivery.deliver_due().total == 0
    clock.advance(minutes=5, seconds=1)
    assert delivery.deliver_due().sent == 1
    assert len(server.messages) == 1


def test_no_token_at_rest_after_delivery(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    """T2: after delivery no table holds the token (nor its first 8 characters)."""
    token = latest_token(invited)
    server = start_smtp()
    delivery_for(invited, mail_settings(server.port)).deliver_due()
    assert server.messages[0].token == token
    dump = []
    with invited.db.engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for record in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                dump.append(repr(tuple(record)))
    everything = "\n".join(dump)
    assert "/register/[removed]" in everything
    assert token not in everything and token[:8] not in everything
    if invited.db.is_sqlite:  # the files too, WAL included, while the app still runs
        database = Path(invited.db.engine.url.database or "")
        files = list(database.parent.glob(database.name + "*"))
        assert database in files
        for path in files:
            assert token.encode() not in path.read_bytes(), path.name


def test_reduce_body_removes_every_token() -> None:
    body = 'a <a href="https://x.test/register/Ab_-9">https://x.test/register/Ab_-9</a>'
    assert reduce_body(body) == (
        'a <a href="https://x.test/register/[removed]">https://x.test/register/[removed]</a>'
    )


def test_retry_delays() -> None:
    assert [retry_delay(n) for n in range(1, 8)] == [
        timedelta(minutes=m) for m in (5, 10, 20, 40, 60, 60, 60)
    ]


def test_list_outbox_for_staff(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    [queued] = list_outbox(invited.db)
    assert (queued.state, queued.chart_number, queued.kind) == (
        "queued",
        CHART_NUMBER,
        "invitation",
    )
    assert queued.next_attempt_at is not None
    server = start_smtp()
    delivery_for(invited, mail_settings(server.port)).deliver_due()
    [sent] = list_outbox(invited.db)
    assert sent.state == "sent" and sent.sent_at is not None and sent.next_attempt_at is None
    assert sent.to_json()["state"] == "sent"


def test_header_injection_rejected_at_send(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    """E7: a CR/LF smuggled into a stored address never reaches the server."""

    def work(session: Any) -> None:
        session.execute(sa.update(OutboxEmail).values(to_address="a@b.test\r\nBcc: x@evil.test"))

    invited.db.transact(work)
    server = start_smtp()
    report = delivery_for(invited, mail_settings(server.port)).deliver_due()
    assert report.failed == 1 and not server.messages
    row = outbox_rows(invited)[0]
    assert row.last_error is not None and "line break" in row.last_error


def test_reply_to_and_template_from_name(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, settings: Settings
) -> None:
    from frontdesk.mail.templates import TemplateService

    invited.practice.update_practice(reply_to="desk@cedar.example")
    templates = TemplateService(invited.db, invited.clock, settings, "alice")
    templates.save(
        from_name="{practice_name} Front Desk",
        subject="Your portal invitation",
        body="Hi {client_first_name}, join here:\n\n{link}\n\nExpires {expires_on}.",
    )
    templates.set_enabled(True)
    server = start_smtp()
    delivery_for(invited, mail_settings(server.port)).deliver_due()
    message = server.messages[0].message
    assert message["Reply-To"] == "desk@cedar.example"
    assert message["From"].addresses[0].display_name == "Cedar Counseling Front Desk"


def test_nothing_due_does_not_need_configuration(invited: Services, mail_settings: Any) -> None:
    def work(session: Any) -> None:
        session.execute(sa.update(OutboxEmail).values(state=OUTBOX_SENT))

    invited.db.transact(work)
    report = delivery_for(invited, mail_settings(free_port(), mail_from=None)).deliver_due()
    assert report.total == 0


def test_delivery_over_starttls_trusts_only_the_configured_ca(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, certs: Certs, clock: FrozenClock
) -> None:
    """E5 through the outbox: a self-signed server keeps the email queued; the test CA works."""
    untrusted = start_smtp(starttls=certs.server_context(self_signed=True))
    settings = mail_settings(
        untrusted.port, smtp_security="starttls", smtp_ca_file=str(certs.ca_file)
    )
    assert delivery_for(invited, settings).deliver_due().paused
    row = outbox_rows(invited)[0]
    assert row.last_error is not None and "certificate not trusted" in row.last_error
    assert row.state == OUTBOX_PENDING and row.attempts == 0
    assert not untrusted.messages
    trusted = start_smtp(starttls=certs.server_context())
    clock.advance(minutes=1)
    settings = mail_settings(
        trusted.port, smtp_security="starttls", smtp_ca_file=str(certs.ca_file)
    )
    assert delivery_for(invited, settings).deliver_due().sent == 1
    assert trusted.messages[0].tls
