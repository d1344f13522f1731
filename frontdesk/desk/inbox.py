"""The desk's Portal inbox, read side: every open item that needs the front desk, whatever
portal feature brought it in (messages now; forms, tasks and requests with their issues).

Order: urgent (not yet acknowledged) on top, then unread, then the longest waiting (the index
`ix_inbox_item_order` holds that order, so a page is read, never sorted). Filters by kind,
audience, state and a typed search over the client's name, chart number and the subject.
`done` closes an item by hand (a message thread is then closed until the client writes
again) and `ack` records that someone saw an urgent item, which then leaves the top and
takes its place among the rest; both are audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.core.text import search_key
from frontdesk.portal import inbox_items
from frontdesk.portal.message_steps import close_thread, is_row_id
from frontdesk.portal.tasks import review_from_inbox
from store.db import Database
from store.models import (
    Chart,
    InboxCloseReason,
    InboxItem,
    InboxKind,
    InboxState,
    MessageAudience,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class InboxRow:
    """One inbox item as the desk lists it. `unread`: new activity no one at the desk has
    opened; `waiting_since`: since when it has waited for the practice."""

    id: int
    kind: InboxKind
    chart_number: str
    client_name: str
    subject: str
    state: InboxState
    urgent: bool
    unread: bool
    waiting_since: datetime
    created_at: datetime
    updated_at: datetime
    source_id: int
    audience: MessageAudience | None
    closed_at: datetime | None
    closed_by: str | None
    close_reason: InboxCloseReason | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


@dataclass(frozen=True)
class InboxPage:
    """A page of the inbox under its filters; `total` counts every matching item."""

    items: tuple[InboxRow, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class InboxCounts:
    """The open inbox at a glance (for a title bar or a badge)."""

    open: int
    unread: int
    urgent: int


class InboxOutcome(StrEnum):
    """What `done` / `ack` did."""

    DONE = "done"
    ALREADY_DONE = "already_done"  # someone else closed it (or it closed itself) first
    ACKNOWLEDGED = "acknowledged"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"


@dataclass(frozen=True)
class InboxChange:
    outcome: InboxOutcome
    item: InboxRow


class PortalInbox:
    """The desk's Portal inbox of one database, acting as the staff login `actor`."""

    def __init__(self, db: Database, clock: Clock, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor

    def items(
        self,
        *,
        kind: InboxKind | str | None = None,
        audience: MessageAudience | str | None = None,
        state: InboxState | str | None = InboxState.OPEN,
        search: str = "",
        limit: int = PAGE_SIZE,
        offset: int = 0,
    ) -> InboxPage:
        """A page of items in inbox order under the filters (state None: every state)."""
        with self.db.read() as session:
            where = _filters(kind, audience, state, search)
            counting = select(sa.func.count()).select_from(InboxItem)
            if search.strip():  # only a search needs the chart (its names) to count
                counting = counting.join(Chart, col(Chart.id) == InboxItem.chart_id)
            total = int(session.exec(counting.where(*where)).one())
            rows = session.exec(
                select(InboxItem, Chart.chart_number, Chart.first_name, Chart.last_name)
                .join(Chart, col(Chart.id) == InboxItem.chart_id)
                .where(*where)
                .order_by(*_ORDER)
                .offset(max(0, offset))
                .limit(max(1, limit))
            ).all()
            items = tuple(_row(item, number, first, last) for item, number, first, last in rows)
            return InboxPage(items, total, max(0, offset), max(1, limit))

    def counts(self) -> InboxCounts:
        """How many items are open, unread and urgent."""
        with self.db.read() as session:
            row = session.exec(
                select(
                    sa.func.count(),
                    sa.func.sum(sa.case((col(InboxItem.unread).is_(True), 1), else_=0)),
                    sa.func.sum(sa.case((col(InboxItem.urgent).is_(True), 1), else_=0)),
                ).where(InboxItem.state == InboxState.OPEN)
            ).one()
            return InboxCounts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))

    def item(self, item_id: int) -> InboxRow:
        """One item (any state), or NotFound."""
        with self.db.read() as session:
            return _item_row(session, item_id)

    def stamp(self) -> tuple[int, datetime | None]:
        """A cheap token that changes whenever any item changes (opened, refreshed, read,
        closed): an open inbox screen polls it to show new activity within seconds."""
        with self.db.read() as session:
            row = session.exec(select(sa.func.count(), sa.func.max(InboxItem.updated_at))).one()
            return int(row[0] or 0), as_utc(row[1]) if row[1] is not None else None

    def done(self, item_id: int) -> InboxChange:
        """Mark an open item done (audited). A message thread's item: the thread is closed
        until the client writes again. An item already closed is left as it is."""

        def work(session: Session) -> InboxChange:
            now = self.clock.now()
            item = _locked(session, item_id)
            if item.state != InboxState.OPEN:
                return InboxChange(InboxOutcome.ALREADY_DONE, _item_row(session, item_id))
            inbox_items.close_items(
                session, kind=InboxKind(item.kind), source_id=item.source_id,
                reason=InboxCloseReason.DONE, by=self.actor, now=now,
            )  # fmt: skip
            if item.kind == InboxKind.MESSAGE:
                close_thread(session, item.source_id, now=now)
            elif item.kind == InboxKind.TASK:  # a submitted form: done is reviewed
                review_from_inbox(session, item.source_id, actor=self.actor, now=now)
            self._audit(session, item, "inbox item done", now)
            session.expire_all()
            return InboxChange(InboxOutcome.DONE, _item_row(session, item_id))

        return self.db.transact(work)

    def ack(self, item_id: int) -> InboxChange:
        """Record that someone at the desk saw an (urgent) item: who and when (audited). It
        stays on top only until then (`urgent` is lowered; `acknowledged_at` keeps that it was
        flagged), and stays open until its work is done."""

        def work(session: Session) -> InboxChange:
            now = self.clock.now()
            item = _locked(session, item_id)
            if item.acknowledged_at is not None:
                return InboxChange(InboxOutcome.ALREADY_ACKNOWLEDGED, _item_row(session, item_id))
            if not item.urgent:
                raise NotAllowed(
                    f"Inbox item {item_id} is not urgent: there is nothing to acknowledge."
                )
            item.acknowledged_at = now
            item.acknowledged_by = self.actor[:100]
            item.urgent = False
            item.updated_at = now
            session.add(item)
            session.flush()
            self._audit(session, item, "inbox item acknowledged", now)
            return InboxChange(InboxOutcome.ACKNOWLEDGED, _item_row(session, item_id))

        return self.db.transact(work)

    def _audit(self, session: Session, item: InboxItem, action: str, now: datetime) -> None:
        audit.record(
            session,
            at=now,
            actor=self.actor,
            action=action,
            chart=session.get(Chart, item.chart_id),
            detail=f"item {item.id}, {item.kind} {item.source_id}",
            source=f"os:{self.actor}",
        )


