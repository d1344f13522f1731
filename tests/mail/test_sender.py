"""The SMTP sender over STARTTLS, implicit TLS and plain loopback (SECURITY.md E5, K5)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from frontdesk.core.config import Settings
from frontdesk.mail.compose import build_message
from frontdesk.mail.sender import SendError, SmtpSender, check_connection
from store.models import OutboxEmail, Practice
from tests.mail.conftest import Certs, StartSmtp, free_port

SENTINEL = "Sentinel-Pa55-7f3a9c"


def settings_for(port: int, **changes: object) -> Settings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "starttls",
        "smtp_timeout": 5.0,
        "mail_from": "portal@cedar.example",
    }
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def message(settings: Settings) -> object:
    now = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    row = OutboxEmail(
        kind="notice",
        to_address="alex@example.com",
        to_name="Alex",
        subject="Hello",
        body_text="Hi\n",
        body_html="<p>Hi</p>",
        message_id="<t1@cedar.example>",
        created_at=now,
        next_attempt_at=now,
    )
    return build_message(row, settings, Practice(id=1, name="Cedar Counseling"))


def test_starttls_with_test_ca_and_login(start_smtp: StartSmtp, certs: Certs) -> None:
    server = start_smtp(starttls=certs.server_context(), login=("desk", SENTINEL))
    settings = settings_for(server.port, smtp_ca_file=str(certs.ca_file), smtp_username="desk")
    with SmtpSender(settings, SENTINEL) as sender:
        sender.send(message(settings))  # type: ignore[arg-type]
        assert sender.tls_version in ("TLSv1.2", "TLSv1.3")
    [received] = server.messages
    assert received.tls and received.authenticated


def test_starttls_without_login(start_smtp: StartSmtp, certs: Certs) -> None:
    server = start_smtp(starttls=certs.server_context())
    settings = settings_for(server.port, smtp_ca_file=str(certs.ca_file))
    with SmtpSender(settings) as sender:
        sender.send(message(settings))  # type: ignore[arg-type]
    assert server.messages[0].tls and not server.messages[0].authenticated


def test_untrusted_self_signed_certificate_is_refused(
    start_smtp: StartSmtp, certs: Certs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = start_smtp(starttls=certs.server_context(self_signed=True), login=("desk", SENTINEL))
    settings = settings_for(server.port, smtp_username="desk")
    sender = SmtpSender(settings, SENTINEL)
    with pytest.raises(SendError) as caught:
        sender.send(message(settings))  # type: ignore[arg-type]
    assert caught.value.connection and not caught.value.permanent
    assert "certificate not trusted" in str(caught.value)
    assert not server.messages
    assert SENTINEL not in str(caught.value) and SENTINEL not in caplog.text
    assert SENTINEL not in repr(sender)


def test_test_ca_does_not_trust_a_different_self_signed_cert(
    start_smtp: StartSmtp, certs: Certs
) -> None:
    server = start_smtp(starttls=certs.server_context(self_signed=True))
    settings = settings_for(server.port, smtp_ca_file=str(certs.ca_file))
    with pytest.raises(SendError, match="certificate not trusted"):
        check_connection(settings, None)


def test_hostname_is_verified(start_smtp: StartSmtp, certs: Certs) -> None:
    """A certificate from the trusted CA, but for another host name, is refused."""
    server = start_smtp(starttls=certs.server_context(other_name=True))
    settings = settings_for(server.port, smtp_ca_file=str(certs.ca_file))
    with pytest.raises(SendError, match=r"certificate not trusted: .*mismatch"):
        check_connection(settings, None)


def test_implicit_tls(start_smtp: StartSmtp, certs: Certs) -> None:
    # aiosmtpd only counts STARTTLS as TLS for AUTH; the whole session is TLS here.
    server = start_smtp(
        tls=certs.server_context(), login=("desk", SENTINEL), auth_require_tls=False
    )
    settings = settings_for(
        server.port, smtp_security="tls", smtp_ca_file=str(certs.ca_file), smtp_username="desk"
    )
    summary = check_connection(settings, SENTINEL)
    assert summary.startswith(f"Connected to 127.0.0.1:{server.port} with implicit TLS (TLSv1.")
    assert "logged in as desk" in summary
    with SmtpSender(settings, SENTINEL) as sender:
        sender.send(message(settings))  # type: ignore[arg-type]
    assert server.messages[0].authenticated


def test_server_without_starttls_is_refused(start_smtp: StartSmtp) -> None:
    server = start_smtp()
    with pytest.raises(SendError, match="does not offer STARTTLS"):
        check_connection(settings_for(server.port), None)


def test_plain_smtp_only_to_loopback() -> None:
    # Settings.validated() refuses this too; the sender checks again on its own.
    remote = Settings(smtp_host="mail.example", smtp_security="none", mail_from="a@b.test")
    with pytest.raises(SendError, match="only to a loopback"):
        SmtpSender(remote).connect()


def test_login_refused_reports_server_reason_without_password(
    start_smtp: StartSmtp, certs: Certs
) -> None:
    server = start_smtp(starttls=certs.server_context(), login=("desk", "other"))
    settings = settings_for(server.port, smtp_ca_file=str(certs.ca_file), smtp_username="desk")
    with pytest.raises(SendError) as caught:
        check_connection(settings, SENTINEL)
    assert str(caught.value).startswith("mail server refused the login: 535")
    assert SENTINEL not in str(caught.value)


def test_connection_refused_is_temporary() -> None:
    port = free_port()
    with pytest.raises(SendError) as caught:
        check_connection(settings_for(port, smtp_security="none"), None)
    assert not caught.value.permanent and caught.value.connection
    assert (
        str(caught.value) == f"cannot connect to mail server 127.0.0.1:{port}: connection refused"
    )


def test_missing_ca_file_is_reported(start_smtp: StartSmtp) -> None:
    server = start_smtp()
    settings = settings_for(server.port, smtp_ca_file="/nonexistent/ca.pem")
    with pytest.raises(SendError, match="cannot load FRONTDESK_SMTP_CA_FILE"):
        check_connection(settings, None)
