"""Checks whether a setup failure has paused the outbox: since when, why (the server's words)
and the fix, in one line."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from frontdesk.core.clock import Clock, human_time
from frontdesk.doctor.results import CheckResult, Status, result, skip
from frontdesk.mail.pause import MailPauses
from frontdesk.practice import practice_row, practice_zone
from store.db import Database, StoreError


def check_paused(db: Database | None, schema_current: bool, clock: Clock) -> CheckResult:
    if db is None or not schema_current:
        return skip("outbox_paused", "skipped: the database is not reachable or not migrated")
    pauses = MailPauses(db, clock)
    try:
        paused = pauses.current()
        waiting = pauses.waiting() if paused is not None else 0
        with db.read() as session:
            zone = practice_zone(practice_row(session))
    except (StoreError, SQLAlchemyError) as exc:
        return result(
            "outbox_paused", Status.FAIL, f"cannot read the pause: {exc}", "see the database check"
        )
    if paused is None:
        return result("outbox_paused", Status.PASS, "email is being sent (not paused)")
    since = human_time(paused.since, zone, clock.now())  # as `outbox deliver` says it
    return result(
        "outbox_paused",
        Status.FAIL,
        f"email is paused since {since}, {waiting} waiting: {paused.reason} "
        f"({paused.failure.detail})",
        f"{paused.failure.fix}; sending resumes by itself at the next probe (every few "
        "minutes), or at once with `frontdesk outbox deliver`",
        kind=paused.kind.value,
        since=paused.since.isoformat(),
        waiting=waiting,
    )
