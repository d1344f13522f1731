"""The chart's Overview tab: the client's details and the Related contacts section (name,
relationship, full email, phone, the Chart Owner marked), where contacts are added, edited and
removed. Everything shown is data, shown literally."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from screens.display import birth_date
from screens.safe_text import lines, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.charts.records import ContactView
    from frontdesk.desk.views import ChartDetail

OWNER_MARK = "Chart Owner"
OWNER_REMOVE_REASON = "change the owner first"


def contact_prompt(contact: ContactView) -> Content:
    """Two lines: "Name · Relationship  Chart Owner" and "email · phone"."""
    first = template(
        "[b]$name[/b] · $relationship", name=contact.name, relationship=contact.relationship
    )
    if contact.is_owner:
        first = Content.assemble(first, "  ", template("[reverse b] $mark [/]", mark=OWNER_MARK))
    second = template(
        "  $email · $phone",
        email=contact.email or "no email",
        phone=contact.phone or "no phone",
    )
    return Content.assemble(first, "\n", second)


class ContactList(OptionList):
    """The chart's related contacts. `a` adds, Enter edits, Delete removes (dimmed for the
    Chart Owner: change the owner first). The chart's own keys keep working here; they leave
    the footer while the list has focus, so that the list's keys fit 80 columns."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "screen.add_contact", "Add contact", id="contacts.add"),
        Binding("enter", "screen.edit_contact", "Edit contact", id="contacts.edit"),
        Binding(
            "delete",
            "screen.remove_contact",
            "Remove",
            key_display="del",
            id="contacts.remove",
        ),
        Binding("e", "screen.edit", "Edit chart", show=False),
        Binding("c", "screen.communications", "Communications", show=False),
        Binding("p", "screen.toggle_portal", "Portal", show=False),
        Binding("full_stop", "screen.menu", "⋮ Menu", show=False),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.contacts: tuple[ContactView, ...] = ()

    @property
    def highlighted_contact(self) -> ContactView | None:
        index = self.highlighted
        if index is None or not 0 <= index < len(self.contacts):
            return None
        return self.contacts[index]

    def show(self, contacts: Sequence[ContactView]) -> None:
        """The contacts as the store has them now; the highlight stays on its contact."""
        contacts = tuple(contacts)
        if contacts == self.contacts:
            return
        kept = self.highlighted_contact
        self.contacts = contacts
        self.clear_options()
        self.add_options(
            Option(contact_prompt(contact), id=f"contact-{contact.id}") for contact in contacts
        )
        if contacts:
            ids = [contact.id for contact in contacts]
            self.highlighted = ids.index(kept.id) if kept is not None and kept.id in ids else 0


class ChartOverview(VerticalScroll, can_focus=False):
    """The Overview tab's content (Tab goes from the tabs straight to the contact list)."""

    def compose(self) -> ComposeResult:
        yield DataStatic("Loading…", id="overview-details")
        yield Label("Related contacts", classes="section-title")
        yield ContactList(id="contact-list")
        yield DataStatic(id="contacts-hint")

    def show(self, chart: ChartDetail, contacts: Sequence[ContactView]) -> None:
        self.query_one("#overview-details", DataStatic).show(
            lines(
                [
                    f"Name            {chart.first_name} {chart.last_name}",
                    f"Preferred name  {chart.preferred_name or '—'}",
                    f"Date of birth   {birth_date(chart.date_of_birth)}",
                    f"Email           {chart.email or '—'}",
                    f"Phone           {chart.phone or '—'}",
                ]
            )
        )
        self.query_one(ContactList).show(contacts)
        self.show_hint()

    def show_hint(self) -> None:
        """Under the list: how to reach it, or why the highlighted contact cannot be removed."""
        contact_list = self.query_one(ContactList)
        contact = contact_list.highlighted_contact
        hint: str | Content
        if not contact_list.contacts:
            hint = (
                "None on file; a adds a contact."
                if contact_list.has_focus
                else "None on file. Tab moves to the list; a adds a contact."
            )
        elif not contact_list.has_focus:
            hint = "Tab moves to the list: a adds, ⏎ edits, del removes a contact."
        elif contact is not None and contact.is_owner:
            hint = template(
                "$name is the Chart Owner and cannot be removed: $reason (. then c).",
                name=contact.name,
                reason=OWNER_REMOVE_REASON,
            )
        else:
            hint = ""
        self.query_one("#contacts-hint", DataStatic).show(hint)

    @on(OptionList.OptionHighlighted, "#contact-list")
    def _highlighted(self) -> None:
        self.show_hint()
        self.screen.refresh_bindings()  # Remove is dimmed on the Chart Owner

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.show_hint()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.show_hint()
