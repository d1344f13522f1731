"""The demo's stack: the whole product on an embedded default, for a first look.

`DemoStack` starts, on 127.0.0.1 only: an SMTP server that keeps every email in memory (the
**Demo mailbox**, nothing leaves the machine), a demo database seeded with a practice and charts
in every portal status, the web endpoint (uvicorn in a thread; its address is the public URL, so
emailed links work) and outbox delivery in the background. The `frontdesk demo` command
(`frontdesk.cli.demo`) puts the TUI on top and stops everything it started when the TUI quits.

The demo never reads the user's configuration and never opens their database: its settings are
built here, its database lives in a folder the command chooses (a temporary one or, with `--keep`,
`kept_directory()` under the user data dir). Heavy modules (the database layer, uvicorn, aiosmtpd)
are imported only when the demo starts, so `frontdesk --help` stays quick.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from frontdesk.core import links
from frontdesk.demo import DEMO_CHARTS, DemoError

if TYPE_CHECKING:
    import uvicorn
    from aiosmtpd.controller import Controller

    from frontdesk.core.clock import Clock
    from frontdesk.core.config import Settings
    from frontdesk.mail.loop import OutboxLoop
    from frontdesk.mail.outbox import OutboxDelivery
    from frontdesk.services import Services

log = logging.getLogger(__name__)

DEMO_MAIL_FROM = "portal@cedar-counseling.example"
DEMO_DATABASE = "frontdesk-demo.db"
DELIVERY_INTERVAL = 2.0  # seconds between background delivery rounds (a web registration's email)
START_TIMEOUT = 20.0  # seconds the web server may take to start listening
MAX_MESSAGES = 1000  # the mailbox keeps the newest this many
MAX_MESSAGE_BYTES = 1024 * 1024
_LINK = re.compile(r"https?://[^\s<>\"')]+")
_LOGGERS = ("uvicorn", "uvicorn.error", "frontdesk")


# --------------------------------------------------------------------------------------------
# The mailbox
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapturedMail:
    """One email the demo's mail server received (text as sent; shown literally)."""

    number: int
    sent_at: datetime  # the message's Date header (UTC), else when it arrived
    sender: str
    to: str
    subject: str
    text: str  # the plain-text body
    link: str | None  # the registration link, else the first link in the body


def parse_mail(number: int, raw: bytes, arrived: datetime) -> CapturedMail:
    """A received message as the mailbox shows it (never raises on odd input)."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = ""
    try:
        part = message.get_body(preferencelist=("plain",))
        if part is not None:
            content = part.get_content()
            text = content if isinstance(content, str) else ""
    except (LookupError, ValueError, TypeError):
        text = ""
    try:
        date = message["Date"].datetime if message["Date"] is not None else None
    except (AttributeError, TypeError, ValueError):
        date = None
    sent_at = date.astimezone(UTC) if date is not None and date.tzinfo is not None else arrived
    found = [link.rstrip(".,;:!?") for link in _LINK.findall(text)]
    register = [link for link in found if links.find_register_token(link)]
    link = (register or found or [None])[0]
    return CapturedMail(
        number=number,
        sent_at=sent_at,
        sender=str(message["From"] or ""),
        to=str(message["To"] or ""),
        subject=str(message["Subject"] or ""),
        text=text,
        link=link,
    )


class DemoMailbox:
    """Every email the demo's SMTP server received, in memory only; safe across threads.

    It is the aiosmtpd handler too (`handle_DATA`)."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._messages: list[CapturedMail] = []
        self._changed = threading.Condition()
        self._received = 0

    @property
    def count(self) -> int:
        """How many emails arrived so far (also a change counter for screens)."""
        with self._changed:
            return self._received

    def messages(self) -> list[CapturedMail]:
        """The captured emails, newest first."""
        with self._changed:
            shown = list(self._messages)
        return sorted(shown, key=lambda m: (m.sent_at, m.number), reverse=True)

    def add(self, raw: bytes) -> CapturedMail:
        with self._changed:
            self._received += 1
            mail = parse_mail(self._received, raw, self._now())
            self._messages.append(mail)
            del self._messages[:-MAX_MESSAGES]
            self._changed.notify_all()
        return mail

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least `count` emails arrived (False after `timeout` seconds)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._received >= count, timeout)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "replace")
        self.add(content)
        return "250 Message accepted for delivery"


