"""The chart screen: header (client name, date of birth, chart number), tabs including
Communications with the Client Portal section, the ⋮ menu and its confirmations.

The screen reads the chart in a thread worker every second (living data) and asks the app to run
confirmed actions; the app's worker calls the service and reports back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Collapsible, Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from screens.action_menu import ActionMenu
from screens.actions import (
    ActionKind,
    ActionRequested,
    ChartChanged,
    OwnerChoice,
    PortalRequest,
    action_label,
    menu_items,
)
from screens.change_owner_dialog import ChangeOwnerDialog
from screens.confirm_dialog import (
    activate_dialog,
    owner_change_dialog,
    resend_dialog,
    revoke_dialog,
)
from screens.display import PracticeView, birth_date
from screens.errors import report_worker_failure, toast
from screens.portal_panel import ChartOwnerRow, ClientPortalPanel, InvitationHistory
from screens.safe_text import lines, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.audit import AuditRow
    from frontdesk.desk.views import ChartDetail
    from frontdesk.services import Services


class ChartScreen(Screen[None]):
    """One chart. `c` Communications, `p` Client Portal, `.` the ⋮ menu, Escape back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="chart.back"),
        Binding("c", "communications", "Communications", id="chart.communications"),
        Binding("p", "toggle_portal", "Portal", id="chart.portal"),
        Binding("full_stop", "menu", "⋮ Menu", key_display=".", id="chart.menu"),
        # Out of the footer so the keys above (and the demo's ^o) fit 80 columns; `/` still works
        # and is listed in the key panel and the command palette.
        Binding("slash", "app.search", "Search", show=False, id="chart.search"),
        Binding("q", "app.quit", "Quit", id="chart.quit"),
        Binding("f5", "refresh", "Refresh", show=False, id="chart.refresh"),
    ]

    chart: reactive[ChartDetail | None] = reactive(None, always_update=True)
    busy: reactive[bool] = reactive(False)
    sending: reactive[bool] = reactive(False)

    class Loaded(Message):
        def __init__(
            self,
            chart: ChartDetail,
            history: list[AuditRow],
            practice: PracticeView,
            now: datetime,
        ) -> None:
            super().__init__()
            self.chart = chart
            self.history = history
            self.practice = practice
            self.now = now

    class LoadFailed(Message):
        def __init__(self, error: str, *, gone: bool = False) -> None:
            super().__init__()
            self.error = error
            self.gone = gone

    def __init__(
        self, services: Services, chart_number: str, *, refresh_interval: float = 1.0
    ) -> None:
        super().__init__()
        self.services = services
        self.chart_number = chart_number
        self.refresh_interval = refresh_interval
        self.practice = PracticeView()
        self.now: datetime | None = None
        self._history: list[AuditRow] = []
        self._last_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield DataStatic(template("Chart $number", number=self.chart_number), id="chart-title")
        with TabbedContent(initial="overview", id="chart-tabs"):
            with TabPane("Overview", id="overview"):
                yield DataStatic("Loading…", id="overview-details")
            with (
                TabPane("Communications", id="communications"),
                VerticalScroll(id="communications-scroll"),
            ):
                yield ClientPortalPanel(id="client-portal")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._load()
        self.set_interval(self.refresh_interval, self._tick, name="chart refresh")

    def _tick(self) -> None:
        """Living data: re-read the chart unless the last read is still running."""
        reading = any(
            worker.node is self and worker.group == "chart-load" and not worker.is_finished
            for worker in self.app.workers
        )
        if not reading:
            self._load()

    # ------------------------------------------------------------------ living data

    @work(thread=True, exclusive=True, group="chart-load", exit_on_error=False)
    def _load(self) -> None:
        from frontdesk.core.errors import FrontDeskError, NotFound
        from store.db import StoreError

        worker = get_current_worker()
        try:
            chart = self.services.views.chart(self.chart_number)
            history = self.services.audit.history(self.chart_number)
            practice = PracticeView.of(self.services.practice.practice())
            now = self.services.clock.now()
        except NotFound as exc:
            self.post_message(self.LoadFailed(str(exc), gone=True))
            return
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Loaded(chart, history, practice, now))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._last_error = None
        self.practice = event.practice
        self.now = event.now
        self._history = event.history
        self.chart = event.chart

    @on(LoadFailed)
    def _load_failed(self, event: LoadFailed) -> None:
        if event.error != self._last_error:
            toast(self, event.error, title="Could not read the chart", severity="error")
        self._last_error = event.error
        if event.gone and self.is_current:
            self.app.pop_screen()

    def watch_chart(self, old: ChartDetail | None, chart: ChartDetail | None) -> None:
        if chart is None:
            return
        if old is None:
            self.refresh_bindings()  # the ⋮ menu becomes available
        self.query_one("#chart-title", DataStatic).show(
            template(
                "[b]$name[/b]   DOB $dob   Chart $number",
                name=f"{chart.first_name} {chart.last_name}",
                dob=birth_date(chart.date_of_birth),
                number=chart.chart_number,
            )
        )
        self.query_one("#overview-details", DataStatic).show(self._overview(chart))
        self._show_portal()

    def watch_sending(self) -> None:
        self._show_portal()

    def watch_busy(self) -> None:
        self.refresh_bindings()

    def _show_portal(self) -> None:
        chart = self.chart
        if chart is None or self.now is None:
            return
        self.query_one(ChartOwnerRow).show(chart, self.practice, sending=self.sending)
        self.query_one(InvitationHistory).show(self._history, chart, self.practice, self.now)

    @staticmethod
    def _overview(chart: ChartDetail) -> Content:
        rows = [
            f"Name            {chart.first_name} {chart.last_name}",
            f"Preferred name  {chart.preferred_name or '—'}",
            f"Date of birth   {birth_date(chart.date_of_birth)}",
            f"Email           {chart.email or '—'}",
            f"Phone           {chart.phone or '—'}",
            "",
            "Related contacts",
        ]
        rows += [
            f"  {contact.name} · {contact.relationship} · {contact.email or 'no email'}"
            for contact in chart.contacts
        ] or ["  none"]
        return lines(rows)

    @on(ChartChanged)
    def _chart_changed(self, event: ChartChanged) -> None:
        if event.chart_number != self.chart_number:
            return
        from frontdesk.desk.views import ChartDetail

        self.busy = False
        self.sending = event.sending
        if isinstance(event.chart, ChartDetail):
            self.chart = event.chart
        self._load()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "menu" and (self.chart is None or self.busy):
            return None  # shown dimmed: nothing loaded yet, or an action is running
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_refresh(self) -> None:
        self._load()

    def _show_communications(self, *, expand: bool = False) -> None:
        self.query_one(TabbedContent).active = "communications"
        if expand:
            self.query_one(Collapsible).collapsed = False

    def action_communications(self) -> None:
        self._show_communications()

    def action_toggle_portal(self) -> None:
        tabs = self.query_one(TabbedContent)
        panel = self.query_one(Collapsible)
        if tabs.active != "communications":
            tabs.active = "communications"
            panel.collapsed = False
        else:
            panel.collapsed = not panel.collapsed

    def action_menu(self) -> None:
        if self.chart is None or self.busy:
            return
        self._show_communications(expand=True)
        self.call_after_refresh(self._open_menu)

    @on(ChartOwnerRow.MenuRequested)
    def _menu_button(self) -> None:
        self.action_menu()

    def _open_menu(self) -> None:
        if self.chart is None:
            return
        button = self.query_one("#owner-menu")
        items = menu_items(self.chart, portal_active=self.practice.portal_active)
        self.app.push_screen(ActionMenu(items, anchor=button.region), self.request_action)

    # ------------------------------------------------------------------ actions

    def request_action(self, kind: ActionKind | None) -> None:
        """Ask to confirm `kind` (chosen in the menu or the command palette)."""
        chart = self.chart
        if kind is None or chart is None or self.now is None:
            return
        offered = menu_items(chart, portal_active=self.practice.portal_active)
        items = {item.kind: item for item in offered}
        item = items.get(kind)
        if item is None or item.reason is not None:
            reason = item.reason if item else f"Portal access is already on ({chart.status.label})"
            toast(self, f"{action_label(kind)}: {reason}", severity="warning")
            return
        number = chart.chart_number
        if kind is ActionKind.RESEND:
            request = PortalRequest(kind, number, seen_invitation_id=chart.invitation_id)
            self.app.push_screen(
                resend_dialog(chart, self.practice, self.now), self._confirm_handler(request)
            )
        elif kind is ActionKind.REVOKE:
            self.app.push_screen(
                revoke_dialog(chart), self._confirm_handler(PortalRequest(kind, number))
            )
        elif kind is ActionKind.ACTIVATE:
            self.app.push_screen(
                activate_dialog(chart, self.practice, self.now),
                self._confirm_handler(PortalRequest(kind, number)),
            )
        else:
            self.app.push_screen(ChangeOwnerDialog(chart), self._owner_chosen)

    def _owner_chosen(self, choice: OwnerChoice | None) -> None:
        chart = self.chart
        if choice is None or chart is None or self.now is None:
            return
        request = PortalRequest(
            ActionKind.CHANGE_OWNER,
            chart.chart_number,
            seen_owner_version=chart.owner_version,
            owner=choice,
        )
        self.app.push_screen(
            owner_change_dialog(chart, choice, self.practice, self.now),
            self._confirm_handler(request),
        )

    def _confirm_handler(self, request: PortalRequest) -> _Confirmed:
        return _Confirmed(self, request)

    def run_request(self, request: PortalRequest) -> None:
        """Hand a confirmed request to the app, which runs it in a worker."""
        self.busy = True
        self.app.post_message(ActionRequested(request))


class _Confirmed:
    """The callback of a confirmation dialog: on True, the request goes to the app."""

    def __init__(self, screen: ChartScreen, request: PortalRequest) -> None:
        self.screen = screen
        self.request = request

    def __call__(self, confirmed: bool | None) -> None:
        if confirmed:
            self.screen.run_request(self.request)
