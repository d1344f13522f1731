"""Crash safety: a desk process SIGKILLed at each step of a resend, then a restart; and 20 kills
inside the resend's transaction, after each of its statements in turn (SECURITY.md D6 (a)).

The child stops at the exact step (a hook in the child reports through a pipe and blocks; the
parent waits for that report, never for time), the parent kills it with SIGKILL, then a new
set of services ("the restart", 10 minutes later, past the 5-minute delivery lease) delivers
the outbox to the same real SMTP server. After it: the database passes its integrity check,
every chart has at most one live invitation, nothing is lost (the resend is wholly there or
wholly absent; a committed email is delivered), and no link arrives more than twice.
"""

from __future__ import annotations

import os
import shutil
import signal
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.charts.records import ChartInput
from frontdesk.core import tokens
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from store.db import open_database
from store.models import AuditEvent, Invitation, OutboxEmail
from tests.factories import (
    PRACTICE_PHONE,
    PUBLIC_URL,
    delivery_for,
    pg_database,
    services_for,
    set_up_practice,
    smtp_settings,
)
from tests.mail.conftest import StartSmtp
from tests.reliability import workers
from tests.reliability.conftest import check_store, child_context, link_tokens, mails_per_token

CHART = "C-1"
OTHER_CHART = "C-2"  # a bystander: its invitation must come through untouched
STOP_TIMEOUT = 60  # seconds to reach the stop point; only a broken child takes this long


def _deliver(services: Services, port: int) -> None:
    delivery_for(services, smtp_settings(services.settings.database_url, port)).deliver_due()


@pytest.mark.parametrize("stage", workers.STAGES)
def test_resend_killed_at_each_step_loses_nothing(
    stage: str, db_url: str, clock: FrozenClock, start_smtp: StartSmtp
) -> None:
    smtp = start_smtp()
    clock.set(workers.START)
    before = services_for(smtp_settings(db_url, smtp.port), clock=clock)
    set_up_practice(before, phone=PRACTICE_PHONE)
    for number, email in ((CHART, "ana@example.com"), (OTHER_CHART, "ben@example.com")):
        before.charts.add_chart(ChartInput(number, "Ana", "Lopez", "1985-03-04", email))
        before.invitations.send_invitation(number)
    _deliver(before, smtp.port)
    assert len(smtp.messages) == 2
    first_token = next(t for m in smtp.messages if "ana@" in m.rcpt_tos[0] for t in link_tokens(m))
    before.close()

    ctx = child_context()
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(
        target=workers.crash_resend,
        args=(db_url, PUBLIC_URL, smtp.port, CHART, stage, writer),
        daemon=True,
    )
    child.start()
    writer.close()
    try:
        assert reader.poll(STOP_TIMEOUT), "the child never reached its stop point"
        kind, where, note = reader.recv()
        assert (kind, where) == ("stopped", stage), note
        if stage == workers.IN_TRANSACTION:
            # inside the transaction the new invitation, its email and audit row are written
            assert (note["invitation"], note["outbox_email"]) == (3, 3), note
            # ...and nobody else sees them while it is open (readers are not blocked either)
            onlooker = open_database(db_url, migrate=False)
            try:
                with onlooker.engine.connect() as conn:
                    seen = conn.exec_driver_sql("SELECT count(*) FROM invitation").scalar()
            finally:
                onlooker.dispose()
            assert seen == 2
        if stage == workers.ACCEPTED:
            assert len(smtp.messages) == 3  # the server has it; the row is not marked sent
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        reader.close()
    assert child.exitcode == -signal.SIGKILL

    # The restart: new services (new engine, new connections), after the lease ran out.
    clock.set(workers.START + timedelta(minutes=10))
    after = services_for(smtp_settings(db_url, smtp.port), clock=clock)
    try:
        check_store(after)
        _deliver(after, smtp.port)
        _deliver(after, smtp.port)  # a second run finds nothing left to send
        check_store(after)
        shown = after.views.chart(CHART)
        with after.db.read() as session:
            invitations = session.exec(
                select(Invitation)
                .where(col(Invitation.recipient_email) == "ana@example.com")
                .order_by(col(Invitation.id))
            ).all()
            outbox = session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id))).all()
            resent_audits = session.exec(
                select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "invitation resent")
            ).one()
        assert shown.status.label != "No Portal Access"
        tokens_seen = mails_per_token(smtp.messages)
        # no link arrives more than twice (a duplicate only when the server had said 250)
        assert max(tokens_seen.values()) <= (2 if stage == workers.ACCEPTED else 1), tokens_seen
        # nothing else is stuck: every email was delivered once recorded as sent
        assert all(row.state in ("sent", "cancelled") for row in outbox), [
            (r.id, r.state) for r in outbox
        ]
        bystander = [m for m in smtp.messages if m.rcpt_tos == ["ben@example.com"]]
        assert len(bystander) == 1

        if stage == workers.IN_TRANSACTION:
            # wholly absent: the old link still works, no new invitation, email or audit row
            assert [i.state for i in invitations] == ["live"]
            assert len(outbox) == 2 and resent_audits == 0
            assert after.registration.inspect_token(first_token).state == "valid"
            assert len(smtp.messages) == 2
        else:
            # wholly there: the old link is dead, the new one is live and was delivered
            assert [i.state for i in invitations] == ["superseded", "live"]
            assert len(outbox) == 3 and resent_audits == 1
            assert outbox[-1].state == "sent"
            assert after.registration.inspect_token(first_token).state != "valid"
            new_mails = [m for m in smtp.messages if first_token not in link_tokens(m)]
            new_mails = [m for m in new_mails if m.rcpt_tos == ["ana@example.com"]]
            assert 1 <= len(new_mails) <= (2 if stage == workers.ACCEPTED else 1)
            (new_token,) = {t for m in new_mails for t in link_tokens(m)}
            assert tokens.digest(new_token) == invitations[-1].token_digest
            assert after.registration.inspect_token(new_token).state == "valid"
            # the delivered row no longer holds a usable link at rest
            assert new_token not in outbox[-1].body_text
    finally:
        after.close()


