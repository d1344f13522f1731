"""The bounce mailbox over IMAP (stdlib imaplib): find delivery status notifications, read
them without marking them read, and flag the ones FrontDesk has handled as \\Seen.

TLS is always on and verified (implicit TLS, usually port 993, or STARTTLS on 143); there is no
plaintext fallback. Every socket operation has a timeout, so a silent server cannot hang a
delivery thread. Nothing here deletes, moves or expunges a message.

The IMAP password is looked up like the SMTP password (frontdesk.mail.secrets): the OS keyring
(service "frontdesk-imap", user = the IMAP username) first, then FRONTDESK_IMAP_PASSWORD.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

import keyring

from frontdesk.core.config import Settings
from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import single_line
from frontdesk.mail.secrets import (
    KEYRING_TIMEOUT,
    KeyringTimeout,
    KeyringUnavailable,
    PasswordLookup,
    SecretError,
    call_keyring,
)

IMAP_SERVICE = "frontdesk-imap"
IMAP_TIMEOUT = 30.0  # seconds, for connecting and for each command
GREETING_TIMEOUT = 10.0  # seconds to wait for the plaintext greeting under STARTTLS
FETCH_CHUNK = 20
MAX_MESSAGE_BYTES = 5_000_000  # a notification is small; a bigger message is not read whole


class ImapError(FrontDeskError):
    """The bounce mailbox cannot be read (unreachable, TLS not trusted, login refused, no such
    folder); str(error) is one line for a person, with the fix where there is one."""


# --------------------------------------------------------------------------------------------
# The password
# --------------------------------------------------------------------------------------------


def get_imap_password(settings: Settings, *, timeout: float = KEYRING_TIMEOUT) -> PasswordLookup:
    """The password for `settings.imap_username`: keyring first, then FRONTDESK_IMAP_PASSWORD."""
    username = settings.imap_username
    from_env = settings.imap_password or None
    if not username:
        return PasswordLookup(None, "none")
    try:
        stored = call_keyring(lambda: keyring.get_password(IMAP_SERVICE, username), timeout=timeout)
    except (KeyringTimeout, KeyringUnavailable) as exc:
        if from_env:
            return PasswordLookup(from_env, "environment")
        reason = str(exc).split(";")[0].rstrip(".")
        return PasswordLookup(
            None, "none", f"{reason}; set FRONTDESK_IMAP_PASSWORD for the bounce mailbox."
        )
    if stored:
        return PasswordLookup(stored, "keyring")
    if from_env:
        return PasswordLookup(from_env, "environment")
    return PasswordLookup(
        None,
        "none",
        "IMAP password not set: run `frontdesk imap set-password` "
        "(or set FRONTDESK_IMAP_PASSWORD where no keyring works).",
    )


def imap_password_provider(
    settings: Settings, *, timeout: float = KEYRING_TIMEOUT
) -> Callable[[], PasswordLookup]:
    """A callable the bounce reader uses to fetch the password right before it connects."""
    return lambda: get_imap_password(settings, timeout=timeout)


def set_imap_password(username: str, password: str, *, timeout: float = KEYRING_TIMEOUT) -> None:
    """Store the IMAP password in the keyring."""
    if not username:
        raise SecretError("Set imap_username (FRONTDESK_IMAP_USERNAME) first.")
    if not password:
        raise SecretError("The password is empty; nothing was stored.")
    try:
        call_keyring(
            lambda: keyring.set_password(IMAP_SERVICE, username, password), timeout=timeout
        )
    except (KeyringUnavailable, KeyringTimeout) as exc:
        raise SecretError(
            f"{str(exc).split(';')[0].rstrip('.')}; nothing was stored. On a headless server "
            "set FRONTDESK_IMAP_PASSWORD in the environment of `frontdesk serve` instead."
        ) from None


# --------------------------------------------------------------------------------------------
# The mailbox
# --------------------------------------------------------------------------------------------


def imap_tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying TLS context: system trust store, plus FRONTDESK_IMAP_CA_FILE if set."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.imap_ca_file:
        try:
            context.load_verify_locations(cafile=settings.imap_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ImapError(
                f"cannot load FRONTDESK_IMAP_CA_FILE {settings.imap_ca_file}: {exc}"
            ) from None
    return context


def _quoted(name: str) -> str:
    """An IMAP quoted string (folder names may hold spaces)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_UID = re.compile(rb"\bUID (\d+)")


