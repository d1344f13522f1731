"""The outbox's pause after a setup failure, stored so that every process sees it.

While paused no email is claimed, so none burns its retries or its 48-hour budget: the time
paused does not count. Every few minutes a delivery run probes the mail server (connect, TLS,
login, MAIL FROM + RCPT TO + RSET; no message); the first probe that passes ends the pause, and
every waiting email is due at once with the paused time given back to its budget. Pausing and
resuming are audited. The TUI, the CLI and `frontdesk serve` read the pause from here.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core.clock import Clock, as_utc
from frontdesk.mail.failures import EnvelopeProbe, SetupFailure, SetupKind
from frontdesk.mail.sender import SendError
from store.db import Database
from store.models import OUTBOX_PENDING, OUTBOX_RETRYING, OUTBOX_SENDING, MailPause, OutboxEmail

log = logging.getLogger(__name__)

PROBE_DELAYS = (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5))
"""Wait before the n-th probe of a paused outbox, then every 5 minutes: a wrong password is
tried at most twice in 10 minutes, under fail2ban-style limits."""
PAUSE_ACTOR = "system:mail"


class Prober(Protocol):
    """What a probe needs of the SMTP sender (`frontdesk.mail.sender.SmtpSender`)."""

    def probe_envelope(self, recipient: str) -> EnvelopeProbe: ...

    def close(self) -> None: ...


def probe_delay(failed_probes: int) -> timedelta:
    return PROBE_DELAYS[min(failed_probes, len(PROBE_DELAYS) - 1)]


@dataclass(frozen=True)
class PauseState:
    """The outbox is paused: why, since when, and when the next probe is due."""

    failure: SetupFailure
    since: datetime
    probes: int
    next_probe_at: datetime

    @property
    def kind(self) -> SetupKind:
        return self.failure.kind

    @property
    def reason(self) -> str:
        """ "the mail server refused the login"."""
        return self.failure.kind.what

    @property
    def banner(self) -> str:
        """What every TUI screen shows: "Email is paused: the mail server refused the login —
        fix the password with `frontdesk smtp set-password`" (the whole fix: `line`)."""
        return f"Email is paused: {self.reason} — {self.kind.short_fix}"

    @property
    def line(self) -> str:
        """One line with the server's words and the fix, for the CLI and the doctor."""
        return f"Email is paused: {self.failure.line}"

    def probe_due(self, now: datetime) -> bool:
        return now >= self.next_probe_at


def _state(row: MailPause) -> PauseState:
    kind = SetupKind(row.kind) if row.kind in set(SetupKind) else SetupKind.UNREACHABLE
    return PauseState(
        SetupFailure(kind, row.detail, row.fix),
        as_utc(row.since),
        row.probes,
        as_utc(row.next_probe_at),
    )


