"""Code run in child processes by the delivery concurrency test (spawned, so importable)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from frontdesk.core.clock import FrozenClock
from frontdesk.mail.outbox import DeliveryReport, OutboxDelivery
from store.db import open_database
from tests.factories import make_settings


def relay(url: str, port: int, at: datetime, barrier: Any, results: Any) -> None:
    """One delivery process: wait for the other at the barrier, then deliver until none is due."""
    settings = make_settings(url, smtp_port=port)
    db = open_database(url, migrate=False)
    delivery = OutboxDelivery(db, FrozenClock(at), settings, lambda: None)
    total = DeliveryReport()
    try:
        if barrier is not None:
            barrier.wait(timeout=60)
        for _ in range(100):
            report = delivery.deliver_due(limit=200)
            total += report
            if report.total == 0:
                break
        results.put(("ok", total.sent, total.retrying, total.failed, total.cancelled))
    except threading.BrokenBarrierError:
        results.put(("barrier broken", 0, 0, 0, 0))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put((f"error: {type(exc).__name__}: {exc}", 0, 0, 0, 0))
    finally:
        db.dispose()
