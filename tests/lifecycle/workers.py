"""Code run in child processes by the concurrency tests (spawned, so it must be importable)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.core.errors import FrontDeskError
from frontdesk.services import build_services
from tests.factories import MAIL_FROM, T0


def resend_rounds(
    url: str, actor: str, start: datetime, rounds: int, barrier: Any, results: Any
) -> None:
    """Each round: wait for the other desk at the barrier, then resend the same chart."""
    clock = FrozenClock(start)
    services = build_services(
        Settings(database_url=url, mail_from=MAIL_FROM), clock=clock, actor=actor
    )
    try:
        for n in range(rounds):
            clock.set(start + timedelta(days=n + 1))  # past the cooldown and the daily cap
            try:
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                results.put((n, actor, "barrier broken"))
                return
            try:
                services.invitations.resend_invitation("C-1")
                results.put((n, actor, "ok"))
            except FrontDeskError as exc:
                results.put((n, actor, f"refused: {type(exc).__name__}"))
            except Exception as exc:  # reported to the parent, which fails the test
                results.put((n, actor, f"error: {type(exc).__name__}: {exc}"))
    finally:
        services.close()


START = T0
