"""Retry now, from the chart's ⋮ menu: the chart's failed or retrying invitation email is sent
again at once, with the same link and Message-ID (no new invitation; audited). The menu offers
it only while that email is failed or retrying; a confirmation asks first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from screens.actions import ActionKind, DeskResult
from screens.confirm_dialog import ConfirmDialog
from screens.safe_text import template

if TYPE_CHECKING:
    from frontdesk.desk.views import ChartSummary
    from frontdesk.services import Services

RETRYABLE_STATES = ("failed", "retrying")


def can_retry(chart: ChartSummary) -> bool:
    """Whether the chart's invitation email is failed or retrying."""
    return chart.delivery is not None and chart.delivery.state in RETRYABLE_STATES


def retry_dialog(chart: ChartSummary) -> ConfirmDialog:
    delivery = chart.delivery
    why = delivery.label if delivery is not None else ""
    body = template(
        "Send the invitation email to [b]$email[/b] again now?\n\n"
        "$why\n\n"
        "It goes with the same link (it still expires as before); no new invitation is made.",
        email=chart.owner.email or "",
        why=why,
    )
    return ConfirmDialog("Retry email", body, "Send again now", id="retry-dialog")


@dataclass(frozen=True)
class RetryEmailRequest:
    """A confirmed retry of the chart's invitation email (a DeskRequest)."""

    chart_number: str
    kind: ActionKind = ActionKind.RETRY_EMAIL

    @property
    def title(self) -> str:
        return "Retry email"

    def run(self, services: Services) -> DeskResult:
        done = services.retries().retry_chart(self.chart_number)
        chart = services.views.chart(self.chart_number)
        return DeskResult(
            f"Invitation email sent again to {chart.owner.email or 'the chart owner'}",
            chart,
            done.retried,
        )
