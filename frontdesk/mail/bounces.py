"""Bounces read back: match the delivery status notifications in the bounce mailbox to the
emails they return, and mark those emails `bounced`.

A relay accepts a mistyped address at another domain and only later sends a notification to
the envelope sender. `frontdesk outbox bounces` (and `frontdesk serve`, every few minutes)
reads them over IMAP (frontdesk.mail.imap): each one is matched by the tag of the envelope
sender it came back to (`bounces+<tag>@…`), else by the original Message-ID it quotes. A
matched failure marks its email `bounced` with the server's words, writes an audit row on the
chart ("invitation delivery bounced") and flags the notification \\Seen. Every notification
looked at is remembered by its place in the mailbox, so a second run counts nothing twice.
Notifications that match no email are left as they are (unread, in place) and counted;
nothing is ever deleted or moved.
"""

from __future__ import annotations

import email.errors
import logging
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core import links
from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.core.emails import mask_email
from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import single_line
from frontdesk.mail.dsn import Dsn, parse_dsn
from frontdesk.mail.imap import BounceMailbox, ImapError
from frontdesk.mail.secrets import PasswordLookup, SecretError
from store.db import Database
from store.models import (
    OUTBOX_BOUNCED,
    OUTBOX_FAILED,
    OUTBOX_RETRYING,
    OUTBOX_SENT,
    BounceNotice,
    Chart,
    OutboxEmail,
)

log = logging.getLogger(__name__)

BOUNCE_INTERVAL_SECONDS = 300.0  # `frontdesk serve` reads the bounce mailbox this often
SYSTEM_ACTOR = "system:mail"
# A returned email in one of these states becomes `bounced` (a retrying one was handed over
# once already, "maybe delivered", and that copy came back).
_BOUNCEABLE = (OUTBOX_SENT, OUTBOX_FAILED, OUTBOX_RETRYING)
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")

MATCHED, UNMATCHED, NOTICE, NOT_A_REPORT = "matched", "unmatched", "notice", "not_a_report"


class BouncesNotConfigured(FrontDeskError):
    """The bounce mailbox cannot be read (no IMAP host, no password, unreachable, refused);
    str(error) is one line for staff with the fix."""


@dataclass(frozen=True)
class BouncedEmail:
    """One email a notification returned."""

    outbox_id: int
    kind: str
    chart_number: str | None
    to_address: str
    status: str  # "5.1.1"
    detail: str  # "550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown"
    matched_by: str  # tag | message_id

    def to_json(self) -> dict[str, Any]:
        return {
            "outbox_id": self.outbox_id,
            "kind": self.kind,
            "chart_number": self.chart_number,
            "to": self.to_address,
            "status": self.status,
            "detail": self.detail,
            "matched_by": self.matched_by,
        }


@dataclass(frozen=True)
class BounceReport:
    """What one read of the bounce mailbox did."""

    bounced: tuple[BouncedEmail, ...] = ()
    unmatched: int = 0  # notifications in the folder that match no email (left in place)
    notices: int = 0  # matched notifications that are not failures (delay warnings)
    already_read: int = 0  # matched on an earlier run: not counted again

    @property
    def matched(self) -> int:
        return len(self.bounced)

    def summary(self) -> str:
        return f"{self.matched} matched, {self.unmatched} left unmatched"

    def to_json(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "unmatched": self.unmatched,
            "notices": self.notices,
            "already_read": self.already_read,
            "bounced": [b.to_json() for b in self.bounced],
        }


@dataclass(frozen=True)
class _Verdict:
    uid: int
    outcome: str
    dsn: Dsn | None = None
    outbox_id: int | None = None
    matched_by: str = ""


MailboxFactory = Callable[[Settings, "str | None"], BounceMailbox]


