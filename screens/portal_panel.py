"""The Communications tab's Client Portal section: the Chart Owner row (who owns portal access,
their email, the status tag, when the link was sent and expires, email delivery) with its ⋮
button, and the chart's invitation history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Collapsible, DataTable, Label

from frontdesk.core.clock import as_utc
from screens.display import (
    ACTIVE,
    EXPIRED,
    LOCKED,
    NO_PORTAL_ACCESS,
    PracticeView,
    local_time,
    short_time,
)
from screens.safe_text import cell, template
from screens.widgets import DataStatic, StatusTag

if TYPE_CHECKING:
    from frontdesk.audit import AuditRow
    from frontdesk.desk.views import ChartDetail

# What a tag means, beside it (Invited shows its own "expires in N days").
_STATUS_NOTES = {
    NO_PORTAL_ACCESS: "never invited, or access revoked",
    EXPIRED: "the link no longer works; resend to send a new one",
    LOCKED: "too many failed identity checks; resend to start fresh",
    ACTIVE: "registered; can sign in",
}


class ChartOwnerRow(Horizontal):
    """Who owns the chart's portal access and where their invitation stands."""

    class MenuRequested(Message):
        """The ⋮ button was pressed."""

    def compose(self) -> ComposeResult:
        with Vertical(id="owner-details"):
            yield Label("Chart Owner", classes="row-title")
            yield DataStatic("Loading…", id="owner-name")
            yield DataStatic(id="owner-email")
            with Horizontal(id="owner-state"):
                yield StatusTag(id="owner-status")
                yield DataStatic(id="owner-detail")
            yield DataStatic(id="owner-sent")
            yield DataStatic(id="owner-expiry")
            yield DataStatic(id="owner-delivery")
        yield Button("⋮", id="owner-menu", tooltip="Actions  ( . )", compact=True)

    @on(Button.Pressed, "#owner-menu")
    def _menu_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.MenuRequested())

    def show(self, chart: ChartDetail, practice: PracticeView, *, sending: bool) -> None:
        """Fill the row from the chart as the store has it now."""
        zone = practice.zone
        owner = chart.owner
        info = chart.status
        self.query_one("#owner-name", DataStatic).show(
            template(
                "[b]$name[/b] · $relationship", name=owner.name, relationship=owner.relationship
            )
        )
        self.query_one("#owner-email", DataStatic).show(owner.email or "No email address on file")
        self.query_one(StatusTag).show(info)
        self.query_one("#owner-detail", DataStatic).show(
            _STATUS_NOTES.get(info.status.value, info.detail)
        )
        sent = expiry = ""
        if info.status.value == ACTIVE:
            sent = f"Registered; signs in as {chart.account_email or owner.email or '—'}"
        elif chart.sent_at is None:
            sent = "No live invitation"
        else:
            sent = f"Last sent {local_time(chart.sent_at, zone)} by {chart.sent_by or '—'}"
            if chart.expires_at is not None:
                when = local_time(chart.expires_at, zone)
                if info.status.value == EXPIRED:
                    expiry = f"Expired {when}"
                elif info.status.value == LOCKED:
                    expiry = f"Locked after {chart.failed_attempts} failed identity checks"
                else:
                    expiry = f"Expires {when}"
        self.query_one("#owner-sent", DataStatic).show(sent)
        self.query_one("#owner-expiry", DataStatic).show(expiry)
        delivery_line = self.query_one("#owner-delivery", DataStatic)
        delivery = chart.delivery
        failed = delivery is not None and delivery.state in ("failed", "bounced")
        delivery_line.set_class(failed, "-failed")
        delivery_line.set_class(delivery is not None and delivery.state == "retrying", "-retrying")
        if sending:
            delivery_line.show("Email: sending…")
        elif delivery is None or info.status.value == ACTIVE:
            delivery_line.show("")
        elif delivery.state == "sent" and delivery.sent_at is not None:
            delivery_line.show(f"Email sent {local_time(delivery.sent_at, zone)}")
        elif delivery.state == "retrying" and delivery.next_attempt_at is not None:
            delivery_line.show(
                f"Email queued; retrying {local_time(delivery.next_attempt_at, zone)}"
                + (f" ({delivery.error})" if delivery.error else "")
            )
        else:
            delivery_line.show(delivery.label)


class InvitationHistory(DataTable[Text]):
    """The chart's invitation history, newest first: what happened, who did it, when."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=False)
        self._rows: list[tuple[str, str, str, str]] = []
        self._width = 0
        self._zone_name = ""

    def show(self, events: Sequence[AuditRow], practice: PracticeView, now: datetime) -> None:
        """The chart's history as `frontdesk.desk.history` reads it (links' expiries
        included, clients named "client"), newest first."""
        zone = practice.zone
        zone_name = as_utc(now).astimezone(zone).strftime("%Z")
        if zone_name != self._zone_name:
            self._zone_name = zone_name
            self._width = -1  # rebuild the columns: the header names the zone
        entries = [
            (
                event.at,
                event.actor,
                event.action,
                event.detail if event.outcome == "ok" else f"{event.outcome}: {event.detail}",
            )
            for event in events
        ]
        rows = [
            (short_time(at, zone, now), actor, action, detail.rstrip(": "))
            for at, actor, action, detail in entries
        ]
        if rows != self._rows or not self.columns:
            self._rows = rows
            self._fill()

    def _fill(self) -> None:
        if self._width != self.size.width or not self.columns:
            self.clear(columns=True)
            self._width = self.size.width
            who = max((len(row[1]) for row in self._rows), default=5)
            who = min(max(who, 3), 16)
            when, what = 20, 22
            detail = max(10, self._width - 2 - 8 - when - who - what)
            self.add_column(f"When ({self._zone_name})", width=when, key="when")
            self.add_column("Who", width=who, key="who")
            self.add_column("What", width=what, key="what")
            self.add_column("Detail", width=detail, key="detail")
        else:
            self.clear()
        widths = [column.width for column in self.ordered_columns]
        for row in self._rows:
            self.add_row(
                *(cell(value, width=width) for value, width in zip(row, widths, strict=True))
            )

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width:
            self._fill()


class ClientPortalPanel(Collapsible):
    """The collapsible Client Portal section of the Communications tab."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            ChartOwnerRow(id="chart-owner"),
            Label("Invitation history", classes="section-title"),
            InvitationHistory(id="history"),
            title="Client Portal",
            collapsed=False,
            id=id,
        )
