"""The ⋮ menu's actions: which apply to a chart, what a confirmed action asks of the service,
and the messages that report back.

The lifecycle service (`frontdesk.access.invitations`) enforces the rules; `menu_items` shows
the same rules (`frontdesk.access.rules.refusal`, the design's table) so items that do not
apply are shown disabled with the reason. A confirmed request (a ⋮ action here, a correction
in `screens.corrections`) is a `DeskRequest`; `perform_action` is its blocking part: it runs
in a thread worker, never touches a widget, hands the email it queued to the mail server, and
reports through messages posted to the app.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from textual.message import Message

from frontdesk.access.rules import PortalAction, PortalStatus, refusal
from screens.display import PracticeView, local_time

if TYPE_CHECKING:  # the database layer is imported when the services open, not at start
    from frontdesk.access.outcomes import ActionOutcome, BulkPlan
    from frontdesk.charts.records import ContactInput
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
    ActionKind.SEND_RESET: ("Send password reset", "s"),
    ActionKind.RETRY_EMAIL: ("Retry email now", "t"),
}


def action_label(kind: ActionKind) -> str:
    """The menu label of an action ("Resend Invite")."""
    return _LABELS[kind][0]


def _item(kind: ActionKind, reason: str | None = None) -> MenuItem:
    label, key = _LABELS[kind]
    return MenuItem(kind, label, key, reason)


def menu_items(chart: ChartSummary, *, portal_active: bool = True) -> tuple[MenuItem, ...]:
    """The ⋮ menu for a chart: Change Ownership, Resend Invite, Revoke Access, Activate Portal
    Access where there is no access, and Send password reset; each disabled with the rules'
    reason where it does not apply."""
    status = chart.status.status

    def item(kind: ActionKind) -> MenuItem:
        reason = refusal(
            kind, status, owner_has_email=bool(chart.owner.email), portal_active=portal_active
        )
        return _item(kind, reason)

    kinds = [ActionKind.CHANGE_OWNER, ActionKind.RESEND, ActionKind.REVOKE]
    if status is PortalStatus.NO_PORTAL_ACCESS:
        kinds.append(ActionKind.ACTIVATE)
    kinds.append(ActionKind.SEND_RESET)
    if chart.delivery is not None and chart.delivery.state in ("failed", "retrying"):
        kinds.append(ActionKind.RETRY_EMAIL)  # offered only while its email is in trouble
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
class DeskResult:
    """What a confirmed request did, as the desk is told it: the sentence, the chart as it is
    now (read after the request's transaction), and the emails it queued, which are handed
    to the mail server next (`email_noun` and `email_to` name them in a delivery notice)."""

    message: str
    chart: ChartSummary
    outbox_ids: tuple[int, ...] = ()
    email_noun: str = "invitation"
    email_to: str | None = None  # None: the chart owner's address

    @property
    def outbox_id(self) -> int | None:
        """The (last) email queued, or None when the request queued none."""
        return self.outbox_ids[-1] if self.outbox_ids else None


class DeskRequest(Protocol):
    """A confirmed request for one chart: what the app's worker runs (blocking)."""

    @property
    def chart_number(self) -> str: ...

    @property
    def title(self) -> str:
        """What it is called when it is not done ("Resend Invite: not done")."""
        ...

    def run(self, services: Services) -> DeskResult:
        """Call the service, then read the chart as it is now (database work)."""
        ...


@dataclass(frozen=True)
class PortalRequest:
    """A confirmed ⋮ action for one chart, with what the desk saw when it confirmed."""

    kind: ActionKind
    chart_number: str
    seen_invitation_id: int | None = None
    seen_owner_version: int | None = None
    owner: OwnerChoice | None = None

    @property
    def title(self) -> str:
        return action_label(self.kind)

    def run(self, services: Services) -> DeskResult:
        if self.kind is ActionKind.SEND_RESET:
            return self._send_reset(services)
        from frontdesk.desk.actions import ActionResult
        from frontdesk.desk.wording import emails_noun

        result = ActionResult.after(services.views, self._act(services))
        return DeskResult(
            result.message,
            result.chart,
            () if result.outbox_id is None else (result.outbox_id,),
            emails_noun(result.outcome),
        )

    def _send_reset(self, services: Services) -> DeskResult:
        from frontdesk.desk.wording import reset_sentence

        sent = services.resets.send_from_desk(self.chart_number)
        zone = PracticeView.of(services.practice.practice()).zone
        return DeskResult(
            reset_sentence(sent, expires=local_time(sent.expires_at, zone)),
            services.views.chart(self.chart_number),
            (sent.outbox_id,),
            "password reset email",
            sent.owner_email,
        )

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
    PAUSED = "paused"  # a setup failure paused the outbox (frontdesk.mail.pause); stays queued


class DeliveryUnavailable(Exception):
    """Delivery cannot start; the email stays queued. str(error) is one line for staff."""


# --------------------------------------------------------------------------------------------
# Messages: screens ask the app; the app's worker reports back; the app tells the screens.
# --------------------------------------------------------------------------------------------


class ActionRequested(Message):
    """A screen asks the app to run a confirmed request."""

    def __init__(self, request: DeskRequest) -> None:
        super().__init__()
        self.request = request


class OpenChart(Message):
    """A screen asks the app to show a chart. `back_to_it`: when the screen below the current
    one is that chart (the current one was opened from it), go back to it instead of opening
    it again. The app opens it, so a screen that links to charts does not import the chart
    screen (which imports the panels that open those screens: no import cycle)."""

    def __init__(self, chart_number: str, *, back_to_it: bool = False) -> None:
        super().__init__()
        self.chart_number = chart_number
        self.back_to_it = back_to_it


class BulkRequested(Message):
    """A screen asks the app to run a confirmed bulk action (screens.bulk_progress)."""

    def __init__(self, plan: BulkPlan) -> None:
        super().__init__()
        self.plan = plan


class ActionFinished(Message):
    """The service call ended: `result` on success, else `error` (one line) and its severity."""

    def __init__(
        self,
        request: DeskRequest,
        result: DeskResult | None,
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
        request: DeskRequest,
        result: DeskResult,
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
        """What the desk is told, and how loudly (addresses whole: staff catch a typo)."""
        owner_email = self.result.email_to or (self.chart or self.result.chart).owner.email or ""
        noun = self.result.email_noun
        if self.state is MailState.SENT:
            return self.result.message.rstrip("."), "information"
        if self.state is MailState.RETRYING:
            return (
                f"Mail server unreachable — the {noun} is queued and will be retried",
                "warning",
            )
        if self.state is MailState.HELD:
            return f"The {noun} is queued but not sent: {self.error}", "warning"
        if self.state is MailState.PAUSED:
            reason = f" ({self.error})" if self.error else ""
            return (
                f"Email is paused{reason}: the {noun} is queued and goes out once the mail "
                "server setup is fixed",
                "warning",
            )
        if self.state is MailState.FAILED:
            reason = self.error or "the mail server refused it"
            return f"Not delivered to {owner_email}: {reason}", "error"
        return (
            f"The {noun} to {owner_email} is queued; the mail service sends it",
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
    result: DeskResult, chart: ChartSummary | None, report: object
) -> tuple[MailState, str | None]:
    """How the action's email fared: from the chart's own delivery row when the email belongs
    to its live invitation, else from the delivery report."""
    if getattr(report, "paused", False):
        return MailState.PAUSED, None
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
    request: DeskRequest,
    services: Services,
    deliver: Callable[[], Deliver | None],
    post: Callable[[Message], object],
) -> None:
    """Run a confirmed request, then hand its emails to the mail server. Blocking: call it from
    a thread worker. Touches no widget; every outcome is posted as a message."""
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
    if state is MailState.PAUSED:
        paused = services.mail_pauses().current()
        error = paused.reason if paused is not None else None
    post(MailSettled(request, result, state, chart, error))
