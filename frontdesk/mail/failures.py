"""Two kinds of delivery failure, told apart in one place.

A *setup* failure is the practice's mail settings or mail server, not one email: the
certificate is not trusted, the login or the sender address is refused (a relay may say
"Sender address rejected" only at RCPT), the security does not fit the port, the server cannot
be reached. It would fail every email the same way, so it pauses the whole outbox
(`frontdesk.mail.pause`). A *recipient* failure (a 4xx/5xx to RCPT or after DATA for that
message) concerns that email only.

Also here: the SMTP greeting read within a few seconds (a server that stays silent or closes
under `starttls` is an implicit-TLS port), a plaintext greeting under `tls`, one login attempt
per try, and the doctor's envelope probe (MAIL FROM, RCPT TO, RSET; no message).
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from enum import StrEnum

from frontdesk.core.text import single_line

GREETING_TIMEOUT = 8.0  # seconds for the connection and the 220 greeting (TLS handshake too)

# OpenSSL's words when the other end answers in plain text (an SMTP greeting) to a ClientHello.
_PLAINTEXT_REPLIES = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "UNKNOWN_PROTOCOL",
        "HTTP_REQUEST",
        "UNEXPECTED_RECORD",
    }
)
_SENDER_REFUSED = re.compile(
    r"sender address rejected|sender (?:address )?(?:is )?not (?:allowed|owned|authori[sz]ed)"
    r"|not owned by user|\b5\.1\.[78]\b|\b4\.1\.8\b|\b5\.7\.60\b",
    re.IGNORECASE,
)
_RELAY_REFUSED = re.compile(
    r"relay(?:ing)? (?:access )?denied|relay not permitted|authentication required"
    r"|must (?:be )?authenticat|\b5\.7\.0\b.*auth|\b5\.7\.57\b",
    re.IGNORECASE,
)


class SetupKind(StrEnum):
    """What about the setup failed; each has the words staff read and the usual fix."""

    TLS = "tls"  # the certificate is not trusted
    HANDSHAKE = "handshake"  # TLS failed otherwise (protocol version, ciphers)
    LOGIN = "login"
    RELAY = "relay"
    SENDER = "sender"
    SECURITY = "security"
    UNREACHABLE = "unreachable"

    @property
    def what(self) -> str:
        """ "the mail server refused the login": what went wrong, as a clause."""
        return _WHAT[self]

    @property
    def fix(self) -> str:
        """The usual fix (a failure may carry a more precise one)."""
        return _FIX[self]

    @property
    def short_fix(self) -> str:
        """The fix in a few words, for the TUI's banner (two lines at 80 columns)."""
        return _SHORT_FIX[self]


