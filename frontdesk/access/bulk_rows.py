"""The rows of a bulk batch (frontdesk.access.bulk): read for many charts at once, decided
chart by chart with the single-chart path's rules, and written with a few Core statements.

No ORM object per row: the batch's charts (with owners and contacts), live invitations,
accounts and recent invitations are four SELECTs; the new invitations, outbox rows, owner
rows and audit rows (through audit.record_many) are executemany INSERTs. The values are those
the single-chart path writes (InvitationService.issue_invitation, mail.queue.queue_email,
audit.event_row, lookup.owner_row); tests/access/bulk compares them field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from frontdesk import audit
from frontdesk.access.outcomes import BulkAction, SkipReason
from frontdesk.access.rules import status_of
from frontdesk.access.status import (
    ACCOUNT_JOIN,
    CHART,
    ENABLED_ACCT,
    LIVE_INV,
    LIVE_JOIN,
    status_condition,
)
from frontdesk.charts.lookup import Owner, greeting_name
from frontdesk.core import links, tokens
from frontdesk.core.clock import as_utc
from frontdesk.core.config import Settings
from frontdesk.core.emails import InvalidEmail, mask_email, normalize_email
from frontdesk.core.text import single_line
from frontdesk.mail import compose
from frontdesk.mail.queue import outbox_row
from frontdesk.practice import PRACTICE_ID
from store.models import (
    INVITATION_LIVE,
    INVITATION_SUPERSEDED,
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    Chart,
    InvitationKind,
    Practice,
    TaskState,
)

_TABLES = SQLModel.metadata.tables
INVITATION = _TABLES["invitation"]
OUTBOX = _TABLES["outbox_email"]
OWNER = _TABLES["chart_owner"]
CONTACT = _TABLES["related_contact"]
ACCOUNT = _TABLES["portal_account"]
PRACTICE = _TABLES["practice"]
TASK = _TABLES["task"]
# A task the client still has to do: an invitation to its chart says forms are waiting.
TASK_TO_DO = (TaskState.ASSIGNED, TaskState.IN_PROGRESS, TaskState.RETURNED)


def invitation_first_name(chart_first_name: str, owner: Owner) -> str:
    """The first name an invitation (a practice template) may use: the client's, or the
    first word of a related contact's name."""
    if owner.is_client:
        return single_line(chart_first_name)
    return single_line((owner.name.split() or [owner.name])[0])


# ------------------------------------------------------------------------------- reading


@dataclass
class Facts:
    """What deciding one chart needs, read for a whole batch at once."""

    chart_id: int
    chart_number: str
    first_name: str
    last_name: str
    preferred_name: str | None
    email: str | None
    sort_key: tuple[str, str, int]  # the browser's name order
    has_owner_row: bool = False
    owner_contact_id: int | None = None  # chart_owner.related_contact_id
    contact: tuple[int, str, str, str | None] | None = None  # that contact's row, if any
    live_id: int | None = None
    live_expires_at: datetime | None = None
    live_failed: int = 0
    has_account: bool = False
    newest_at: datetime | None = None  # the newest invitation of the last 24 hours
    recent: int = 0  # invitations of the last 24 hours
    forms_waiting: bool = False  # a task to do (TASK_TO_DO): the invitation says so

    def owner(self) -> Owner:
        """Who owns the chart's portal access (lookup.owner_of, from the batch's rows)."""
        if self.owner_contact_id is not None and self.contact is not None:
            contact_id, name, relationship, email = self.contact
            return Owner(name, relationship, email, contact_id)
        return Owner(f"{self.first_name} {self.last_name}", "Client", self.email, None)

    @property
    def client_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"


def snapshot(conn: sa.Connection, action: BulkAction, now: datetime) -> list[tuple[int, str]]:
    """(id, chart number) of every chart in the action's statuses now, by id: one statement,
    one consistent read."""
    inv, acct = LIVE_INV.c, ENABLED_ACCT.c
    query = (
        sa.select(CHART.c.id, CHART.c.chart_number)
        .select_from(CHART)
        .outerjoin(LIVE_INV, LIVE_JOIN)
        .outerjoin(ENABLED_ACCT, ACCOUNT_JOIN)
        .where(sa.or_(*(status_condition(s, now, inv, acct) for s in action.statuses)))
        .order_by(CHART.c.id)
    )
    return [(row[0], row[1]) for row in conn.execute(query)]


def lock_charts(conn: sa.Connection, ids: list[int]) -> None:
    """PostgreSQL: lock the charts FOR UPDATE (as the single-chart path locks its chart), in
    id order so two desks' batches never wait on each other in a circle."""
    query = sa.select(CHART.c.id).where(CHART.c.id.in_(ids)).order_by(CHART.c.id)
    conn.execute(query.with_for_update())


