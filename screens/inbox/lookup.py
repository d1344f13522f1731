"""The one read the inbox service does not offer yet: the open inbox item of a message thread
(a thread opened from the chart's list, where no item id is at hand). Read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from frontdesk.services import Services


def open_item_of_thread(services: Services, thread_id: int) -> int | None:
    """The id of the thread's open inbox item, or None when nothing about it waits."""
    from sqlmodel import col, select

    from store.models import InboxItem, InboxKind, InboxState

    with services.db.read() as session:
        return session.exec(
            select(InboxItem.id).where(
                col(InboxItem.kind) == InboxKind.MESSAGE,
                col(InboxItem.source_id) == thread_id,
                col(InboxItem.state) == InboxState.OPEN,
            )
        ).first()