def _listening_socket() -> socket.socket:
    """A TCP socket bound to a free port on 127.0.0.1 (kept: no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
    except OSError:
        sock.close()
        raise
    return sock


def _capture_server(mailbox: DemoMailbox) -> Controller:
    """An aiosmtpd server on a free 127.0.0.1 port that hands every message to `mailbox`."""
    from aiosmtpd.controller import Controller

    class _CaptureController(Controller):
        """Serves on a socket bound before start, so the port is known and cannot be taken."""

        def __init__(self) -> None:
            self._sock = _listening_socket()
            port = int(self._sock.getsockname()[1])
            super().__init__(
                mailbox,
                hostname="127.0.0.1",
                port=port,
                data_size_limit=MAX_MESSAGE_BYTES,
                ready_timeout=START_TIMEOUT,
            )

        def _create_server(self) -> Any:
            return self.loop.create_server(self._factory_invoker, sock=self._sock)

        def stop(self, no_assert: bool = False) -> None:
            try:
                super().stop(no_assert=no_assert)
            finally:
                self._sock.close()

    return _CaptureController()


# --------------------------------------------------------------------------------------------
# The stack
# --------------------------------------------------------------------------------------------


class DemoStack:
    """SMTP capture, demo database, web endpoint and background delivery, started together.

    `with DemoStack(path) as stack:` starts it all (seeding a fresh database unless `reuse` and
    the file exists) and stops it all on the way out, in reverse order, even after a failure.
    """

    def __init__(
        self,
        database_path: Path,
        *,
        charts: int = DEMO_CHARTS,
        reuse: bool = False,
        clock: Clock | None = None,
        actor: str | None = None,
        delivery_interval: float = DELIVERY_INTERVAL,
        log_path: Path | None = None,
    ) -> None:
        self.database_path = database_path
        self.charts = charts
        self.reuse = reuse
        self.clock = clock
        self.actor = actor
        self.delivery_interval = delivery_interval
        self.log_path = log_path
        self.mailbox = DemoMailbox(self._now)
        self.seeded = False
        self._smtp: Controller | None = None
        self._web_socket: socket.socket | None = None
        self._server: _Server | None = None
        self._server_thread: threading.Thread | None = None
        self._outbox: OutboxLoop | None = None
        self._services: Services | None = None
        self._delivery: OutboxDelivery | None = None
        self._log_handler: logging.Handler | None = None
        self._saved_loggers: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []
        self.web_url = ""
        self.smtp_port = 0

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    # ------------------------------------------------------------------ what it offers

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("the demo is not started")
        return self._services

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def deliver(self) -> object:
        """Send due emails to the capture server now (the TUI calls it after an action)."""
        if self._delivery is None:
            raise RuntimeError("the demo is not started")
        return self._delivery.deliver_due()

    @property
    def threads(self) -> list[threading.Thread]:
        """The threads this stack started (for checks that they end)."""
        found = [self._server_thread]
        if self._outbox is not None:
            found.append(self._outbox._thread)
        if self._smtp is not None:
            found.append(self._smtp._thread)
        return [thread for thread in found if thread is not None]

    # ------------------------------------------------------------------ start / stop

    def __enter__(self) -> DemoStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> DemoStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        from frontdesk.core.config import Settings
        from frontdesk.demo.data import seed_demo
        from frontdesk.services import build_services
        from frontdesk.web.app import create_web_app
        from frontdesk.web.server import build_server

        if self.log_path is not None:
            self._log_to(self.log_path)
        self._smtp = _capture_server(self.mailbox)
        self._smtp.start()
        self.smtp_port = int(self._smtp.port)
        self._web_socket = _listening_socket()
        web_port = int(self._web_socket.getsockname()[1])
        self.web_url = f"http://127.0.0.1:{web_port}"
        settings = Settings(
            database_url=f"sqlite:///{self.database_path}",
            public_url=self.web_url,
            smtp_host="127.0.0.1",
            smtp_port=self.smtp_port,
            smtp_security="none",
            smtp_timeout=10.0,
            mail_from=DEMO_MAIL_FROM,
        ).validated()
        fresh = not (self.reuse and self.database_path.exists())
        if fresh:
            _remove_database(self.database_path)
        self.database_path.parent.mkdir(parents=True, exist_ok=True)
        self._services = build_services(settings, clock=self.clock, actor=self.actor)
        if fresh:
            seed_demo(self._services, charts=self.charts, deliver_to=settings)
            self.seeded = True
        self._delivery = self._services.delivery()
        server = build_server(
            create_web_app(services=self._services),
            self._services,
            host="127.0.0.1",
            port=web_port,
            access_log=False,
        )
        if self._log_handler is not None:
            self._log_to(self.log_path)  # uvicorn configured its loggers again: back to the file
        self._server = _ready_server(server.config)
        self._server_thread = threading.Thread(
            target=self._serve, args=(self._server, self._web_socket), name="demo-web", daemon=True
        )
        self._server_thread.start()
        if not self._server.ready.wait(START_TIMEOUT) or not self._server.started:
            raise DemoError(f"the demo's web endpoint did not start on {self.web_url}")
        self._outbox = self._services.delivery_loop(interval=self.delivery_interval)
        self._outbox.start()

    @staticmethod
    def _serve(server: _Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # the thread must not die silently: log one line
            log.warning("demo web endpoint stopped: %s", type(exc).__name__)
        finally:
            server.ready.set()

    def stop(self) -> None:
        """Stop everything that was started, newest first. Safe to call more than once."""
        if self._outbox is not None:
            self._outbox.stop()
            self._outbox = None
        if self._server is not None:
            self._server.should_exit = True
        if self._server_thread is not None:
            self._server_thread.join(START_TIMEOUT)
            self._server_thread = None
        self._server = None
        if self._web_socket is not None:
            self._web_socket.close()
            self._web_socket = None
        if self._smtp is not None:
            try:
                self._smtp.stop(no_assert=True)
            finally:
                self._smtp = None
        if self._services is not None:
            self._services.close()
            self._services = None
        self._delivery = None
        self._restore_logging()

    # ------------------------------------------------------------------ logging

    def _log_to(self, path: Path | None) -> None:
        """Send uvicorn's and FrontDesk's log lines to `path` (redacted): the TUI owns the
        terminal, so nothing may write to it while the demo runs."""
        if path is None:
            return
        from frontdesk.web.security import RedactFilter

        if self._log_handler is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
            handler.addFilter(RedactFilter())
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
            )
            self._log_handler = handler
            for name in _LOGGERS:
                logger = logging.getLogger(name)
                self._saved_loggers.append(
                    (logger, list(logger.handlers), logger.propagate, logger.level)
                )
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers = [self._log_handler]
            logger.propagate = False
            logger.setLevel(logging.INFO)

    def _restore_logging(self) -> None:
        for logger, handlers, propagate, level in self._saved_loggers:
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(level)
        self._saved_loggers.clear()
        if self._log_handler is not None:
            self._log_handler.close()
            self._log_handler = None


class _Server(Protocol):
    """uvicorn.Server with a `ready` event set once it listens (or gave up)."""

    ready: threading.Event
    started: bool
    should_exit: bool

    def run(self, sockets: list[socket.socket] | None = None) -> None: ...


def _ready_server(config: uvicorn.Config) -> _Server:
    import uvicorn

    class ReadyServer(uvicorn.Server):
        def __init__(self) -> None:
            super().__init__(config)
            self.ready = threading.Event()

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            try:
                await super().startup(sockets)
            finally:
                self.ready.set()

    return ReadyServer()


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# What the command and the TUI use
# --------------------------------------------------------------------------------------------


def kept_directory() -> Path:
    """Where `frontdesk demo --keep` keeps its database (beside, never in, the real one)."""
    from frontdesk.core.config import user_data_dir

    return user_data_dir() / "demo"


@dataclass(frozen=True)
class DemoInfo:
    """What the TUI needs to know in demo mode: the mailbox and where the web endpoint is."""

    mailbox: DemoMailbox
    web_url: str
    smtp_port: int
    password: str
    timezone: str

    def messages(self) -> Sequence[CapturedMail]:
        return self.mailbox.messages()


def demo_info(stack: DemoStack) -> DemoInfo:
    from frontdesk.demo.data import DEMO_PASSWORD

    timezone = stack.services.practice.practice().timezone
    return DemoInfo(stack.mailbox, stack.web_url, stack.smtp_port, DEMO_PASSWORD, timezone)
