"""Handing messages to the mail server with smtplib: blocking, so callers run it off the event loop.

STARTTLS, implicit TLS, or plain SMTP to a loopback host only. Certificates are verified
(`ssl.create_default_context()`, plus FRONTDESK_SMTP_CA_FILE) — smtplib's own default context
verifies nothing. One connection is reused for a batch. Every failure becomes a `SendError`
that says whether it is temporary (retry) or permanent (the server's 5xx reason), and whether
the message may have been delivered anyway (connection lost after the data was sent).
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from types import TracebackType

from frontdesk.core.config import Settings, is_loopback_host
from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import single_line
from frontdesk.mail.compose import wire_policy
from frontdesk.mail.dsn import probe_sender
from frontdesk.mail.failures import (
    EnvelopeProbe,
    SetupFailure,
    SetupKind,
    WrongSecurity,
    login_once,
    open_smtp,
    probe_envelope,
    setup_of_connect_error,
    setup_of_reply,
)


class SendError(FrontDeskError):
    """A message (or the connection) failed; str(error) is one line for staff."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        maybe_delivered: bool = False,
        connection: bool = False,
        setup: SetupFailure | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.maybe_delivered = maybe_delivered
        self.connection = connection  # the connection is gone (or never came up)
        self.setup = setup  # a setup failure (pauses the outbox), not this message's own


