"""The FrontDesk terminal app: the composition root of the TUI.

`FrontDeskApp(services=...)` takes everything it uses from its caller: the built `Services`, or a
factory that builds them (then the first screen is up and taking keys while the database layer
imports and opens in a worker — the quick start). It shows the chart browser first, runs
confirmed portal actions in thread workers, then hands the queued email to the mail server and
says how that went. Importing this module loads no database layer.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable
from functools import partial
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker

from screens.actions import (
    ActionFinished,
    ActionKind,
    ActionRequested,
    BulkRequested,
    ChartChanged,
    Deliver,
    DeliveryUnavailable,
    DeskRequest,
    MailSettled,
    OpenChart,
    action_label,
    perform_action,
)
from screens.chart_browser import STATUS_FILTERS, ChartBrowser
from screens.errors import report_worker_failure, toast
from screens.pause_banner import read_pause_banner

if TYPE_CHECKING:
    from frontdesk.demo.stack import DemoInfo
    from frontdesk.desk.views import ChartSummary
    from frontdesk.services import Services

STYLESHEET = "frontdesk.tcss"


def stylesheet_path() -> Path:
    """The one stylesheet, shipped inside the `screens` package (checkout and wheel alike)."""
    return Path(str(files("screens").joinpath(STYLESHEET)))


def _held_when_unconfigured(deliver_due: Deliver) -> Deliver:
    """`deliver_due`, with "mail is not configured" (no sender address, no SMTP password, a
    keyring that does not answer) reported as DeliveryUnavailable: the email stays queued."""

    def deliver() -> object:
        from frontdesk.mail.outbox import MailNotConfigured

        try:
            return deliver_due()
        except MailNotConfigured as exc:
            raise DeliveryUnavailable(str(exc)) from None

    return deliver


log = logging.getLogger(__name__)


class FrontDeskApp(App[None]):
    """Reception's terminal: chart browser → chart → Communications → Client Portal → ⋮."""

    TITLE = "FrontDesk"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="app.refresh"),
        # Demo mode only (hidden otherwise, see check_action).
        Binding("ctrl+o", "demo_mailbox", "Demo mailbox", priority=True, id="app.demo_mailbox"),
    ]

    mail_pause_banner: reactive[str] = reactive("")  # "" unless email is paused (every screen)

    class PracticeLoaded(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class ServicesOpened(Message):
        def __init__(self, services: Services) -> None:
            super().__init__()
            self.services = services

    class ServicesFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        services: Services | Callable[[], Services],
        delivery: Deliver | None = None,
        *,
        refresh_interval: float = 1.0,
        demo: DemoInfo | None = None,
    ) -> None:
        """`services`: built, or a factory called in a worker once the first screen is up.
        `delivery` hands due emails to the mail server (default: the outbox delivery built
        from the services); `refresh_interval` is how often open screens re-read the store;
        `demo` (from `frontdesk demo`) adds the Demo mailbox (Ctrl+O)."""
        super().__init__(css_path=stylesheet_path())
        self._services: Services | None = None
        self._open_services_with: Callable[[], Services] | None = None
        if callable(services):
            self._open_services_with = services
        else:
            self._services = services
        self.refresh_interval = refresh_interval
        self._delivery = _held_when_unconfigured(delivery) if delivery is not None else None
        self._delivery_ready = delivery is not None
        self._delivery_lock = threading.Lock()
        self._requests: dict[Worker[None], DeskRequest] = {}
        self.demo = demo
        self._collector_paused = False  # see _pause_collector

    @property
    def services(self) -> Services:
        """The services (only once they are open)."""
        if self._services is None:
            raise RuntimeError("the services are not open yet")
        return self._services

    def get_default_screen(self) -> Screen[None]:
        return ChartBrowser(self._services, refresh_interval=self.refresh_interval)

    @property
    def browser(self) -> ChartBrowser:
        screen = self.screen_stack[0]
        assert isinstance(screen, ChartBrowser)
        return screen

    def on_mount(self) -> None:
        if self._services is None:
            self._collector_paused = _pause_collector()
            self._open_services()
        else:
            _settle_heap("start-up")
            self._load_practice()
            self._watch_mail_pause()
        if self.demo is not None:
            toast(
                self,
                "Pick the Expired worklist, open a chart, press . then r to resend its "
                f"invitation; Ctrl+O shows the email. Web endpoint: {self.demo.web_url}",
                title="FrontDesk demo",
                timeout=20,
            )

    @work(thread=True, exit_on_error=False, group="services")
    def _open_services(self) -> None:
        """Import the database layer and open the store, off the event loop."""
        from frontdesk.core.config import ConfigError
        from store.db import StoreError

        assert self._open_services_with is not None
        try:
            services = self._open_services_with()
            services.search  # noqa: B018  (built here: the browser's first page needs it)
        except (StoreError, ConfigError) as exc:
            self.post_message(self.ServicesFailed(str(exc)))
            return
        except BaseException:
            gc.enable()  # no first page will come (see _pause_collector); the error is logged
            raise
        self.post_message(self.ServicesOpened(services))

    @on(ServicesOpened)
    def _services_opened(self, event: ServicesOpened) -> None:
        self._services = event.services
        self.browser.attach(event.services)
        # Everything else waits until the first page is on screen: the practice's name, the
        # mail pause, the search's other statements (each would take the interpreter from
        # the page while it is read and drawn; typing waits for none of them).
        self.call_after_refresh(self._after_first_page)

    def _after_first_page(self) -> None:
        if self._collector_paused:
            _settle_heap("start-up")  # before it resumes: no full collection walks start-up
        self._resume_collector()
        self._load_practice()
        self._watch_mail_pause()
        self._settle_start_up()

    @work(thread=True, exit_on_error=False, group="services")
    def _settle_start_up(self) -> None:
        """Build the search's statements ahead, then settle start-up's objects."""
        _prepare_search(self.services)
        _settle_heap("statements")

    @on(ServicesFailed)
    def _services_failed(self, event: ServicesFailed) -> None:
        self._resume_collector()
        toast(self, event.error, title="Cannot open the database", severity="error")
        self.browser.show_problem(f"Cannot open the database: {event.error}")

    def _resume_collector(self) -> None:
        if self._collector_paused:
            self._collector_paused = False
            gc.enable()

    def on_unmount(self) -> None:
        self._resume_collector()
        if self._open_services_with is not None and self._services is not None:
            self._services.close()  # opened here, so closed here

    def _watch_mail_pause(self) -> None:
        """Read the outbox's pause now and once every refresh interval (the banner)."""
        self._read_mail_pause()
        self.set_interval(self.refresh_interval, self._read_mail_pause, name="mail pause")

    def _read_mail_pause(self) -> None:
        if not any(w.group == "mail-pause" and not w.is_finished for w in self.workers):
            self._mail_pause_worker()

    @work(thread=True, exit_on_error=False, group="mail-pause")
    def _mail_pause_worker(self) -> None:
        text = read_pause_banner(self.services)
        if text is not None:
            self.call_from_thread(setattr, self, "mail_pause_banner", text)

    @work(thread=True, exit_on_error=False, group="practice")
    def _load_practice(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            name = self.services.practice.practice().name
        except (FrontDeskError, StoreError) as exc:
            self.call_from_thread(toast, self, str(exc), severity="error")
            return
        self.post_message(self.PracticeLoaded(name))

    @on(PracticeLoaded)
    def _practice_loaded(self, event: PracticeLoaded) -> None:
        self.sub_title = event.name

    # ------------------------------------------------------------------ actions

    def _resolve_delivery(self) -> Deliver | None:
        """The mail delivery (built by the services on first use, in a worker thread)."""
        with self._delivery_lock:
            if not self._delivery_ready:
                self._delivery = _held_when_unconfigured(self.services.delivery().deliver_due)
                self._delivery_ready = True
            return self._delivery

    @on(ActionRequested)
    def _run_action(self, event: ActionRequested) -> None:
        if self._services is None:
            return
        request = event.request
        worker = self.run_worker(
            partial(
                perform_action,
                request,
                self.services,
                self._resolve_delivery,
                self.post_message,
            ),
            name=f"{request.title} {request.chart_number}",
            group="portal-actions",
            thread=True,
            exit_on_error=False,
        )
        self._requests[worker] = request

    @on(OpenChart)
    def _open_chart(self, event: OpenChart) -> None:
        """Show a chart (screens.actions.OpenChart): back to it when it is right below."""
        from screens.chart_screen import ChartScreen

        stack = self.screen_stack
        below = stack[-2] if len(stack) > 1 else None
        back = isinstance(below, ChartScreen) and below.chart_number == event.chart_number
        if event.back_to_it and back:
            self.pop_screen()
            return
        self.push_screen(
            ChartScreen(self.services, event.chart_number, refresh_interval=self.refresh_interval)
        )

    @on(BulkRequested)
    def _run_bulk(self, event: BulkRequested) -> None:
        """A confirmed bulk action: its progress, then its summary (screens/bulk_*.py)."""
        from screens.bulk_progress import BulkOutcome, BulkProgress
        from screens.bulk_summary import BulkSummary

        if self._services is None:
            return

        def finished(outcome: BulkOutcome | None) -> None:
            if outcome is not None:
                self.push_screen(BulkSummary(outcome))

        run = self.services.invitations.run_bulk
        self.push_screen(BulkProgress(event.plan, run, self._resolve_delivery), finished)

    @on(ActionFinished)
    def _action_finished(self, event: ActionFinished) -> None:
        number = event.request.chart_number
        result = event.result
        if result is None:
            toast(
                self,
                event.error or "The action was not done.",
                title=f"{event.request.title}: not done",
                severity=event.severity,  # type: ignore[arg-type]
            )
            self._tell(number, None)
        elif result.outbox_id is None:
            toast(self, result.message)
            self._tell(number, result.chart)
        else:
            self._tell(number, result.chart, sending=True)

    @on(MailSettled)
    def _mail_settled(self, event: MailSettled) -> None:
        message, severity = event.toast()
        toast(self, message, severity=severity)  # type: ignore[arg-type]
        self._tell(event.request.chart_number, event.chart)

    def _tell(
        self, chart_number: str, chart: ChartSummary | None, *, sending: bool = False
    ) -> None:
        """Let every open screen know the chart changed (the browser, the chart itself)."""
        for screen in self.screen_stack:
            screen.post_message(ChartChanged(chart_number, chart, sending=sending))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if report_worker_failure(self, event):
            request = self._requests.pop(event.worker, None)
            if request is not None:
                self._tell(request.chart_number, None)
        elif event.worker.is_finished:
            self._requests.pop(event.worker, None)

    # ------------------------------------------------------------------ navigation

    async def action_search(self) -> None:
        """Back to the chart browser with the search box focused."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.browser.action_focus_search()

    async def show_worklist(self, status: str) -> None:
        """Back to the chart browser showing one status worklist."""
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        self.browser.show_worklist(status)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "demo_mailbox":
            return self.demo is not None  # not in the footer outside the demo
        return True

    async def action_demo_mailbox(self) -> None:
        """Open the Demo mailbox (from the mailbox: back to where you were)."""
        from screens.mailbox import MailboxScreen, MailView

        if self.demo is None:
            return
        if isinstance(self.screen, MailboxScreen | MailView):
            while isinstance(self.screen, MailboxScreen | MailView):
                await self.pop_screen()
            return
        await self.push_screen(MailboxScreen(self.demo, refresh_interval=self.refresh_interval))

    async def action_portal_inbox(self) -> None:
        """Open the Portal inbox (or go back to it, when it is open under this screen)."""
        from screens.inbox.inbox_screen import InboxScreen

        if self._services is None:
            self.bell()  # the store is still opening
            return
        if any(isinstance(screen, InboxScreen) for screen in self.screen_stack):
            while not isinstance(self.screen, InboxScreen):
                await self.pop_screen()
            return
        await self.push_screen(InboxScreen(self.services, refresh_interval=self.refresh_interval))

    def action_new_chart(self) -> None:
        """The New chart form (screens/new_chart.py); the new chart opens once created."""
        from screens.new_chart import open_new_chart

        if self._services is None:
            self.bell()  # the store is still opening
            return
        open_new_chart(self, self.services)

    def action_refresh(self) -> None:
        from screens.chart_screen import ChartScreen  # loaded when first opened, not at start

        screen = self.screen
        if isinstance(screen, ChartBrowser | ChartScreen):
            screen.action_refresh()
        elif callable(refresh := getattr(screen, "action_refresh", None)):
            refresh()  # the Portal inbox and a message thread

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        from screens.chart_screen import ChartScreen
        from screens.inbox.thread_screen import ThreadScreen

        if isinstance(screen, ChartScreen):
            yield SystemCommand(
                "Communications tab",
                "Show the chart's Communications tab  (c)",
                screen.action_communications,
            )
            yield SystemCommand(
                "Client Portal: expand / collapse",
                "The Client Portal section  (p)",
                screen.action_toggle_portal,
            )
            yield SystemCommand(
                "⋮ Actions menu", "The Chart Owner row's menu  (.)", screen.action_menu
            )
            yield SystemCommand(
                "Edit chart",
                "Correct the client's name, date of birth, email or phone  (e)",
                screen.action_edit,
            )
            yield SystemCommand(
                "Add a related contact",
                "A guardian, parent or other person on this chart  (a on the contact list)",
                screen.action_add_contact,
            )
            yield SystemCommand(
                "Edit related contact",
                "Correct the contact highlighted in the list  (⏎ on the contact list)",
                screen.action_edit_contact,
            )
            yield SystemCommand(
                "Remove related contact",
                "Remove the contact highlighted in the list  (del on the contact list)",
                screen.action_remove_contact,
            )
            yield SystemCommand(
                "New portal message",
                "Write to the client on the Client Portal  (n)",
                screen.action_new_message,
            )
            helps = {
                ActionKind.RESEND: "Email a new 7-day link; older links stop working",
                ActionKind.REVOKE: "End portal access and open portal sessions",
                ActionKind.CHANGE_OWNER: "Give portal access to the client or a related contact",
                ActionKind.ACTIVATE: "Restore access or send an invitation",
                ActionKind.SEND_RESET: "Email the Active owner a 24-hour link to a new password",
                ActionKind.RETRY_EMAIL: "Send the failed or retrying email again now, same link",
            }
            for kind, help_text in helps.items():
                yield SystemCommand(
                    action_label(kind), help_text, partial(screen.request_action, kind)
                )
            yield SystemCommand(
                "Assign forms",
                "Assign a form or a package (intake, consent, PHQ-9, GAD-7)  (f)",
                screen.action_assign_forms,
            )
            yield SystemCommand(
                "Back to the chart list", "Close this chart  (Esc)", screen.action_back
            )
        if isinstance(screen, ChartBrowser):
            from frontdesk.access.outcomes import BulkAction
            from frontdesk.desk.wording import bulk_title

            bulk_helps = {
                BulkAction.RESEND_EXPIRED: "A new link for every Expired chart  (^g on Expired)",
                BulkAction.RESEND_LOCKED: "A new link for every Locked chart  (^g on Locked)",
                BulkAction.INVITE_WITHOUT_ACCESS: (
                    "Invite every chart with No Portal Access  (^g on No Portal Access)"
                ),
            }
            for action, help_text in bulk_helps.items():
                yield SystemCommand(
                    bulk_title(action), help_text, partial(screen.start_bulk, action)
                )
        if self.demo is not None:
            yield SystemCommand(
                "Demo mailbox",
                "The emails the demo sent, with their links  (Ctrl+O)",
                self.action_demo_mailbox,
            )
        yield from _task_commands(screen)
        if isinstance(screen, ThreadScreen):
            yield SystemCommand("Reply", "Reply to this thread  (r)", screen.action_reply)
            yield SystemCommand(
                "Mark done", "Close the inbox item; the thread too  (d)", screen.action_done
            )
            yield SystemCommand("Open chart", "This client's chart  (o)", screen.action_open_chart)
        yield SystemCommand(
            "Portal inbox",
            "Messages and everything else from the portal that needs the desk  (^t)",
            self.action_portal_inbox,
        )
        yield SystemCommand(
            "New chart",
            "Add a client: demographics, Chart Owner, invitation, forms package  (^n)",
            self.action_new_chart,
        )
        yield SystemCommand(
            "Search charts", "Find a chart by name, chart number or email  (/)", self.action_search
        )
        for status, label in STATUS_FILTERS:
            yield SystemCommand(
                f"Worklist: {label}",
                "Every chart" if status == "all" else f"Charts whose portal status is {label}",
                partial(self.show_worklist, status),
            )
        yield from super().get_system_commands(screen)


def _task_commands(screen: Screen[object]) -> Iterable[SystemCommand]:
    """The task view's actions in the palette (screens/tasks/task_screen.py)."""
    from screens.tasks.task_screen import TaskScreen

    if isinstance(screen, TaskScreen):
        yield SystemCommand("Mark reviewed", "A submitted form; closes its item  (r)",
                            screen.action_review)  # fmt: skip
        yield SystemCommand("Return to client", "With a reason they read  (t)",
                            screen.action_return_task)  # fmt: skip
        yield SystemCommand("Cancel form", "Before the client sends it  (x)",
                            screen.action_cancel_task)  # fmt: skip
        yield SystemCommand("Acknowledge urgent item", "Record that you saw it  (a)",
                            screen.action_acknowledge)  # fmt: skip
        yield SystemCommand("Open chart", "This client's chart  (o)", screen.action_open_chart)


def _prepare_search(services: Services) -> None:
    """Build the search's statements now, while the desk reads the first screen, so that no
    keystroke waits for one to be built. Only an optimisation: if it fails, each statement is
    built on first use and the store still opens."""
    try:
        services.search.prepare_search()
    except Exception as exc:  # any failure only costs speed
        log.warning(
            "search statements not prepared ahead (%s); built on first use", type(exc).__name__
        )


def _pause_collector() -> bool:
    """Pause the cyclic garbage collector while the database layer loads behind the first
    screen, until the first page of charts is on screen; whether this call paused it (a
    collector someone else turned off is left alone). Loading SQLAlchemy, pydantic and the
    models makes several hundred thousand long-lived objects and next to no garbage, and
    each full collection on the way walks all of them again, holding the interpreter from
    both threads (issue 12: in paired runs the first page of charts came a quarter sooner).
    `_settle_heap("start-up")` puts them out of its sight before it resumes."""
    if not gc.isenabled():
        return False
    gc.disable()
    return True


_heap_settled: set[str] = set()
_heap_settling = threading.Lock()


def _settle_heap(stage: str) -> None:
    """Move what start-up built out of the garbage collector's sight: at "start-up" (the
    modules, the database layer, the screens: before the collector resumes after the first
    page) and at "statements" (the search's compiled statements, built after it). Otherwise
    every full collection walks all of it: 60–120 ms pauses at 100,000 charts, in the middle
    of someone's typing. Objects made later are collected as usual. Each stage once per
    process: a process that starts several apps (the tests) does not make each one's garbage
    permanent."""
    with _heap_settling:
        if stage in _heap_settled:
            return
        _heap_settled.add(stage)
    gc.freeze()