_WHAT = {
    SetupKind.TLS: "the mail server's certificate is not trusted",
    SetupKind.HANDSHAKE: "TLS with the mail server failed",
    SetupKind.LOGIN: "the mail server refused the login",
    SetupKind.RELAY: "the mail server does not relay mail for this login",
    SetupKind.SENDER: "the mail server refused the sender address",
    SetupKind.SECURITY: "the security setting does not fit the mail server's port",
    SetupKind.UNREACHABLE: "the mail server cannot be reached",
}
_SHORT_FIX = {
    SetupKind.TLS: "set FRONTDESK_SMTP_CA_FILE (see `frontdesk doctor`)",
    SetupKind.HANDSHAKE: "see `frontdesk doctor`",
    SetupKind.LOGIN: "fix the password with `frontdesk smtp set-password`",
    SetupKind.RELAY: "set the SMTP login (see `frontdesk doctor`)",
    SetupKind.SENDER: "set FRONTDESK_MAIL_FROM to an address the login may use",
    SetupKind.SECURITY: "fix FRONTDESK_SMTP_SECURITY (see `frontdesk doctor`)",
    SetupKind.UNREACHABLE: "check the mail server and `frontdesk doctor`",
}
_FIX = {
    SetupKind.HANDSHAKE: (
        "check FRONTDESK_SMTP_SECURITY and FRONTDESK_SMTP_PORT, and that the mail server "
        "offers TLS 1.2 or newer"
    ),
    SetupKind.TLS: (
        "set FRONTDESK_SMTP_CA_FILE to the CA bundle that issued the server's certificate, "
        "or give the server a certificate from a trusted CA"
    ),
    SetupKind.LOGIN: (
        "fix the password with `frontdesk smtp set-password` (or FRONTDESK_SMTP_PASSWORD) "
        "and check FRONTDESK_SMTP_USERNAME"
    ),
    SetupKind.RELAY: (
        "set FRONTDESK_SMTP_USERNAME and the password (`frontdesk smtp set-password`), or "
        "allow this host to relay on the mail server"
    ),
    SetupKind.SENDER: (
        "set FRONTDESK_MAIL_FROM to an address this login may send from (or allow it on "
        "the mail server)"
    ),
    SetupKind.SECURITY: ("set FRONTDESK_SMTP_SECURITY=tls for port 465 or starttls for port 587"),
    SetupKind.UNREACHABLE: (
        "check FRONTDESK_SMTP_HOST and FRONTDESK_SMTP_PORT, that the mail server runs, and "
        "that no firewall blocks the port"
    ),
}


@dataclass(frozen=True)
class SetupFailure:
    """A setup failure: its kind, what happened (one line, the server's words where it
    spoke) and the fix (one line)."""

    kind: SetupKind
    detail: str
    fix: str

    @classmethod
    def of(cls, kind: SetupKind, detail: str, fix: str | None = None) -> SetupFailure:
        return cls(kind, single_line(detail)[:500], single_line(fix or kind.fix)[:300])

    @property
    def line(self) -> str:
        """One line with the fix: "the mail server refused the login (535 5.7.8 ...) — fix
        the password with `frontdesk smtp set-password` ..."."""
        return f"{self.kind.what} ({self.detail}) — {self.fix}"


class WrongSecurity(smtplib.SMTPException):
    """The server's first answer shows the security setting does not fit its port."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


def _security_fix(value: str) -> str:
    """The setting that fits what the server's first answer showed."""
    if value == "tls":
        return (
            "set FRONTDESK_SMTP_SECURITY=tls (implicit TLS, usually port 465), or use port "
            "587 with starttls"
        )
    return "set FRONTDESK_SMTP_SECURITY=starttls (usually port 587), or use port 465 with tls"


def open_smtp(
    host: str,
    port: int,
    *,
    security: str,
    timeout: float,
    context: ssl.SSLContext | None,
) -> smtplib.SMTP:
    """Connect and read the greeting within GREETING_TIMEOUT (or `timeout`, when shorter),
    then use `timeout` for the rest of the session. Under `starttls`/`none` a server that
    stays silent or closes before greeting, and under `tls` one that greets in plain text,
    raise WrongSecurity naming the setting that fits."""
    greeting = min(timeout, GREETING_TIMEOUT)
    conn: smtplib.SMTP
    if security == "tls":
        conn = smtplib.SMTP_SSL(timeout=greeting, context=context)
    else:
        conn = smtplib.SMTP(timeout=greeting)
    # The TLS server name: SMTP.__init__ sets it only when it is given the host to connect.
    conn._host = host  # type: ignore[attr-defined]
    where = f"mail server {host}:{port}"
    try:
        code, reply = conn.connect(host, port)
    except ssl.SSLCertVerificationError:
        raise
    except ssl.SSLError as exc:
        if security == "tls" and (exc.reason or "") in _PLAINTEXT_REPLIES:
            raise WrongSecurity(
                f"{where} answered in plain text, not TLS ({exc.reason})",
                _security_fix("starttls"),
            ) from None
        raise
    except smtplib.SMTPServerDisconnected as exc:
        _close(conn)
        if security == "tls":
            raise
        silent = isinstance(exc.__context__, TimeoutError)
        how = f"sent no greeting within {greeting:g} s" if silent else "closed before greeting"
        raise WrongSecurity(
            f"{where} {how}; it probably expects implicit TLS", _security_fix("tls")
        ) from None
    if code != 220:
        _close(conn)
        raise smtplib.SMTPConnectError(code, reply)
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


