"""An action as the desk sees it afterwards: what the lifecycle did (`ActionOutcome`) and the
chart as it is now (read after the action's transaction), with the desk's sentence for it."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.access.outcomes import ActionOutcome
from frontdesk.desk.views import ChartSummary, ChartViews
from frontdesk.desk.wording import action_sentence


@dataclass(frozen=True)
class ActionResult:
    """A confirmed action's outcome, and the chart as it is after it."""

    outcome: ActionOutcome
    chart: ChartSummary

    @classmethod
    def after(cls, views: ChartViews, outcome: ActionOutcome) -> ActionResult:
        """The outcome with its chart read now (blocking: one read)."""
        return cls(outcome, views.chart(outcome.chart_number))

    @property
    def outbox_id(self) -> int | None:
        return self.outcome.outbox_id

    @property
    def message(self) -> str:
        """The sentence the desk is told."""
        return action_sentence(self.outcome)