_ORDER = (
    col(InboxItem.urgent).desc(),
    col(InboxItem.unread).desc(),
    col(InboxItem.waiting_since),
    col(InboxItem.id),
)


def _filters(
    kind: InboxKind | str | None,
    audience: MessageAudience | str | None,
    state: InboxState | str | None,
    search: str,
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if state:
        where.append(col(InboxItem.state) == _member(InboxState, state, "state"))
    if kind:
        where.append(col(InboxItem.kind) == _member(InboxKind, kind, "kind"))
    if audience:
        where.append(col(InboxItem.audience) == _member(MessageAudience, audience, "audience"))
    words = search_key(search).split()
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            sa.or_(
                col(Chart.search_text).like(pattern, escape="\\"),
                sa.func.lower(col(InboxItem.subject)).like(pattern, escape="\\"),
            )
        )
    return where


E = TypeVar("E", bound=StrEnum)


def _member(enum: type[E], value: str, field: str) -> E:
    """`value` as a member of `enum`, or InvalidInput naming the filter."""
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise InvalidInput(f"Unknown {field} {value!r}; use {known}.", field) from None


def _locked(session: Session, item_id: int) -> InboxItem:
    if not is_row_id(item_id):
        raise NotFound(f"No inbox item {item_id}.")
    query = select(InboxItem).where(InboxItem.id == item_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    item = session.exec(query).first()
    if item is None:
        raise NotFound(f"No inbox item {item_id}.")
    return item


def _item_row(session: Session, item_id: int) -> InboxRow:
    if not is_row_id(item_id):
        raise NotFound(f"No inbox item {item_id}.")
    found = session.exec(
        select(InboxItem, Chart.chart_number, Chart.first_name, Chart.last_name)
        .join(Chart, col(Chart.id) == InboxItem.chart_id)
        .where(InboxItem.id == item_id)
    ).first()
    if found is None:
        raise NotFound(f"No inbox item {item_id}.")
    item, number, first, last = found
    return _row(item, number, first, last)


def _opt(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _row(item: InboxItem, chart_number: str, first: str, last: str) -> InboxRow:
    assert item.id is not None
    return InboxRow(
        id=item.id,
        kind=InboxKind(item.kind),
        chart_number=chart_number,
        client_name=f"{first} {last}".strip(),
        subject=item.subject,
        state=InboxState(item.state),
        urgent=item.urgent,
        unread=item.unread,
        waiting_since=as_utc(item.waiting_since),
        created_at=as_utc(item.created_at),
        updated_at=as_utc(item.updated_at),
        source_id=item.source_id,
        audience=MessageAudience(item.audience) if item.audience else None,
        closed_at=_opt(item.closed_at),
        closed_by=item.closed_by,
        close_reason=InboxCloseReason(item.close_reason) if item.close_reason else None,
        acknowledged_at=_opt(item.acknowledged_at),
        acknowledged_by=item.acknowledged_by,
    )
