"""The correction forms: Edit chart (first, last, preferred name, date of birth, email, phone)
and a related contact (name, relationship, email, phone), added or edited.

Keyboard only: Tab moves between the fields, Enter or Ctrl+S saves, Escape cancels. Saving asks
the service what the change would do (`plan_chart_edit`, `plan_contact_edit`, `check_contact`:
reads only) in a thread worker; a refused field shows its error AT the field, and the form stays
open. A form returns what was typed and its plan (`ChartEdit`, `ContactEdit`); it never saves:
the caller confirms and acts. The fields open filled with the record's values shown literally
(control characters stripped); a field left as it opened is not sent, so an untouched field is
never "changed".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from screens.corrections import ChartEdit, ContactEdit
from screens.display import birth_date
from screens.safe_text import clean, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.access.chart_edits import ChartChanges, ContactChanges, EditPlan
    from frontdesk.charts.records import ContactInput, ContactView
    from frontdesk.desk.views import ChartDetail

ResultT = TypeVar("ResultT")

# (field name as the service names it, label, placeholder)
Field = tuple[str, str, str]
CHART_FORM: tuple[Field, ...] = (
    ("first_name", "First name", "required"),
    ("last_name", "Last name", "required"),
    ("preferred_name", "Preferred name", "optional"),
    ("date_of_birth", "Date of birth", "YYYY-MM-DD"),
    ("email", "Email", "name@example.com"),
    ("phone", "Phone", "optional"),
)
CONTACT_FORM: tuple[Field, ...] = (
    ("name", "Name", "First and last name"),
    ("relationship", "Relationship", "Mother, Father, Guardian, Spouse…"),
    ("email", "Email", "name@example.com (optional)"),
    ("phone", "Phone", "optional"),
)


class FieldForm(ModalScreen[ResultT | None]):
    """A form of one-line fields whose values the service checks before it is returned."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]
    FORM: ClassVar[tuple[Field, ...]] = ()

    class Checked(Message):
        """The service accepted the values: `result` is what the form returns."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    class Refused(Message):
        """A value was refused: `message` (one line) belongs at `field` (None: the form)."""

        def __init__(self, message: str, field: str | None) -> None:
            super().__init__()
            self.message = message
            self.field = field

    def __init__(
        self,
        title: str,
        intro: Content,
        values: Mapping[str, str],
        *,
        typed: object = None,
        id: str | None = None,
    ) -> None:
        """`values`: the record as it is (what "unchanged" means); `typed`: the changes to
        show instead (`ChartChanges`, `ContactChanges`: a form opened again after its
        confirmation was cancelled; a None field shows the record's value)."""
        super().__init__(id=id)
        self.title_text = title
        self.intro = intro
        self.original = {name: clean(values.get(name, "")) for name, _, _ in self.FORM}
        self.typed = dict(self.original)
        for name in self.typed:
            value = getattr(typed, name, None)
            if value is not None:
                self.typed[name] = str(value)
        self.checking = False
        self._typo_kept: str | None = None  # an address kept after its typo warning

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog edit-form") as dialog:
            dialog.border_title = self.title_text
            yield DataStatic(self.intro, classes="dialog-body")
            yield DataStatic(id="form-error", classes="form-error")
            for name, label, placeholder in self.FORM:
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield Input(
                        self.typed.get(name, ""),
                        placeholder=placeholder,
                        id=f"field-{name}",
                        compact=True,
                    )
                yield DataStatic(id=f"{name}-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static(
                "Tab next field · Enter or Ctrl+S save · Esc cancel",
                classes="dialog-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.field_input(self.FORM[0][0]).focus()

    def field_input(self, name: str) -> Input:
        return self.query_one(f"#field-{name}", Input)

    # ------------------------------------------------------------------ keys

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        if self.checking:
            return  # the values are being checked; one check at a time
        values = {name: self.field_input(name).value for name, _, _ in self.FORM}
        self.checking = True
        self._check(values)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    # ------------------------------------------------------------------ checking

    def changed(self, values: Mapping[str, str]) -> dict[str, str | None]:
        """Each field's typed value, or None where it is as the form opened."""
        return {
            name: None if values[name] == self.original[name] else values[name]
            for name, _, _ in self.FORM
        }

    def evaluate(self, values: Mapping[str, str]) -> ResultT:
        """Ask the service about `values` and build the result (blocking: a worker calls it;
        an `InvalidInput` names the refused field)."""
        raise NotImplementedError

    @work(thread=True, exclusive=True, group="form-check", exit_on_error=False)
    def _check(self, values: dict[str, str]) -> None:
        from frontdesk.core.errors import FrontDeskError, InvalidInput
        from store.db import StoreError

        try:
            result = self.evaluate(values)
        except InvalidInput as refused:
            self.post_message(self.Refused(str(refused), refused.field))
        except (FrontDeskError, StoreError) as failed:
            self.post_message(self.Refused(str(failed), None))
        else:
            self.post_message(self.Checked(result))

    @on(Checked)
    def _checked(self, event: Checked) -> None:
        self.checking = False
        if self._warn_of_typo():
            return
        self.dismiss(event.result)

    def _warn_of_typo(self) -> bool:
        """A new email whose domain looks mistyped ("gmial.com") is said once at its field;
        saving again keeps it."""
        from frontdesk.core.emails import likely_typo

        names = [name for name, _, _ in self.FORM]
        if "email" not in names:
            return False
        typed = self.field_input("email").value.strip()
        if not typed or typed == self.original["email"] or typed == self._typo_kept:
            return False
        suggestion = likely_typo(typed)
        if suggestion is None:
            return False
        self._typo_kept = typed
        for name in names:
            self.show_error(name, "")
        error = self.query_one("#email-error", DataStatic)
        error.show(f"Did you mean {clean(suggestion)}? Save again to keep {clean(typed)}.")
        error.set_class(True, "-visible", "-warning")
        self.field_input("email").focus()
        return True

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        self.checking = False
        names = [name for name, _, _ in self.FORM]
        at = event.field if event.field in names else None
        for name in names:
            self.show_error(name, event.message if name == at else "")
        form_error = self.query_one("#form-error", DataStatic)
        form_error.show("" if at else event.message)
        form_error.set_class(at is None, "-visible")
        if at is not None:
            self.field_input(at).focus()

    def show_error(self, name: str, message: str) -> None:
        error = self.query_one(f"#{name}-error", DataStatic)
        error.show(message)
        error.set_class(bool(message), "-visible")
        error.remove_class("-warning")
        self.field_input(name).set_class(bool(message), "-invalid")


def _chart_values(chart: ChartDetail) -> dict[str, str]:
    return {
        "first_name": chart.first_name,
        "last_name": chart.last_name,
        "preferred_name": chart.preferred_name or "",
        "date_of_birth": birth_date(chart.date_of_birth),
        "email": chart.email or "",
        "phone": chart.phone or "",
    }


class EditChartDialog(FieldForm[ChartEdit]):
    """Correct a chart's client fields. Returns the typed changes and their plan."""

    FORM = CHART_FORM

    def __init__(
        self,
        chart: ChartDetail,
        plan: Callable[[ChartChanges], EditPlan],
        *,
        typed: ChartChanges | None = None,
    ) -> None:
        intro = template(
            "[b]$name[/b] · chart $number\n"
            "A new last name or date of birth, or the owner's new email, ends a live "
            "invitation link; you confirm before anything is saved.",
            name=f"{chart.first_name} {chart.last_name}",
            number=chart.chart_number,
        )
        super().__init__(
            "Edit chart", intro, _chart_values(chart), typed=typed, id="edit-chart-dialog"
        )
        self.plan = plan

    def evaluate(self, values: Mapping[str, str]) -> ChartEdit:
        from frontdesk.access.chart_edits import ChartChanges

        changes = ChartChanges(**self.changed(values))
        return ChartEdit(changes, self.plan(changes))


class ContactDialog(FieldForm[ContactEdit]):
    """Add a related contact to a chart (`contact` None), or correct one."""

    FORM = CONTACT_FORM

    def __init__(
        self,
        chart: ChartDetail,
        check: Callable[[ContactInput], None],
        plan: Callable[[int, ContactChanges], EditPlan],
        *,
        contact: ContactView | None = None,
        typed: ContactChanges | None = None,
    ) -> None:
        client = f"{chart.first_name} {chart.last_name}"
        if contact is None:
            title = "Add a related contact"
            intro = template(
                "A guardian, parent or other person on [b]$client[/b]'s chart ($number).",
                client=client,
                number=chart.chart_number,
            )
            values: dict[str, str] = {}
        else:
            title = "Edit related contact"
            intro = template(
                "[b]$name[/b] ($relationship) on $client's chart ($number).",
                name=contact.name,
                relationship=contact.relationship,
                client=client,
                number=chart.chart_number,
            )
            if contact.is_owner:
                intro = Content.assemble(
                    intro,
                    Content(
                        "\nThe Chart Owner: a new email ends a live invitation link or "
                        "changes the portal sign-in email; you confirm first."
                    ),
                )
            values = {
                "name": contact.name,
                "relationship": contact.relationship,
                "email": contact.email or "",
                "phone": contact.phone or "",
            }
        super().__init__(title, intro, values, typed=typed, id="contact-dialog")
        self.contact = contact
        self.check = check
        self.plan = plan

    def evaluate(self, values: Mapping[str, str]) -> ContactEdit:
        from frontdesk.access.chart_edits import ContactChanges
        from frontdesk.charts.records import ContactInput

        name = " ".join(values["name"].split())
        relationship = " ".join(values["relationship"].split())
        if self.contact is None:
            new = ContactInput(
                values["name"],
                values["relationship"],
                values["email"].strip() or None,
                values["phone"].strip() or None,
            )
            self.check(new)
            return ContactEdit(None, name, relationship, new=new)
        changes = ContactChanges(**self.changed(values))
        plan = self.plan(self.contact.id, changes)
        return ContactEdit(self.contact.id, name, relationship, changes=changes, plan=plan)