def read_facts(conn: sa.Connection, ids: list[int], now: datetime) -> dict[int, Facts]:
    """Every chart of `ids` that still exists, with its owner, contact, live invitation,
    account and recent invitations: four statements for the whole batch."""
    c = CHART.c
    columns = (
        c.id, c.chart_number, c.first_name, c.last_name, c.preferred_name, c.email,
        c.last_key, c.first_key, OWNER.c.chart_id, OWNER.c.related_contact_id,
        CONTACT.c.id, CONTACT.c.name, CONTACT.c.relationship, CONTACT.c.email,
    )  # fmt: skip
    joined = CHART.outerjoin(OWNER, OWNER.c.chart_id == c.id).outerjoin(
        CONTACT, CONTACT.c.id == OWNER.c.related_contact_id
    )
    rows = conn.execute(sa.select(*columns).select_from(joined).where(c.id.in_(ids)))
    facts: dict[int, Facts] = {}
    for row in rows:
        chart_id = int(row[0])
        facts[chart_id] = Facts(
            chart_id=chart_id,
            chart_number=row[1],
            first_name=row[2],
            last_name=row[3],
            preferred_name=row[4],
            email=row[5],
            sort_key=(row[6] or "", row[7] or "", chart_id),
            has_owner_row=row[8] is not None,
            owner_contact_id=row[9],
            contact=(row[10], row[11], row[12], row[13]) if row[10] is not None else None,
        )
    if not facts:
        return facts
    found = list(facts)
    inv = INVITATION.c
    live = sa.select(inv.chart_id, inv.id, inv.expires_at, inv.failed_attempts).where(
        inv.chart_id.in_(found), inv.state == INVITATION_LIVE
    )
    for chart_id, invitation_id, expires_at, failed in conn.execute(live):
        one = facts[chart_id]
        one.live_id, one.live_expires_at, one.live_failed = invitation_id, expires_at, failed
    accounts = sa.select(ACCOUNT.c.chart_id).where(
        ACCOUNT.c.chart_id.in_(found), ACCOUNT.c.disabled_at.is_(None)
    )
    for (chart_id,) in conn.execute(accounts):
        facts[chart_id].has_account = True
    recent = (
        sa.select(inv.chart_id, sa.func.max(inv.created_at), sa.func.count())
        .where(inv.chart_id.in_(found), inv.created_at > now - timedelta(days=1))
        .group_by(inv.chart_id)
    )
    for chart_id, newest, count in conn.execute(recent):
        facts[chart_id].newest_at, facts[chart_id].recent = newest, int(count)
    for waiting in conn.execute(forms_waiting_query(found)):
        facts[int(waiting[0])].forms_waiting = True
    return facts


def forms_waiting_query(chart_ids: list[int]) -> sa.Select[Any]:
    """The charts of `chart_ids` with a task the client still has to do."""
    task = TASK.c
    return (
        sa.select(task.chart_id)
        .where(task.chart_id.in_(chart_ids), task.state.in_([str(s) for s in TASK_TO_DO]))
        .distinct()
    )


def portal_active(conn: sa.Connection) -> bool:
    query = sa.select(PRACTICE.c.portal_active).where(PRACTICE.c.id == PRACTICE_ID)
    return bool(conn.execute(query).scalar())


# ------------------------------------------------------------------------------- deciding


def decide(
    facts: Facts,
    action: BulkAction,
    now: datetime,
    *,
    portal_on: bool,
    cooldown: timedelta,
    daily_cap: int,
) -> tuple[SkipReason | None, str | None]:
    """(why the chart is skipped, or None; the normalised recipient when it is not). The
    single-chart path's rules in its order: the status (a chart sent to moments ago, by any
    desk, is COOLDOWN), the resend limits, the portal, the owner's address."""
    status = status_of(
        has_account=facts.has_account,
        expires_at=facts.live_expires_at,
        failed_attempts=facts.live_failed,
        now=now,
    ).status
    just_sent = facts.newest_at is not None and now - as_utc(facts.newest_at) < cooldown
    if status not in action.statuses:
        return (SkipReason.COOLDOWN if just_sent else SkipReason.CHANGED), None
    if action.resends:
        if just_sent:
            return SkipReason.COOLDOWN, None
        if facts.recent >= daily_cap:
            return SkipReason.TOO_MANY_TODAY, None
    if not portal_on:
        return SkipReason.PORTAL_OFF, None
    owner = facts.owner()
    if not owner.email:
        return SkipReason.NO_EMAIL, None
    try:
        return None, normalize_email(owner.email)
    except InvalidEmail:
        return SkipReason.INVALID_EMAIL, None


# ------------------------------------------------------------------------------- preparing


@dataclass
class Send:
    """One chart to send to: its rows, ready to insert (the invitation id is filled in after
    the invitations are inserted)."""

    facts: Facts
    recipient: str
    invitation: dict[str, Any]
    outbox: dict[str, Any]
    audit: dict[str, Any]


