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

from frontdesk.core.config import Settings
from frontdesk.mail.outbox import MailNotConfigured, OutboxDelivery
from frontdesk.mail.secrets import (
    SERVICE,
    KeyringTimeout,
    get_smtp_password,
    keyring_problem,
    set_smtp_password,
    smtp_password_provider,
)
from frontdesk.services import Services
from tests.factories import outbox_rows
from tests.mail.conftest import HangingKeyring, MemoryKeyring, StartSmtp

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
    invited.invitations.resend_invitation("C-20931")
    delivery.deliver_due()
    assert SENTINEL not in caplog.text
    for row in outbox_rows(invited):
        assert SENTINEL not in (row.last_error or "")


# ------------------------------------------------------------------------------------------
# K4 (3): a plain file, only when staff ask for it, only while it stays private
# ------------------------------------------------------------------------------------------


def test_opt_in_file_is_private_and_comes_last(use_keyring: UseKeyring) -> None:
    import stat

    from frontdesk.mail.secrets import password_file, set_smtp_password_file

    use_keyring(keyring.backends.null.Keyring())  # a keyring with nothing stored
    assert not password_file().exists()  # nothing is ever written without asking
    path = set_smtp_password_file("desk", SENTINEL)
    assert path == password_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    lookup = get_smtp_password(with_user())
    assert (lookup.password, lookup.source, lookup.note) == (SENTINEL, "file", None)
    # the environment, then the keyring, come first
    assert get_smtp_password(with_user(smtp_password="from-env")).source == "environment"
    backend = MemoryKeyring()
    use_keyring(backend)
    set_smtp_password("desk", "from-keyring")
    assert get_smtp_password(with_user()).password == "from-keyring"
    # a file for another login is not used
    use_keyring(keyring.backends.fail.Keyring())
    other = get_smtp_password(Settings(smtp_username="someone-else"))
    assert other.password is None and other.source == "none"
    assert get_smtp_password(with_user()).password == SENTINEL  # no keyring works: the file


def test_a_file_others_could_read_is_refused(use_keyring: UseKeyring) -> None:
    from frontdesk.mail.secrets import set_smtp_password_file

    use_keyring(keyring.backends.null.Keyring())
    path = set_smtp_password_file("desk", SENTINEL)
    path.chmod(0o644)
    lookup = get_smtp_password(with_user())
    assert lookup.password is None and lookup.source == "none"
    assert lookup.note == (
        f"{path} is not private (mode 644); it was not used. Run `chmod 600 {path}` as its "
        "owner, or store the password again."
    )
    assert SENTINEL not in lookup.note
    set_smtp_password_file("desk", SENTINEL)  # storing again makes it private again
    assert get_smtp_password(with_user()).password == SENTINEL


def test_cli_stores_in_the_file_only_with_the_flag(
    use_keyring: UseKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import getpass
    import stat

    from frontdesk.cli import main
    from frontdesk.cli.context import CliContext
    from frontdesk.mail.secrets import password_file

    use_keyring(keyring.backends.fail.Keyring())
    monkeypatch.setenv("FRONTDESK_SMTP_USERNAME", "desk")
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": SENTINEL)
    assert main(["smtp", "set-password"], CliContext(stdin_is_tty=lambda: True)) == 1
    assert "nothing was stored" in capsys.readouterr().err
    assert not password_file().exists()
    tty = CliContext(stdin_is_tty=lambda: True)
    assert main(["smtp", "set-password", "--insecure-file"], tty) == 0
    said = capsys.readouterr()
    assert "(mode 0600)" in said.out and SENTINEL not in said.out + said.err
    assert stat.S_IMODE(password_file().stat().st_mode) == 0o600