KILLS_INSIDE = 20  # SECURITY.md D6 (a): 20 of 20 kills inside the transaction lose nothing


def _run_child(ctx: Any, target: Any, args: tuple[Any, ...]) -> tuple[str, dict[str, Any]]:
    """Start a crash child, wait for its report, SIGKILL it whatever it said."""
    reader, writer = ctx.Pipe(duplex=False)
    child = ctx.Process(target=target, args=(*args, writer), daemon=True)
    child.start()
    writer.close()
    try:
        assert reader.poll(STOP_TIMEOUT), "the child never reported"
        kind, _where, note = reader.recv()
    finally:
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(30)
        reader.close()
    return kind, note


def test_twenty_kills_inside_the_resend_transaction_lose_nothing(
    db_url: str, clock: FrozenClock, start_smtp: StartSmtp
) -> None:
    """SIGKILL after each statement of a resend's write transaction in turn, 20 times on one
    store: after every kill the store is sound (SQLite's integrity check; PostgreSQL rolls the
    dead connection's transaction back), the old link still works and no new invitation,
    email or audit row exists; then a resend goes through."""
    smtp = start_smtp()
    clock.set(workers.START)
    settings = smtp_settings(db_url, smtp.port)
    services = services_for(settings, clock=clock)
    set_up_practice(services, phone=PRACTICE_PHONE)
    services.charts.add_chart(ChartInput(CHART, "Ana", "Lopez", "1985-03-04", "ana@example.com"))
    services.invitations.send_invitation(CHART)
    _deliver(services, smtp.port)
    first_token = link_tokens(smtp.messages[0])[0]
    services.close()

    def counts() -> tuple[int, int, int]:
        db = open_database(db_url, migrate=False)
        try:
            with db.engine.connect() as conn:
                return tuple(  # type: ignore[return-value]
                    conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                    for table in ("invitation", "outbox_email", "audit_event")
                )
        finally:
            db.dispose()

    before = counts()
    ctx = child_context()
    # How many statements the transaction runs: a child told to stop after more than all of
    # them commits and says; it works on a copy, so this store stays as it is.
    if db_url.startswith("sqlite"):
        probe_url = f"sqlite:///{db_url.removeprefix('sqlite:///')}.probe"
        shutil.copyfile(db_url.removeprefix("sqlite:///"), probe_url.removeprefix("sqlite:///"))
        kind, note = _run_child(
            ctx, workers.crash_resend_inside, (probe_url, PUBLIC_URL, smtp.port, CHART, 10_000)
        )
        assert kind == "finished", note
        statements = int(note["statements"])
    else:  # PostgreSQL: stop after more statements than it runs, then kill before COMMIT
        statements = _statements_on_postgresql(ctx, db_url, smtp.port)
    assert statements >= 4, note  # supersede, invitation, outbox email, audit at least

    stopped_after: list[str] = []
    for trial in range(KILLS_INSIDE):
        statement = 1 + trial % statements
        kind, note = _run_child(
            ctx, workers.crash_resend_inside, (db_url, PUBLIC_URL, smtp.port, CHART, statement)
        )
        assert kind == "stopped", note
        stopped_after.append(note["statement"])
        assert counts() == before, f"kill {trial + 1} after statement {statement} left rows"
        after = services_for(settings, clock=clock, migrate=False)
        try:
            check_store(after)
            assert after.registration.inspect_token(first_token).state == "valid"
        finally:
            after.close()
    assert len(set(stopped_after)) >= 2  # the kills fell after different kinds of statement

    clock.set(workers.START + timedelta(minutes=10))
    after = services_for(settings, clock=clock, migrate=False)
    try:
        after.invitations.resend_invitation(CHART)
        _deliver(after, smtp.port)
        check_store(after)
        assert after.registration.inspect_token(first_token).state == "replaced"
        assert len(smtp.messages) == 2
    finally:
        after.close()


def _statements_on_postgresql(ctx: Any, url: str, smtp_port: int) -> int:
    """How many statements the resend's write transaction runs on this PostgreSQL store,
    counted in a clone of it (CREATE DATABASE ... TEMPLATE), which is then dropped."""
    import sqlalchemy as sa

    template = sa.make_url(url).database
    with pg_database(f"{template}_probe_", template=template) as clone:
        kind, note = _run_child(
            ctx, workers.crash_resend_inside, (clone, PUBLIC_URL, smtp_port, CHART, 10_000)
        )
    assert kind == "finished", note
    return int(note["statements"])
