"""Reliability suite: shared checks of the store after crashes and concurrent work.

Fixtures come from the other suites (reuse, not copies): `db_url`, `settings`, `services`,
`practice_ready`, `clock` from tests/conftest.py (their data from tests/factories.py); the real
SMTP server (`start_smtp`, aiosmtpd on 127.0.0.1) from tests/mail/conftest.py; the real uvicorn
server (`live_server`) from tests/web/conftest.py.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import col, select

from frontdesk.services import Services
from store.models import Invitation, OutboxEmail, PortalAccount
from tests.factories import REGISTER_LINK
from tests.mail.conftest import Received, start_smtp

__all__ = ["start_smtp"]  # the fixture, re-exported for this folder

LOCK_WORDS = ("database is locked", "storebusy", "database is busy", "deadlock", "serializ")


@pytest.fixture
def light_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id with a light profile for the web side of these tests (they are about
    the store and the server, not hashing cost; the default profile is tested in tests/web)."""
    from frontdesk.access import passwords

    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )


def child_context() -> mp.context.BaseContext:
    """Start child processes from a forkserver that has the product already imported: a child
    starts in milliseconds instead of re-importing everything, and never inherits this
    process's threads or database connections (as a plain fork would)."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.reliability.workers"])
    return ctx


def link_tokens(message: Received) -> list[str]:
    """Every registration token in a received email (plain text part)."""
    return REGISTER_LINK.findall(message.text)


def mails_per_token(messages: list[Received]) -> Counter[str]:
    return Counter(token for message in messages for token in set(link_tokens(message)))


def check_store(services: Services) -> None:
    """The store is sound: SQLite's integrity check passes (PostgreSQL: consistent rows), at
    most one live invitation and one enabled account per chart, and every outbox row of an
    invitation points at an existing invitation of the same chart."""
    db = services.db
    if db.is_sqlite:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    with db.read() as session:
        live_per_chart = session.exec(
            select(Invitation.chart_id, sa.func.count())
            .where(Invitation.state == "live")
            .group_by(col(Invitation.chart_id))
        ).all()
        assert all(count <= 1 for _, count in live_per_chart), live_per_chart
        enabled_per_chart = session.exec(
            select(PortalAccount.chart_id, sa.func.count())
            .where(col(PortalAccount.disabled_at).is_(None))
            .group_by(col(PortalAccount.chart_id))
        ).all()
        assert all(count <= 1 for _, count in enabled_per_chart), enabled_per_chart
        orphans = session.exec(
            select(OutboxEmail.id)
            .join(Invitation, col(Invitation.id) == col(OutboxEmail.invitation_id), isouter=True)
            .where(
                col(OutboxEmail.invitation_id).is_not(None),
                sa.or_(
                    col(Invitation.id).is_(None),
                    col(Invitation.chart_id) != col(OutboxEmail.chart_id),
                ),
            )
        ).all()
        assert orphans == []


class LogLines(logging.Handler):
    """Collects every log line (any thread) from the root logger and uvicorn's own loggers."""

    NAMES = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "frontdesk")

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.lines.append(f"{record.levelname} {record.name}: {text}")

    def lock_errors(self) -> list[str]:
        return [line for line in self.lines if any(w in line.lower() for w in LOCK_WORDS)]

    def problems(self) -> list[str]:
        """Lines at ERROR or above, or mentioning a lock/busy/incident."""
        return [
            line
            for line in self.lines
            if line.startswith(("ERROR", "CRITICAL")) or "incident" in line
        ] + self.lock_errors()


@contextmanager
def log_lines() -> Iterator[LogLines]:
    """Attach a collecting handler; install it after uvicorn configured its logging."""
    handler = LogLines()
    loggers = [logging.getLogger(name) for name in LogLines.NAMES]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
