"""Confirmation dialogs: a question that names who and what is affected, Confirm (the primary
action) and Cancel; `y` / `n` / Escape. A dialog returns True or False; the caller acts.
Email addresses are shown whole: staff must be able to catch a typo before a link goes out."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from screens.actions import OwnerChoice
from screens.display import PracticeView, local_day, local_time
from screens.safe_text import template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.charts.records import ContactView
    from frontdesk.desk.views import ChartDetail, ChartSummary


class ConfirmDialog(ModalScreen[bool]):
    """Asks one question; returns True on Confirm, False on Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "confirm", "Confirm"),
        Binding("n", "cancel", "Cancel"),
        Binding("escape", "cancel", "Cancel"),
        Binding("left", "app.focus_previous", "Previous button", show=False),
        Binding("right", "app.focus_next", "Next button", show=False),
    ]

    def __init__(
        self,
        title: str,
        body: Content,
        confirm_label: str,
        *,
        danger: bool = False,
        focus_confirm: bool = True,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.danger = danger
        self.focus_confirm = focus_confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = self.title_text
            yield DataStatic(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error" if self.danger else "primary",
                )
                yield Button("Cancel", id="cancel", variant="default")
            yield Static("y confirm · n or Esc cancel", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#confirm" if self.focus_confirm else "#cancel", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")


# --------------------------------------------------------------------------------------------
# The product's confirmations. Data enters the text only as $variables.
# --------------------------------------------------------------------------------------------


def resend_dialog(chart: ChartSummary, practice: PracticeView, now: datetime) -> ConfirmDialog:
    zone = practice.zone
    sent = local_day(chart.sent_at, zone) if chart.sent_at else "earlier"
    body = template(
        "Resend the invitation to [b]$name[/b] ($email)?\n\n"
        "The link sent on $sent stops working. "
        "The new link expires on [b]$expires[/b].",
        name=chart.owner.name,
        email=chart.owner.email or "no email address",
        sent=sent,
        expires=local_day(practice.new_link_expiry(now), zone),
    )
    return ConfirmDialog("Resend Invite", body, "Resend invite", id="resend-dialog")


def revoke_dialog(chart: ChartSummary) -> ConfirmDialog:
    body = template(
        "Revoke portal access for [b]$name[/b]?\n\n"
        "$name loses access to the Client Portal: any invitation link stops working and "
        "any open portal session ends now. You can activate access again later.",
        name=chart.owner.name,
    )
    return ConfirmDialog(
        "Revoke Access",
        body,
        "Revoke access",
        danger=True,
        focus_confirm=False,
        id="revoke-dialog",
    )


def activate_dialog(chart: ChartSummary, practice: PracticeView, now: datetime) -> ConfirmDialog:
    body = template(
        "Activate portal access for [b]$name[/b]?\n\n"
        "If $name registered before, access comes back with the same password. "
        "Otherwise an invitation is emailed to $email; its link expires on [b]$expires[/b].",
        name=chart.owner.name,
        email=chart.owner.email or "no email address",
        expires=local_day(practice.new_link_expiry(now), practice.zone),
    )
    return ConfirmDialog("Activate Portal Access", body, "Activate", id="activate-dialog")


def owner_change_dialog(
    chart: ChartSummary, choice: OwnerChoice, practice: PracticeView, now: datetime
) -> ConfirmDialog:
    invite = (
        template(
            "An invitation is emailed to $email; its link expires on [b]$expires[/b].",
            email=choice.email or "",
            expires=local_day(practice.new_link_expiry(now), practice.zone),
        )
        if choice.invite
        else Content("No invitation is sent now; use Activate Portal Access when ready.")
    )
    body = Content.assemble(
        template(
            "Make [b]$new[/b] ($relationship) the owner of portal access for $client?\n\n"
            "$old's invitation link stops working and any open portal session of theirs "
            "ends now. ",
            new=choice.name,
            relationship=choice.relationship,
            client=f"{chart.first_name} {chart.last_name}",
            old=chart.owner.name,
        ),
        invite,
    )
    return ConfirmDialog("Change Ownership", body, "Change owner", id="owner-confirm-dialog")


def reset_dialog(chart: ChartDetail, practice: PracticeView, now: datetime) -> ConfirmDialog:
    """Send password reset: names the owner, the address the link goes to and how long it
    works (the desk's links live 24 hours)."""
    from frontdesk.access.reset import LIFETIME
    from store.models import ResetOrigin

    lifetime = LIFETIME[ResetOrigin.STAFF]
    hours = int(lifetime.total_seconds() // 3600)
    body = template(
        "Send a password reset link to [b]$name[/b] ($email)?\n\n"
        "The link works once, for $hours hours (until $until). Their password stays as it is "
        "until they choose a new one there; then every open portal session of theirs ends.",
        name=chart.owner.name,
        email=chart.account_email or chart.owner.email or "",
        hours=hours,
        until=local_time(now + lifetime, practice.zone),
    )
    return ConfirmDialog("Send password reset", body, "Send reset link", id="reset-dialog")


def contact_remove_dialog(chart: ChartDetail, contact: ContactView) -> ConfirmDialog:
    body = template(
        "Remove [b]$name[/b] ($relationship) from $client's related contacts?\n\n"
        "They no longer show on the chart and cannot be made its owner; the chart's history "
        "keeps them.",
        name=contact.name,
        relationship=contact.relationship,
        client=f"{chart.first_name} {chart.last_name}",
    )
    return ConfirmDialog(
        "Remove related contact",
        body,
        "Remove contact",
        danger=True,
        focus_confirm=False,
        id="remove-contact-dialog",
    )
