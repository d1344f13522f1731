"""The SMTP password: keyring absent, present and hanging (SECURITY.md K1-K3, K5)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import pytest

from frontdesk.config import Settings
from frontdesk.mail.outbox import MailNotConfigured, OutboxDelivery
from frontdesk.secrets import (
    SERVICE,
    KeyringTimeout,
    get_smtp_password,
    keyring_problem,
    set_smtp_password,
    smtp_password_provider,
)
from frontdesk.services import Services
from tests.mail.conftest import HangingKeyring, MemoryKeyring, StartSmtp, outbox_rows

SENTINEL = "Sentinel-Pa55-91c2e0"
UseKeyring = Callable[[keyring.backend.KeyringBackend], None]


def with_user(**changes: Any) -> Settings:
    return Settings(smtp_username="desk", **changes)


def test_present_keyring_gives_the_password(use_keyring: UseKeyring) -> None:
    backend = MemoryKeyring()
    use_keyring(backend)
    assert set_smtp_password("desk", SENTINEL).endswith("MemoryKeyring")
    assert backend.store == {(SERVICE, "desk"): SENTINEL}
    lookup = get_smtp_password(with_user())
    assert (lookup.password, lookup.source, lookup.note) == (SENTINEL, "keyring", None)
    assert SENTINEL not in repr(lookup)
    # The keyring comes first, the environment second.
    assert get_smtp_password(with_user(smtp_password="from-env")).password == SENTINEL


def test_none_from_keyring_means_not_set(use_keyring: UseKeyring) -> None:
    use_keyring(keyring.backends.null.Keyring())
    lookup = get_smtp_password(with_user())
    assert lookup.password is None and lookup.source == "none"
    assert lookup.note is not None and lookup.note.startswith("SMTP password not set")
    env = get_smtp_password(with_user(smtp_password="from-env"))
    assert (env.password, env.source) == ("from-env", "environment")


def test_absent_keyring_says_so_and_uses_the_environment(use_keyring: UseKeyring) -> None:
    use_keyring(keyring.backends.fail.Keyring())
    lookup = get_smtp_password(with_user(smtp_password="from-env"))
    assert (lookup.password, lookup.source) == ("from-env", "environment")
    assert lookup.note == "No keyring backend works here; using FRONTDESK_SMTP_PASSWORD."
    missing = get_smtp_password(with_user())
    assert missing.password is None
    assert missing.note is not None and "set FRONTDESK_SMTP_PASSWORD" in missing.note
    assert "\n" not in missing.note
    assert keyring_problem() == "No keyring backend works here"
    with pytest.raises(Exception, match="nothing was stored"):
        set_smtp_password("desk", SENTINEL)


def test_hanging_keyring_returns_within_the_time_box(use_keyring: UseKeyring) -> None:
    backend = HangingKeyring()
    use_keyring(backend)
    started = time.monotonic()
    with pytest.raises(KeyringTimeout, match=r"did not answer within 0\.2 s"):
        get_smtp_password(with_user(), timeout=0.2)
    elapsed = time.monotonic() - started
    assert backend.entered.is_set()
    assert elapsed < 2.0
    # A second call does not pile up another stuck thread: it fails at once.
    started = time.monotonic()
    with pytest.raises(KeyringTimeout, match="still not answering"):
        get_smtp_password(with_user(), timeout=0.2)
    assert time.monotonic() - started < 0.2
    # With an environment password the app carries on, saying why.
    lookup = get_smtp_password(with_user(smtp_password="from-env"), timeout=0.2)
    assert lookup.password == "from-env" and lookup.note is not None


def test_hanging_keyring_keeps_delivery_from_starting(
    invited: Services, use_keyring: UseKeyring, mail_settings: Any, start_smtp: StartSmtp
) -> None:
    use_keyring(HangingKeyring())
    server = start_smtp(login=("desk", SENTINEL), auth_require_tls=False)
    settings = mail_settings(server.port, smtp_username="desk")
    delivery = OutboxDelivery(
        invited.db, invited.clock, settings, smtp_password_provider(settings, timeout=0.2)
    )
    with pytest.raises(MailNotConfigured, match="keyring did not answer"):
        delivery.deliver_due()
    assert outbox_rows(invited)[0].state == "pending"


def test_keyring_password_is_used_to_log_in_and_never_logged(
    invited: Services,
    use_keyring: UseKeyring,
    mail_settings: Any,
    start_smtp: StartSmtp,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = MemoryKeyring()
    backend.store[(SERVICE, "desk")] = SENTINEL
    use_keyring(backend)
    server = start_smtp(login=("desk", SENTINEL), auth_require_tls=False)
    settings = mail_settings(server.port, smtp_username="desk")
    delivery = OutboxDelivery(invited.db, invited.clock, settings, smtp_password_provider(settings))
    assert delivery.deliver_due().sent == 1
    assert server.messages[0].authenticated
    # A failure path too: wrong stored password.
    backend.store[(SERVICE, "desk")] = SENTINEL + "-old"
    invited.clock.advance(seconds=61)  # type: ignore[attr-defined]
    invited.portal.resend_invitation("C-20931")
    delivery.deliver_due()
    assert SENTINEL not in caplog.text
    for row in outbox_rows(invited):
        assert SENTINEL not in (row.last_error or "")
