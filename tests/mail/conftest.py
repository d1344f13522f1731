"""Mail fixtures: a real SMTP server (aiosmtpd on 127.0.0.1, OS-chosen port), test certificates
made with `cryptography`, an in-test keyring backend, and a chart with an invitation. The
outbox helpers (`delivery_for`, `outbox_rows`, `latest_token`) are in tests/factories.py."""

from __future__ import annotations

import asyncio
import email
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from frontdesk.charts.records import ChartInput
from frontdesk.core import links
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import Services

CHART_NUMBER = "C-20931"
DOB = "1985-03-04"


# --------------------------------------------------------------------------------------------
# SMTP server
# --------------------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    authenticated: bool
    tls: bool
    at: datetime | None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        """The Message-ID header, read straight from the raw bytes (no full parse)."""
        match = re.search(rb"^Message-ID: *(\S+)", self.raw, re.MULTILINE | re.IGNORECASE)
        assert match, "no Message-ID header"
        return match.group(1).decode()

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(part.get_content())

    @property
    def token(self) -> str:
        token = links.find_register_token(self.text)
        assert token, "no registration link in the received email"
        return token


@dataclass
class Sink:
    """An aiosmtpd handler. `data_replies`/`rcpt_replies` script the next replies ("drop" =
    take the message, then cut the connection before the final reply); `hold` keeps the first
    DATA waiting (then refuses it with 451)."""

    clock: FrozenClock | None = None
    data_replies: list[str] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    messages: list[Received] = field(default_factory=list)
    attempts: list[datetime | None] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    hold: threading.Event | None = None  # when given, the first DATA waits until it is set
    holding: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        with self.lock:
            reply = self.rcpt_replies.pop(0) if self.rcpt_replies else "250 OK"
        if not reply.startswith("250"):
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold is not None and not self.hold.is_set():
            # Keep the sender waiting for the final reply (a relay killed mid-send).
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.hold.wait, 60)
            return "451 4.3.0 Held and not delivered"
        now = self.clock.now() if self.clock else None
        with self.lock:
            self.attempts.append(now)
            reply = self.data_replies.pop(0) if self.data_replies else "250 OK"
            if reply.startswith("250") or reply == "drop":
                self.messages.append(
                    Received(
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        envelope.original_content,
                        bool(session.authenticated),
                        session.ssl is not None,
                        now,
                    )
                )
        if reply == "drop":
            server.transport.abort()
            await asyncio.sleep(0)
            return "250 OK"
        return reply


class _Controller(Controller):
    """aiosmtpd's Controller, able to listen on port 0 (the OS picks a free port)."""

    def _trigger_server(self) -> None:
        if self.port == 0:
            assert self.server is not None
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    controller: _Controller
    sink: Sink

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def messages(self) -> list[Received]:
        return self.sink.messages

    def stop(self) -> None:
        self.controller.stop()


StartSmtp = Callable[..., SmtpServer]


def _authenticator(username: str, password: str) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == username.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


@pytest.fixture
def start_smtp() -> Iterator[StartSmtp]:
    """Start an SMTP server: start_smtp(port=0, sink=None, tls=ctx (implicit TLS),
    starttls=ctx, login=(user, password), auth_require_tls=True)."""
    running: list[SmtpServer] = []

    def start(
        *,
        port: int = 0,
        sink: Sink | None = None,
        tls: ssl.SSLContext | None = None,
        starttls: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
        auth_require_tls: bool = True,
    ) -> SmtpServer:
        sink = sink or Sink()
        kwargs: dict[str, Any] = {"server_hostname": "mail.test", "ready_timeout": 10}
        if tls is not None:
            kwargs["ssl_context"] = tls
        if starttls is not None:
            kwargs["tls_context"] = starttls
            kwargs["require_starttls"] = True
        if login is not None:
            kwargs["authenticator"] = _authenticator(*login)
            kwargs["auth_require_tls"] = auth_require_tls
        controller = _Controller(sink, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        server = SmtpServer(controller, sink)
        running.append(server)
        return server

    yield start
    for server in running:
        if server.controller._thread is not None:
            server.stop()


def free_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certs:
    ca_file: Path
    server_cert: Path
    server_key: Path
    self_signed_cert: Path
    self_signed_key: Path
    other_name_cert: Path
    other_name_key: Path

    def server_context(
        self, *, self_signed: bool = False, other_name: bool = False
    ) -> ssl.SSLContext:
        """Server side: the CA-issued cert for 127.0.0.1 (default), a self-signed one, or a
        CA-issued one for another host name."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        if self_signed:
            context.load_cert_chain(self.self_signed_cert, self.self_signed_key)
        elif other_name:
            context.load_cert_chain(self.other_name_cert, self.other_name_key)
        else:
            context.load_cert_chain(self.server_cert, self.server_key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> Path:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _leaf(
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    now: datetime,
    issuer_cert: x509.Certificate | None,
    names: list[x509.GeneralName] | None = None,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                names
                or [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False
        )
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A test CA with a server certificate for 127.0.0.1/localhost, and a self-signed one."""
    folder = tmp_path_factory.mktemp("certs")
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("FrontDesk Test CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _leaf(server_key, ca_name, ca_key, now, ca_cert)
    lone_key = ec.generate_private_key(ec.SECP256R1())
    lone_cert = _leaf(lone_key, _name("localhost"), lone_key, now, None)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_cert = _leaf(other_key, ca_name, ca_key, now, ca_cert, [x509.DNSName("other.test")])
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server = _write(folder / "server.pem", server_key, server_cert)
    lone = _write(folder / "selfsigned.pem", lone_key, lone_cert)
    other = _write(folder / "other.pem", other_key, other_cert)
    return Certs(
        ca_file,
        server,
        server.with_suffix(".key"),
        lone,
        lone.with_suffix(".key"),
        other,
        other.with_suffix(".key"),
    )


# --------------------------------------------------------------------------------------------
# Keyring
# --------------------------------------------------------------------------------------------


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that keeps passwords in a dict (a real backend class, set with set_keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class HangingKeyring(MemoryKeyring):
    """A keyring that blocks (like a locked desktop keyring over SSH) until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.entered.set()
        self.release.wait(30)
        return super().get_password(service, username)

    set_password = get_password  # type: ignore[assignment]


@pytest.fixture
def use_keyring() -> Iterator[Callable[[keyring.backend.KeyringBackend], None]]:
    """Install a keyring backend for one test; the previous one comes back afterwards."""
    previous = keyring.get_keyring()
    installed: list[keyring.backend.KeyringBackend] = []

    def install(backend: keyring.backend.KeyringBackend) -> None:
        installed.append(backend)
        keyring.set_keyring(backend)

    yield install
    for backend in installed:
        if isinstance(backend, HangingKeyring):
            backend.release.set()
    keyring.set_keyring(previous)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@pytest.fixture
def mail_settings(settings: Settings) -> Callable[..., Settings]:
    """Settings pointing at a test SMTP port (plain loopback unless told otherwise)."""

    def make(port: int, **changes: Any) -> Settings:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_timeout": 5.0,
        }
        values.update(changes)
        from dataclasses import replace

        return replace(settings, **values)

    return make


@pytest.fixture
def invited(practice_ready: Services) -> Services:
    """A chart (DOB 1985-03-04, number C-20931) with a sent invitation queued."""
    practice_ready.charts.add_chart(
        ChartInput(CHART_NUMBER, "Alexandra", "Okafor", DOB, "alex@example.com", "Alex")
    )
    practice_ready.invitations.send_invitation(CHART_NUMBER)
    return practice_ready
