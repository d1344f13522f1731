"""Reading delivery status notifications (no server): Postfix's and Exchange's shapes, the
envelope sender's tag, and the words staff read for a status code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from frontdesk.mail.dsn import (
    bounce_reason,
    envelope_sender,
    new_bounce_tag,
    parse_dsn,
    tag_in_address,
)
from tests.mail.bounces.dsns import exchange_ndr, ordinary_email, postfix_dsn

WHEN = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
ORIGINAL = (
    b"From: Cedar Counseling <portal@cedar.example>\r\nTo: ana@gmial.example\r\n"
    b"Subject: Your Client Portal invitation\r\n"
    b"Message-ID: <177.42.abc@cedar.example>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nSign in to see it.\r\n"
)


def test_postfix_bounce() -> None:
    raw = postfix_dsn(
        ORIGINAL,
        to="bounces+0123456789abcdef@cedar.example",
        recipient="ana@gmial.example",
        when=WHEN,
    )
    dsn = parse_dsn(raw)
    assert dsn is not None
    assert dsn.original_message_id == "<177.42.abc@cedar.example>"
    assert dsn.tag("bounces@cedar.example") == "0123456789abcdef"
    assert dsn.tag("portal@cedar.example") is None
    failure = dsn.failure
    assert failure is not None
    assert (failure.recipient, failure.action, failure.status) == (
        "ana@gmial.example",
        "failed",
        "5.1.1",
    )
    assert failure.detail == (
        "550 5.1.1 <ana@gmial.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )


@pytest.mark.parametrize("whole_message", [True, False])
def test_exchange_ndr(whole_message: bool) -> None:
    raw = exchange_ndr(
        ORIGINAL,
        to="bounces@cedar.example",
        recipient="ana@gmial.example",
        when=WHEN,
        whole_message=whole_message,
    )
    dsn = parse_dsn(raw)
    assert dsn is not None
    assert dsn.original_message_id == "<177.42.abc@cedar.example>"
    assert dsn.tag("bounces@cedar.example") is None  # the bare address: no tag
    assert dsn.failure is not None and dsn.failure.status == "5.1.10"
    assert dsn.failure.detail.startswith("550 5.1.10 RESOLVER.ADR.RecipientNotFound")


def test_a_delay_warning_is_not_a_failure() -> None:
    raw = postfix_dsn(
        ORIGINAL,
        to="bounces@cedar.example",
        recipient="ana@gmial.example",
        when=WHEN,
        status="4.4.1",
        action="delayed",
        diagnostic="X-Postfix; connect timed out",
    )
    dsn = parse_dsn(raw)
    assert dsn is not None and dsn.failure is None
    assert [r.action for r in dsn.recipients] == ["delayed"]


def test_other_mail_is_not_a_report() -> None:
    assert parse_dsn(ordinary_email(to="portal@cedar.example", when=WHEN)) is None
    assert (
        parse_dsn(b"Content-Type: multipart/report; report-type=disposition-notification\r\n\r\n")
        is None
    )


def test_tag_is_random_and_only_in_the_envelope() -> None:
    tags = {new_bounce_tag() for _ in range(1000)}
    assert len(tags) == 1000 and all(len(t) == 16 for t in tags)
    assert envelope_sender("bounces@cedar.example", "00ff") == "bounces+00ff@cedar.example"
    assert envelope_sender("bounces@cedar.example", None) == "bounces@cedar.example"
    assert envelope_sender(None, "00ff") is None
    assert tag_in_address("<Bounces+0123456789ABCDEF@Cedar.example>", "bounces@cedar.example") == (
        "0123456789abcdef"
    )
    assert tag_in_address("bounces+x@cedar.example", "bounces@cedar.example") is None
    assert tag_in_address("other+0123456789abcdef@cedar.example", "bounces@cedar.example") is None


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("5.1.1", "address does not exist"),
        ("5.1.10", "address does not exist"),
        ("5.1.2", "the address's domain does not exist"),
        ("5.2.2", "mailbox full"),
        ("4.2.2", "mailbox full"),
        ("5.2.1", "mailbox disabled"),
        ("5.7.1", "blocked by the recipient's mail server"),
        ("4.4.7", "recipient's mail server did not take it in time"),
        ("4.4.1", "recipient's mail server did not answer"),
        ("5.4.0", "recipient's mail server could not be reached"),
        ("5.3.0", "recipient's mail system refused it"),
        ("", "returned by the recipient's mail server"),
    ],
)
def test_words_for_a_status(status: str, words: str) -> None:
    assert bounce_reason(status) == words
