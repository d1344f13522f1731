"""The desk's two message dialogs: Reply (one body) and New message to the client (audience,
subject, body). Each shows live character counts against the service's limits, checks the
fields as the service will (`frontdesk.portal.message_rules`) and shows a problem at its field;
it returns what was typed and never sends: the caller sends, and when the service refuses,
opens the dialog again with the text and the service's reason.

Ctrl+S sends, Escape cancels; Tab moves between the fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from frontdesk.portal.message_results import BODY_LIMIT, SUBJECT_LIMIT, problem_line
from frontdesk.portal.message_rules import body_problem, body_text, subject_problem
from screens.inbox.wording import AUDIENCE_LABELS
from screens.widgets import DataLine, DataStatic

ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Draft:
    """A new thread as typed: audience (a MessageAudience value), subject and body."""

    audience: str
    subject: str
    body: str


def _count_line(used: int, limit: int) -> str:
    left = limit - used
    if left < 0:
        return f"{used:,} / {limit:,} characters — {-left:,} too many"
    return f"{used:,} / {limit:,} characters ({left:,} left)"


class _MessageDialog(ModalScreen[ResultT | None]):
    """Shared parts: the counts, the field errors, Send and Cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="message.cancel"),
        Binding("ctrl+s", "send", "Send", id="message.send", priority=True),
    ]

    def _buttons(self) -> ComposeResult:
        with Horizontal(classes="dialog-buttons"):
            yield Button("Send  ^s", id="message-send", variant="primary", compact=True)
            yield Button("Cancel  esc", id="message-cancel", compact=True)

    def _show_count(self, widget_id: str, used: int, limit: int) -> None:
        line = self.query_one(widget_id, DataLine)
        line.set_class(used > limit, "-over")
        line.show(_count_line(used, limit))

    def _show_error(self, widget_id: str, message: str) -> None:
        error = self.query_one(widget_id, DataStatic)
        error.show(message)
        error.set_class(bool(message), "-visible")

    @on(Button.Pressed, "#message-send")
    def _send_pressed(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#message-cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_send(self) -> None:
        raise NotImplementedError


class ReplyDialog(_MessageDialog[str]):
    """Reply to a thread: returns the body typed (None when cancelled)."""

    def __init__(self, intro: Content, *, text: str = "", error: str = "") -> None:
        """`intro` names the client and the thread; `text`/`error`: a reply the service
        refused, shown again with its reason."""
        super().__init__(classes="reply-dialog")
        self.intro = intro
        self.text = text
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog message-form") as dialog:
            dialog.border_title = "Reply"
            yield DataStatic(self.intro, classes="dialog-body")
            yield DataStatic(id="body-error", classes="form-error")
            yield TextArea(self.text, soft_wrap=True, show_line_numbers=False, id="reply-body")
            yield DataLine(id="body-count")
            yield from self._buttons()

    def on_mount(self) -> None:
        body = self.query_one("#reply-body", TextArea)
        body.focus()
        body.move_cursor(body.document.end)
        self._counted(body.text)
        self._show_error("#body-error", self.error)

    @on(TextArea.Changed, "#reply-body")
    def _changed(self, event: TextArea.Changed) -> None:
        self._counted(event.text_area.text)

    def _counted(self, text: str) -> None:
        self._show_count("#body-count", len(body_text(text)), BODY_LIMIT)

    def action_send(self) -> None:
        text = self.query_one("#reply-body", TextArea).text
        problem = body_problem(text)
        if problem is not None:
            self._show_error("#body-error", problem_line("body", problem))
            self.query_one("#reply-body", TextArea).focus()
            return
        self.dismiss(text)


class ComposeDialog(_MessageDialog[Draft]):
    """A new thread to the chart's client: returns a Draft (None when cancelled)."""

    def __init__(
        self,
        intro: Content,
        *,
        draft: Draft | None = None,
        errors: dict[str, str] | None = None,
    ) -> None:
        """`draft`/`errors`: a message the service refused, shown again with the reasons
        at their fields (`audience`, `subject`, `body`; any other key: above the form)."""
        super().__init__(classes="compose-dialog")
        self.intro = intro
        self.draft = draft or Draft("front_desk", "", "")
        self.errors = errors or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog message-form") as dialog:
            dialog.border_title = "New message to the client"
            yield DataStatic(self.intro, classes="dialog-body")
            yield DataStatic(id="form-error", classes="form-error")
            with Horizontal(classes="field"):
                yield Label("For", classes="field-label")
                yield Select(
                    [(label, key) for key, label in AUDIENCE_LABELS.items()],
                    value=self.draft.audience,
                    allow_blank=False,
                    compact=True,
                    id="compose-audience",
                )
            yield DataStatic(id="audience-error", classes="field-error")
            with Horizontal(classes="field"):
                yield Label("Subject", classes="field-label")
                yield Input(self.draft.subject, compact=True, id="compose-subject")
            yield DataLine(id="subject-count")
            yield DataStatic(id="subject-error", classes="field-error")
            yield TextArea(
                self.draft.body, soft_wrap=True, show_line_numbers=False, id="compose-body"
            )
            yield DataLine(id="body-count")
            yield DataStatic(id="body-error", classes="field-error")
            yield from self._buttons()

    def on_mount(self) -> None:
        self.query_one("#compose-subject", Input).focus()
        self._counted()
        for field in ("audience", "subject", "body"):
            self._show_error(f"#{field}-error", self.errors.get(field, ""))
        others = [line for key, line in self.errors.items() if key not in _FIELDS]
        self._show_error("#form-error", " ".join(others))

    @on(Input.Changed, "#compose-subject")
    @on(TextArea.Changed, "#compose-body")
    def _changed(self) -> None:
        self._counted()

    def _counted(self) -> None:
        subject = self.query_one("#compose-subject", Input).value.strip(" \t")
        body = self.query_one("#compose-body", TextArea).text
        self._show_count("#subject-count", len(subject), SUBJECT_LIMIT)
        self._show_count("#body-count", len(body_text(body)), BODY_LIMIT)

    def action_send(self) -> None:
        audience = self.query_one("#compose-audience", Select).value
        subject = self.query_one("#compose-subject", Input).value
        body = self.query_one("#compose-body", TextArea).text
        problems = {
            field: problem_line(field, problem)
            for field, problem in (
                ("subject", subject_problem(subject)),
                ("body", body_problem(body)),
            )
            if problem is not None
        }
        for field in ("subject", "body"):
            self._show_error(f"#{field}-error", problems.get(field, ""))
        self._show_error("#form-error", "")
        if problems:
            first = "#compose-subject" if "subject" in problems else "#compose-body"
            self.query_one(first).focus()
            return
        value = "front_desk" if audience is Select.NULL else str(audience)
        self.dismiss(Draft(value, subject, body))


_FIELDS = ("audience", "subject", "body")