def prepare_send(
    facts: Facts,
    recipient: str,
    *,
    practice: Practice,
    settings: Settings,
    resend: bool,
    actor: str,
    now: datetime,
) -> Send:
    """The rows InvitationService.issue_invitation writes for this chart, with its email
    rendered by the compose function. The raw token lives only in that email."""
    owner = facts.owner()
    kind = str(InvitationKind.RESEND if resend else InvitationKind.INVITATION)
    token = tokens.new_token()
    expires_at = now + timedelta(days=practice.invitation_days)
    message = compose.invitation_email(
        practice,
        # greeting_name reads only the chart's preferred and first names
        greeting_name=greeting_name(cast(Chart, facts), owner),
        link=links.register_link(settings.public_base, token),
        expires_at=expires_at,
        resend=resend,
        first_name=invitation_first_name(facts.first_name, owner),
        forms_waiting=facts.forms_waiting,
    )
    invitation = {
        "chart_id": facts.chart_id,
        "token_digest": tokens.digest(token),
        "related_contact_id": facts.owner_contact_id,
        "recipient_name": owner.name,
        "recipient_email": recipient,
        "kind": kind,
        "state": INVITATION_LIVE,
        "failed_attempts": 0,
        "created_at": now,
        "created_by": actor,
        "expires_at": expires_at,
        "locked_at": None,
        "ended_at": None,
    }
    outbox = outbox_row(
        settings,
        message,
        kind=kind,
        now=now,
        to_address=recipient,
        to_name=owner.name,
        chart_id=facts.chart_id,
    )  # the invitation id is filled in once the invitations are inserted
    action = "invitation resent" if resend else "invitation sent"
    return Send(facts, recipient, invitation, outbox, audit_row(facts, action, actor, now))


def audit_row(
    facts: Facts, action: str, actor: str, now: datetime, *, outcome: str = "ok"
) -> dict[str, Any]:
    """The chart's audit row, as frontdesk.audit.record writes it (the detail of a sent
    invitation is set once its id is known)."""
    return audit.event_row(
        at=now,
        actor=actor,
        action=action,
        source=f"os:{actor}",
        chart_id=facts.chart_id,
        chart_number=facts.chart_number,
        outcome=outcome,
    )


def refusal_row(facts: Facts, reason: SkipReason, actor: str, now: datetime) -> dict[str, Any]:
    """The "resend refused" audit row the single-chart path writes for a cooldown or for a
    concurrent change."""
    outcome = "cooldown" if reason is SkipReason.COOLDOWN else "conflict"
    return audit_row(facts, "resend refused", actor, now, outcome=outcome)


# ------------------------------------------------------------------------------- writing


class Collision(Exception):
    """A chart's new invitation hit the schema's one-live-invitation-per-chart index."""


def write_sends(session: Session, sends: list[Send]) -> None:
    """Supersede the charts' live invitations and cancel their unsent emails, create missing
    owner rows, insert the new invitations, their emails and audit rows: seven statements
    for any number of charts. For one chart, a clash on the invitation index raises
    Collision."""
    conn = session.connection()
    now = sends[0].invitation["created_at"]
    old = [send.facts.live_id for send in sends if send.facts.live_id is not None]
    if old:
        conn.execute(
            INVITATION.update()
            .where(INVITATION.c.id.in_(old))
            .values(state=INVITATION_SUPERSEDED, ended_at=now)
        )
        conn.execute(
            OUTBOX.update()
            .where(
                OUTBOX.c.invitation_id.in_(old),
                OUTBOX.c.state.in_([OUTBOX_PENDING, OUTBOX_RETRYING]),
            )
            .values(state=OUTBOX_CANCELLED, lease_until=None, body_text="", body_html="")
        )
    owners = [owner_row(send) for send in sends if not send.facts.has_owner_row]
    if owners:
        conn.execute(OWNER.insert(), owners)
    try:
        conn.execute(INVITATION.insert(), [send.invitation for send in sends])
    except IntegrityError as exc:
        if len(sends) == 1:
            raise Collision from exc
        raise
    # Each chart's one live invitation is now the one just inserted (the schema's index):
    # read the ids back by it (INSERT ... RETURNING in parameter order runs one row at a time
    # on SQLite).
    live = sa.select(INVITATION.c.chart_id, INVITATION.c.id).where(
        INVITATION.c.chart_id.in_([send.facts.chart_id for send in sends]),
        INVITATION.c.state == INVITATION_LIVE,
    )
    new_ids = {chart_id: invitation_id for chart_id, invitation_id in conn.execute(live)}
    events = []
    for send in sends:
        invitation_id = new_ids[send.facts.chart_id]
        send.outbox["invitation_id"] = invitation_id
        detail = f"invitation {invitation_id} to {mask_email(send.recipient)}"
        events.append(audit.event_row(**{**send.audit, "detail": detail}))
    conn.execute(OUTBOX.insert(), [send.outbox for send in sends])
    audit.record_many(session, events)


def owner_row(send: Send) -> dict[str, Any]:
    """The chart_owner row lookup.owner_row creates where one is missing (the client owns)."""
    return {
        "chart_id": send.facts.chart_id,
        "related_contact_id": None,
        "version": 1,
        "updated_at": send.invitation["created_at"],
        "updated_by": send.invitation["created_by"],
    }
