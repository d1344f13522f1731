"""Steps that keep the desk's Portal inbox current, each taking the caller's `Session` so an
item changes in the same transaction as what it is about: it is never stale.

A portal feature calls `open_item` when something starts waiting for the desk (a client
message: the thread's item opens, or an open one is refreshed and marked unread),
`close_items` when it stops waiting (a staff reply: "answered"; the only waiting message
withdrawn: "withdrawn"; the desk marked it done: "done"), and `mark_seen` when someone at
the desk opened it. At most one OPEN item per (kind, source_id): the schema enforces it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from store.models import InboxCloseReason, InboxItem, InboxKind, InboxState

SUBJECT_WIDTH = 200


def open_item_of(session: Session, kind: InboxKind, source_id: int) -> InboxItem | None:
    """The open item of that source, if any."""
    return session.exec(
        select(InboxItem).where(
            InboxItem.kind == kind,
            InboxItem.source_id == source_id,
            InboxItem.state == InboxState.OPEN,
        )
    ).first()


def open_item(
    session: Session,
    *,
    kind: InboxKind,
    source_id: int,
    chart_id: int,
    subject: str,
    now: datetime,
    waiting_since: datetime | None = None,
    audience: str | None = None,
    urgent: bool = False,
) -> InboxItem:
    """Open an item for the source, or refresh its open one: unread again, subject and
    audience current, `urgent` raised (never lowered here; `ack` records that staff saw an
    urgent item). A refreshed item keeps its `waiting_since` (it has waited since then)."""
    item = open_item_of(session, kind, source_id)
    if item is None:
        item = InboxItem(
            chart_id=chart_id,
            kind=kind,
            source_id=source_id,
            subject=subject[:SUBJECT_WIDTH],
            audience=audience,
            state=InboxState.OPEN,
            urgent=urgent,
            unread=True,
            waiting_since=waiting_since or now,
            created_at=now,
            updated_at=now,
        )
    else:
        item.subject = subject[:SUBJECT_WIDTH]
        item.audience = audience
        item.urgent = item.urgent or urgent
        item.unread = True
        item.updated_at = now
    session.add(item)
    session.flush()
    return item


def close_items(
    session: Session,
    *,
    kind: InboxKind,
    source_id: int,
    reason: InboxCloseReason,
    by: str,
    now: datetime,
) -> int:
    """Close the source's open item (there is at most one); how many closed (0 or 1)."""
    result = session.execute(
        sa.update(InboxItem)
        .where(
            col(InboxItem.kind) == kind,
            col(InboxItem.source_id) == source_id,
            col(InboxItem.state) == InboxState.OPEN,
        )
        .values(
            state=InboxState.DONE,
            closed_at=now,
            closed_by=by[:100],
            close_reason=reason,
            unread=False,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)


def mark_seen(session: Session, *, kind: InboxKind, source_id: int, now: datetime) -> int:
    """Someone at the desk opened the source: its open item is no longer unread."""
    result = session.execute(
        sa.update(InboxItem)
        .where(
            col(InboxItem.kind) == kind,
            col(InboxItem.source_id) == source_id,
            col(InboxItem.state) == InboxState.OPEN,
            col(InboxItem.unread).is_(True),
        )
        .values(unread=False, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)


def retitle_items(
    session: Session, *, kind: InboxKind, source_id: int, subject: str, now: datetime
) -> int:
    """Give every item of the source (open or closed) a new subject, e.g. "" when the client
    withdrew all they wrote; how many changed."""
    result = session.execute(
        sa.update(InboxItem)
        .where(col(InboxItem.kind) == kind, col(InboxItem.source_id) == source_id)
        .values(subject=subject[:SUBJECT_WIDTH], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)
