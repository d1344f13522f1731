"""The Portal inbox: every item that needs the desk (new messages, threads awaiting the
practice; later issues add forms and requests), urgent first, then unread, then the longest
waiting. Type to filter (client, chart number, email, subject); pick a kind, an audience and a
state; ↑/↓ move, Enter opens. Living data: the store's inbox stamp is read every second and
the page re-read when it changed, so a message sent on the web shows within two seconds.

Reads run in thread workers that never touch widgets; results come back as messages."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Label, Select
from textual.worker import Worker, get_current_worker

from screens.chart_table import ChartTable
from screens.errors import report_worker_failure, toast
from screens.inbox.inbox_table import InboxTable
from screens.inbox.wording import (
    AUDIENCE_CHOICES,
    KIND_CHOICES,
    STATE_CHOICES,
    kind_label,
)
from screens.safe_text import template
from screens.widgets import DataLine, DataStatic

if TYPE_CHECKING:
    from frontdesk.desk.inbox import InboxCounts, InboxRow
    from frontdesk.desk.inbox_reads import OpenIndex
    from frontdesk.services import Services

PAGE_SIZE = 50  # items read per page
COUNT_AFTER = 0.25  # seconds of no typing before the matches are counted
AGES_EVERY = 30.0  # seconds: re-read an unchanged page now and then, so ages move on

Stamp = tuple[int, datetime | None]
PageRead = tuple["tuple[InboxRow, ...]", Stamp, datetime]


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox shows: filter text, kind, audience, state ("" = any) and page offset."""

    text: str = ""
    kind: str = ""
    audience: str = ""
    state: str = "open"
    offset: int = 0


class FilterInput(Input):
    """The filter box: typing filters; ↑/↓ and PgUp/PgDn move in the list; Enter opens."""

    # A fixed-size box that scrolls its own text: a keystroke needs a repaint, not a layout.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.open_item", "Open", id="inbox.open"),
        Binding("down", "screen.cursor(1)", "Next item", show=False),
        Binding("up", "screen.cursor(-1)", "Previous item", show=False),
        Binding("pagedown", "screen.page(1)", "Next page", show=False),
        Binding("pageup", "screen.page(-1)", "Previous page", show=False),
    ]


