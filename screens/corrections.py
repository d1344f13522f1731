"""Corrections of a chart and its related contacts, as confirmed requests (`DeskRequest`): what
the edit dialogs return, what the confirmation chose, and what the app's worker asks of the
service (`frontdesk.access.chart_edits`). The service decides again when it saves; the sentence
the desk is told comes from `frontdesk.desk.wording`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from screens.actions import DeskResult

if TYPE_CHECKING:  # the database layer is imported when the services open, not at start
    from frontdesk.access.chart_edits import ChartChanges, ContactChanges, EditPlan
    from frontdesk.charts.records import ContactInput
    from frontdesk.services import Services


class EditChoice(enum.StrEnum):
    """What the confirmation of a correction chose."""

    SAVE = "save"  # nothing else happens to portal access
    SEND_NEW_LINK = "send_new_link"  # the live link ends; a new one goes to the (new) address
    END_LINK_ONLY = "end_link_only"  # the live link ends; no new one is sent now


@dataclass(frozen=True)
class ChartEdit:
    """The Edit chart dialog's result: the fields typed (None: left as they were) and what the
    service says saving them would do."""

    changes: ChartChanges
    plan: EditPlan


@dataclass(frozen=True)
class ContactEdit:
    """The contact dialog's result. `contact_id` None: a new contact (`new` holds it, and
    `plan` is None); else the typed changes of that contact and their plan."""

    contact_id: int | None
    name: str
    relationship: str
    new: ContactInput | None = None
    changes: ContactChanges | None = None
    plan: EditPlan | None = None


@dataclass(frozen=True)
class ChartEditRequest:
    """Save a chart's corrections; `invite`: send a new link when the live one ends."""

    chart_number: str
    changes: ChartChanges
    invite: bool = True
    title: str = "Edit chart"

    def run(self, services: Services) -> DeskResult:
        from frontdesk.desk.wording import edit_sentence

        outcome = services.chart_edits.edit_chart(
            self.chart_number, self.changes, invite=self.invite
        )
        chart = services.views.chart(self.chart_number)
        owner_email = chart.owner.email
        return DeskResult(
            edit_sentence(outcome, what=f"Chart {chart.chart_number}", owner_email=owner_email),
            chart,
            outcome.outbox_ids,
            "email",
            owner_email,
        )


@dataclass(frozen=True)
class ContactEditRequest:
    """Save a related contact's corrections (the owner's new email may end the live link)."""

    chart_number: str
    contact_id: int
    name: str
    changes: ContactChanges
    invite: bool = True
    title: str = "Edit contact"

    def run(self, services: Services) -> DeskResult:
        from frontdesk.desk.wording import edit_sentence

        outcome = services.chart_edits.edit_contact(
            self.contact_id, self.changes, invite=self.invite
        )
        chart = services.views.chart(self.chart_number)
        owner_email = chart.owner.email
        return DeskResult(
            edit_sentence(outcome, what=self.name, owner_email=owner_email),
            chart,
            outcome.outbox_ids,
            "email",
            owner_email,
        )


@dataclass(frozen=True)
class ContactAddRequest:
    chart_number: str
    contact: ContactInput
    title: str = "Add contact"

    def run(self, services: Services) -> DeskResult:
        from frontdesk.desk.wording import contact_added_sentence

        added = services.chart_edits.add_contact(self.chart_number, self.contact)
        chart = services.views.chart(self.chart_number)
        return DeskResult(
            contact_added_sentence(added.name, added.relationship, chart_number=chart.chart_number),
            chart,
        )


@dataclass(frozen=True)
class ContactRemoveRequest:
    chart_number: str
    contact_id: int
    title: str = "Remove contact"

    def run(self, services: Services) -> DeskResult:
        from frontdesk.desk.wording import contact_removed_sentence

        number, removed = services.chart_edits.remove_contact(self.contact_id)
        chart = services.views.chart(number)
        return DeskResult(
            contact_removed_sentence(removed.name, removed.relationship, chart_number=number),
            chart,
        )
