"""The inbox screen's fast reads, beside `PortalInbox` (frontdesk/desk/inbox.py) and with its
own filters, order and row shape, so that they cannot drift from it:

- `inbox_page`: a page of items WITHOUT counting every match. `PortalInbox.items` always
  counts as well, which at 10,000 open items costs more than a keystroke may (the page itself
  is read from the order index in a few ms); the inbox screen counts once typing pauses.
- `OpenIndex` / `items_by_id`: what the filter box matches for every OPEN item, in inbox
  order, held by the screen and rebuilt (off the event loop) whenever the inbox changes. A
  keystroke matches its words in memory (a few ms at 10,000 items) and reads only the page's
  rows by id: in SQL, a word that few items match walks every open item and its chart.
- `open_item_of_thread`: the open inbox item of a message thread (a thread opened from the
  chart's list, where no item id is at hand).

All read only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from frontdesk.core.text import search_key

if TYPE_CHECKING:
    from frontdesk.desk.inbox import InboxRow, PortalInbox


def inbox_page(
    inbox: PortalInbox,
    *,
    kind: str | None,
    audience: str | None,
    state: str | None,
    search: str,
    limit: int,
    offset: int,
) -> tuple[InboxRow, ...]:
    """A page of items in inbox order under the filters (state None: every state)."""
    from sqlmodel import col, select

    from frontdesk.desk.inbox import _ORDER, _filters, _row
    from store.models import Chart, InboxItem

    with inbox.db.read() as session:
        rows = session.exec(
            select(InboxItem, Chart.chart_number, Chart.first_name, Chart.last_name)
            .join(Chart, col(Chart.id) == InboxItem.chart_id)
            .where(*_filters(kind, audience, state, search))
            .order_by(*_ORDER)
            .offset(max(0, offset))
            .limit(max(1, limit))
        ).all()
        return tuple(_row(item, number, first, last) for item, number, first, last in rows)


def open_item_of_thread(inbox: PortalInbox, thread_id: int) -> int | None:
    """The id of the thread's open inbox item, or None when nothing about it waits."""
    from sqlmodel import col, select

    from store.models import InboxItem, InboxKind, InboxState

    with inbox.db.read() as session:
        return session.exec(
            select(InboxItem.id).where(
                col(InboxItem.kind) == InboxKind.MESSAGE,
                col(InboxItem.source_id) == thread_id,
                col(InboxItem.state) == InboxState.OPEN,
            )
        ).first()


Stamp = tuple[int, datetime | None]
# (item id, kind, audience or "", the chart's search text, the subject in lower case)
Entry = tuple[int, str, str, str, str]


@dataclass(frozen=True)
class OpenIndex:
    """Every open item in inbox order with what the filter box matches: the chart's search
    text (name, chart number, email; folded as the service folds it) and the subject."""

    entries: tuple[Entry, ...]
    stamp: Stamp  # the inbox's stamp when it was read

    def _matches(self, kind: str, audience: str, search: str) -> Iterator[int]:
        """The ids of the matches in inbox order: each word of `search` in the chart's
        search text or the subject, as `PortalInbox.items` matches them."""
        words = search_key(search).split()
        for item_id, item_kind, item_audience, chart_text, subject in self.entries:
            if (kind and item_kind != kind) or (audience and item_audience != audience):
                continue
            if all(word in chart_text or word in subject for word in words):
                yield item_id

    def match(self, *, kind: str, audience: str, search: str, limit: int, offset: int) -> list[int]:
        """The ids of one page of matches."""
        found = self._matches(kind, audience, search)
        return list(islice(found, max(0, offset), max(0, offset) + max(1, limit)))

    def count(self, *, kind: str, audience: str, search: str) -> int:
        """How many items match."""
        return sum(1 for _ in self._matches(kind, audience, search))


def open_index(inbox: PortalInbox) -> OpenIndex:
    """Read the index of the open items (tens of ms at 10,000: on a worker's thread)."""
    import sqlalchemy as sa
    from sqlmodel import col

    from frontdesk.desk.inbox import _ORDER
    from store.models import Chart, InboxItem, InboxState

    stamp = inbox.stamp()
    with inbox.db.read() as session:
        rows = session.execute(
            sa.select(
                col(InboxItem.id),
                col(InboxItem.kind),
                col(InboxItem.audience),
                col(Chart.search_text),
                col(InboxItem.subject),
            )
            .join(Chart, col(Chart.id) == InboxItem.chart_id)
            .where(col(InboxItem.state) == InboxState.OPEN)
            .order_by(*_ORDER)
        ).all()
    entries = tuple(
        (int(item_id or 0), str(kind), str(audience or ""), str(text or ""), subject.lower())
        for item_id, kind, audience, text, subject in rows
    )
    return OpenIndex(entries, stamp)


def items_by_id(inbox: PortalInbox, ids: list[int]) -> tuple[InboxRow, ...]:
    """The open items `ids` (one page), in the order given; any closed since are left out."""
    from sqlmodel import col, select

    from frontdesk.desk.inbox import _row
    from store.models import Chart, InboxItem, InboxState

    if not ids:
        return ()
    with inbox.db.read() as session:
        rows = session.exec(
            select(InboxItem, Chart.chart_number, Chart.first_name, Chart.last_name)
            .join(Chart, col(Chart.id) == InboxItem.chart_id)
            .where(col(InboxItem.id).in_(ids), col(InboxItem.state) == InboxState.OPEN)
        ).all()
        found = {item.id: _row(item, number, first, last) for item, number, first, last in rows}
    return tuple(found[item_id] for item_id in ids if item_id in found)