class MailPauses:
    """Reads and changes the stored pause. Entry methods own their transaction."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def current(self) -> PauseState | None:
        """The pause, or None while email is being sent normally."""
        with self.db.read() as session:
            row = session.get(MailPause, 1)
            return _state(row) if row is not None else None

    def waiting(self) -> int:
        """How many emails wait to be sent (queued, retrying, or being sent)."""
        with self.db.read() as session:
            return int(
                session.exec(
                    select(sa.func.count())
                    .select_from(OutboxEmail)
                    .where(
                        col(OutboxEmail.state).in_(
                            [OUTBOX_PENDING, OUTBOX_RETRYING, OUTBOX_SENDING]
                        )
                    )
                ).one()
            )

    def next_waiting(self) -> tuple[datetime, str | None] | None:
        """When the earliest queued or retrying email is due, and its last error (None when
        none waits)."""
        with self.db.read() as session:
            row = session.exec(
                select(OutboxEmail.next_attempt_at, OutboxEmail.last_error)
                .where(col(OutboxEmail.state).in_([OUTBOX_PENDING, OUTBOX_RETRYING]))
                .order_by(col(OutboxEmail.next_attempt_at), col(OutboxEmail.id))
                .limit(1)
            ).first()
        return (as_utc(row[0]), row[1]) if row is not None else None

    def pause(self, failure: SetupFailure) -> PauseState:
        """Pause the outbox (or, already paused, record the latest failure and count a failed
        probe). The first pause is audited."""
        now = self.clock.now()

        def work(session: Session) -> PauseState:
            row = session.get(MailPause, 1, with_for_update=self.db.is_postgres)
            if row is None:
                row = MailPause(
                    id=1,
                    kind=failure.kind.value,
                    detail=failure.detail,
                    fix=failure.fix,
                    since=now,
                    probes=0,
                    next_probe_at=now + probe_delay(0),
                    updated_at=now,
                )
                session.add(row)
                audit.record(
                    session,
                    at=now,
                    actor=PAUSE_ACTOR,
                    action="email sending paused",
                    outcome="paused",
                    detail=f"{failure.kind.value}: {failure.detail}"[:500],
                    source=f"mail:{socket.gethostname()}",
                )
                log.warning("outbox delivery paused: %s", failure.kind.what)
            else:
                row.kind, row.detail, row.fix = failure.kind.value, failure.detail, failure.fix
                row.probes += 1
                row.next_probe_at = now + probe_delay(row.probes)
                row.updated_at = now
            session.flush()
            return _state(row)

        try:
            return self.db.transact(work)
        except sa.exc.IntegrityError:  # another process paused at the same moment: update it
            return self.db.transact(work)

    def resume(self) -> int:
        """End the pause: every queued or retrying email is due now, and the time paused is
        given back to each one's 48-hour budget. Returns how many emails wait; 0 and nothing
        changed when the outbox was not paused."""
        now = self.clock.now()
        table = OutboxEmail.__table__  # type: ignore[attr-defined]

        def work(session: Session) -> int:
            row = session.get(MailPause, 1, with_for_update=self.db.is_postgres)
            if row is None:
                return 0
            paused_for = max(timedelta(0), now - as_utc(row.since))
            waiting = [OUTBOX_PENDING, OUTBOX_RETRYING]
            in_waiting = table.c.state.in_(waiting)
            rows = session.execute(
                sa.select(table.c.id, table.c.first_failure_at).where(in_waiting)
            ).all()
            session.execute(table.update().where(in_waiting).values(next_attempt_at=now))
            shifted = [
                {"row_id": row_id, "new_first": as_utc(first) + paused_for}
                for row_id, first in rows
                if first is not None
            ]
            if shifted:
                session.execute(
                    table.update()
                    .where(table.c.id == sa.bindparam("row_id"), in_waiting)
                    .values(first_failure_at=sa.bindparam("new_first")),
                    shifted,
                )
            session.delete(row)
            audit.record(
                session,
                at=now,
                actor=PAUSE_ACTOR,
                action="email sending resumed",
                outcome="ok",
                detail=(
                    f"paused {int(paused_for.total_seconds() // 60)} min ({row.kind}); "
                    f"{len(rows)} email(s) due now"
                ),
                source=f"mail:{socket.gethostname()}",
            )
            log.info("outbox delivery resumed after %s; %d email(s) due now", paused_for, len(rows))
            return len(rows)

        return self.db.transact(work)

    def may_send(self, probe_now: bool, open_sender: Callable[[], tuple[Prober, str]]) -> bool:
        """Whether the outbox may send now: not paused, or paused and a probe due (or asked
        for: `probe_now`) passed, which ends the pause. `open_sender` gives the SMTP sender
        and the sender address for the probe (it may raise when mail is not configured)."""
        paused = self.current()
        if paused is None:
            return True
        if not (probe_now or paused.probe_due(self.clock.now())):
            return False
        return self.probe(*open_sender())

    def probe(self, sender: Prober, address: str) -> bool:
        """Probe the mail server through `sender`: connect, TLS, login, MAIL FROM:<address>
        (the sender address) + RCPT TO:<address> + RSET; nothing is sent. Passed: the pause
        ends (`resume`) and True. Failed: the pause records why and when to probe next."""
        try:
            found = sender.probe_envelope(address)
            failure = found.setup
        except SendError as exc:
            failure = exc.setup or SetupFailure.of(SetupKind.UNREACHABLE, exc.reason)
        finally:
            sender.close()
        if failure is not None:
            self.pause(failure)
            return False
        self.resume()
        return True
