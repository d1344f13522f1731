"""The chart browser, the first screen: search as you type, the status worklist, one page of
charts at a time from the store (never every chart in memory)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from time import monotonic
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Tab, Tabs
from textual.worker import Worker, WorkerState, get_current_worker

from screens.actions import ChartChanged
from screens.chart_table import ChartTable
from screens.errors import report_worker_failure, toast
from screens.pause_banner import PauseBanner
from screens.safe_text import template
from screens.widgets import DataLine, DataStatic

if TYPE_CHECKING:  # the database layer loads when the services open, not at start
    from frontdesk.access.outcomes import BulkAction, BulkPlan
    from frontdesk.desk.views import ChartSummary
    from frontdesk.services import Services

PAGE_SIZE = 20  # rows read per page: a screenful and a little more
COUNT_AFTER = 0.25  # seconds of no typing before the matches are counted
RECOUNT_EVERY = 5  # refresh ticks between recounts of an unchanged query

# The worklist filters, in the order staff see them (ids are `--status` names).
STATUS_FILTERS = (
    ("all", "All"),
    ("invited", "Invited"),
    ("expiring_soon", "Expiring soon"),
    ("expired", "Expired"),
    ("locked", "Locked"),
    ("no_portal_access", "No Portal Access"),
    ("active", "Active"),
    ("bounced", "Bounced"),
)
_FILTER_LABELS = dict(STATUS_FILTERS)
# Worklists with a tab only while they hold a chart (the palette offers them always):
# "Bounced" appears once an invitation's email comes back.
BOUNCED = "bounced"
ON_DEMAND_FILTERS = frozenset({BOUNCED})
# Where an on-demand tab appears: "Bounced" right after "Expired", the one place where an
# eighth tab keeps every bulk worklist within three arrow keys of "All" either way (the tabs
# wrap), so each bulk action stays five keys from the search box (issue 12).
_ON_DEMAND_AFTER = {BOUNCED: "expired"}


async def _add_on_demand_tab(tabs: Tabs, status: str) -> None:
    await tabs.add_tab(Tab(_FILTER_LABELS[status], id=status), after=_ON_DEMAND_AFTER[status])


@dataclass(frozen=True)
class BrowserQuery:
    """What the browser shows: search text, status filter, page offset."""

    text: str = ""
    status: str = "all"
    offset: int = 0


class SearchInput(Input):
    """The search box: typing filters; ↑/↓ and PgUp/PgDn move in the results; Enter opens.
    `/` is the search key here too: it selects the query, so what is typed next replaces it
    (a priority binding, or the box would take the key as text)."""

    # Typing changes the box's virtual width, which Input declares a layout change: the
    # whole browser would be laid out again on every keystroke (~15 ms at 80×24). The box
    # has a fixed size and scrolls its own text, so a repaint is enough.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "screen.open_chart", "Open", id="browser.open"),
        Binding("slash", "select_all", "Search", id="browser.search", priority=True),
        Binding("down", "screen.cursor(1)", "Next chart", show=False),
        Binding("up", "screen.cursor(-1)", "Previous chart", show=False),
        Binding("pagedown", "screen.page(1)", "Next page", show=False),
        Binding("pageup", "screen.page(-1)", "Previous page", show=False),
    ]


class ChartBrowser(Screen[None]):
    """Find a chart: type to search, pick a status worklist, ↑/↓ to move, Enter to open."""

    AUTO_FOCUS = "#search"
    BINDINGS: ClassVar[list[BindingType]] = [
        # priority: handled as the key arrives, so keys typed right after it reach the box
        Binding("slash", "focus_search", "Search", id="browser.search", priority=True),
        Binding("enter", "open_chart", "Open", id="browser.open"),
        Binding("escape", "leave_search", "To the results", show=False),
        # ctrl: works from the search box too (the app opens the inbox, or goes back to it)
        Binding("ctrl+t", "app.portal_inbox", "Inbox", id="browser.inbox"),
        Binding("ctrl+n", "app.new_chart", "New chart", id="browser.new_chart"),
        Binding("q", "app.quit", "Quit", id="browser.quit"),
        Binding("f5", "refresh", "Refresh", show=False, id="browser.refresh"),
        # One key, the bulk action of the worklist shown (check_action); ctrl, so it works
        # from the search box too (not ctrl+b: tmux's prefix).
        Binding("ctrl+g", "bulk('expired')", "Resend all expired", id="browser.bulk_expired"),
        Binding("ctrl+g", "bulk('locked')", "Resend all locked", id="browser.bulk_locked"),
        Binding(
            "ctrl+g",
            "bulk('no_portal_access')",
            "Invite all",  # the footer's room at 80 columns; the palette says "… without access"
            id="browser.bulk_invite",
        ),
    ]

    class PageLoaded(Message):
        def __init__(
            self,
            query: BrowserQuery,
            charts: list[ChartSummary],
            keep: str | None,
            at_end: bool,
        ) -> None:
            super().__init__()
            self.query = query
            self.charts = charts
            self.keep = keep
            self.at_end = at_end

    class CountLoaded(Message):
        def __init__(self, query: BrowserQuery, total: int) -> None:
            super().__init__()
            self.query = query
            self.total = total

    class LoadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class BouncedChecked(Message):
        """Whether some chart's current invitation email came back (the "Bounced" tab)."""

        def __init__(self, present: bool) -> None:
            super().__init__()
            self.present = present

    def __init__(self, services: Services | None, *, refresh_interval: float = 1.0) -> None:
        """`services` may come later (`attach`), when the app opens them after its first
        screen is up."""
        super().__init__()
        self.services = services
        self.refresh_interval = refresh_interval
        self.query_state = BrowserQuery()
        self.shown_query: BrowserQuery | None = None
        self.total: int | None = None
        self._counted: BrowserQuery | None = None
        self._count_timer: Timer | None = None
        self._ticks = 0
        self._typed_at = 0.0
        self._last_error: str | None = None
        # One reader thread for pages, started before the first key: a keystroke hands it the
        # query at once (no worker start-up in between), and a query not started yet when the
        # next key comes is dropped (see `_load_page`).
        self._pages = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser-pages")

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield PauseBanner()
        yield SearchInput(
            placeholder="Search: name, chart number or email  (/)",
            id="search",
            compact=True,
        )
        yield Tabs(
            *(Tab(label, id=key) for key, label in STATUS_FILTERS if key not in ON_DEMAND_FILTERS),
            id="status-filter",
        )
        yield ChartTable(id="charts")
        yield DataStatic(
            "No charts yet. Add them with `frontdesk charts add` or "
            "`frontdesk charts import FILE.csv`.",
            id="browser-empty",
        )
        yield DataLine("Opening the database…", id="browser-summary")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._load()
        self._check_bounced()
        self.set_interval(self.refresh_interval, self._tick, name="browser refresh")

    # ------------------------------------------------------------------ loading

    def attach(self, services: Services) -> None:
        """The services are open: show charts (for whatever was typed meanwhile) now; count
        them and look for bounced invitations once that page is on screen, so the first page
        waits for nothing else."""
        self.services = services
        self._load_page(self.query_state, None, False)
        self.call_after_refresh(self._after_first_page)

    def _after_first_page(self) -> None:
        self._count()
        self._check_bounced()

    def show_problem(self, message: str) -> None:
        """Say on the summary line why there are no charts (e.g. the database cannot open)."""
        self.query_one("#browser-summary", DataLine).show(message)

    def _load(self, *, keep: str | None = None, at_end: bool = False, typing: bool = False) -> None:
        """Read the page now; count the matches now, or (while `typing`) once typing pauses:
        the count is only for the summary line and must not slow the next keystroke down."""
        if self.services is None:
            return
        query = self.query_state
        self._load_page(query, keep, at_end)
        unpaged = replace(query, offset=0)
        if self._counted != unpaged:
            if self._count_timer is not None:
                self._count_timer.stop()
                self._count_timer = None
            if typing:
                self._count_timer = self.set_timer(COUNT_AFTER, self._count)
            else:
                self._count()

    def _count(self) -> None:
        self._count_timer = None
        if self.services is None:
            return
        unpaged = replace(self.query_state, offset=0)
        if self._counted != unpaged:
            self._counted = unpaged
            self._load_count(unpaged)

    def _load_page(self, query: BrowserQuery, keep: str | None, at_end: bool) -> None:
        """Read the page and show it. On a local store a page without a status filter is
        read here and now (a few ms), so the key and its results reach the screen in one
        frame; otherwise on the reader thread, which the worker below waits for (so
        `app.workers` shows the load in flight)."""
        assert self.services is not None
        if query.status == "all" and self.services.search.pages_read_in_place:
            found = _read_page(self.services, query)
            if isinstance(found, str):
                self._load_failed(self.LoadFailed(found))
            else:
                self._show_page(self.PageLoaded(query, found, keep, at_end))
            return
        future = self._pages.submit(_read_page, self.services, query)
        self._show_when_read(future, query, keep, at_end)

    @work(exclusive=True, group="browser-page", exit_on_error=False)
    async def _show_when_read(
        self,
        future: Future[list[ChartSummary] | str],
        query: BrowserQuery,
        keep: str | None,
        at_end: bool,
    ) -> None:
        # A newer query cancels this worker, and with it `future` if it has not started.
        found = await asyncio.wrap_future(future)
        if isinstance(found, str):
            self._load_failed(self.LoadFailed(found))
        else:
            self._show_page(self.PageLoaded(query, found, keep, at_end))

    @work(thread=True, exclusive=True, group="browser-count", exit_on_error=False)
    def _load_count(self, query: BrowserQuery) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        worker = get_current_worker()
        assert self.services is not None
        try:
            total = self.services.search.count_charts(query.text, status=query.status)
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.CountLoaded(query, total))

    @work(thread=True, exclusive=True, group="browser-bounced", exit_on_error=False)
    def _check_bounced(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        if self.services is None:
            return
        try:
            present = self.services.search.has_bounced_invitations()
        except (FrontDeskError, StoreError):
            return  # the page's own read reports a store problem
        self.post_message(self.BouncedChecked(present))

    @on(BouncedChecked)
    async def _show_bounced_tab(self, event: BouncedChecked) -> None:
        tabs = self.query_one(Tabs)
        shown = bool(tabs.query(f"#{BOUNCED}"))
        if event.present and not shown:
            await _add_on_demand_tab(tabs, BOUNCED)
        elif not event.present and shown and tabs.active != BOUNCED:
            await tabs.remove_tab(BOUNCED)

    async def _open_on_demand(self, status: str) -> None:
        tabs = self.query_one(Tabs)
        if not tabs.query(f"#{status}"):
            await _add_on_demand_tab(tabs, status)
        tabs.active = status

    def _busy(self, group: str) -> bool:
        return any(
            worker.node is self
            and worker.group == group
            and worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for worker in self.app.workers
        )

    def _tick(self) -> None:
        """Living data: re-read the page every tick, and the count every few ticks, so
        changes made elsewhere show."""
        if self.services is None or not self.is_current or self._busy("browser-page"):
            return
        if monotonic() - self._typed_at < self.refresh_interval:
            return  # the desk is typing: its own queries are fresher than a refresh
        self._ticks += 1
        self._reload(recount=self._ticks % RECOUNT_EVERY == 0)
        if self._ticks % RECOUNT_EVERY == 0:
            self._check_bounced()

    def _reload(self, *, recount: bool = True) -> None:
        table = self.query_one(ChartTable)
        highlighted = table.highlighted
        if recount:
            self._counted = None
        self._load(keep=highlighted.chart_number if highlighted else None)

    def on_screen_resume(self) -> None:
        if self.shown_query is not None:
            self._reload()

    @on(ChartChanged)
    def _chart_changed(self, _event: ChartChanged) -> None:
        self._reload()

    @on(PageLoaded)
    def _show_page(self, event: PageLoaded) -> None:
        if event.query != self.query_state:
            return  # an older query; a newer one is on its way
        self._last_error = None
        table = self.query_one(ChartTable)
        if not event.charts and event.query.offset > 0:
            self.query_state = replace(event.query, offset=0)
            self._load()
            return
        table.show_charts(event.charts, keep=event.keep, at_end=event.at_end)
        self.shown_query = event.query
        self._show_summary()

    @on(CountLoaded)
    def _show_count(self, event: CountLoaded) -> None:
        if event.query != replace(self.query_state, offset=0):
            return
        self.total = event.total
        self._show_summary()

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:  # once per distinct problem, not every second
            toast(self, event.error, title="Could not read charts", severity="error")
        self._last_error = event.error
        self._counted = None

    def _show_summary(self) -> None:
        query = self.query_state
        table = self.query_one(ChartTable)
        shown = len(table.charts)
        store_is_empty = (
            self.total == 0 and not query.text.strip() and query.status == "all" and not shown
        )
        self.set_class(store_is_empty, "-empty-store")
        summary = self.query_one("#browser-summary", DataLine)
        scope = "" if query.status == "all" else f"{_FILTER_LABELS[query.status]} · "
        if store_is_empty:
            summary.show("No charts in this practice yet.")
        elif not shown:
            if query.text.strip():
                summary.show(template(scope + "No charts match “$text”.", text=query.text.strip()))
            else:
                summary.show(f"{scope}No charts.")
        else:
            first, last = query.offset + 1, query.offset + shown
            total = "…" if self.total is None else f"{self.total:,}"
            more = "  (↓ at the end: next page)" if last < (self.total or 0) else ""
            noun = "chart" if self.total == 1 else "charts"
            summary.show(f"{scope}{first:,}–{last:,} of {total} {noun}{more}")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    def on_unmount(self) -> None:
        self._pages.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ input

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_state = BrowserQuery(event.value, self.query_state.status, 0)
        self._typed_at = monotonic()
        self.total = None  # until the new query is counted
        self._load(typing=True)

    @on(Tabs.TabActivated, "#status-filter")
    def _filter_changed(self, event: Tabs.TabActivated) -> None:
        status = event.tab.id or "all"
        if status == self.query_state.status:
            return
        self.query_state = BrowserQuery(self.query_state.text, status, 0)
        self.total = None
        self._load()
        self.refresh_bindings()  # the bulk action's key follows the worklist

    @on(ChartTable.PageEdge)
    def _page_edge(self, event: ChartTable.PageEdge) -> None:
        query = self.query_state
        shown = len(event.table.charts)
        if event.direction > 0:
            if shown < PAGE_SIZE or (self.total is not None and query.offset + shown >= self.total):
                return
            self.query_state = replace(query, offset=query.offset + PAGE_SIZE)
            self._load()
        elif query.offset > 0:
            self.query_state = replace(query, offset=max(0, query.offset - PAGE_SIZE))
            self._load(at_end=True)

    @on(ChartTable.Selected, "#charts")
    def _row_selected(self) -> None:
        self.action_open_chart()

    def show_worklist(self, status: str) -> None:
        """Show every chart of one status (a `--status` name or "all"): the search is cleared."""
        self.query_one("#search", Input).value = ""
        if status in ON_DEMAND_FILTERS:
            self.call_later(self._open_on_demand, status)
            return
        self.query_one(Tabs).active = status

    # ------------------------------------------------------------------ actions

    def action_focus_search(self) -> None:
        search = self.query_one("#search", Input)
        # At once, not on the next loop turn (Widget.focus): keys typed right after "/"
        # are already queued and must reach the box.
        self.set_focus(search)
        search.select_all()

    def action_leave_search(self) -> None:
        self.query_one(ChartTable).focus()

    def action_cursor(self, step: int) -> None:
        table = self.query_one(ChartTable)
        if step > 0:
            table.action_cursor_down()
        else:
            table.action_cursor_up()

    def action_page(self, step: int) -> None:
        table = self.query_one(ChartTable)
        if step > 0:
            table.action_page_down()
        else:
            table.action_page_up()

    def action_refresh(self) -> None:
        self._reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "bulk":  # shown on its own worklist only; dimmed until the store is open
            if parameters != (self.query_state.status,):
                return False
            return True if self.services is not None else None
        return True

    def action_bulk(self, status: str) -> None:
        from screens.bulk_confirm import BULK_ACTIONS

        self.start_bulk(BULK_ACTIONS[status])

    def start_bulk(self, action: BulkAction) -> None:
        """A bulk action (from its key or the command palette): its whole worklist shown,
        then its confirmation; once confirmed, the app runs it (screens/bulk_*.py)."""
        from functools import partial

        from screens.actions import BulkRequested
        from screens.bulk_confirm import BulkConfirm, read_plan_view

        if self.services is None:
            self.app.bell()
            return
        status = action.statuses[0].value
        if self.query_state != BrowserQuery("", status, 0):
            self.show_worklist(status)

        def confirmed(plan: BulkPlan | None) -> None:
            if plan is not None:
                self.app.post_message(BulkRequested(plan))

        read = partial(read_plan_view, self.services, action)
        self.app.push_screen(BulkConfirm(action, read), confirmed)

    def action_open_chart(self) -> None:
        from screens.chart_screen import ChartScreen  # loaded on first use, not at start

        chart = self.query_one(ChartTable).highlighted
        if chart is None or self.services is None:
            # Nothing to open. (The footer does not dim "Open chart" for an empty result:
            # redrawing it on every empty/non-empty change lays the screen out mid-typing.)
            self.app.bell()
            return
        self.app.push_screen(
            ChartScreen(self.services, chart.chart_number, refresh_interval=self.refresh_interval)
        )


def _read_page(services: Services, query: BrowserQuery) -> list[ChartSummary] | str:
    """One page for `query` (on the reader thread), or why it could not be read."""
    from frontdesk.core.errors import FrontDeskError
    from store.db import StoreError

    try:
        return services.search.search_charts(
            query.text, status=query.status, limit=PAGE_SIZE, offset=query.offset
        )
    except (FrontDeskError, StoreError) as exc:
        return str(exc)
