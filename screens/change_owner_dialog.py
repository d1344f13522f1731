"""Change Ownership, step one: pick the client or a related contact, or add a contact (name,
relationship, email checked at the field). Returns an `OwnerChoice`; the caller confirms and acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from frontdesk.core.emails import InvalidEmail, likely_typo, normalize_email
from frontdesk.core.text import has_controls
from screens.actions import OwnerChoice
from screens.safe_text import clean, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.charts.records import Contact
    from frontdesk.desk.views import ChartDetail

NEW_CONTACT = "new"
_FIELDS = ("name", "relationship", "email")


class ChangeOwnerDialog(ModalScreen[OwnerChoice | None]):
    """Pick who should own the chart's portal access."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, chart: ChartDetail, contacts: Sequence[Contact] | None = None) -> None:
        """`contacts`: the chart's related contacts as listed (removed ones left out);
        default: those the chart view carries."""
        super().__init__()
        self.chart = chart
        self.contacts = tuple(chart.contacts if contacts is None else contacts)
        self._typo_accepted: str | None = None

    def _choices(self) -> list[tuple[str, OwnerChoice | None, str]]:
        """(option id, choice, why not) for the client and each related contact."""
        chart = self.chart
        current = chart.owner.contact_id
        client_name = f"{chart.first_name} {chart.last_name}"
        choices: list[tuple[str, OwnerChoice | None, str]] = [
            (
                "client",
                OwnerChoice(client_name, "Client", chart.email, to_client=True),
                "current owner" if chart.owner.is_client else "",
            )
        ]
        for contact in self.contacts:
            choices.append(
                (
                    f"contact-{contact.id}",
                    OwnerChoice(
                        contact.name,
                        contact.relationship,
                        contact.email,
                        contact_id=contact.id,
                    ),
                    "current owner" if contact.id == current else "",
                )
            )
        return choices

    def compose(self) -> ComposeResult:
        chart = self.chart
        with Vertical(classes="dialog", id="change-owner") as dialog:
            dialog.border_title = "Change Ownership"
            yield DataStatic(
                template(
                    "Who should own portal access for [b]$client[/b]? Now: $owner ($relationship).",
                    client=f"{chart.first_name} {chart.last_name}",
                    owner=chart.owner.name,
                    relationship=chart.owner.relationship,
                ),
                classes="dialog-body",
            )
            options = []
            for option_id, choice, why_not in self._choices():
                assert choice is not None
                label = template(
                    "$name · $relationship · $email",
                    name=choice.name,
                    relationship=choice.relationship,
                    email=choice.email or "no email",
                )
                if why_not:
                    label = Content.assemble(label, template("  ([i]$why[/])", why=why_not))
                options.append(Option(label, id=option_id, disabled=bool(why_not)))
            options.append(Option(template("[b]+[/] Add a related contact…"), id=NEW_CONTACT))
            yield OptionList(*options, id="owner-choices")
            with Vertical(id="new-contact"):
                for field, field_label, hint in (
                    ("name", "Name", "First and last name"),
                    ("relationship", "Relationship", "Mother, Father, Guardian, Spouse…"),
                    ("email", "Email", "name@example.com"),
                ):
                    with Horizontal(classes="field"):
                        yield Label(field_label, classes="field-label")
                        yield Input(placeholder=hint, id=f"contact-{field}", compact=True)
                    yield DataStatic(id=f"{field}-error", classes="field-error")
            yield Checkbox("Invite the new owner now", True, id="invite-now", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Continue", id="continue", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static("↑↓ pick · Enter choose · Tab next · Esc cancel", classes="dialog-hint")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = next(
            (
                index
                for index in range(options.option_count)
                if not options.get_option_at_index(index).disabled
            ),
            None,
        )
        options.focus()

    # ------------------------------------------------------------------ choosing

    @property
    def adding(self) -> bool:
        return self.has_class("-adding")

    @on(OptionList.OptionHighlighted, "#owner-choices")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.set_class(event.option.id == NEW_CONTACT, "-adding")

    @on(OptionList.OptionSelected, "#owner-choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == NEW_CONTACT:
            self.add_class("-adding")
            self.query_one("#contact-name", Input).focus()
        else:
            self._continue()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "contact-email":
            self._continue()
        else:
            self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "continue":
            self._continue()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    # ------------------------------------------------------------------ result

    def _continue(self) -> None:
        invite = self.query_one("#invite-now", Checkbox).value
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        option_id = options.get_option_at_index(options.highlighted).id
        if option_id == NEW_CONTACT:
            choice = self._new_contact(invite)
            if choice is not None:
                self.dismiss(choice)
            return
        for candidate_id, choice, why_not in self._choices():
            if candidate_id == option_id and choice is not None and not why_not:
                self.dismiss(
                    OwnerChoice(
                        choice.name,
                        choice.relationship,
                        choice.email,
                        to_client=choice.to_client,
                        contact_id=choice.contact_id,
                        invite=invite,
                    )
                )

    def _field(self, name: str) -> str:
        return self.query_one(f"#contact-{name}", Input).value

    def _show_error(self, field: str, message: str, *, warning: bool = False) -> None:
        error = self.query_one(f"#{field}-error", DataStatic)
        error.show(message)
        error.set_class(bool(message), "-visible")
        error.set_class(warning, "-warning")
        field_input = self.query_one(f"#contact-{field}", Input)
        field_input.set_class(bool(message) and not warning, "-invalid")

    def _new_contact(self, invite: bool) -> OwnerChoice | None:
        """Check the new contact's fields; show each problem at its field."""
        errors: dict[str, str] = {}
        values = {field: " ".join(self._field(field).split()) for field in _FIELDS}
        for field, label in (("name", "Name"), ("relationship", "Relationship")):
            raw = self._field(field)
            if has_controls(raw):
                errors[field] = f"{label} contains a control character."
            elif not values[field]:
                errors[field] = f"{label} is required."
            elif len(values[field]) > (100 if field == "name" else 60):  # the service's limits
                errors[field] = f"{label} is too long."
        email = ""
        try:
            email = normalize_email(self._field("email"))
        except InvalidEmail as exc:
            errors["email"] = str(exc)
        for field in _FIELDS:
            self._show_error(field, errors.get(field, ""))
        if errors:
            first = next(field for field in _FIELDS if field in errors)
            self.query_one(f"#contact-{first}", Input).focus()
            return None
        suggestion = likely_typo(email)
        if suggestion and self._typo_accepted != email:
            self._typo_accepted = email
            self._show_error(
                "email",
                f"Did you mean {clean(suggestion)}? Continue again to keep {clean(email)}.",
                warning=True,
            )
            return None
        from frontdesk.charts.records import ContactInput

        return OwnerChoice(
            values["name"],
            values["relationship"],
            email,
            new_contact=ContactInput(values["name"], values["relationship"], email),
            invite=invite,
        )
