"""Retry now (`frontdesk outbox retry`, the service behind the TUI's action) and what
`frontdesk outbox deliver` says about email that still waits (issue 16)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from frontdesk.core.clock import FrozenClock, as_utc
from frontdesk.core.errors import NotAllowed, NotFound
from frontdesk.services import Services
from store.models import (
    OUTBOX_FAILED,
    OUTBOX_RETRYING,
    OUTBOX_SENT,
    AuditEvent,
    Invitation,
)
from tests.factories import delivery_for, latest_token, outbox_rows
from tests.mail.conftest import CHART_NUMBER, Sink, StartSmtp, free_port
from tests.mail.test_cli_mail import Run


def retries(services: Services) -> list[AuditEvent]:
    with services.db.read() as session:
        return list(
            session.exec(select(AuditEvent).where(AuditEvent.action == "email retry")).all()
        )


def failed_once(invited: Services, start_smtp: StartSmtp, mail_settings: Any) -> Any:
    """The invitation refused with 552 (mailbox full) once; the server then takes mail."""
    sink = Sink(rcpt_replies=["552 5.2.2 Mailbox full"])
    server = start_smtp(sink=sink)
    settings = mail_settings(server.port)
    assert delivery_for(invited, settings).deliver_due().failed == 1
    return server, settings


def test_retry_a_failed_email_sends_the_same_link_and_message_id(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    token = latest_token(invited)
    server, settings = failed_once(invited, start_smtp, mail_settings)
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_FAILED
    done = invited.retries().retry(row.id or 0)
    assert done.retried == (row.id,)
    [row] = outbox_rows(invited)
    assert row.state == OUTBOX_RETRYING and as_utc(row.next_attempt_at) == clock.now()
    assert row.first_failure_at is None  # a fresh 48 hours
    assert delivery_for(invited, settings).deliver_due().sent == 1
    [received] = server.messages
    assert received.token == token
    assert received.message_id == row.message_id
    with invited.db.read() as session:
        assert len(session.exec(select(Invitation)).all()) == 1  # no new invitation
    [audit] = retries(invited)
    assert audit.chart_number == CHART_NUMBER and audit.actor == invited.actor
    assert "alex@example.com" not in audit.detail and "same link" in audit.detail
    assert outbox_rows(invited)[0].state == OUTBOX_SENT


def test_retry_refuses_what_cannot_be_sent_again(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    failed_once(invited, start_smtp, mail_settings)
    [row] = outbox_rows(invited)
    with pytest.raises(NotFound):
        invited.retries().retry(9999)
    clock.advance(minutes=5)
    invited.invitations.resend_invitation(CHART_NUMBER)  # a new link: the old email is dead
    with pytest.raises(NotAllowed, match="invitation was replaced"):
        invited.retries().retry(row.id or 0)
    newest = outbox_rows(invited)[-1]
    with pytest.raises(NotAllowed, match="not been tried yet"):
        invited.retries().retry(newest.id or 0)
    assert not retries(invited)


def test_retry_chart_takes_the_newest_email_of_its_invitation(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    _, settings = failed_once(invited, start_smtp, mail_settings)
    done = invited.retries().retry_chart(CHART_NUMBER)
    assert done.retried == (outbox_rows(invited)[0].id,) and done.chart_number == CHART_NUMBER
    assert delivery_for(invited, settings).deliver_due().sent == 1
    with pytest.raises(NotAllowed, match="it is sent, not failed or retrying"):
        invited.retries().retry_chart(CHART_NUMBER)
    with pytest.raises(NotFound):
        invited.retries().retry_chart("C-404")


def test_cli_outbox_retry_by_id_and_all(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server, settings = failed_once(invited, start_smtp, mail_settings)
    [row] = outbox_rows(invited)
    run = Run(invited, settings, tty=False)
    assert run("outbox", "retry", str(row.id)) == 1
    assert "refusing to act without confirmation" in run.err
    assert run("outbox", "retry", str(row.id), "--yes") == 0, run.err
    assert run.out.splitlines() == [
        f"1 email due now (outbox {row.id}), same link.",
        "1 sent, 0 retrying, 0 failed, 0 cancelled.",
    ]
    assert len(server.messages) == 1
    assert run("outbox", "retry", "--all", "--yes") == 0
    assert run.out.strip() == "No email to retry."
    assert run("outbox", "retry", str(row.id), "--yes") == 1
    assert "it is sent, not failed or retrying" in run.err


def test_cli_outbox_retry_exits_1_when_the_email_fails_again(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    sink = Sink(rcpt_replies=["552 5.2.2 Mailbox full", "552 5.2.2 Mailbox full"])
    server = start_smtp(sink=sink)
    settings = mail_settings(server.port)
    assert delivery_for(invited, settings).deliver_due().failed == 1
    [row] = outbox_rows(invited)
    run = Run(invited, settings, tty=False)
    assert run("outbox", "retry", str(row.id), "--yes") == 1
    assert "0 sent, 0 retrying, 1 failed, 0 cancelled." in run.out
    assert "did not go out this time" in run.err


def test_cli_outbox_deliver_says_why_and_exits_1_while_paused(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any, clock: FrozenClock
) -> None:
    port = free_port()
    run = Run(invited, mail_settings(port))
    assert run("outbox", "deliver") == 1
    # T0 is 15:00 UTC = 10:00 AM in the practice's zone (New York).
    assert run.out.splitlines() == [
        "0 sent, 0 retrying, 0 failed, 0 cancelled.",
        "1 waiting: the mail server cannot be reached; paused since Thu Nov 26, 10:00 AM.",
    ]
    assert run.err.count("\n") == 1
    assert run.err.startswith(
        "frontdesk: error: Email is paused: the mail server cannot be reached (cannot connect "
        f"to mail server 127.0.0.1:{port}: connection refused) — check FRONTDESK_SMTP_HOST"
    )
    server = start_smtp(port=port)
    clock.advance(seconds=10)  # `outbox deliver` probes at once, due or not
    assert run("outbox", "deliver") == 0
    assert run.out.strip() == "1 sent, 0 retrying, 0 failed, 0 cancelled."
    assert len(server.messages) == 1


def test_cli_outbox_deliver_names_the_next_try(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server = start_smtp(sink=Sink(rcpt_replies=["451 4.7.1 Greylisted"]))
    run = Run(invited, mail_settings(server.port))
    assert run("outbox", "deliver") == 0
    assert run.out.splitlines() == [
        "0 sent, 1 retrying, 0 failed, 0 cancelled.",
        "1 waiting; the next try is due Thu Nov 26, 10:05 AM (last try: 451 4.7.1 Greylisted).",
    ]