class BounceMailbox:
    """One IMAP session on the bounce folder: `with BounceMailbox(settings, password) as box:`.
    Blocking: run it on a worker thread."""

    def __init__(
        self,
        settings: Settings,
        password: str | None,
        *,
        timeout: float = IMAP_TIMEOUT,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self.timeout = timeout
        self._context = context
        self._conn: imaplib.IMAP4 | None = None
        self.uid_validity = 0

    def __repr__(self) -> str:  # never shows the password
        return f"BounceMailbox({self.where}, security={self.settings.imap_security})"

    @property
    def where(self) -> str:
        return f"{self.settings.imap_host}:{self.settings.imap_port}"

    @property
    def folder(self) -> str:
        return self.settings.imap_folder or "INBOX"

    @property
    def key(self) -> str:
        """Which mailbox this is, as the store remembers what was read in it."""
        user = self.settings.imap_username or ""
        return f"{user}@{self.where}/{self.folder}"[:300]

    # ------------------------------------------------------------------ session

    def __enter__(self) -> BounceMailbox:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect, secure, log in and select the folder. Raises ImapError."""
        settings = self.settings
        if not settings.imap_host:
            raise ImapError("FRONTDESK_IMAP_HOST is not set: bounces are not read")
        conn: imaplib.IMAP4 | None = None
        try:
            context = self._context or imap_tls_context(settings)
            if settings.imap_security == "tls":
                conn = imaplib.IMAP4_SSL(
                    settings.imap_host,
                    settings.imap_port,
                    ssl_context=context,
                    timeout=self.timeout,
                )
            else:
                # A server that stays silent here is most likely an implicit-TLS port waiting
                # for our TLS hello: say so within seconds, not after the full timeout.
                conn = imaplib.IMAP4(
                    settings.imap_host,
                    settings.imap_port,
                    timeout=min(self.timeout, GREETING_TIMEOUT),
                )
                conn.sock.settimeout(self.timeout)
                if "STARTTLS" not in conn.capabilities:
                    raise ImapError(
                        f"mail server {self.where} does not offer STARTTLS; "
                        "set FRONTDESK_IMAP_SECURITY=tls for an implicit-TLS port such as 993"
                    )
                conn.starttls(ssl_context=context)
            if settings.imap_username:
                if not self._password:
                    raise ImapError("IMAP password not set: run `frontdesk imap set-password`")
                conn.login(settings.imap_username, self._password)
            typ, _ = conn.select(_quoted(self.folder))
            if typ != "OK":
                raise ImapError(f"the bounce mailbox has no folder {self.folder!r}")
            validity = conn.untagged_responses.get("UIDVALIDITY", [b"0"])[-1]
            self.uid_validity = int(validity) if isinstance(validity, bytes | int) else 0
        except ImapError:
            _logout_quietly(conn)
            raise
        except (imaplib.IMAP4.error, OSError, ValueError) as exc:
            _logout_quietly(conn)
            raise ImapError(self._describe(exc)) from None
        self._conn = conn

    def _describe(self, exc: BaseException) -> str:
        where = f"mail server {self.where}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return (
                f"{where} certificate not trusted: {exc.verify_message}; "
                "set FRONTDESK_IMAP_CA_FILE to its CA"
            )
        if isinstance(exc, ssl.SSLError):
            hint = (
                "; set FRONTDESK_IMAP_SECURITY=starttls for a STARTTLS port such as 143"
                if self.settings.imap_security == "tls"
                else ""
            )
            return f"TLS with {where} failed: {exc.reason or exc}{hint}"
        if isinstance(exc, imaplib.IMAP4.abort):
            return f"{where} closed the IMAP session: {_words(exc)}"
        if isinstance(exc, imaplib.IMAP4.error):
            text = _words(exc)
            if "auth" in text.lower() or "login" in text.lower() or "LOGIN" in str(exc):
                return f"{where} refused the IMAP login: {text}"
            return f"{where} answered: {text}"
        if isinstance(exc, ConnectionRefusedError):
            return f"cannot connect to {where}: connection refused"
        if isinstance(exc, socket.gaierror):
            return f"mail server host {self.settings.imap_host!r} not found"
        if isinstance(exc, TimeoutError):
            if self.settings.imap_security == "starttls" and self._conn is None:
                return (
                    f"{where} sent no IMAP greeting; for an implicit-TLS port such as 993 "
                    "set FRONTDESK_IMAP_SECURITY=tls"
                )
            return f"{where} did not answer within {self.timeout:g} s"
        if isinstance(exc, OSError):
            return f"cannot connect to {where}: {exc.strerror or exc}"
        return f"{where}: {type(exc).__name__}"

    def close(self) -> None:
        conn, self._conn = self._conn, None
        _logout_quietly(conn)

    # ------------------------------------------------------------------ reading

    def _run(self, *args: str) -> list[object]:
        conn = self._conn
        if conn is None:
            raise ImapError("the bounce mailbox is not open")
        try:
            typ, data = conn.uid(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            raise ImapError(self._describe(exc)) from None
        if typ != "OK":
            raise ImapError(f"mail server {self.where} answered {args[0]}: {_words(data)}")
        return list(data)

    def report_uids(self) -> list[int]:
        """The UIDs of the folder's delivery status notifications (by their Content-Type)."""
        data = self._run("SEARCH", "HEADER", "Content-Type", "delivery-status")
        found: list[int] = []
        for chunk in data:
            if isinstance(chunk, bytes):
                found.extend(int(n) for n in chunk.split())
        return sorted(found)

    def fetch(self, uids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        """(uid, whole message) for each UID, read without marking it \\Seen."""
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = ",".join(str(u) for u in uids[start : start + FETCH_CHUNK])
            data = self._run("FETCH", chunk, f"(UID BODY.PEEK[]<0.{MAX_MESSAGE_BYTES}>)")
            waiting: bytes | None = None  # a body whose UID comes after it
            for item in data:
                if isinstance(item, tuple) and len(item) == 2:
                    head, body = item
                    match = _UID.search(head) if isinstance(head, bytes) else None
                    if isinstance(body, bytes):
                        if match:
                            yield int(match.group(1)), body
                        else:
                            waiting = body
                elif isinstance(item, bytes) and waiting is not None:
                    match = _UID.search(item)
                    if match:
                        yield int(match.group(1)), waiting
                    waiting = None

    def mark_seen(self, uids: Sequence[int]) -> None:
        """Flag these messages \\Seen (they stay in the folder)."""
        if uids:
            self._run("STORE", ",".join(str(u) for u in uids), "+FLAGS.SILENT", "(\\Seen)")


def _words(value: object) -> str:
    if isinstance(value, BaseException):
        value = value.args[0] if value.args else str(value)
    if isinstance(value, list):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return single_line(" ".join(str(value).split()))[:200]


def _logout_quietly(conn: imaplib.IMAP4 | None) -> None:
    """End a session; a failure to say goodbye to a server that already failed adds nothing."""
    if conn is None:
        return
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        try:
            conn.shutdown()
        except OSError:
            return
