"""Assign forms to one chart: the dialog, a confirmation, then the app's worker calls the
service and says what it did. The chart's Forms section starts it (f on the chart), and so do
the Portal inbox's thread and task views (f, for the item's chart): `AssignFlow.read` reads
the chart's client, the practice's zone and "now" in a thread worker first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from screens.actions import ActionRequested
from screens.confirm_dialog import ConfirmDialog
from screens.display import PracticeView
from screens.errors import toast
from screens.safe_text import template
from screens.tasks.dialogs import Assignable, AssignDialog, assignables
from screens.tasks.requests import AssignChoice, AssignRequest
from screens.tasks.wording import due_text

if TYPE_CHECKING:
    from textual.widget import Widget

    from frontdesk.services import Services


@dataclass
class AssignFlow:
    """The flow for `chart_number`, run from `node` (a widget or a screen)."""

    node: Widget
    services: Services
    chart_number: str
    client: str
    practice: PracticeView
    now: datetime

    @classmethod
    def read(cls, node: Widget, services: Services, chart_number: str) -> None:
        """Read what the dialog needs in a thread worker, then open it (or say why not)."""

        def load() -> None:
            from frontdesk.core.errors import FrontDeskError
            from store.db import StoreError

            try:
                chart = services.views.chart(chart_number)
                practice = PracticeView.of(services.practice.practice())
                now = services.clock.now()
            except (FrontDeskError, StoreError) as exc:
                node.app.call_from_thread(
                    toast, node, str(exc), title="Could not assign forms", severity="error"
                )
                return
            client = f"{chart.first_name} {chart.last_name}"
            flow = cls(node, services, chart_number, client, practice, now)
            node.app.call_from_thread(flow.start)

        node.run_worker(load, thread=True, group="assign-read", exit_on_error=False)

    def _read_assignables(self) -> tuple[Assignable, ...]:
        forms = self.services.forms
        return assignables(forms.packages(), forms.forms())

    def start(self, typed: tuple[str, str] | None = None) -> None:
        intro = template(
            "To [b]$client[/b] (chart $number). The forms wait on the Client Portal; the owner "
            "of an Active account is emailed that forms are waiting (never their content).",
            client=self.client,
            number=self.chart_number,
        )
        today = self.now.astimezone(self.practice.zone).date()
        self.node.app.push_screen(
            AssignDialog(intro, self._read_assignables, today=today, typed=typed),
            self._chosen,
        )

    def _chosen(self, choice: AssignChoice | None) -> None:
        if choice is None:
            return
        value = f"package:{choice.package_key}" if choice.package_key else f"form:{choice.form_key}"
        typed = (value, choice.due.isoformat() if choice.due else "")
        self.node.app.push_screen(
            self.confirmation(choice), lambda ok: self._confirmed(ok, choice, typed)
        )

    def confirmation(self, choice: AssignChoice) -> ConfirmDialog:
        due = ", due [b]$due[/b]" if choice.due else ""
        body = template(
            "Assign $what to [b]$client[/b] (chart $number)" + due + "?\n\n"
            "Forms the chart already has open are not repeated.",
            what=choice.label,
            client=self.client,
            number=self.chart_number,
            due=due_text(choice.due),
        )
        return ConfirmDialog("Assign forms", body, "Assign", id="assign-confirm")

    def _confirmed(self, ok: bool | None, choice: AssignChoice, typed: tuple[str, str]) -> None:
        if not ok:
            self.start(typed)  # back to the dialog, as it was
            return
        request = AssignRequest(self.chart_number, choice)
        run = getattr(self.node.screen, "run_request", None)
        if callable(run):
            run(request)  # the chart screen: busy until the app reports back
        else:
            self.node.app.post_message(ActionRequested(request))
