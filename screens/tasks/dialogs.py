"""The task dialogs: Assign (a form or a package, with an optional due date) and Return to
client (the reason the client reads). Each returns a typed value (`AssignChoice`, the reason)
or None on Escape; the caller confirms and acts. Keyboard only: Tab moves, Ctrl+S (or Enter
in a one-line field) goes on, Escape cancels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from screens.safe_text import cell
from screens.tasks.requests import AssignChoice
from screens.tasks.wording import due_text
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.portal.forms import FormInfo, PackageInfo

MAX_REASON = 500  # the service's limit (frontdesk.portal.tasks)


@dataclass(frozen=True)
class Assignable:
    """One line of the Assign dialog's list."""

    value: str  # "package:KEY" or "form:KEY"
    label: str
    choice: AssignChoice


def assignables(packages: list[PackageInfo], forms: list[FormInfo]) -> tuple[Assignable, ...]:
    """Packages first (with their forms named), then every form."""
    from screens.tasks.wording import package_label

    items = [
        Assignable(
            f"package:{package.key}",
            f"Package: {package_label(package)}",
            AssignChoice(f"the package {package.title}", package_key=package.key),
        )
        for package in packages
    ]
    items += [
        Assignable(f"form:{form.key}", f"Form: {form.title}", AssignChoice(form.title, form.key))
        for form in forms
    ]
    return tuple(items)


class AssignDialog(ModalScreen[AssignChoice | None]):
    """Pick a form or a package and an optional due date (YYYY-MM-DD, not before `today`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="assign.cancel"),
        Binding("ctrl+s", "assign", "Assign", id="assign.assign"),
    ]

    class Read(Message):
        def __init__(self, items: tuple[Assignable, ...] | None, error: str = "") -> None:
            super().__init__()
            self.items = items
            self.error = error

    def __init__(
        self,
        intro: Content,
        read: Callable[[], tuple[Assignable, ...]],
        *,
        today: date,
        typed: tuple[str, str] | None = None,
    ) -> None:
        """`read` lists what may be assigned (blocking; called in a worker); `typed` is
        (value, due) to show again after a cancelled confirmation."""
        super().__init__(id="assign-dialog")
        self.intro = intro
        self.read = read
        self.today = today
        self.typed = typed
        self.items: dict[str, Assignable] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog assign-form") as dialog:
            dialog.border_title = "Assign forms"
            yield DataStatic(self.intro, classes="dialog-body")
            yield DataStatic(id="form-error", classes="form-error")
            with Horizontal(classes="field"):
                yield Label("Form or package", classes="field-label")
                yield Select[str]([], prompt="Reading forms…", compact=True, id="assign-what")
            yield DataStatic(id="what-error", classes="field-error")
            with Horizontal(classes="field"):
                yield Label("Due date", classes="field-label")
                yield Input(
                    self.typed[1] if self.typed else "",
                    placeholder="YYYY-MM-DD (optional)",
                    id="assign-due",
                    compact=True,
                )
            yield DataStatic(id="due-error", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Assign", id="assign", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static(
                "Tab next · Ctrl+S assign · Esc cancel", classes="dialog-hint", markup=False
            )

    def on_mount(self) -> None:
        self.query_one("#assign-what", Select).focus()
        self._read()

    @work(thread=True, group="assign-read", exit_on_error=False)
    def _read(self) -> None:
        from frontdesk.core.errors import FrontDeskError
        from store.db import StoreError

        try:
            items = self.read()
        except (FrontDeskError, StoreError) as exc:
            self.post_message(self.Read(None, f"The forms could not be read: {exc}"))
            return
        self.post_message(self.Read(items))

    @on(Read)
    def _items_read(self, event: Read) -> None:
        select: Select[str] = self.query_one("#assign-what", Select)
        if event.items is None:
            self._show("form", event.error)
            return
        self.items = {item.value: item for item in event.items}
        # Rich Text, not str: a Select parses a str label as markup (a practice's own titles)
        select.set_options((cell(item.label), item.value) for item in event.items)
        select.prompt = "Choose a form or a package"
        if self.typed and self.typed[0] in self.items:
            select.value = self.typed[0]
        elif event.items:
            select.value = event.items[0].value

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_assign()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "assign":
            self.action_assign()
        else:
            self.dismiss(None)

    def action_assign(self) -> None:
        value = self.query_one("#assign-what", Select).value
        item = self.items.get(str(value)) if value is not Select.NULL else None
        due_typed = self.query_one("#assign-due", Input).value.strip()
        self._show("what", "" if item else "Choose a form or a package to assign.")
        due, problem = parse_due(due_typed, self.today)
        self._show("due", problem)
        if item is None:
            self.query_one("#assign-what", Select).focus()
            return
        if problem:
            self.query_one("#assign-due", Input).focus()
            return
        choice = AssignChoice(item.choice.label, item.choice.form_key, item.choice.package_key, due)
        self.dismiss(choice)

    def _show(self, name: str, message: str) -> None:
        error = self.query_one(f"#{name}-error", DataStatic)
        error.show(message)
        error.set_class(bool(message), "-visible")


def parse_due(typed: str, today: date) -> tuple[date | None, str]:
    """The typed due date, or why it cannot be one ("" means none). The service checks it
    again when it assigns."""
    if not typed:
        return None, ""
    try:
        due = date.fromisoformat(typed) if len(typed) == 10 else None
    except ValueError:
        due = None
    if due is None:
        return None, "Write the due date as YYYY-MM-DD, e.g. 2026-12-03."
    if due < today:
        return None, f"{due_text(due)} has already passed."
    return due, ""


class ReturnDialog(ModalScreen[str | None]):
    """Why the form goes back to the client (they read it above the form). Returns the
    reason, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="return.cancel"),
        Binding("ctrl+s", "send", "Return to client", id="return.send"),
    ]

    def __init__(self, intro: Content, *, typed: str = "") -> None:
        super().__init__(id="return-dialog")
        self.intro = intro
        self.typed = typed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog return-form") as dialog:
            dialog.border_title = "Return to client"
            yield DataStatic(self.intro, classes="dialog-body")
            yield TextArea(self.typed, id="return-reason", soft_wrap=True, show_line_numbers=False)
            yield DataStatic(id="reason-count", classes="field-count")
            yield DataStatic(id="reason-error", classes="form-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Return to client", id="send", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
            yield Static(
                "Ctrl+S return · Tab to the buttons · Esc cancel",
                classes="dialog-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self._count()

    @on(TextArea.Changed)
    def _count(self) -> None:
        length = len(" ".join(self.query_one(TextArea).text.split()))
        count = self.query_one("#reason-count", DataStatic)
        count.show(f"{length:,} / {MAX_REASON} characters")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "send":
            self.action_send()
        else:
            self.dismiss(None)

    def action_send(self) -> None:
        reason = " ".join(self.query_one(TextArea).text.split())
        problem = ""
        if not reason:
            problem = "Say why the form goes back; the client reads it above the form."
        elif len(reason) > MAX_REASON:
            problem = f"At most {MAX_REASON} characters, please."
        error = self.query_one("#reason-error", DataStatic)
        error.show(problem)
        error.set_class(bool(problem), "-visible")
        if not problem:
            self.dismiss(reason)
