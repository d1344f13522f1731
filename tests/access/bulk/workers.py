"""Code run in child processes by the two-desk test (started from a forkserver, so it must be
importable): one desk running a bulk resend at the same moment as another."""

from __future__ import annotations

import threading
import traceback
from datetime import datetime
from typing import Any

from frontdesk.access import bulk_rows
from frontdesk.core.clock import FrozenClock
from frontdesk.services import build_services
from tests.factories import make_settings


def bulk_resend(
    url: str, actor: str, at: datetime, barrier: Any, results: Any, *, backwards: bool = False
) -> None:
    """Wait for the other desk, then resend every expired invitation; report the outcome as
    (actor, sent, skipped as (chart, reason), failed, error). `backwards`: go through the
    charts from the last one (so two desks meet in the middle instead of one trailing the
    other)."""
    try:
        if backwards:
            snapshot = bulk_rows.snapshot
            bulk_rows.snapshot = lambda *args, **kwargs: snapshot(*args, **kwargs)[::-1]
        services = build_services(
            make_settings(url), clock=FrozenClock(at), actor=actor, migrate=False
        )
        try:
            barrier.wait(timeout=60)
            result = services.invitations.resend_all_expired()
        finally:
            services.close()
        skipped = [(s.chart, str(s.reason)) for s in result.skipped]
        failed = [tuple(f) for f in result.failed]
        results.put((actor, list(result.sent), skipped, failed, ""))
    except threading.BrokenBarrierError:
        results.put((actor, [], [], [], "barrier broken"))
    except BaseException as exc:  # reported to the parent, which fails the test
        traceback.print_exc()
        results.put((actor, [], [], [], f"{type(exc).__name__}: {exc}"))
