"""Checks the mail server over one SMTP session: it is reachable, TLS is verified, the login is
accepted, and the sender address is taken. The server sees EHLO, STARTTLS, AUTH (one
mechanism), then MAIL FROM:<sender> and RCPT TO:<sender> followed by RSET — never DATA, so no
email is sent. A security setting that does not fit the port is named with the one that does."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Iterator

from frontdesk.core.config import SMTP_SECURITY_CHOICES, Settings, is_loopback_host
from frontdesk.doctor.results import CheckResult, Status, result, skip
from frontdesk.mail.dsn import probe_sender
from frontdesk.mail.failures import WrongSecurity, login_once, open_smtp, probe_envelope
from frontdesk.mail.sender import SendError, describe_smtp_error, server_reply, tls_context


def check_smtp(
    settings: Settings,
    *,
    network_timeout: float,
    password: str | None,
    login_blocker: str | None,
) -> Iterator[CheckResult]:
    """The reachable, TLS and login checks, in that order; the session is closed after."""
    probe = _SmtpProbe(settings, network_timeout)
    try:
        reach = probe.reach()
        yield reach
        tls = probe.tls(reach)
        yield tls
        login = probe.login(reach, tls, password, login_blocker)
        yield login
        yield probe.sender(tls, login)
    finally:
        conn = probe.conn
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()


class _SmtpProbe:
    """The one SMTP session the three mail checks share."""

    def __init__(self, settings: Settings, network_timeout: float) -> None:
        self.settings = settings
        self.network_timeout = network_timeout
        self.conn: smtplib.SMTP | None = None

    @property
    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    @property
    def _timeout(self) -> float:
        return min(self.settings.smtp_timeout, self.network_timeout)

    def _describe(self, exc: BaseException) -> str:
        return describe_smtp_error(
            exc,
            host=self.settings.smtp_host,
            port=self.settings.smtp_port,
            timeout=self._timeout,
            server="",
        )

    def reach(self) -> CheckResult:
        settings = self.settings
        fix = (
            "check FRONTDESK_SMTP_HOST and FRONTDESK_SMTP_PORT, that the mail server runs, and "
            "that no firewall blocks the port"
        )
        if not settings.smtp_host:
            return result("smtp_reachable", Status.FAIL, "FRONTDESK_SMTP_HOST is not set", fix)
        if not 0 < settings.smtp_port < 65536:
            return result(
                "smtp_reachable",
                Status.FAIL,
                f"FRONTDESK_SMTP_PORT must be 1-65535 (got {settings.smtp_port})",
                fix,
            )
        if settings.smtp_security not in SMTP_SECURITY_CHOICES:
            return skip(
                "smtp_reachable",
                f"skipped: FRONTDESK_SMTP_SECURITY {settings.smtp_security!r} is not valid",
            )
        timeout = self._timeout
        try:
            if settings.smtp_security == "tls":
                # The greeting comes after the TLS handshake: here only the port is tried.
                with socket.create_connection(
                    (settings.smtp_host, settings.smtp_port), timeout=timeout
                ):
                    pass
                return result(
                    "smtp_reachable",
                    Status.PASS,
                    f"{self._where} accepts connections (implicit TLS)",
                )
            # Connecting reads the greeting; anything but 220 raises SMTPConnectError, and
            # silence or a close before it raises WrongSecurity (an implicit-TLS port).
            conn = open_smtp(
                settings.smtp_host,
                settings.smtp_port,
                security=settings.smtp_security,
                timeout=timeout,
                context=None,
            )
            self.conn = conn
            conn.ehlo()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            fix = exc.fix if isinstance(exc, WrongSecurity) else fix
            return result("smtp_reachable", Status.FAIL, self._describe(exc), fix)
        return result("smtp_reachable", Status.PASS, f"{self._where} answered (220)")

    def tls(self, reach: CheckResult) -> CheckResult:
        settings = self.settings
        security = settings.smtp_security
        if security not in SMTP_SECURITY_CHOICES:
            return result(
                "smtp_tls",
                Status.FAIL,
                f"FRONTDESK_SMTP_SECURITY must be starttls, tls or none (got {security!r})",
                "set FRONTDESK_SMTP_SECURITY=starttls (port 587) or tls (port 465)",
            )
        if security == "none":
            if is_loopback_host(settings.smtp_host):
                return skip(
                    "smtp_tls",
                    "not applicable: plain SMTP to a loopback mail server "
                    "(FRONTDESK_SMTP_SECURITY=none)",
                )
            return result(
                "smtp_tls",
                Status.FAIL,
                f"FRONTDESK_SMTP_SECURITY=none to {settings.smtp_host}, which is not loopback: "
                "mail and the login would travel unencrypted",
                "set FRONTDESK_SMTP_SECURITY=starttls (port 587) or tls (port 465)",
            )
        if reach.status is not Status.PASS:
            return skip("smtp_tls", "skipped: the mail server is not reachable")
        ca = f" + {settings.smtp_ca_file}" if settings.smtp_ca_file else ""
        fix = (
            "the server must present a certificate for "
            f"{settings.smtp_host} from a trusted CA; for a private CA set FRONTDESK_SMTP_CA_FILE "
            "to its PEM bundle"
        )
        try:
            context = tls_context(settings)
        except SendError as exc:
            return result(
                "smtp_tls",
                Status.FAIL,
                str(exc),
                "point FRONTDESK_SMTP_CA_FILE at a readable PEM file of CA certificates",
            )
        timeout = self._timeout
        try:
            if security == "tls":
                conn: smtplib.SMTP = open_smtp(
                    settings.smtp_host,
                    settings.smtp_port,
                    security="tls",
                    timeout=timeout,
                    context=context,
                )
                self.conn = conn
                conn.ehlo()
                mode = "implicit TLS"
            else:
                conn_or_none = self.conn
                assert conn_or_none is not None
                conn = conn_or_none
                if not conn.has_extn("starttls"):
                    return result(
                        "smtp_tls",
                        Status.FAIL,
                        f"{self._where} does not offer STARTTLS",
                        "enable STARTTLS on the server, or use FRONTDESK_SMTP_SECURITY=tls with "
                        "the implicit-TLS port (465)",
                    )
                conn.starttls(context=context)
                conn.ehlo()
                mode = "STARTTLS"
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            fix = exc.fix if isinstance(exc, WrongSecurity) else fix
            return result("smtp_tls", Status.FAIL, self._describe(exc), fix)
        sock = conn.sock
        version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        return result(
            "smtp_tls",
            Status.PASS,
            f"{mode}{f' ({version})' if version else ''}; certificate verified for "
            f"{settings.smtp_host} against the system CAs{ca}",
            tls_version=version,
        )

    def login(
        self,
        reach: CheckResult,
        tls: CheckResult,
        password: str | None,
        login_blocker: str | None,
    ) -> CheckResult:
        settings = self.settings
        username = settings.smtp_username
        if not username:
            return skip("smtp_login", "not applicable: no SMTP login configured")
        if reach.status is not Status.PASS:
            return skip("smtp_login", "skipped: the mail server is not reachable")
        if tls.status is Status.FAIL or self.conn is None:
            return skip("smtp_login", "skipped: no verified TLS connection to log in over")
        if password is None:
            return skip("smtp_login", f"skipped: {login_blocker or 'no SMTP password'}")
        conn = self.conn
        fix = (
            "check FRONTDESK_SMTP_USERNAME and the password (`frontdesk smtp set-password`, or "
            "FRONTDESK_SMTP_PASSWORD)"
        )
        if not conn.has_extn("auth"):
            return result(
                "smtp_login",
                Status.FAIL,
                f"{self._where} does not offer login (AUTH) on this connection",
                "enable AUTH on the mail server, or remove FRONTDESK_SMTP_USERNAME if it "
                "accepts mail without a login",
            )
        try:
            login_once(conn, username, password)
        except smtplib.SMTPAuthenticationError as exc:
            return result(
                "smtp_login",
                Status.FAIL,
                f"the server refused the login of {username}: "
                f"{server_reply(exc.smtp_code, exc.smtp_error)}",
                fix,
            )
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return result("smtp_login", Status.FAIL, self._describe(exc), fix)
        return result("smtp_login", Status.PASS, f"logged in as {username} (no email was sent)")

    def sender(self, tls: CheckResult, login: CheckResult) -> CheckResult:
        """MAIL FROM:<sender>, RCPT TO:<sender>, RSET on the logged-in session: a relay that
        refuses the sender (often only at RCPT: "Sender address rejected") fails here."""
        sender = self.settings.mail_from
        if not sender:
            return skip("smtp_sender", "skipped: FRONTDESK_MAIL_FROM is not set")
        conn = self.conn
        if conn is None or tls.status is Status.FAIL:
            return skip("smtp_sender", "skipped: no verified connection to the mail server")
        if login.status is Status.FAIL or (
            login.status is Status.SKIP and self.settings.smtp_username
        ):
            return skip("smtp_sender", "skipped: not logged in")
        try:
            probe = probe_envelope(conn, probe_sender(self.settings), sender)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            return result(
                "smtp_sender",
                Status.FAIL,
                self._describe(exc),
                "check the mail server's log for why it ended the session",
            )
        if probe.setup is not None:
            return result(
                "smtp_sender",
                Status.FAIL,
                f"the server refused the sender <{sender}>: {probe.setup.detail}",
                probe.setup.fix,
            )
        if probe.refused is not None:
            return result(
                "smtp_sender",
                Status.WARN,
                f"the server took the sender <{sender}> but refused it as a recipient: "
                f"{probe.refused}",
                "check that FRONTDESK_MAIL_FROM is a mailbox that exists (replies and bounces "
                "go there)",
            )
        return result(
            "smtp_sender",
            Status.PASS,
            f"MAIL FROM:<{sender}> and RCPT TO:<{sender}> accepted, then RSET (no email was sent)",
        )

    def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                return
