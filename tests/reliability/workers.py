"""Code run in child processes by the reliability suite (spawned, so it must be importable).

A crash child stops at an exact step of a resend: it installs a hook (in its own process only)
that reports through a pipe and then blocks, so the parent can SIGKILL it at that point.
A desk child works the shared charts for a bounded number of rounds and reports each outcome.
"""

from __future__ import annotations

import random
import threading
import traceback
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from frontdesk.core.clock import FrozenClock
from frontdesk.core.errors import FrontDeskError
from frontdesk.desk.wording import action_sentence
from frontdesk.mail.outbox import OutboxDelivery
from frontdesk.mail.sender import SmtpSender
from frontdesk.services import Services, build_services
from tests.factories import T0, smtp_settings

START = T0

# Where a crash child stops (each a step of one resend, in order).
IN_TRANSACTION = "in_transaction"  # rows written, COMMIT not yet issued
COMMITTED = "committed"  # the resend committed; delivery has not started
CLAIMED = "claimed"  # the outbox row is leased to this process; SMTP not yet connected
ACCEPTED = "accepted"  # the server answered 250 to DATA; the row is not yet marked sent
STAGES = (IN_TRANSACTION, COMMITTED, CLAIMED, ACCEPTED)


# --------------------------------------------------------------------------------------------
# Crash safety
# --------------------------------------------------------------------------------------------


def _stop_here(conn: Any, stage: str, note: dict[str, Any]) -> None:
    """Tell the parent where we are, then wait to be killed (never returns)."""
    conn.send(("stopped", stage, note))
    conn.close()
    threading.Event().wait()


def crash_resend(
    url: str, public_url: str, smtp_port: int, chart_number: str, stage: str, conn: Any
) -> None:
    """Resend the chart's invitation and deliver it, stopping at `stage` until killed."""
    try:
        clock = FrozenClock(START + timedelta(minutes=2))  # past the 60 s resend cooldown
        settings = smtp_settings(url, smtp_port, public_url=public_url)
        services = build_services(settings, clock=clock, actor="desk-crash", migrate=False)
        _arm(services, stage, conn)
        services.invitations.resend_invitation(chart_number)
        if stage == COMMITTED:
            _stop_here(conn, stage, {})
        OutboxDelivery(services.db, clock, settings, lambda: None).deliver_due()
        conn.send(("finished", stage, {}))
    except BaseException as exc:  # reported to the parent, which fails the test
        conn.send(("error", stage, {"error": f"{type(exc).__name__}: {exc}"}))
        traceback.print_exc()


def crash_resend_inside(
    url: str, public_url: str, smtp_port: int, chart_number: str, statement: int, conn: Any
) -> None:
    """Resend the chart's invitation, stopping (until killed) right after the `statement`-th
    SQL statement of its write transaction; if the transaction has fewer statements, it
    commits and the child reports how many there were."""
    try:
        clock = FrozenClock(START + timedelta(minutes=2))  # past the 60 s resend cooldown
        services = build_services(
            smtp_settings(url, smtp_port, public_url=public_url),
            clock=clock,
            actor="desk-crash",
            migrate=False,
        )
        counted = 0
        writing = False

        def after(connection: Any, cursor: Any, sql: str, *_: Any) -> None:
            nonlocal counted, writing
            if not connection.get_execution_options().get("frontdesk_write"):
                return  # not the resend's write transaction
            if sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE (PostgreSQL begins implicitly)
                return
            writing = True
            counted += 1
            if counted == statement:
                _stop_here(conn, "inside", {"statement": sql.split(None, 1)[0]})

        def commit(connection: Any) -> None:
            nonlocal writing
            writing = False  # what follows the COMMIT is outside the transaction

        event.listen(services.db.engine, "after_cursor_execute", after)
        event.listen(services.db.engine, "commit", commit)
        services.invitations.resend_invitation(chart_number)
        conn.send(("finished", "inside", {"statements": counted}))
    except BaseException as exc:  # reported to the parent, which fails the test
        conn.send(("error", "inside", {"error": f"{type(exc).__name__}: {exc}"}))
        traceback.print_exc()


