"""New chart, from the chart browser (Ctrl+N, or "New chart" in the palette): the client's
demographics, the Chart Owner (the client, or a related contact added here), the checkbox
"Send the client an email to set up their portal account" and a package of forms to assign.

Keyboard only: Tab / Enter move between the fields, Ctrl+S creates, Escape cancels (nothing
is written). The form scrolls when the terminal is short. Creating runs in a thread worker:
first the email addresses are checked (`check_email`: a probable typo, or an address already
on another chart, where a guardian as Chart Owner is suggested) and any new warning is shown
at its field once (Create again keeps the address); then `services.new_chart.create` writes
the chart, the owner, the invitation and the package's tasks in one transaction. A refusal
shows AT its field (the service's `InvalidInput.field`, the rules of `charts add`), the form
stays open and nothing is written. The form returns the `NewChartResult`; the caller tells
the desk, hands the invitation to the mail server and opens the chart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select, Static

from screens.errors import toast
from screens.safe_text import cell, clean
from screens.tasks.wording import package_label
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.app import FrontDeskApp
    from frontdesk.portal.forms import PackageInfo
    from frontdesk.portal.new_chart import EmailWarning, NewChart, NewChartResult
    from frontdesk.services import Services

# (field name as the service names it, label, placeholder)
CLIENT_FIELDS = (
    ("chart_number", "Chart number", "required, e.g. C-1042"),
    ("first_name", "First name", "required"),
    ("last_name", "Last name", "required"),
    ("preferred_name", "Preferred name", "optional"),
    ("date_of_birth", "Date of birth", "YYYY-MM-DD"),
    ("email", "Email", "name@example.com"),
    ("phone", "Phone", "optional"),
)
OWNER_FIELDS = (
    ("owner_name", "Name", "First and last name"),
    ("owner_relationship", "Relationship", "Mother, Father, Guardian…"),
    ("owner_email", "Email", "name@example.com"),
    ("owner_phone", "Phone", "optional"),
)
OWNER_NAMES = tuple(name for name, _, _ in OWNER_FIELDS)
FIELD_NAMES = tuple(name for name, _, _ in CLIENT_FIELDS + OWNER_FIELDS)
NO_PACKAGE = "-"  # the Select's value for "None"
INVITE_LABEL = "Send the client an email to set up their portal account"


@dataclass(frozen=True)
class Packages:
    """The packages offered (key, label), read when the form opens."""

    choices: tuple[tuple[str, str], ...]


class NewChartDialog(ModalScreen["NewChartResult | None"]):
    """The New chart form. `create` and `check_email` are the services' (blocking; the
    form's worker calls them); `packages` lists what may be assigned."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="new_chart.cancel"),
        Binding("ctrl+s", "create", "Create chart", id="new_chart.create"),
    ]

    class Warned(Message):
        """New email warnings (by field); nothing was written."""

        def __init__(
            self, warnings: dict[str, list[EmailWarning]], *, on_create: bool = False
        ) -> None:
            super().__init__()
            self.warnings = warnings
            self.on_create = on_create  # Create was pressed: its field takes the focus

    class Refused(Message):
        """A value was refused: `message` belongs at `field` (None: the form)."""

        def __init__(self, message: str, field: str | None) -> None:
            super().__init__()
            self.message = message
            self.field = field

    class Created(Message):
        def __init__(self, result: NewChartResult) -> None:
            super().__init__()
            self.result = result

    class PackagesRead(Message):
        def __init__(self, packages: Packages) -> None:
            super().__init__()
            self.packages = packages

    def __init__(
        self,
        *,
        create: Callable[[NewChart], NewChartResult],
        check_email: Callable[[str], list[EmailWarning]],
        packages: Callable[[], list[PackageInfo]],
    ) -> None:
        super().__init__(id="new-chart-dialog")
        self.create = create
        self.check_email = check_email
        self.read_packages = packages
        self.busy = False
        # Addresses whose warnings the desk has been shown: creating again keeps them.
        self.warned: set[str] = set()

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog new-chart-form") as dialog:
            dialog.border_title = "New chart"
            yield DataStatic(id="form-error", classes="form-error")
            yield from self._fields(CLIENT_FIELDS)
            yield Label("Chart Owner (who signs in to the Client Portal)", classes="section-label")
            with RadioSet(id="owner-choice", compact=True):
                yield RadioButton("The client", value=True, id="owner-client")
                yield RadioButton("A related contact: a parent, guardian…", id="owner-contact")
            with Vertical(id="owner-contact-fields"):
                yield from self._fields(OWNER_FIELDS)
            yield Checkbox(INVITE_LABEL, id="invite", compact=True)
            yield DataStatic(id="invite-error", classes="field-error")
            with Horizontal(classes="field"):
                yield Label("Forms package", classes="field-label")
                yield Select(
                    [("None", NO_PACKAGE)],
                    value=NO_PACKAGE,
                    allow_blank=False,
                    compact=True,
                    id="package",
                )
            yield DataStatic(id="package-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Create chart", id="create", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static(
                "Tab or Enter next field · Ctrl+S create · Esc cancel",
                classes="dialog-hint",
                markup=False,
            )

    @staticmethod
    def _fields(fields: tuple[tuple[str, str, str], ...]) -> ComposeResult:
        for name, label, placeholder in fields:
            with Horizontal(classes="field"):
                yield Label(label, classes="field-label")
                yield Input(placeholder=placeholder, id=f"field-{name}", compact=True)
            yield DataStatic(id=f"{name}-error", classes="field-error")

    def on_mount(self) -> None:
        self.field_input("chart_number").focus()
        self._read_packages()

    def field_input(self, name: str) -> Input:
        return self.query_one(f"#field-{name}", Input)

    @property
    def owner_is_contact(self) -> bool:
        return self.query_one("#owner-contact", RadioButton).value

    # ------------------------------------------------------------------ packages

    @work(thread=True, group="new-chart-packages", exit_on_error=False)
    def _read_packages(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            packages = self.read_packages()
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.Refused(f"Packages could not be read: {exc}", "package"))
            return
        choices = tuple((package.key, package_label(package)) for package in packages)
        self.post_message(self.PackagesRead(Packages(choices)))

    @on(PackagesRead)
    def _packages_read(self, event: PackagesRead) -> None:
        select: Select[str] = self.query_one("#package", Select)
        select.set_options(
            [("None", NO_PACKAGE), *((cell(label), key) for key, label in event.packages.choices)]
        )
        select.value = NO_PACKAGE

    # ------------------------------------------------------------------ keys

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        event.stop()
        self.focus_next()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "create":
            self.action_create()
        else:
            self.dismiss(None)

    @on(RadioSet.Changed, "#owner-choice")
    def _owner_changed(self) -> None:
        self.set_class(self.owner_is_contact, "-owner-contact")

    @on(Input.Blurred)
    def _email_left(self, event: Input.Blurred) -> None:
        """Point out a probable typo / an address on another chart as soon as it is typed."""
        field = (event.input.id or "").removeprefix("field-")
        if field in ("email", "owner_email") and event.value.strip() and not self.busy:
            self._warn_early(field, event.value.strip())

    @work(thread=True, group="new-chart-email", exit_on_error=False)
    def _warn_early(self, field: str, email: str) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            warnings = _worth_saying(field, self.check_email(email))
        except (FrontDeskError, StoreError):
            return  # only advice; Create checks again and says what went wrong
        if warnings:
            self.post_message(self.Warned({field: warnings}))

    # ------------------------------------------------------------------ creating

    def typed(self) -> NewChart:
        from frontdesk.charts.records import ChartInput, ContactInput
        from frontdesk.portal.new_chart import NewChart

        values = {name: self.field_input(name).value for name in FIELD_NAMES}

        def optional(name: str) -> str | None:
            return values[name].strip() or None

        chart = ChartInput(
            values["chart_number"].strip(),
            values["first_name"],
            values["last_name"],
            values["date_of_birth"].strip(),
            optional("email"),
            optional("preferred_name"),
            optional("phone"),
        )
        owner = None
        if self.owner_is_contact:
            owner = ContactInput(
                values["owner_name"],
                values["owner_relationship"],
                optional("owner_email"),
                optional("owner_phone"),
            )
        package = self.query_one("#package", Select).value
        return NewChart(
            chart=chart,
            owner=owner,
            invite=self.query_one("#invite", Checkbox).value,
            package_key=None if package in (NO_PACKAGE, Select.NULL) else str(package),
        )

    def action_create(self) -> None:
        if self.busy:
            return  # one create at a time
        self.busy = True
        self.query_one("#create", Button).disabled = True
        self._create(self.typed(), frozenset(self.warned))

    @work(thread=True, exclusive=True, group="new-chart-create", exit_on_error=False)
    def _create(self, new: NewChart, warned: frozenset[str]) -> None:
        from frontdesk.core.errors import FrontDeskError, InvalidInput
        from store.db import StoreError

        try:
            fresh: dict[str, list[EmailWarning]] = {}
            emails = {"email": new.chart.email}
            if new.owner is not None:
                emails["owner_email"] = new.owner.email
            for field, email in emails.items():
                if not email or email.strip().lower() in warned:
                    continue
                if found := _worth_saying(field, self.check_email(email)):
                    fresh[field] = found
            if fresh:
                self.post_message(self.Warned(fresh, on_create=True))
                return
            result = self.create(new)
        except InvalidInput as refused:
            self.post_message(self.Refused(str(refused), refused.field))
        except (FrontDeskError, StoreError) as failed:
            self.post_message(self.Refused(str(failed), None))
        else:
            self.post_message(self.Created(result))

    def _done_checking(self) -> None:
        self.busy = False
        self.query_one("#create", Button).disabled = False

    @on(Created)
    def _created(self, event: Created) -> None:
        self._done_checking()
        self.dismiss(event.result)

    @on(Warned)
    def _warned(self, event: Warned) -> None:
        from frontdesk.portal.new_chart import EmailWarningKind

        self._done_checking()
        first: str | None = None
        for field, warnings in event.warnings.items():
            if self.field_input(field).value.strip().lower() != warnings[0].email.lower():
                continue  # typed on since: this advice is about an older address
            sentences = []
            for warning in warnings:
                self.warned.add(warning.email.lower())
                if warning.kind is EmailWarningKind.PROBABLE_TYPO:
                    sentences.append(f"Did you mean {clean(warning.suggestion)}?")
                else:
                    sentences.append(_other_chart_sentence(warning, owner=field != "email"))
            sentences.append("Create again to keep it.")
            self._show(field, " ".join(sentences), warning=True)
            first = first or field
        if first is not None and event.on_create:
            self.field_input(first).focus()

    @on(Refused)
    def _refused(self, event: Refused) -> None:
        self._done_checking()
        at = _error_place(event.field)
        if at in OWNER_NAMES and not self.owner_is_contact:
            at = None  # the contact's fields are hidden: say it at the top
        for name in (*FIELD_NAMES, "package", "invite"):
            self._show(name, event.message if name == at else "")
        form_error = self.query_one("#form-error", DataStatic)
        form_error.show("" if at else event.message)
        form_error.set_class(at is None, "-visible")
        if at in FIELD_NAMES:
            self.field_input(at).focus()
        elif at == "package":
            self.query_one("#package", Select).focus()
        else:
            form_error.scroll_visible()

    def _show(self, name: str, message: str, *, warning: bool = False) -> None:
        error = self.query_one(f"#{name}-error", DataStatic)
        error.show(message)
        error.set_class(bool(message), "-visible")
        error.set_class(warning, "-warning")
        if name in FIELD_NAMES:
            self.field_input(name).set_class(bool(message) and not warning, "-invalid")


def _error_place(field: str | None) -> str | None:
    """Where the service's field error shows (the invitation's email need shows at the
    checkbox when no address field is named)."""
    if field in FIELD_NAMES or field == "package":
        return field
    return None


def _worth_saying(field: str, warnings: list[EmailWarning]) -> list[EmailWarning]:
    """The warnings the desk is shown for a field: for the owner's (a parent's) address only
    a probable typo; a parent who owns several children's charts is usual."""
    if field == "email":
        return warnings
    return [warning for warning in warnings if warning.kind == "probable_typo"]


def _other_chart_sentence(warning: EmailWarning, *, owner: bool) -> str:
    charts = ", ".join(warning.chart_numbers[:3])
    more = "" if len(warning.chart_numbers) <= 3 else " and others"
    sentence = f"{clean(warning.email)} is already on chart {charts}{more}."
    if warning.suggest_guardian and not owner:
        sentence += (
            " If a parent or guardian reads it, add a guardian as Chart Owner:"
            " choose “A related contact” below and give them this address."
        )
    return sentence


# --------------------------------------------------------------------------------------------


def open_new_chart(app: FrontDeskApp, services: Services) -> None:
    """Open the New chart form; on create: say so, hand the invitation to the mail server (the
    app's worker) and open the new chart."""
    dialog = NewChartDialog(
        create=services.new_chart.create,
        check_email=services.new_chart.check_email,
        packages=services.forms.packages,
    )
    app.push_screen(dialog, lambda result: created(app, services, result))


def created(app: FrontDeskApp, services: Services, result: NewChartResult | None) -> None:
    """The chart exists: tell the desk, send the invitation, open the chart."""
    from screens.actions import ActionRequested, OpenChart
    from screens.tasks.requests import InvitationDelivery
    from screens.tasks.wording import forms_phrase

    if result is None:
        return
    number = result.chart_number
    sentence = f"Chart {number} created"
    if result.owner is not None and not result.owner.is_client:
        sentence += f"; {result.owner.name} is its Chart Owner"
    if result.assignment is not None:
        count = len(result.assignment.tasks)
        sentence += f"; {forms_phrase(count)} assigned"
        if result.invitation_outbox_id is not None:
            sentence += " (the client sees them once registered)"
    toast(app, sentence + ".", title="New chart")
    app.post_message(OpenChart(number))
    if result.invitation_outbox_id is not None:
        delivery = InvitationDelivery(
            number, result.invitation_outbox_id, forms_waiting=result.assignment is not None
        )
        app.post_message(ActionRequested(delivery))
