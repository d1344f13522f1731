"""The SMTP password: in the OS keyring, or (where no keyring works) FRONTDESK_SMTP_PASSWORD.

Order, fixed and documented: (1) the keyring (service "frontdesk-smtp", user = the SMTP
username); (2) the FRONTDESK_SMTP_PASSWORD environment variable, for headless servers and SSH;
(3) only if staff asked for it explicitly (`frontdesk smtp set-password --insecure-file`), a
plain file in the user config dir, mode 0600, refused when anyone else could read it.
The keyring is only ever called in a daemon thread with a time box, so a locked desktop keyring
that never answers cannot hang the app. `None` from the keyring means "not set". The password is
never written to the config file, a log, a screen or a command line; nothing here logs it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import keyring
import keyring.errors

from frontdesk.core.config import Settings, user_config_dir
from frontdesk.core.errors import FrontDeskError

log = logging.getLogger(__name__)

SERVICE = "frontdesk-smtp"
OPT_IN_FILE_NAME = "smtp-password.json"  # in the user config dir; only by explicit opt-in (K4)
KEYRING_TIMEOUT = 5.0  # seconds

T = TypeVar("T")


class SecretError(FrontDeskError):
    """The password could not be read or stored; str(error) is one line for a person."""


class KeyringUnavailable(SecretError):
    """No keyring backend works here (headless box, no D-Bus session, disabled keyring)."""


class KeyringTimeout(SecretError):
    """The keyring did not answer within the time box (e.g. a locked keyring over SSH)."""


@dataclass(frozen=True)
class PasswordLookup:
    """Where the SMTP password came from. `note` is a one-line remark for staff, if any."""

    password: str | None = field(repr=False)
    source: str  # "keyring" | "environment" | "file" | "none"
    note: str | None = None


_in_flight: dict[int, threading.Event] = {}
_in_flight_lock = threading.Lock()


def _backend_name(backend: object) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def call_keyring(work: Callable[[], T], *, timeout: float = KEYRING_TIMEOUT) -> T:
    """Run one keyring call in a daemon thread; give up after `timeout` seconds.

    A backend still stuck from an earlier call is not called again (no pile of stuck threads).
    Backend failures become KeyringUnavailable with a one-line reason."""
    backend = keyring.get_keyring()
    key = id(backend)
    with _in_flight_lock:
        stuck = _in_flight.get(key)
        if stuck is not None and not stuck.is_set():
            raise KeyringTimeout(
                f"The keyring is still not answering (waited more than {timeout:g} s before); "
                "unlock it, or set FRONTDESK_SMTP_PASSWORD."
            )
        done = threading.Event()
        _in_flight[key] = done
    outcome: list[T] = []
    failure: list[Exception] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # handed to the caller below, never dropped
            failure.append(exc)
        finally:
            done.set()
            with _in_flight_lock:
                if _in_flight.get(key) is done:
                    del _in_flight[key]

    threading.Thread(target=run, name="frontdesk-keyring", daemon=True).start()
    if not done.wait(timeout):
        raise KeyringTimeout(
            f"The keyring did not answer within {timeout:g} s (is it locked?); "
            "unlock it, or set FRONTDESK_SMTP_PASSWORD."
        )
    if failure:
        exc = failure[0]
        if isinstance(exc, keyring.errors.NoKeyringError):
            raise KeyringUnavailable("No keyring backend works here") from None
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        raise KeyringUnavailable(
            f"The keyring ({_backend_name(backend)}) failed: {type(exc).__name__}"
            + (f": {reason}" if reason else "")
        ) from None
    return outcome[0]


def get_smtp_password(settings: Settings, *, timeout: float = KEYRING_TIMEOUT) -> PasswordLookup:
    """The password for `settings.smtp_username`: keyring first, then FRONTDESK_SMTP_PASSWORD.

    Raises KeyringTimeout when the keyring hangs and no environment password is set."""
    username = settings.smtp_username
    from_env = settings.smtp_password or None
    if not username:
        return PasswordLookup(None, "none")
    try:
        stored = call_keyring(lambda: keyring.get_password(SERVICE, username), timeout=timeout)
    except KeyringTimeout as exc:
        if from_env:
            return PasswordLookup(from_env, "environment", f"{exc} Using FRONTDESK_SMTP_PASSWORD.")
        raise
    except KeyringUnavailable as exc:
        if from_env:
            return PasswordLookup(from_env, "environment", f"{exc}; using FRONTDESK_SMTP_PASSWORD.")
        in_file = _password_from_file(username)
        if in_file is not None:
            return in_file
        return PasswordLookup(
            None, "none", f"{exc}; set FRONTDESK_SMTP_PASSWORD for the SMTP login."
        )
    if stored:
        return PasswordLookup(stored, "keyring")
    if from_env:
        return PasswordLookup(from_env, "environment")
    in_file = _password_from_file(username)
    if in_file is not None:
        return in_file
    return PasswordLookup(
        None,
        "none",
        "SMTP password not set: run `frontdesk smtp set-password` "
        "(or set FRONTDESK_SMTP_PASSWORD where no keyring works).",
    )


def password_file() -> Path:
    return user_config_dir() / OPT_IN_FILE_NAME


def _password_from_file(username: str) -> PasswordLookup | None:
    """The opt-in file's password for `username`; None when there is no such file (or it is
    for another username). A file anyone else could read, or owned by someone else, is
    refused with a note saying how to fix it."""
    path = password_file()
    try:
        info = path.stat()
    except OSError:
        return None
    if stat.S_IMODE(info.st_mode) & 0o077 or info.st_uid != os.getuid():
        mode = oct(stat.S_IMODE(info.st_mode))[2:]
        return PasswordLookup(
            None,
            "none",
            f"{path} is not private (mode {mode}); it was not used. Run `chmod 600 {path}` "
            "as its owner, or store the password again.",
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        stored_user, password = data["smtp_username"], data["password"]
    except (OSError, ValueError, KeyError, TypeError):
        return PasswordLookup(None, "none", f"{path} cannot be read; store the password again.")
    if stored_user != username or not isinstance(password, str) or not password:
        return None
    return PasswordLookup(password, "file")


def set_smtp_password_file(username: str, password: str) -> Path:
    """Store the password in a plain file only this account can read (mode 0600, written
    whole, then moved into place). Staff ask for it explicitly, where no keyring works."""
    if not username:
        raise SecretError("Set smtp_username (FRONTDESK_SMTP_USERNAME) first.")
    if not password:
        raise SecretError("The password is empty; nothing was stored.")
    path = password_file()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an older partial file may have had a wider mode
            os.write(fd, json.dumps({"smtp_username": username, "password": password}).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, path)
    except OSError as exc:
        raise SecretError(
            f"Cannot write {path}: {exc.strerror or exc}; nothing was stored."
        ) from None
    return path


def set_smtp_password(username: str, password: str, *, timeout: float = KEYRING_TIMEOUT) -> str:
    """Store the password in the keyring; returns the backend's name (for a confirmation)."""
    if not username:
        raise SecretError("Set smtp_username (FRONTDESK_SMTP_USERNAME) first.")
    if not password:
        raise SecretError("The password is empty; nothing was stored.")
    try:
        call_keyring(lambda: keyring.set_password(SERVICE, username, password), timeout=timeout)
    except KeyringUnavailable as exc:
        raise KeyringUnavailable(
            f"{exc}; nothing was stored. On a headless server set FRONTDESK_SMTP_PASSWORD in "
            "the environment of `frontdesk serve` instead."
        ) from None
    return _backend_name(keyring.get_keyring())


def keyring_problem(*, timeout: float = KEYRING_TIMEOUT) -> str | None:
    """A one-line description of why the keyring cannot be used here, or None when it works."""
    try:
        call_keyring(lambda: keyring.get_password(SERVICE, "frontdesk-probe"), timeout=timeout)
    except SecretError as exc:
        return str(exc)
    return None


PasswordProvider = Callable[[], "PasswordLookup | str | None"]


def smtp_password_provider(
    settings: Settings, *, timeout: float = KEYRING_TIMEOUT
) -> Callable[[], PasswordLookup]:
    """A callable the outbox uses to fetch the password right before it connects."""

    def provide() -> PasswordLookup:
        lookup = get_smtp_password(settings, timeout=timeout)
        if lookup.note:
            log.warning("%s", lookup.note)
        return lookup

    return provide