class BounceReader:
    """Reads the bounce mailbox once per `read()`. Blocking (IMAP, database): run it on a
    worker thread."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        password_provider: Callable[[], PasswordLookup],
        *,
        mailbox_factory: MailboxFactory | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.password_provider = password_provider
        self.mailbox_factory: MailboxFactory = mailbox_factory or (
            lambda s, password: BounceMailbox(s, password)
        )

    @property
    def configured(self) -> bool:
        return bool(self.settings.imap_host)

    def read(self) -> BounceReport:
        """Read new notifications, match them, record what they say. Raises
        BouncesNotConfigured when the mailbox cannot be read (nothing is changed then)."""
        if not self.settings.imap_host:
            raise BouncesNotConfigured(
                "FRONTDESK_IMAP_HOST is not set: set the bounce mailbox's IMAP server "
                "(FRONTDESK_IMAP_HOST, _USERNAME, and `frontdesk imap set-password`)."
            )
        password = self._password()
        try:
            with self.mailbox_factory(self.settings, password) as box:
                return self._read(box)
        except ImapError as exc:
            raise BouncesNotConfigured(f"Bounces not read: {exc}") from None

    def _password(self) -> str | None:
        if not self.settings.imap_username:
            return None
        try:
            lookup = self.password_provider()
        except SecretError as exc:
            raise BouncesNotConfigured(f"Bounces not read: {exc}") from None
        if not lookup.password:
            raise BouncesNotConfigured(
                f"Bounces not read: {lookup.note or 'IMAP password not set.'}"
            )
        return lookup.password

    def _read(self, box: BounceMailbox) -> BounceReport:
        uids = box.report_uids()
        known = self._known(box.key, box.uid_validity)
        fresh = [uid for uid in uids if uid not in known]
        verdicts = [self._judge(uid, raw) for uid, raw in box.fetch(fresh)] if fresh else []
        bounced, again = (
            self._record(box.key, box.uid_validity, verdicts) if verdicts else ([], set())
        )
        seen = [v.uid for v in verdicts if v.outcome in (MATCHED, NOTICE)]
        box.mark_seen(seen)
        outcomes = {**known, **{v.uid: v.outcome for v in verdicts}}
        report = BounceReport(
            bounced=tuple(bounced),
            unmatched=sum(1 for uid in uids if outcomes.get(uid) == UNMATCHED),
            notices=sum(1 for v in verdicts if v.outcome == NOTICE and v.uid not in again),
            already_read=len(again) + sum(1 for uid in uids if known.get(uid) in (MATCHED, NOTICE)),
        )
        if verdicts:
            log.info("bounce mailbox: %s", report.summary())
        return report

    def _known(self, mailbox: str, uid_validity: int) -> dict[int, str]:
        with self.db.read() as session:
            rows = session.exec(
                select(BounceNotice.uid, BounceNotice.outcome).where(
                    BounceNotice.mailbox == mailbox, BounceNotice.uid_validity == uid_validity
                )
            ).all()
        return {int(uid): outcome for uid, outcome in rows}

    def _judge(self, uid: int, raw: bytes) -> _Verdict:
        """Which email a notification returns: by the envelope sender's tag, else by the
        original Message-ID."""
        try:
            dsn = parse_dsn(raw)
        except (ValueError, LookupError, TypeError, AttributeError, email.errors.MessageError):
            # A notification the parser cannot read is left for a person, like an unmatched one.
            log.warning("bounce mailbox: message %s could not be read as a notification", uid)
            return _Verdict(uid, UNMATCHED)
        if dsn is None:
            return _Verdict(uid, NOT_A_REPORT)
        with self.db.read() as session:
            tag = dsn.tag(self.settings.bounce_mailbox)
            if tag:
                found = session.exec(
                    select(OutboxEmail.id).where(OutboxEmail.bounce_tag == tag)
                ).first()
                if found is not None:
                    return self._matched(uid, dsn, found, "tag")
            if dsn.original_message_id:
                found = session.exec(
                    select(OutboxEmail.id).where(OutboxEmail.message_id == dsn.original_message_id)
                ).first()
                if found is not None:
                    return self._matched(uid, dsn, found, "message_id")
        return _Verdict(uid, UNMATCHED, dsn)

    @staticmethod
    def _matched(uid: int, dsn: Dsn, outbox_id: int, how: str) -> _Verdict:
        outcome = MATCHED if dsn.failure is not None else NOTICE
        return _Verdict(uid, outcome, dsn, outbox_id, how)

    def _record(
        self, mailbox: str, uid_validity: int, verdicts: list[_Verdict]
    ) -> tuple[list[BouncedEmail], set[int]]:
        """Remember every notification, and mark each returned email `bounced` (with its
        audit row), in one transaction; returns the bounced emails and the UIDs of
        notifications handled before under another UID (the folder's UIDVALIDITY changed, or
        a copy): those are remembered, not counted again. A notification another reader
        recorded meanwhile is skipped."""
        now = self.clock.now()
        message_ids = [v.dsn.message_id for v in verdicts if v.dsn and v.dsn.message_id]

        def work(session: Session) -> tuple[list[BouncedEmail], set[int]]:
            taken = set(
                session.exec(
                    select(BounceNotice.uid).where(
                        BounceNotice.mailbox == mailbox,
                        BounceNotice.uid_validity == uid_validity,
                        col(BounceNotice.uid).in_([v.uid for v in verdicts]),
                    )
                ).all()
            )
            handled = set(
                session.exec(
                    select(BounceNotice.message_id).where(
                        BounceNotice.mailbox == mailbox,
                        col(BounceNotice.message_id).in_(message_ids),
                        col(BounceNotice.outcome).in_([MATCHED, NOTICE]),
                    )
                ).all()
            )
            bounced: list[BouncedEmail] = []
            again: set[int] = set()
            for verdict in verdicts:
                if verdict.uid in taken:
                    continue
                dsn = verdict.dsn
                if dsn is not None and dsn.message_id in handled:
                    again.add(verdict.uid)
                failure = dsn.failure if dsn is not None else None
                session.add(
                    BounceNotice(
                        mailbox=mailbox,
                        uid_validity=uid_validity,
                        uid=verdict.uid,
                        message_id=dsn.message_id[:300] if dsn and dsn.message_id else None,
                        outcome=verdict.outcome,
                        outbox_id=verdict.outbox_id,
                        status=failure.status[:20] if failure else None,
                        read_at=now,
                    )
                )
                if verdict.uid in again:
                    continue
                if verdict.outcome == MATCHED and verdict.outbox_id is not None:
                    assert failure is not None
                    done = self._bounce(session, verdict, failure.status, failure.detail, now)
                    if done is not None:
                        bounced.append(done)
            return bounced, again

        try:
            return self.db.transact(work)
        except sa.exc.IntegrityError:  # another reader recorded some of them first
            return self.db.transact(work)

    def _bounce(
        self, session: Session, verdict: _Verdict, status: str, detail: str, now: datetime
    ) -> BouncedEmail | None:
        row = session.get(OutboxEmail, verdict.outbox_id)
        if row is None:
            return None
        chart_number = (
            session.exec(select(Chart.chart_number).where(Chart.id == row.chart_id)).first()
            if row.chart_id is not None
            else None
        )
        detail = single_line(detail)[:400]
        result = BouncedEmail(
            outbox_id=row.id or 0,
            kind=row.kind,
            chart_number=chart_number,
            to_address=row.to_address,
            status=status,
            detail=detail,
            matched_by=verdict.matched_by,
        )
        if row.state not in _BOUNCEABLE:
            return result  # already bounced (a second notice), or never handed over
        session.execute(
            sa.update(OutboxEmail)
            .where(col(OutboxEmail.id) == row.id, col(OutboxEmail.state).in_(_BOUNCEABLE))
            .values(
                state=OUTBOX_BOUNCED,
                bounce_status=status[:20] or None,
                bounced_at=now,
                last_error=detail,
                lease_until=None,
                lease_owner=None,
                body_text=links.remove_link_tokens(row.body_text),
                body_html=links.remove_link_tokens(row.body_html),
            )
            .execution_options(synchronize_session=False)
        )
        what = "invitation" if row.invitation_id is not None else "email"
        audit.record(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            action=f"{what} delivery bounced",
            chart_id=row.chart_id,
            chart_number=chart_number,
            outcome="bounced",
            detail=(  # the reason first: the chart's history shows the start of it
                f"{_masked(detail)} (outbox {row.id}, {row.kind} to {mask_email(row.to_address)})"
            ),
            source=f"mail:{socket.gethostname()}",
        )
        log.warning("outbox %s: bounced (%s)", row.id, status or "no status")
        return result


def _masked(text: str) -> str:
    """`text` with every email address masked (the audit trail never holds a whole one)."""
    return _ADDRESS.sub(lambda m: mask_email(m.group(0)), text)