class InboxScreen(Screen[None]):
    """The Portal inbox. Type to filter, Tab to the kind / audience / state filters and the
    list, Enter opens an item, Escape goes back."""

    AUTO_FOCUS = "#inbox-filter"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="inbox.back"),
        Binding("enter", "open_item", "Open", id="inbox.open"),
        Binding("slash", "focus_filter", "Filter", priority=True, id="inbox.filter"),
        Binding("f5", "refresh", "Refresh", show=False, id="inbox.refresh"),
    ]

    class Loaded(Message):
        def __init__(
            self,
            query: InboxQuery,
            items: tuple[InboxRow, ...],
            stamp: Stamp,
            now: datetime,
            at_end: bool,
        ) -> None:
            super().__init__()
            self.query = query
            self.items = items
            self.stamp = stamp
            self.now = now
            self.at_end = at_end

    class Counted(Message):
        """How many items match `query` (all pages), and the open inbox's counts."""

        def __init__(self, query: InboxQuery, total: int, counts: InboxCounts | None) -> None:
            super().__init__()
            self.query = query
            self.total = total
            self.counts = counts

    class Stale(Message):
        """Something in the inbox changed (or the ages shown are due): read it again."""

    class Indexed(Message):
        def __init__(self, index: OpenIndex) -> None:
            super().__init__()
            self.index = index

    class LoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, services: Services, *, refresh_interval: float = 1.0) -> None:
        super().__init__()
        self.services = services
        self.refresh_interval = refresh_interval
        self.query_state = InboxQuery()
        self.shown_query: InboxQuery | None = None
        self.total: int | None = None
        self.counts: InboxCounts | None = None
        self._stamp: Stamp | None = None
        self._read_at = 0.0
        self._typed_at = 0.0
        self._count_timer: Timer | None = None
        self._index: OpenIndex | None = (
            None  # for typed filters (see frontdesk/desk/inbox_reads.py)
        )
        self._index_stale = False  # the inbox changed since the index was read
        self._last_error: str | None = None
        # One reader thread for pages, as the chart browser has: a keystroke hands it the
        # query at once, and a query not started when the next key comes is dropped.
        self._pages = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-pages")

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield FilterInput(
            placeholder="Filter: client, chart number, email or subject  (/)",
            id="inbox-filter",
            compact=True,
        )
        with Horizontal(id="inbox-filters"):
            yield Label("Kind", classes="filter-label")
            yield _select(KIND_CHOICES, "", "inbox-kind")
            yield Label("For", classes="filter-label")
            yield _select(AUDIENCE_CHOICES, "", "inbox-audience")
            yield Label("State", classes="filter-label")
            yield _select(STATE_CHOICES, "open", "inbox-state")
        yield InboxTable(id="inbox-items")
        yield DataStatic(id="inbox-empty")
        yield DataLine("Reading the inbox…", id="inbox-summary")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Portal inbox"
        self.sub_title = ""
        self._load()
        self._build_index()
        self.set_interval(self.refresh_interval, self._tick, name="inbox refresh")

    def on_unmount(self) -> None:
        self._pages.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ loading

    def _load(self, *, at_end: bool = False, typing: bool = False) -> None:
        """Read the page now; count the matches now, or (while `typing`) once typing
        pauses: the count is for the summary line and must not slow the next key down."""
        query = self.query_state
        # While typing, the stamp is not read again: the last one stays, so the next poll
        # still sees anything that changed since (and the key costs one read, not two).
        stamp = self._stamp if typing else None
        if stamp is not None and self._in_place(query):
            # Typed words over the open items, on a local store: matched in memory and the
            # page's rows read by id here and now (a few ms), so the key and its results
            # reach the screen in one frame, as the chart browser's search does.
            self._show_read(_read_page(self.services, query, stamp, self._index), query, at_end)
        else:
            future = self._pages.submit(_read_page, self.services, query, stamp, self._index)
            self._show_when_read(future, query, at_end)
        if self._count_timer is not None:
            self._count_timer.stop()
            self._count_timer = None
        if typing:
            self._count_timer = self.set_timer(COUNT_AFTER, partial(self._count, typed=True))
        else:
            self._count()

    def _count(self, *, typed: bool = False) -> None:
        self._count_timer = None
        self._read_count(replace(self.query_state, offset=0), self._index, typed)

    @work(exclusive=True, group="inbox-page", exit_on_error=False)
    async def _show_when_read(
        self, future: Future[PageRead | str], query: InboxQuery, at_end: bool
    ) -> None:
        # A newer query cancels this worker, and with it `future` if it has not started.
        self._show_read(await asyncio.wrap_future(future), query, at_end)

    def _in_place(self, query: InboxQuery) -> bool:
        return (
            self._index is not None
            and query.state == "open"
            and bool(query.text.strip())
            and self.services.search.pages_read_in_place
        )

    def _show_read(self, found: PageRead | str, query: InboxQuery, at_end: bool) -> None:
        if isinstance(found, str):
            self._load_failed(self.LoadFailed(found))
        else:
            items, stamp, now = found
            self._loaded(self.Loaded(query, items, stamp, now, at_end))

    @work(thread=True, exclusive=True, group="inbox-count", exit_on_error=False)
    def _read_count(self, query: InboxQuery, index: OpenIndex | None, typed: bool) -> None:
        """Count the matches (typed words over the open items: in the index) and, unless
        this is the count after typing, the open inbox's counts for the title."""
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        worker = get_current_worker()
        try:
            if index is not None and query.state == "open" and query.text.strip():
                total = index.count(kind=query.kind, audience=query.audience, search=query.text)
            else:
                total = self.services.inbox.items(
                    kind=query.kind or None,
                    audience=query.audience or None,
                    state=query.state or None,
                    search=query.text,
                    limit=1,
                ).total
            counts = None if typed else self.services.inbox.counts()
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Counted(query, total, counts))

    @work(thread=True, exclusive=True, group="inbox-index", exit_on_error=False)
    def _build_index(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from frontdesk.desk.inbox_reads import open_index
        from store.db import StoreError

        worker = get_current_worker()
        try:
            index = open_index(self.services.inbox)
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Indexed(index))

    @on(Indexed)
    def _indexed(self, event: Indexed) -> None:
        rebuilt = self._index is not None
        self._index = event.index
        if rebuilt and self.query_state.text.strip() and self.shown_query is not None:
            self._load()  # the typed filter's matches, new items included

    @work(thread=True, exclusive=True, group="inbox-poll", exit_on_error=False)
    def _poll(self, known: Stamp | None, ages_due: bool) -> None:
        """Living data: is there anything new since the page was read (one cheap read)?"""
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            stamp = self.services.inbox.stamp()
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if stamp != known or ages_due:
            self.post_message(self.Stale())

    def _busy(self) -> bool:
        return any(
            worker.node is self
            and worker.group in ("inbox-page", "inbox-poll")
            and not worker.is_finished
            for worker in self.app.workers
        )

    def _typing(self) -> bool:
        return monotonic() - self._typed_at < self.refresh_interval

    def _tick(self) -> None:
        if not self.is_current or self._busy() or self._typing():
            return  # typing: the desk's own reads are fresher than a refresh
        self._poll(self._stamp, monotonic() - self._read_at > AGES_EVERY)

    @on(Stale)
    def _stale(self) -> None:
        self._index_stale = True
        if self.query_state.text.strip():
            self._refresh_index()  # filtering now: new items must be found by it
        if not self._typing():
            self._load()

    def _refresh_index(self) -> None:
        """Rebuild the index if the inbox changed since it was read (once per change; the
        old one serves meanwhile: closed items are left out when read, new ones come in
        with the rebuild)."""
        if self._index_stale:
            self._index_stale = False
            self._build_index()

    def on_screen_resume(self) -> None:
        if self.shown_query is not None:
            self._load()  # back from a thread: it may have been answered or marked done

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        if event.query != self.query_state:
            return  # an older query; a newer one is on its way
        self._last_error = None
        items = event.items
        if not items and event.query.offset > 0:
            self.query_state = replace(event.query, offset=0)
            self._load()
            return
        self._stamp = event.stamp
        self._read_at = monotonic()
        if len(items) < PAGE_SIZE:  # the last page: the total is known without counting
            self.total = event.query.offset + len(items)
        self.query_one(InboxTable).show_items(items, event.now, at_end=event.at_end)
        self.shown_query = event.query
        self._show_summary()

    @on(Counted)
    def _counted(self, event: Counted) -> None:
        if event.counts is not None:
            self.counts = event.counts
            self._show_counts()
        if event.query == replace(self.query_state, offset=0):
            self.total = event.total
            self._show_summary()

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:
            toast(self, event.error, title="Could not read the inbox", severity="error")
        self._last_error = event.error

    def _show_counts(self) -> None:
        counts = self.counts
        if counts is None:
            return
        parts = [f"{counts.open:,} open", f"{counts.unread:,} unread"]
        if counts.urgent:
            parts.append(f"{counts.urgent:,} urgent")
        self.sub_title = " · ".join(parts)

    def _show_summary(self) -> None:
        query = self.query_state
        shown = len(self.query_one(InboxTable).items)
        summary = self.query_one("#inbox-summary", DataLine)
        filtered = query.text.strip() or query.kind or query.audience or query.state != "open"
        self.set_class(not shown, "-empty")
        if not shown:
            empty = self.query_one("#inbox-empty", DataStatic)
            if query.text.strip():
                empty.show(template("No items match “$text”.", text=query.text.strip()))
            elif filtered:
                empty.show("No items under these filters.")
            else:
                empty.show(
                    Content(
                        "Nothing is waiting for the desk.\n"
                        "New portal messages from clients show here within seconds."
                    )
                )
            summary.show("0 items" + (" under these filters" if filtered else ""))
            return
        first, last = query.offset + 1, query.offset + shown
        total = "…" if self.total is None else f"{self.total:,}"
        noun = "item" if self.total == 1 else "items"
        scope = " under these filters" if filtered else ""
        more = "  (↓ at the end: next page)" if last < (self.total or 0) else ""
        summary.show(f"{first:,}–{last:,} of {total} {noun}{scope}{more}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------------ input

    @on(Input.Changed, "#inbox-filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        self.query_state = replace(self.query_state, text=event.value, offset=0)
        self._typed_at = monotonic()
        self.total = None  # until the new filter is counted
        self._refresh_index()
        self._load(typing=True)

    @on(Select.Changed)
    def _filter_picked(self, event: Select.Changed) -> None:
        field = {"inbox-kind": "kind", "inbox-audience": "audience", "inbox-state": "state"}.get(
            event.select.id or ""
        )
        if field is None:
            return
        value = "" if event.value is Select.NULL else str(event.value)
        if getattr(self.query_state, field) == value:
            return
        self.query_state = replace(self.query_state, offset=0, **{field: value})
        self.total = None
        self._load()

    @on(ChartTable.PageEdge)
    def _page_edge(self, event: ChartTable.PageEdge) -> None:
        query = self.query_state
        shown = len(self.query_one(InboxTable).items)
        if event.direction > 0:
            if shown < PAGE_SIZE or (self.total is not None and query.offset + shown >= self.total):
                return
            self.query_state = replace(query, offset=query.offset + PAGE_SIZE)
            self._load()
        elif query.offset > 0:
            self.query_state = replace(query, offset=max(0, query.offset - PAGE_SIZE))
            self._load(at_end=True)

    @on(ChartTable.Selected, "#inbox-items")
    def _row_selected(self, event: ChartTable.Selected) -> None:
        event.stop()
        self.action_open_item()

    # ------------------------------------------------------------------ actions

    def action_focus_filter(self) -> None:
        box = self.query_one("#inbox-filter", Input)
        self.set_focus(box)
        box.select_all()

    def action_cursor(self, step: int) -> None:
        table = self.query_one(InboxTable)
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_page(self, step: int) -> None:
        table = self.query_one(InboxTable)
        if step > 0:
            table.action_page_down()
        else:
            table.action_page_up()

    def action_refresh(self) -> None:
        self._load()

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_open_item(self) -> None:
        from screens.inbox.thread_screen import ThreadScreen

        item = self.query_one(InboxTable).item
        if item is None:
            self.app.bell()
            return
        if item.kind == "task":  # a submitted form: its task view (screens/tasks/)
            from screens.tasks.task_screen import open_inbox_item

            open_inbox_item(self.app, self.services, item, refresh_interval=self.refresh_interval)
            return
        if item.kind != "message":
            toast(self, f"{kind_label(item.kind)} items open from their own screen.")
            return
        self.app.push_screen(
            ThreadScreen(
                self.services,
                item.source_id,
                refresh_interval=self.refresh_interval,
            )
        )


def _select(choices: tuple[tuple[str, str], ...], value: str, id: str) -> Select[str]:
    return Select(
        [(label, key) for key, label in choices],
        value=value,
        allow_blank=False,
        compact=True,
        id=id,
    )


def _read_page(
    services: Services, query: InboxQuery, stamp: Stamp | None, index: OpenIndex | None
) -> PageRead | str:
    """One page for `query` with the inbox's stamp (read now unless given) and the time (on
    the reader thread), or why it could not be read. Typed words over the open items are
    matched in `index` (when built), and only the page's rows are read."""
    from frontdesk.core.errors import FrontDeskError
    from frontdesk.desk.inbox_reads import inbox_page, items_by_id
    from store.db import StoreError

    try:
        if stamp is None:
            stamp = services.inbox.stamp()
        if index is not None and query.state == "open" and query.text.strip():
            ids = index.match(
                kind=query.kind,
                audience=query.audience,
                search=query.text,
                limit=PAGE_SIZE,
                offset=query.offset,
            )
            return items_by_id(services.inbox, ids), stamp, services.clock.now()
        items = inbox_page(
            services.inbox,
            kind=query.kind or None,
            audience=query.audience or None,
            state=query.state or None,
            search=query.text,
            limit=PAGE_SIZE,
            offset=query.offset,
        )
        return items, stamp, services.clock.now()
    except (FrontDeskError, StoreError) as exc:
        return str(exc)
