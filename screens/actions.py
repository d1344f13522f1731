"""The ⋮ menu's actions: which apply to a chart, what a confirmed action asks of the service,
and the messages that report back.

The lifecycle service (`frontdesk.access.invitations`) enforces the rules; `menu_items` shows
the same rules (`frontdesk.access.rules.refusal`, the design's table) so items that do not
apply are shown disabled with the reason. `perform_action` is the blocking part of an action:
it runs in a thread worker, never touches a widget, and reports through messages posted to
the app.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.message import Message

from frontdesk.access.rules import PortalAction, PortalStatus, refusal
from frontdesk.core.emails import mask_email

if TYPE_CHECKING:  # the database layer is imported when the services open, not at start
    from frontdesk.access.outcomes import ActionOutcome
    from frontdesk.charts.records import ContactInput
    from frontdesk.desk.actions import ActionResult
    from frontdesk.desk.views import ChartSummary
    from frontdesk.services import Services

Severity = str  # "information" | "warning" | "error" (Textual's notify severities)
Deliver = Callable[[], object]
"""Hands due outbox emails to the mail server; returns a report with sent/retrying/failed."""


ActionKind = PortalAction  # the menu's name for the service's actions


@dataclass(frozen=True)
class MenuItem:
    kind: ActionKind
    label: str
    key: str
    reason: str | None = None  # why it does not apply; None when it does

    @property
    def enabled(self) -> bool:
        return self.reason is None


_LABELS = {
    ActionKind.CHANGE_OWNER: ("Change Ownership", "c"),
    ActionKind.RESEND: ("Resend Invite", "r"),
    ActionKind.REVOKE: ("Revoke Access", "v"),
    ActionKind.ACTIVATE: ("Activate Portal Access", "a"),
}


def action_label(kind: ActionKind) -> str:
    """The menu label of an action ("Resend Invite")."""
    return _LABELS[kind][0]


def _item(kind: ActionKind, reason: str | None = None) -> MenuItem:
    label, key = _LABELS[kind]
    return MenuItem(kind, label, key, reason)


def menu_items(chart: ChartSummary, *, portal_active: bool = True) -> tuple[MenuItem, ...]:
    """The ⋮ menu for a chart: Change Ownership, Resend Invite, Revoke Access, and Activate
    Portal Access where there is no access; each disabled with the service's reason where the
    rules say it does not apply."""
    status = chart.status.status

    def item(kind: ActionKind) -> MenuItem:
        reason = refusal(
            kind, status, owner_has_email=bool(chart.owner.email), portal_active=portal_active
        )
        return _item(kind, reason)

    kinds = [ActionKind.CHANGE_OWNER, ActionKind.RESEND, ActionKind.REVOKE]
    if status is PortalStatus.NO_PORTAL_ACCESS:
        kinds.append(ActionKind.ACTIVATE)
    return tuple(item(kind) for kind in kinds)


@dataclass(frozen=True)
class OwnerChoice:
    """The new chart owner picked in the Change Ownership dialog."""

    name: str
    relationship: str
    email: str | None
    to_client: bool = False
    contact_id: int | None = None
    new_contact: ContactInput | None = None
    invite: bool = True


@dataclass(frozen=True)
class PortalRequest:
    """A confirmed action for one chart, with what the desk saw when it confirmed."""

    kind: ActionKind
    chart_number: str
    seen_invitation_id: int | None = None
    seen_owner_version: int | None = None
    owner: OwnerChoice | None = None

    def run(self, services: Services) -> ActionResult:
        """Call the service, then read the chart as it is now (blocking: database work)."""
        from frontdesk.desk.actions import ActionResult

        return ActionResult.after(services.views, self._act(services))

    def _act(self, services: Services) -> ActionOutcome:
        invitations, number = services.invitations, self.chart_number
        if self.kind is ActionKind.RESEND:
            return invitations.resend_invitation(number, seen_invitation_id=self.seen_invitation_id)
        if self.kind is ActionKind.REVOKE:
            return invitations.revoke_access(number)
        if self.kind is ActionKind.ACTIVATE:
            return invitations.activate_access(number)
        owner = self.owner
        if owner is None:
            from frontdesk.core.errors import InvalidInput

            raise InvalidInput("Choose the new owner first.")
        return invitations.change_owner(
            number,
            to_client=owner.to_client,
            contact_id=owner.contact_id,
            new_contact=owner.new_contact,
            invite=owner.invite,
            seen_owner_version=self.seen_owner_version,
        )


class MailState(enum.StrEnum):
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    QUEUED = "queued"  # no delivery here; the mail service (frontdesk serve) sends it
    HELD = "held"  # sending cannot start (no sender address, no SMTP password); stays queued


class DeliveryUnavailable(Exception):
    """Delivery cannot start; the email stays queued. str(error) is one line for staff."""


# --------------------------------------------------------------------------------------------
# Messages: screens ask the app; the app's worker reports back; the app tells the screens.
# --------------------------------------------------------------------------------------------


class ActionRequested(Message):
    """A screen asks the app to run a confirmed action."""

    def __init__(self, request: PortalRequest) -> None:
        super().__init__()
        self.request = request


class ActionFinished(Message):
    """The service call ended: `result` on success, else `error` (one line) and its severity."""

    def __init__(
        self,
        request: PortalRequest,
        result: ActionResult | None,
        error: str | None = None,
        severity: Severity = "error",
    ) -> None:
        super().__init__()
        self.request = request
        self.result = result
        self.error = error
        self.severity = severity


class MailSettled(Message):
    """The email an action queued was handed to the mail server, or not (yet)."""

    def __init__(
        self,
        request: PortalRequest,
        result: ActionResult,
        state: MailState,
        chart: ChartSummary | None,
        error: str | None = None,
    ) -> None:
        super().__init__()
        self.request = request
        self.result = result
        self.state = state
        self.chart = chart
        self.error = error

    def toast(self) -> tuple[str, Severity]:
        """What the desk is told, and how loudly."""
        from frontdesk.desk.wording import emails_noun

        owner_email = (self.chart or self.result.chart).owner.email or ""
        noun = emails_noun(self.result.outcome)
        if self.state is MailState.SENT:
            return self.result.message.rstrip("."), "information"
        if self.state is MailState.RETRYING:
            return (
                f"Mail server unreachable — the {noun} is queued and will be retried",
                "warning",
            )
        if self.state is MailState.HELD:
            return f"The {noun} is queued but not sent: {self.error}", "warning"
        if self.state is MailState.FAILED:
            reason = self.error or "the mail server refused it"
            return f"Not delivered to {mask_email(owner_email)}: {reason}", "error"
        return (
            f"The {noun} to {mask_email(owner_email)} is queued; the mail service sends it",
            "information",
        )


class ChartChanged(Message, bubble=False):
    """The app tells open screens that a chart changed (`chart` is None when unknown);
    `sending` while its email is being handed to the mail server."""

    def __init__(
        self, chart_number: str, chart: ChartSummary | None = None, *, sending: bool = False
    ) -> None:
        super().__init__()
        self.chart_number = chart_number
        self.chart = chart
        self.sending = sending


# --------------------------------------------------------------------------------------------


def _count(report: object, name: str) -> int:
    value = getattr(report, name, 0)
    if isinstance(value, int):
        return value
    try:
        return len(value)
    except TypeError:
        return 0


def _mail_state(
    result: ActionResult, chart: ChartSummary | None, report: object
) -> tuple[MailState, str | None]:
    """How the action's email fared: from the chart's own delivery row when the email belongs
    to its live invitation, else from the delivery report."""
    if (
        chart is not None
        and chart.delivery is not None
        and chart.invitation_id is not None
        and chart.invitation_id == result.chart.invitation_id
    ):
        state = chart.delivery.state
        if state == "sent":
            return MailState.SENT, None
        if state in ("failed", "cancelled"):
            return MailState.FAILED, chart.delivery.error
        return MailState.RETRYING, None
    if _count(report, "failed"):
        return MailState.FAILED, None
    if _count(report, "retrying"):
        return MailState.RETRYING, None
    if _count(report, "sent"):
        return MailState.SENT, None
    return MailState.RETRYING, None


def perform_action(
    request: PortalRequest,
    services: Services,
    deliver: Callable[[], Deliver | None],
    post: Callable[[Message], object],
) -> None:
    """Run a confirmed action, then hand its email to the mail server. Blocking: call it from a
    thread worker. Touches no widget; every outcome is posted as a message."""
    from frontdesk.core.errors import ConcurrentChange, CooldownActive, FrontDeskError, NotAllowed
    from store.db import StoreError

    try:
        result = request.run(services)
    except (CooldownActive, ConcurrentChange, NotAllowed) as refused:
        post(ActionFinished(request, None, str(refused), "warning"))
        return
    except (FrontDeskError, StoreError) as failed:
        post(ActionFinished(request, None, str(failed), "error"))
        return
    post(ActionFinished(request, result))
    if result.outbox_id is None:
        return
    try:
        delivery = deliver()
        if delivery is None:
            post(MailSettled(request, result, MailState.QUEUED, result.chart))
            return
        report = delivery()
        chart = services.views.chart(request.chart_number)
    except DeliveryUnavailable as held:
        post(MailSettled(request, result, MailState.HELD, None, str(held)))
        return
    except (FrontDeskError, StoreError, OSError) as failed:
        post(MailSettled(request, result, MailState.RETRYING, None, str(failed)))
        return
    state, error = _mail_state(result, chart, report)
    post(MailSettled(request, result, state, chart, error))
