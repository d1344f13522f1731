"""The bulk action's confirmation: before anything is sent, how many charts get an email, who
(name and full address, in a scrollable list), and apart, who is skipped and why.

`BulkConfirm` reads the plan itself (`services.invitations.plan_bulk`, in a thread worker that
touches no widget) and returns the confirmed `BulkPlan`, or None (n, Escape). It never sends
anything; the caller acts (STYLE.md 1-2). Data enters the text only as $variables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from frontdesk.access.outcomes import BulkAction, BulkPlan, BulkPlanEntry
from frontdesk.desk.wording import bulk_title, skip_reason_words
from screens.bulk_list import PeopleList
from screens.display import PracticeView, local_day
from screens.safe_text import clean, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.services import Services

# The charts each action takes, as the sentence names them.
_WHICH = {
    BulkAction.RESEND_EXPIRED: "Expired",
    BulkAction.RESEND_LOCKED: "Locked",
    BulkAction.RESEND_EXPIRED_AND_LOCKED: "Expired or Locked",
    BulkAction.INVITE_WITHOUT_ACCESS: "No Portal Access",
}


# The bulk action of each worklist that has one (`--status` names).
BULK_ACTIONS = {
    "expired": BulkAction.RESEND_EXPIRED,
    "locked": BulkAction.RESEND_LOCKED,
    "no_portal_access": BulkAction.INVITE_WITHOUT_ACCESS,
}


@dataclass(frozen=True)
class PlanView:
    """A bulk action's plan with what its sentence needs (the practice's zone and validity)."""

    plan: BulkPlan
    practice: PracticeView
    now: datetime


def read_plan_view(services: Services, action: BulkAction) -> PlanView:
    """Read the plan for `action` now (blocking: database work; call it from a worker)."""
    practice = PracticeView.of(services.practice.practice())
    return PlanView(services.invitations.plan_bulk(action), practice, services.clock.now())


def who(entry: BulkPlanEntry) -> str:
    """The chart as a list names it: "O'Brien, Ana", or with a guardian owner
    "Patel, Priya – Maria Patel (Mother)"."""
    name = clean(entry.client_name) or clean(entry.chart_number)
    if entry.owner_relationship and entry.owner_relationship != "Client" and entry.owner_name:
        return f"{name} – {clean(entry.owner_name)} ({clean(entry.owner_relationship)})"
    return name


def send_rows(plan: BulkPlan) -> list[tuple[str, str]]:
    """(who, full email address) of each chart that would get an email."""
    return [(who(entry), entry.owner_email or "") for entry in plan.to_send]


def skip_rows(plan: BulkPlan) -> list[tuple[str, str]]:
    """(chart number and who, why it is skipped) of each chart that would be skipped."""
    return [
        (f"{clean(entry.chart_number)}  {who(entry)}", skip_reason_words(entry.reason or ""))
        for entry in plan.to_skip
    ]


def charts(count: int) -> str:
    """ "1 chart", "1,250 charts"."""
    return f"{count:,} chart" + ("" if count == 1 else "s")


def question(view: PlanView) -> Content:
    """What the dialog asks: how many get an email, of how many, and what the links do."""
    plan = view.plan
    which = _WHICH[plan.action]
    total, count = plan.total, len(plan.to_send)
    expires = local_day(view.practice.new_link_expiry(view.now), view.practice.zone)
    if not total:
        return template("No chart is $which now: there is nothing to send.", which=which)
    if not count:
        return template(
            "None of the $total ($which) can be sent an email now; each is listed below with "
            "the reason. Nothing will be sent.",
            total=charts(total),
            which=which,
        )
    of = "" if count == total else f" (of {total:,})"
    if plan.action.resends:
        return template(
            "Send a new invitation link to [b]$count[/b]$of whose invitation is $which? "
            "Each earlier link stops working; the new links expire on [b]$expires[/b].",
            count=charts(count),
            of=of,
            which=which,
            expires=expires,
        )
    return template(
        "Send a portal invitation to [b]$count[/b]$of with $which? The links expire on "
        "[b]$expires[/b].",
        count=charts(count),
        of=of,
        which=which,
        expires=expires,
    )


class BulkConfirm(ModalScreen[BulkPlan | None]):
    """Shows the plan of a bulk action; returns it on Confirm (y), None on Cancel (n, Esc)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Send", id="bulk_confirm.yes"),
        Binding("n", "cancel", "Cancel", id="bulk_confirm.no"),
        Binding("escape", "cancel", "Cancel", id="bulk_confirm.escape"),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    class PlanRead(Message):
        def __init__(self, view: PlanView) -> None:
            super().__init__()
            self.view = view

    class ReadFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, action: BulkAction, read: Callable[[], PlanView]) -> None:
        """`read` reads the plan (blocking; it runs in a thread worker)."""
        super().__init__(id="bulk-confirm-dialog")
        self.action = action
        self._read = read
        self.view: PlanView | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = bulk_title(self.action)
            yield DataStatic("Reading who would get an email…", classes="dialog-body")
            yield Static("", id="bulk-send-heading", classes="bulk-heading", markup=False)
            yield PeopleList(id="bulk-send")
            yield Static("", id="bulk-skip-heading", classes="bulk-heading", markup=False)
            yield PeopleList(id="bulk-skip")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Send", id="confirm", variant="primary", disabled=True, compact=True)
                yield Button("Cancel", id="cancel", variant="default", compact=True)
            yield Static(
                "y send · n or Esc cancel · Tab to a list, ↑/↓ to scroll it",
                classes="dialog-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self._read_plan()

    @work(thread=True, exit_on_error=False, group="bulk-plan")
    def _read_plan(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            view = self._read()
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.ReadFailed(str(exc)))
            return
        self.post_message(self.PlanRead(view))

    @on(PlanRead)
    def _show_plan(self, event: PlanRead) -> None:
        self.view = view = event.view
        plan = view.plan
        self.query_one(".dialog-body", DataStatic).show(question(view))
        sending, skipping = len(plan.to_send), len(plan.to_skip)
        self.set_class(not sending, "-nothing-to-send")
        self.set_class(not skipping, "-nothing-skipped")
        send_heading = self.query_one("#bulk-send-heading", Static)
        send_heading.update(f"Will be sent ({sending:,}): name, email address")
        self.query_one("#bulk-send", PeopleList).set_rows(send_rows(plan))
        skip_heading = self.query_one("#bulk-skip-heading", Static)
        skip_heading.update(f"Skipped ({skipping:,}): nothing is sent to them, and why")
        self.query_one("#bulk-skip", PeopleList).set_rows(skip_rows(plan))
        confirm = self.query_one("#confirm", Button)
        if sending:
            confirm.label = f"Send {sending:,}"
            confirm.disabled = False
            confirm.focus()
        self.refresh_bindings()

    @on(ReadFailed)
    def _read_failed(self, event: ReadFailed) -> None:
        self.query_one(".dialog-body", DataStatic).show(
            template("Could not read the charts: $error", error=event.error)
        )
        self.add_class("-nothing-to-send", "-nothing-skipped")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return (self.view is not None and bool(self.view.plan.to_send)) or None
        return True

    def action_confirm(self) -> None:
        if self.view is not None and self.view.plan.to_send:
            self.dismiss(self.view.plan)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.action_cancel()