def _close(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        return


def login_once(conn: smtplib.SMTP, username: str, password: str) -> None:
    """Log in with one mechanism the server offers (PLAIN, else LOGIN, else CRAM-MD5): one
    wrong password counts once at the server, never once per mechanism. Raises
    smtplib.SMTPAuthenticationError (or SMTPException) as `SMTP.login` does."""
    offered = conn.esmtp_features.get("auth", "").upper().split()
    for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5"):
        if mechanism in offered:
            break
    else:
        raise smtplib.SMTPException("no login mechanism that FrontDesk supports is offered")
    conn.user, conn.password = username, password
    method = getattr(conn, "auth_" + mechanism.lower().replace("-", "_"))
    conn.auth(mechanism, method, initial_response_ok=True)


def setup_of_connect_error(
    exc: BaseException, detail: str, *, host: str, port: int
) -> SetupFailure:
    """The setup failure behind an error raised while connecting, securing or logging in;
    `detail` is the one line already written for it."""
    if isinstance(exc, WrongSecurity):
        return SetupFailure.of(SetupKind.SECURITY, exc.detail, exc.fix)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SetupFailure.of(SetupKind.TLS, detail)
    if isinstance(exc, ssl.SSLError):
        return SetupFailure.of(SetupKind.HANDSHAKE, detail)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SetupFailure.of(SetupKind.LOGIN, _reply_words(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException) and _SENDER_REFUSED.search(detail):
        return SetupFailure.of(SetupKind.SENDER, detail)
    return SetupFailure.of(SetupKind.UNREACHABLE, detail)


def setup_of_reply(stage: str, code: int, reply: str) -> SetupFailure | None:
    """The setup failure a reply to MAIL FROM or RCPT TO shows (None: the message's own
    failure). `stage` is "sender" or "recipient"; `reply` the server's one line."""
    if code < 400 or code == 421:
        return None  # 421: the server is closing the connection; the next try reconnects
    if code == 530 or _RELAY_REFUSED.search(reply):
        return SetupFailure.of(SetupKind.RELAY, reply)
    if _SENDER_REFUSED.search(reply):
        return SetupFailure.of(SetupKind.SENDER, reply)
    if stage == "sender" and code >= 500:
        return SetupFailure.of(SetupKind.SENDER, reply)
    return None


def _reply_words(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {single_line(' '.join(text.split()))}"[:300].strip()


@dataclass(frozen=True)
class EnvelopeProbe:
    """What the mail server said to MAIL FROM:<sender> and RCPT TO:<recipient> (then RSET; no
    message): `setup` when it refuses the setup, `refused` its words when it refused the
    probe recipient for another reason."""

    setup: SetupFailure | None = None
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return self.setup is None


def probe_envelope(conn: smtplib.SMTP, sender: str, recipient: str) -> EnvelopeProbe:
    """MAIL FROM:<sender>, RCPT TO:<recipient>, RSET — no message is sent. Connection errors
    (SMTPException, OSError) propagate."""
    code, reply = conn.mail(sender)
    words = _reply_words(code, reply)
    if not 200 <= code < 300:
        found = EnvelopeProbe(
            setup_of_reply("sender", code, words)
            or SetupFailure.of(SetupKind.SENDER, words)  # even a 4xx: the sender was refused
        )
    else:
        code, reply = conn.rcpt(recipient)
        words = _reply_words(code, reply)
        setup = None if 200 <= code < 300 else setup_of_reply("recipient", code, words)
        found = EnvelopeProbe(setup, None if setup or 200 <= code < 300 else words)
    conn.rset()
    return found