def server_reply(code: int, text: bytes | str) -> str:
    """'550 5.1.1 Mailbox unavailable': the server's reply as one short line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    line = single_line(" ".join(text.split()))
    return f"{code} {line}"[:300].strip()


def tls_context(settings: Settings) -> ssl.SSLContext:
    """A verifying TLS context: system trust store, plus FRONTDESK_SMTP_CA_FILE if set."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.smtp_ca_file:
        try:
            context.load_verify_locations(cafile=settings.smtp_ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = f"cannot load FRONTDESK_SMTP_CA_FILE {settings.smtp_ca_file}: {exc}"
            raise SendError(
                reason,
                connection=True,
                setup=SetupFailure.of(
                    SetupKind.TLS,
                    reason,
                    "point FRONTDESK_SMTP_CA_FILE at a readable PEM file of CA certificates",
                ),
            ) from None
    return context


_PERIOD_AT_LINE_START = re.compile(rb"(?m)^\.")


class SmtpSender:
    """One SMTP connection, opened lazily and reused for every message of a batch."""

    def __init__(
        self,
        settings: Settings,
        password: str | None = None,
        *,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self._context = context
        self._conn: smtplib.SMTP | None = None
        self.tls_version: str | None = None

    def __repr__(self) -> str:  # never shows the password
        return f"SmtpSender({self.where}, security={self.settings.smtp_security})"

    @property
    def where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    @property
    def connected(self) -> bool:
        return self._conn is not None

    # ------------------------------------------------------------------ connection

    def connect(self) -> None:
        """Open, secure and log in. Raises SendError(connection=True) on any failure."""
        if self._conn is not None:
            return
        settings = self.settings
        security = settings.smtp_security
        if security == "none" and not is_loopback_host(settings.smtp_host):
            reason = "plain SMTP is allowed only to a loopback mail server; use starttls or tls"
            raise SendError(
                reason, connection=True, setup=SetupFailure.of(SetupKind.SECURITY, reason)
            )
        conn: smtplib.SMTP | None = None
        try:
            context = self._context or (tls_context(settings) if security != "none" else None)
            conn = open_smtp(
                settings.smtp_host,
                settings.smtp_port,
                security=security,
                timeout=settings.smtp_timeout,
                context=context,
            )
            conn.ehlo()
            if security == "starttls":
                if not conn.has_extn("starttls"):
                    reason = f"mail server {self.where} does not offer STARTTLS"
                    raise SendError(
                        reason,
                        connection=True,
                        setup=SetupFailure.of(
                            SetupKind.SECURITY,
                            reason,
                            "enable STARTTLS on the server, or set FRONTDESK_SMTP_SECURITY=tls "
                            "with its implicit-TLS port (465)",
                        ),
                    )
                conn.starttls(context=context)
                conn.ehlo()
            sock = conn.sock
            self.tls_version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
            if settings.smtp_username:
                if self._password is None:
                    raise SendError(
                        "SMTP password not set",
                        connection=True,
                        setup=SetupFailure.of(SetupKind.LOGIN, "SMTP password not set"),
                    )
                if not conn.has_extn("auth"):
                    reason = f"mail server {self.where} does not offer login (AUTH)"
                    raise SendError(
                        reason,
                        connection=True,
                        setup=SetupFailure.of(
                            SetupKind.LOGIN,
                            reason,
                            "enable AUTH on the mail server, or remove FRONTDESK_SMTP_USERNAME "
                            "if it accepts mail without a login",
                        ),
                    )
                login_once(conn, settings.smtp_username, self._password)
        except SendError:
            _close_quietly(conn)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            _close_quietly(conn)
            reason = self._describe_connect_error(exc)
            setup = setup_of_connect_error(
                exc, reason, host=settings.smtp_host, port=settings.smtp_port
            )
            raise SendError(reason, connection=True, setup=setup) from None
        self._conn = conn

    def _describe_connect_error(self, exc: Exception) -> str:
        return describe_smtp_error(
            exc,
            host=self.settings.smtp_host,
            port=self.settings.smtp_port,
            timeout=self.settings.smtp_timeout,
        )

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            _close_quietly(conn)

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ sending

    def send(
        self,
        message: EmailMessage,
        recipients: Sequence[str] | None = None,
        *,
        envelope_from: str | None = None,
    ) -> None:
        """Hand one message to the server (connecting first if needed). Raises SendError.

        `recipients` is the envelope; by default the message's To addresses. `envelope_from`
        is the MAIL FROM (where bounces go); by default the From address."""
        self.connect()
        conn = self._conn
        assert conn is not None
        sender = envelope_from or self.settings.mail_from or ""
        if recipients is None:
            recipients = [a.addr_spec for a in message["To"].addresses]
        international = not all(a.isascii() for a in [sender, *recipients])
        mail_options: list[str] = []
        if international:
            if not conn.has_extn("smtputf8"):
                raise SendError(
                    "mail server does not accept international email addresses (SMTPUTF8)",
                    permanent=True,
                )
            mail_options = ["SMTPUTF8", "BODY=8BITMIME"]
        payload = message.as_bytes(policy=wire_policy(international))
        payload_sent = False
        try:
            code, reply = conn.mail(sender, mail_options)
            self._check(code, reply, "sender refused")
            for recipient in recipients:
                code, reply = conn.rcpt(recipient)
                self._check(code, reply, "recipient refused")
            code, reply = conn.docmd("DATA")
            self._check(code, reply, "message refused", expect=354)
            data = _PERIOD_AT_LINE_START.sub(b"..", payload)
            if not data.endswith(b"\r\n"):
                data += b"\r\n"
            conn.send(data + b".\r\n")
            payload_sent = True
            code, reply = conn.getreply()
            self._check(code, reply, "message refused")
        except SendError:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            if payload_sent:
                raise SendError(
                    "connection lost after the message was sent; it may have been delivered "
                    "(will retry with the same link)",
                    maybe_delivered=True,
                    connection=True,
                ) from None
            if isinstance(exc, TimeoutError):
                reason = f"mail server {self.where} stopped answering"
            else:
                reason = f"connection to mail server {self.where} lost"
            raise SendError(reason, connection=True) from None

    def _check(self, code: int, reply: bytes, what: str, *, expect: int | None = None) -> None:
        ok = code == expect if expect is not None else 200 <= code < 300
        if ok:
            return
        reason = server_reply(code, reply)
        if code == -1 or code == 421:
            self._drop()
            raise SendError(f"{what}: {reason}" if code != -1 else reason, connection=True)
        self._reset()
        stage = {"sender refused": "sender", "recipient refused": "recipient"}.get(what)
        setup = setup_of_reply(stage, code, reason) if stage else None
        raise SendError(reason, permanent=500 <= code < 600, setup=setup)

    def probe_envelope(self, recipient: str) -> EnvelopeProbe:
        """MAIL FROM:<the sender address>, RCPT TO:<recipient>, RSET: whether the server
        takes the sender, without sending anything (connecting first if needed). Raises
        SendError when the connection fails."""
        self.connect()
        conn = self._conn
        assert conn is not None
        try:
            return probe_envelope(conn, probe_sender(self.settings), recipient)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            reason = self._describe_connect_error(exc)
            setup = setup_of_connect_error(
                exc, reason, host=self.settings.smtp_host, port=self.settings.smtp_port
            )
            raise SendError(reason, connection=True, setup=setup) from None

    def _reset(self) -> None:
        """Forget the failed transaction so the connection can carry the next message."""
        conn = self._conn
        if conn is None:
            return
        try:
            code, _ = conn.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()
            return
        if code != 250:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        _close_quietly(conn)


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    """Close a connection that already failed; a second failure adds nothing to report."""
    if conn is None:
        return
    try:
        conn.close()
    except OSError:
        return


def check_connection(settings: Settings, password: str | None) -> str:
    """Connect, secure and log in without sending anything. Returns a one-line summary."""
    sender = SmtpSender(settings, password)
    try:
        sender.connect()
        security = {
            "starttls": "STARTTLS",
            "tls": "implicit TLS",
            "none": "no encryption (loopback)",
        }[settings.smtp_security]
        tls = f" ({sender.tls_version})" if sender.tls_version else ""
        login = f", logged in as {settings.smtp_username}" if settings.smtp_username else ""
        return f"Connected to {sender.where} with {security}{tls}{login}."
    finally:
        sender.close()


def describe_smtp_error(
    exc: BaseException, *, host: str, port: int, timeout: float, server: str = "mail server "
) -> str:
    """One line for a failure to reach, secure or log in to the mail server (never the
    password). `server` names the other end ("" where the context already says it)."""
    where = f"{server}{host}:{port}"
    if isinstance(exc, WrongSecurity):
        return exc.detail
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"{where} certificate not trusted: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with {where} failed: {exc.reason or exc}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"mail server refused the login: {server_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{where} answered {server_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"{where} closed the connection"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, socket.gaierror):
        return f"mail server host {host!r} not found"
    if isinstance(exc, TimeoutError):
        return f"{where} did not answer within {timeout:g} s"
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {exc.strerror or exc}"
    return f"{where}: {type(exc).__name__}"
