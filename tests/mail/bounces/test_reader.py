"""The bounce reader's bookkeeping, with a mailbox that serves prepared notifications (the
IMAP side is tested against Dovecot in test_bounces.py): a folder whose UIDVALIDITY changed,
an email still retrying when its bounce comes, and the settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import select

from frontdesk.core import links
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import ConfigError, Settings, load_settings
from frontdesk.mail.bounces import BounceReader
from frontdesk.mail.imap import BounceMailbox
from frontdesk.mail.secrets import PasswordLookup
from frontdesk.services import Services
from store.models import AuditEvent, OutboxEmail
from tests.factories import MAIL_FROM, outbox_rows
from tests.mail.bounces.dsns import postfix_dsn
from tests.mail.conftest import CHART_NUMBER


class Served(BounceMailbox):
    """A bounce mailbox holding `messages` (uid -> raw) under `uid_validity` (no network)."""

    def __init__(self, settings: Settings, messages: dict[int, bytes], uid_validity: int) -> None:
        super().__init__(settings, None)
        self.messages = messages
        self.uid_validity = uid_validity
        self.seen: list[int] = []

    def open(self) -> None:
        return None

    def report_uids(self) -> list[int]:
        return sorted(self.messages)

    def fetch(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        yield from ((uid, self.messages[uid]) for uid in uids)

    def mark_seen(self, uids: Sequence[int]) -> None:
        self.seen.extend(uids)


def reader(services: Services, box: Served) -> BounceReader:
    settings = replace(services.settings, imap_host="imap.cedar.example")
    return BounceReader(
        services.db,
        services.clock,
        settings,
        lambda: PasswordLookup(None, "none"),
        mailbox_factory=lambda _s, _p: box,
    )


def bounce_of(row: OutboxEmail, clock: FrozenClock) -> bytes:
    local, _, domain = MAIL_FROM.partition("@")
    return postfix_dsn(
        f"Message-ID: {row.message_id}\r\n\r\n".encode(),
        to=f"{local}+{row.bounce_tag}@{domain}",
        recipient=row.to_address,
        when=clock.now(),
        status="5.2.2",
        diagnostic="smtp; 552 5.2.2 <alex@example.com>: Mailbox full",
    )


def handed_over(services: Services, state: str) -> OutboxEmail:
    """The invitation's email as if the relay had taken it (`sent`, or `retrying` after a
    connection lost once the data was sent)."""
    [row] = outbox_rows(services)
    with services.db.write_once() as session:
        stored = session.get(OutboxEmail, row.id)
        assert stored is not None
        stored.state = state
        session.add(stored)
    [row] = outbox_rows(services)
    return row


def bounced_audits(services: Services) -> list[AuditEvent]:
    with services.db.read() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == "invitation delivery bounced")
            ).all()
        )


def test_a_new_uidvalidity_does_not_count_a_notification_twice(
    invited: Services, clock: FrozenClock
) -> None:
    row = handed_over(invited, "sent")
    raw = bounce_of(row, clock)
    first = reader(invited, Served(invited.settings, {5: raw}, uid_validity=100)).read()
    assert first.summary() == "1 matched, 0 left unmatched"
    # The server renumbered the folder: the same notification under a new UID.
    box = Served(invited.settings, {1: raw}, uid_validity=200)
    again = reader(invited, box).read()
    assert (again.matched, again.unmatched, again.already_read) == (0, 0, 1)
    assert box.seen == [1]
    assert len(bounced_audits(invited)) == 1


def test_a_retrying_email_that_bounced_stops_retrying(
    invited: Services, clock: FrozenClock
) -> None:
    row = handed_over(invited, "retrying")  # "maybe delivered" once: that copy came back
    assert links.find_register_token(row.body_text)
    report = reader(invited, Served(invited.settings, {1: bounce_of(row, clock)}, 1)).read()
    [item] = report.bounced
    assert (item.chart_number, item.status, item.matched_by) == (CHART_NUMBER, "5.2.2", "tag")
    [row] = outbox_rows(invited)
    assert (row.state, row.bounce_status) == ("bounced", "5.2.2")
    assert links.find_register_token(row.body_text) is None  # no usable link stays at rest
    detail = invited.views.chart(CHART_NUMBER).delivery
    assert detail is not None and detail.label == "Not delivered: mailbox full"
    [audit] = bounced_audits(invited)
    assert audit.detail.startswith("552 5.2.2 <a") and "alex@example.com" not in audit.detail


def test_settings_from_environment_and_file(tmp_path: Path) -> None:
    env = {
        "FRONTDESK_MAIL_FROM": "portal@cedar.example",
        "FRONTDESK_IMAP_HOST": "imap.cedar.example",
        "FRONTDESK_IMAP_PORT": "143",
        "FRONTDESK_IMAP_SECURITY": "starttls",
        "FRONTDESK_IMAP_USERNAME": "bounces",
        "FRONTDESK_IMAP_FOLDER": "Bounces",
    }
    settings = load_settings(tmp_path / "none.toml", env)
    assert (settings.imap_host, settings.imap_port, settings.imap_security) == (
        "imap.cedar.example",
        143,
        "starttls",
    )
    assert settings.imap_folder == "Bounces"
    assert settings.bounce_mailbox == "portal@cedar.example"  # the From address by default
    assert (
        load_settings(
            tmp_path / "none.toml", {**env, "FRONTDESK_BOUNCE_ADDRESS": "bounces@cedar.example"}
        ).bounce_mailbox
        == "bounces@cedar.example"
    )
    with pytest.raises(ConfigError, match="FRONTDESK_IMAP_SECURITY must be tls or starttls"):
        load_settings(tmp_path / "none.toml", {**env, "FRONTDESK_IMAP_SECURITY": "none"})
    with pytest.raises(ConfigError, match="FRONTDESK_BOUNCE_ADDRESS must be one email address"):
        load_settings(tmp_path / "none.toml", {**env, "FRONTDESK_BOUNCE_ADDRESS": "a@b, c@d"})
    with pytest.raises(ConfigError, match="FRONTDESK_BOUNCE_TAGS: 'maybe' is not a valid value"):
        load_settings(tmp_path / "none.toml", {**env, "FRONTDESK_BOUNCE_TAGS": "maybe"})
    assert load_settings(tmp_path / "none.toml", env).bounce_tags is True
    config = tmp_path / "config.toml"
    config.write_text('imap_password = "secret"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="IMAP password must not be stored"):
        load_settings(config, {})
    assert "secret" not in repr(replace(settings, imap_password="secret"))


def test_a_notification_that_cannot_be_read_is_left_unmatched(
    invited: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = handed_over(invited, "sent")

    def broken(raw: bytes) -> None:
        raise LookupError("unknown encoding: x-unheard-of")

    monkeypatch.setattr("frontdesk.mail.bounces.parse_dsn", broken)
    box = Served(invited.settings, {1: bounce_of(row, clock)}, 1)
    report = reader(invited, box).read()
    assert report.summary() == "0 matched, 1 left unmatched"
    assert box.seen == []
    [row] = outbox_rows(invited)
    assert row.state == "sent"


def test_hostile_notifications_parse_without_error() -> None:
    from frontdesk.mail.dsn import parse_dsn

    header = b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
    for body in (
        b"",
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n",
        b"--b\r\nContent-Type: text/rfc822-headers; charset=x-unheard-of\r\n\r\n\xff\xfe\r\n--b--",
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nnot headers at all\r\n--b--",
        b"\x00\x1b[31m" * 1000,
    ):
        parsed = parse_dsn(header + body)
        assert parsed is not None
