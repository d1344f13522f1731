"""`frontdesk doctor` fixtures: the CLI runner of tests/cli and the real SMTP server, test
certificates and keyring backends of tests/mail (reused, not copied), plus a spy that records
whether the server ever saw MAIL, RCPT or DATA."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli, cli, lite  # noqa: F401  (fixtures, re-exported)
from tests.factories import pg_database
from tests.mail.conftest import (  # noqa: F401  (fixtures, re-exported)
    Certs,
    Sink,
    SmtpServer,
    StartSmtp,
    certs,
    start_smtp,
    use_keyring,
)

SMTP_USER = "desk@cedar.example"
SMTP_PASSWORD = "Sentinel-Smtp-Pa55-7f3c"


@dataclass
class Spy(Sink):
    """A Sink that also records every MAIL FROM, RCPT TO and DATA it is asked for."""

    commands: list[str] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        self.commands.append("MAIL")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.commands.append("RCPT")
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.commands.append("DATA")
        return await super().handle_DATA(server, session, envelope)


def point_at(runner: Cli, server: SmtpServer | int, security: str, **env: str) -> None:
    """Point the command line's settings at a test SMTP server (or a bare port)."""
    port = server if isinstance(server, int) else server.port
    runner.mp.setenv("FRONTDESK_SMTP_HOST", "127.0.0.1")
    runner.mp.setenv("FRONTDESK_SMTP_PORT", str(port))
    runner.mp.setenv("FRONTDESK_SMTP_SECURITY", security)
    runner.mp.setenv("FRONTDESK_SMTP_TIMEOUT", "5")
    for name, value in env.items():
        runner.mp.setenv(f"FRONTDESK_{name.upper()}", value)


def checks(result_out: str) -> dict[str, dict[str, Any]]:
    """`doctor --json` output as {check id: check}."""
    import json

    return {item["id"]: item for item in json.loads(result_out)}


@pytest.fixture
def empty_pg_url(pg_template: str) -> Iterator[str]:
    """A fresh PostgreSQL database with nothing in it (never migrated)."""
    with pg_database("fd_empty_") as url:
        yield url


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    return tmp_path / "frontdesk.db"
