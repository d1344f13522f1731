"""The confirmation of a correction: what changes (old → new, addresses whole so a typo is
caught), what it does to portal access, and, where the live link would end, the choice made in
the same step: send a new link to the (new) address, or only end the old link.

`ChoiceDialog` returns the `EditChoice` picked, or None (Back: the caller opens the form again
with what was typed). It never saves; the caller acts. Data enters the text only as
$variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static
from textual.widgets.button import ButtonVariant

from screens.corrections import ChartEdit, ContactEdit, EditChoice
from screens.display import PracticeView, birth_date, local_day
from screens.edit_dialogs import CHART_FORM, CONTACT_FORM, Field
from screens.safe_text import template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.access.chart_edits import EditPlan
    from frontdesk.charts.records import ContactView
    from frontdesk.desk.views import ChartDetail


@dataclass(frozen=True)
class Choice:
    value: EditChoice
    label: str
    key: str  # "y" or "o"
    hint: str  # the hint line's words for it ("y send a new link")
    variant: ButtonVariant = "default"


class ChoiceDialog(ModalScreen[EditChoice | None]):
    """Asks one question with one or two ways to go on; Back (n, Escape) returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "choose('y')", "Confirm", id="choice.yes"),
        Binding("o", "choose('o')", "Only end the old link", id="choice.only"),
        Binding("n", "back", "Back", id="choice.back"),
        Binding("escape", "back", "Back", id="choice.escape"),
        Binding("left", "app.focus_previous", "Previous button", show=False),
        Binding("right", "app.focus_next", "Next button", show=False),
    ]

    def __init__(
        self, title: str, body: Content, choices: Sequence[Choice], *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.body = body
        self.choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = self.title_text
            yield DataStatic(self.body, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                for choice in self.choices:
                    yield Button(choice.label, id=f"choice-{choice.value}", variant=choice.variant)
                yield Button("Back", id="back", variant="default")
            keys = " · ".join(f"{choice.key} {choice.hint}" for choice in self.choices)
            yield Static(f"{keys} · n or Esc back", classes="dialog-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.choices[0].value}", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose":
            return any(choice.key == parameters[0] for choice in self.choices)
        return True

    def action_choose(self, key: str) -> None:
        for choice in self.choices:
            if choice.key == key:
                self.dismiss(choice.value)

    def action_back(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        for choice in self.choices:
            if event.button.id == f"choice-{choice.value}":
                self.dismiss(choice.value)
                return
        self.dismiss(None)


# --------------------------------------------------------------------------------------------


def _shown(name: str, value: object) -> str:
    if value is None or value == "":
        return "—"
    if name == "date_of_birth" and not isinstance(value, str):
        return birth_date(value)  # type: ignore[arg-type]
    return " ".join(str(value).split())


def _changes(
    form: Sequence[Field],
    changed: Sequence[str],
    old: Mapping[str, object],
    new: object,
) -> Content:
    """One line per changed field: "  Email           old → new"."""
    labels = {name: label for name, label, _ in form}
    rows = [
        template(
            "  $label$pad$old → [b]$new[/b]",
            label=labels.get(name, name),
            pad=" " * max(1, 16 - len(labels.get(name, name))),
            old=_shown(name, old.get(name)),
            new=_shown(name, getattr(new, name, None)),
        )
        for name in changed
    ]
    return Content("\n").join(rows)


def _effects(
    plan: EditPlan,
    chart: ChartDetail,
    practice: PracticeView,
    now: datetime,
    owner_name: str,
) -> tuple[Content, tuple[Choice, ...]]:
    """What saving does to portal access, and the ways to go on."""
    parts: list[Content] = []
    save = Choice(EditChoice.SAVE, "Save", "y", "save", "primary")
    choices: tuple[Choice, ...] = (save,)
    if plan.ends_link:
        sent = local_day(chart.sent_at, practice.zone) if chart.sent_at else "earlier"
        parts.append(
            template(
                "The invitation link sent on $sent stops working now (whoever opens it is told "
                "it was replaced).",
                sent=sent,
            )
        )
        only = Choice(EditChoice.END_LINK_ONLY, "Only end the old link", "o", "only end it")
        if plan.new_owner_email:
            parts.append(
                template(
                    " Send a new link to [b]$email[/b] in the same step? It would expire on "
                    "[b]$expires[/b].",
                    email=plan.new_owner_email,
                    expires=local_day(practice.new_link_expiry(now), practice.zone),
                )
            )
            send = Choice(
                EditChoice.SEND_NEW_LINK, "Send a new link", "y", "send a new link", "primary"
            )
            choices = (send, only)
        else:
            parts.append(Content(" The owner has no email address, so no new link can be sent."))
            choices = (
                Choice(EditChoice.END_LINK_ONLY, "Save, end the link", "y", "save", "primary"),
            )
    if plan.changes_sign_in_email:
        if parts:
            parts.append(Content("\n\n"))
        parts.append(
            template(
                "[b]$owner[/b] signs in to the portal with this email: the sign-in email becomes "
                "[b]$email[/b], their open portal sessions end, and both the old and the new "
                "address get a short notice.",
                owner=owner_name,
                email=plan.new_owner_email or "",
            )
        )
    return Content.assemble(*parts), choices


def _body(question: Content, changes: Content, effects: Content) -> Content:
    body = Content.assemble(question, "\n\n", changes)
    if effects.plain:
        body = Content.assemble(body, "\n\n", effects)
    return body


def chart_edit_confirm(
    chart: ChartDetail, edit: ChartEdit, practice: PracticeView, now: datetime
) -> ChoiceDialog:
    """Confirm a chart's corrections (and, where the live link ends, whether to send a new one)."""
    old = {
        "first_name": chart.first_name,
        "last_name": chart.last_name,
        "preferred_name": chart.preferred_name,
        "date_of_birth": chart.date_of_birth,
        "email": chart.email,
        "phone": chart.phone,
    }
    question = template(
        "Save these changes to [b]$client[/b]'s chart ($number)?",
        client=f"{chart.first_name} {chart.last_name}",
        number=chart.chart_number,
    )
    effects, choices = _effects(edit.plan, chart, practice, now, chart.owner.name)
    body = _body(question, _changes(CHART_FORM, edit.plan.changed, old, edit.changes), effects)
    return ChoiceDialog("Save chart changes", body, choices, id="edit-confirm-dialog")


def contact_edit_confirm(
    chart: ChartDetail,
    contact: ContactView,
    edit: ContactEdit,
    practice: PracticeView,
    now: datetime,
) -> ChoiceDialog:
    """Confirm a related contact's corrections."""
    assert edit.plan is not None
    old = {
        "name": contact.name,
        "relationship": contact.relationship,
        "email": contact.email,
        "phone": contact.phone,
    }
    question = template(
        "Save these changes to [b]$name[/b] ($relationship), a related contact on $client's chart?",
        name=contact.name,
        relationship=contact.relationship,
        client=f"{chart.first_name} {chart.last_name}",
    )
    effects, choices = _effects(edit.plan, chart, practice, now, edit.name)
    body = _body(question, _changes(CONTACT_FORM, edit.plan.changed, old, edit.changes), effects)
    return ChoiceDialog("Save contact changes", body, choices, id="edit-confirm-dialog")
