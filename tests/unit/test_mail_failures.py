"""Telling a setup failure from a recipient failure (frontdesk.mail.failures), as a table."""

from __future__ import annotations

import smtplib
import ssl

import pytest

from frontdesk.mail.failures import (
    SetupKind,
    WrongSecurity,
    setup_of_connect_error,
    setup_of_reply,
)


@pytest.mark.parametrize(
    ("stage", "reply", "kind"),
    [
        (
            "sender",
            "553 5.7.1 <a@b.example>: Sender address rejected: not owned by user x",
            "sender",
        ),
        ("sender", "550 5.1.8 Bad sender's system address", "sender"),
        ("sender", "451 4.1.8 <a@b.example>: Sender address rejected: Domain not found", "sender"),
        ("sender", "530 5.7.0 Must issue a STARTTLS command first", "relay"),
        ("sender", "451 4.3.0 Temporary lookup failure", None),
        ("sender", "421 4.3.2 Shutting down", None),
        ("recipient", "553 5.7.1 <a@b.example>: Sender address rejected: not owned", "sender"),
        ("recipient", "554 5.7.1 <c@d.example>: Relay access denied", "relay"),
        ("recipient", "550 5.7.57 Client not authenticated to send mail", "relay"),
        ("recipient", "550 5.1.1 <c@d.example>: Recipient address rejected: unknown", None),
        ("recipient", "452 4.2.2 Mailbox full", None),
        ("recipient", "250 2.1.5 Ok", None),
    ],
)
def test_replies(stage: str, reply: str, kind: str | None) -> None:
    found = setup_of_reply(stage, int(reply[:3]), reply)
    assert (found.kind if found else None) == kind
    if found is not None:
        assert found.detail == reply and found.fix == found.kind.fix


def test_connect_errors() -> None:
    def kind(exc: BaseException) -> SetupKind:
        return setup_of_connect_error(exc, "detail", host="h", port=1).kind

    cert = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert kind(cert) is SetupKind.TLS
    assert kind(ssl.SSLError(1, "TLSV1_ALERT_PROTOCOL_VERSION")) is SetupKind.HANDSHAKE
    assert kind(smtplib.SMTPAuthenticationError(535, b"5.7.8 failed")) is SetupKind.LOGIN
    assert kind(ConnectionRefusedError()) is SetupKind.UNREACHABLE
    assert kind(TimeoutError()) is SetupKind.UNREACHABLE
    wrong = WrongSecurity("plain text", "set FRONTDESK_SMTP_SECURITY=starttls")
    found = setup_of_connect_error(wrong, "ignored", host="h", port=1)
    assert (found.kind, found.detail, found.fix) == (
        SetupKind.SECURITY,
        "plain text",
        "set FRONTDESK_SMTP_SECURITY=starttls",
    )


@pytest.mark.parametrize("kind", list(SetupKind))
def test_every_kind_has_words_and_a_fix(kind: SetupKind) -> None:
    assert kind.what and kind.fix and kind.short_fix
    assert len(f"Email is paused: {kind.what} — {kind.short_fix}") <= 2 * 78  # two lines
    assert len(kind.value) <= 20  # mail_pause.kind