def _arm(services: Services, stage: str, conn: Any) -> None:
    """Install this stage's hook (in this child process only)."""
    if stage == IN_TRANSACTION:

        def before_commit(connection: Any) -> None:
            # The resend's transaction is the first write this child commits. Count what
            # this transaction sees, to prove its rows are written and still uncommitted.
            seen = {
                table: connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                for table in ("invitation", "outbox_email", "audit_event")
            }
            _stop_here(conn, stage, seen)

        event.listen(services.db.engine, "commit", before_commit)
    elif stage == CLAIMED:

        def connect(self: SmtpSender) -> None:
            _stop_here(conn, stage, {})

        SmtpSender.connect = connect  # type: ignore[method-assign]
    elif stage == ACCEPTED:
        real_send = SmtpSender.send

        def send(self: SmtpSender, message: Any, recipients: Any = None, **kw: Any) -> None:
            real_send(self, message, recipients, **kw)  # returns once the server said 250
            _stop_here(conn, stage, {"message_id": str(message["Message-ID"])})

        SmtpSender.send = send  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# Two desks working the same charts
# --------------------------------------------------------------------------------------------

DESK_OPERATIONS = ("resend", "resend_seen", "revoke", "activate", "owner")
ROUND_STEP = timedelta(hours=3)  # past the cooldown, and under the daily cap per chart


def desk_rounds(
    url: str,
    public_url: str,
    actor: str,
    seed: int,
    charts: list[str],
    rounds: int,
    barrier: Any,
    results: Any,
) -> None:
    """Each round: look at the round's chart, meet the other desk at the barrier, then act.

    Reports (round, actor, operation, outcome, detail) per round; outcome is "ok" (detail: the
    result's message), "refused:<Error>" (a domain error: the person is told), or
    "error:<Exception>" (anything else reached the person: the test fails)."""
    clock = FrozenClock(START)
    services = build_services(
        smtp_settings(url, 25, public_url=public_url), clock=clock, actor=actor, migrate=False
    )
    rng = random.Random(seed)
    try:
        for n in range(rounds):
            clock.set(START + ROUND_STEP * (n + 1))
            chart_number = charts[n % len(charts)]
            operation = rng.choice(DESK_OPERATIONS)
            try:
                barrier.wait(timeout=60)
            except threading.BrokenBarrierError:
                results.put((n, actor, operation, "error:barrier", "broken"))
                return
            try:
                message = _desk_operation(services, chart_number, operation)
                results.put((n, actor, operation, "ok", message))
            except FrontDeskError as exc:
                results.put((n, actor, operation, f"refused:{type(exc).__name__}", str(exc)))
            except Exception as exc:
                results.put((n, actor, operation, f"error:{type(exc).__name__}", str(exc)))
    finally:
        services.close()


def _desk_operation(services: Services, chart_number: str, operation: str) -> str:
    if operation == "resend":
        return action_sentence(services.invitations.resend_invitation(chart_number))
    if operation == "revoke":
        return action_sentence(services.invitations.revoke_access(chart_number))
    if operation == "activate":
        return action_sentence(services.invitations.activate_access(chart_number))
    shown = services.views.chart(chart_number)  # what the desk is looking at
    if operation == "resend_seen":
        return action_sentence(
            services.invitations.resend_invitation(
                chart_number, seen_invitation_id=shown.invitation_id
            )
        )
    assert operation == "owner"
    if shown.owner.is_client:
        return action_sentence(
            services.invitations.change_owner(
                chart_number,
                contact_id=shown.contacts[0].id,
                invite=True,
                seen_owner_version=shown.owner_version,
            )
        )
    return action_sentence(
        services.invitations.change_owner(
            chart_number, to_client=True, invite=True, seen_owner_version=shown.owner_version
        )
    )
