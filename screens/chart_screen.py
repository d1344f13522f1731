"""The chart screen: header (client name, date of birth, chart number), the Overview tab (the
client's details and related contacts), Communications with the Client Portal section, the ⋮
menu, Edit chart, and their confirmations.

The screen reads the chart in a thread worker every second (living data) and asks the app to run
confirmed requests; the app's worker calls the service and reports back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Collapsible, Footer, Header, TabbedContent, TabPane
from textual.worker import Worker, get_current_worker

from frontdesk.access.outcomes import EditOutcome
from screens.action_menu import ActionMenu
from screens.actions import (
    ActionKind,
    ActionRequested,
    ChartChanged,
    DeskRequest,
    OwnerChoice,
    PortalRequest,
    action_label,
    menu_items,
)
from screens.change_owner_dialog import ChangeOwnerDialog
from screens.chart.messages_panel import PortalMessagesPanel
from screens.chart.tasks_panel import ChartTasksPanel
from screens.chart_overview import OWNER_REMOVE_REASON, ChartOverview, ContactList
from screens.confirm_dialog import (
    activate_dialog,
    contact_remove_dialog,
    owner_change_dialog,
    resend_dialog,
    reset_dialog,
    revoke_dialog,
)
from screens.correction_confirm import chart_edit_confirm, contact_edit_confirm
from screens.corrections import (
    ChartEdit,
    ChartEditRequest,
    ContactAddRequest,
    ContactEdit,
    ContactEditRequest,
    ContactRemoveRequest,
    EditChoice,
)
from screens.display import PracticeView, birth_date
from screens.edit_dialogs import ContactDialog, EditChartDialog
from screens.errors import report_worker_failure, toast
from screens.pause_banner import PauseBanner
from screens.portal_panel import ChartOwnerRow, ClientPortalPanel, InvitationHistory
from screens.safe_text import template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.access.chart_edits import ChartChanges, ContactChanges
    from frontdesk.audit import AuditRow
    from frontdesk.charts.records import ContactView
    from frontdesk.desk.views import ChartDetail
    from frontdesk.services import Services


class ChartScreen(Screen[None]):
    """One chart. `e` Edit chart, `c` Communications, `p` Client Portal, `.` the ⋮ menu,
    Escape back; on the contact list `a` adds, Enter edits, Delete removes a contact."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="chart.back"),
        Binding("e", "edit", "Edit", id="chart.edit"),
        Binding("c", "communications", "Communications", id="chart.communications"),
        Binding("p", "toggle_portal", "Portal", id="chart.portal"),
        Binding("full_stop", "menu", "⋮ Menu", key_display=".", id="chart.menu"),
        Binding("f", "assign_forms", "Forms", show=False, id="chart.assign_forms"),
        # Out of the footer so the keys above (and the demo's ^o) fit 80 columns; they still
        # work and are listed in the key panel and the command palette.
        Binding("slash", "app.search", "Search", show=False, id="chart.search"),
        Binding("q", "app.quit", "Quit", show=False, id="chart.quit"),
        Binding("f5", "refresh", "Refresh", show=False, id="chart.refresh"),
        Binding("n", "new_message", "New message", show=False, id="chart.new_message"),
    ]

    chart: reactive[ChartDetail | None] = reactive(None, always_update=True)
    busy: reactive[bool] = reactive(False)
    sending: reactive[bool] = reactive(False)

    class Loaded(Message):
        def __init__(
            self,
            chart: ChartDetail,
            contacts: list[ContactView],
            history: list[AuditRow],
            practice: PracticeView,
            now: datetime,
        ) -> None:
            super().__init__()
            self.chart = chart
            self.contacts = contacts
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
        self.contacts: tuple[ContactView, ...] = ()
        self._last_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield PauseBanner()
        yield DataStatic(template("Chart $number", number=self.chart_number), id="chart-title")
        with TabbedContent(initial="overview", id="chart-tabs"):
            with TabPane("Overview", id="overview"):
                yield ChartOverview(id="overview-scroll")
            with (
                TabPane("Communications", id="communications"),
                VerticalScroll(id="communications-scroll"),
            ):
                yield ClientPortalPanel(id="client-portal")
                yield ChartTasksPanel(
                    self.services,
                    self.chart_number,
                    refresh_interval=self.refresh_interval,
                    id="chart-tasks",
                )
                yield PortalMessagesPanel(
                    self.services,
                    self.chart_number,
                    refresh_interval=self.refresh_interval,
                    id="portal-messages",
                )
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
            contacts = self.services.chart_edits.contacts(self.chart_number)
            history = self.services.history.history(self.chart_number)
            practice = PracticeView.of(self.services.practice.practice())
            now = self.services.clock.now()
        except NotFound as exc:
            self.post_message(self.LoadFailed(str(exc), gone=True))
            return
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.LoadFailed(str(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(self.Loaded(chart, contacts, history, practice, now))

    @on(Loaded)
    def _loaded(self, event: Loaded) -> None:
        self._last_error = None
        self.practice = event.practice
        self.now = event.now
        self._history = event.history
        self.contacts = tuple(event.contacts)
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
        self.query_one(ChartOverview).show(chart, self.contacts)
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
        self.query_one(InvitationHistory).show(self._history, self.practice, self.now)

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
        self.query_one(ChartTasksPanel).reload()  # e.g. forms just assigned

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in _NEEDS_CHART and (self.chart is None or self.busy):
            return None  # shown dimmed: nothing loaded yet, or an action is running
        if action in ("edit_contact", "remove_contact"):
            contact = self.highlighted_contact
            if contact is None:
                return None  # no contact to act on
            if action == "remove_contact" and contact.is_owner:
                return None  # dimmed: change the owner first (the list says so)
        return True

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_new_message(self) -> None:
        """Write to the client on the Client Portal (screens/chart/messages_panel.py)."""
        self._show_communications()
        self.query_one(PortalMessagesPanel).action_new_message()

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

    def action_assign_forms(self) -> None:  # the Forms section asks, confirms, runs
        self._show_communications()
        self.query_one(ChartTasksPanel).action_assign()

    def action_menu(self) -> None:
        if self.chart is None or self.busy:
            return
        self._show_communications(expand=True)
        self.call_after_refresh(self._open_menu)

    @on(ChartOwnerRow.MenuRequested)
    def _menu_button(self) -> None:
        self.action_menu()

    @property
    def highlighted_contact(self) -> ContactView | None:
        return self.query_one(ContactList).highlighted_contact

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
        if item is None and kind is ActionKind.RETRY_EMAIL:
            toast(self, f"{action_label(kind)}: no failed or retrying email", severity="warning")
            return
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
        elif kind is ActionKind.RETRY_EMAIL:
            from screens.retry_email import RetryEmailRequest, retry_dialog

            self.app.push_screen(
                retry_dialog(chart), self._confirm_handler(RetryEmailRequest(number))
            )
        elif kind is ActionKind.SEND_RESET:
            self.app.push_screen(
                reset_dialog(chart, self.practice, self.now),
                self._confirm_handler(PortalRequest(kind, number)),
            )
        else:
            self.app.push_screen(ChangeOwnerDialog(chart, self.contacts), self._owner_chosen)

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

    def _confirm_handler(self, request: DeskRequest) -> _Confirmed:
        return _Confirmed(self, request)

    def run_request(self, request: DeskRequest) -> None:
        """Hand a confirmed request to the app, which runs it in a worker."""
        self.busy = True
        self.app.post_message(ActionRequested(request))

    # ------------------------------------------------------------------ corrections

    def _ready(self) -> ChartDetail | None:
        """The chart, when a correction may start (loaded, nothing running)."""
        if self.chart is None or self.now is None or self.busy:
            return None
        return self.chart

    def action_edit(self, typed: ChartChanges | None = None) -> None:
        """Edit chart: the form, then the confirmation, then the app saves it."""
        chart = self._ready()
        if chart is None:
            return
        plan = self.services.chart_edits.plan_chart_edit
        number = chart.chart_number
        self.app.push_screen(
            EditChartDialog(chart, lambda changes: plan(number, changes), typed=typed),
            self._chart_edit_checked,
        )

    def _chart_edit_checked(self, edit: ChartEdit | None) -> None:
        chart = self._ready()
        if edit is None or chart is None or self.now is None:
            return
        if not edit.plan.changed:
            self._nothing_changed(f"Chart {chart.chart_number}")
            return

        def chosen(choice: EditChoice | None) -> None:
            if choice is None:
                self.action_edit(edit.changes)  # back to the form, as it was typed
                return
            invite = choice is not EditChoice.END_LINK_ONLY
            self.run_request(ChartEditRequest(chart.chart_number, edit.changes, invite=invite))

        self.app.push_screen(chart_edit_confirm(chart, edit, self.practice, self.now), chosen)

    def _nothing_changed(self, what: str) -> None:
        from frontdesk.desk.wording import edit_sentence

        nothing = EditOutcome(self.chart_number, (), ())
        toast(self, edit_sentence(nothing, what=what, owner_email=None))

    def _contact_dialog(
        self, chart: ChartDetail, contact: ContactView | None, typed: ContactChanges | None = None
    ) -> ContactDialog:
        edits = self.services.chart_edits
        return ContactDialog(
            chart, edits.check_contact, edits.plan_contact_edit, contact=contact, typed=typed
        )

    def _show_contacts(self) -> None:
        self.query_one(TabbedContent).active = "overview"
        self.query_one(ContactList).focus()

    def action_add_contact(self) -> None:
        chart = self._ready()
        if chart is None:
            return
        self._show_contacts()
        self.app.push_screen(self._contact_dialog(chart, None), self._contact_added)

    def _contact_added(self, edit: ContactEdit | None) -> None:
        if edit is not None and edit.new is not None:
            self.run_request(ContactAddRequest(self.chart_number, edit.new))

    def action_edit_contact(self, typed: ContactChanges | None = None) -> None:
        chart, contact = self._ready(), self.highlighted_contact
        if chart is None:
            return
        if contact is None:
            toast(self, "Pick a related contact first (Tab to the list).", severity="warning")
            return
        self._show_contacts()

        def checked(edit: ContactEdit | None) -> None:
            self._contact_edit_checked(contact, edit)

        self.app.push_screen(self._contact_dialog(chart, contact, typed), checked)

    def _contact_edit_checked(self, contact: ContactView, edit: ContactEdit | None) -> None:
        chart = self._ready()
        if edit is None or edit.plan is None or edit.changes is None:
            return
        if chart is None or self.now is None:
            return
        if not edit.plan.changed:
            self._nothing_changed(contact.name)
            return
        changes = edit.changes

        def chosen(choice: EditChoice | None) -> None:
            if choice is None:
                self.action_edit_contact(changes)
                return
            invite = choice is not EditChoice.END_LINK_ONLY
            request = ContactEditRequest(
                chart.chart_number, contact.id, edit.name, changes, invite=invite
            )
            self.run_request(request)

        self.app.push_screen(
            contact_edit_confirm(chart, contact, edit, self.practice, self.now), chosen
        )

    def action_remove_contact(self) -> None:
        chart, contact = self._ready(), self.highlighted_contact
        if chart is None:
            return
        if contact is None:
            toast(self, "Pick a related contact first (Tab to the list).", severity="warning")
            return
        self._show_contacts()
        if contact.is_owner:  # the key is dimmed; the palette still asks, and is told why
            toast(
                self,
                f"{contact.name} is the Chart Owner: {OWNER_REMOVE_REASON}, then remove them.",
                title="Remove contact: not done",
                severity="warning",
            )
            return
        self.app.push_screen(
            contact_remove_dialog(chart, contact),
            self._confirm_handler(ContactRemoveRequest(chart.chart_number, contact.id)),
        )


# Actions that need the chart loaded and no request running.
_NEEDS_CHART = frozenset(
    {"menu", "edit", "add_contact", "edit_contact", "remove_contact", "assign_forms"}
)


class _Confirmed:
    """The callback of a confirmation dialog: on True, the request goes to the app."""

    def __init__(self, screen: ChartScreen, request: DeskRequest) -> None:
        self.screen = screen
        self.request = request

    def __call__(self, confirmed: bool | None) -> None:
        if confirmed:
            self.screen.run_request(self.request)
