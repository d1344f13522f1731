"""The field rules of a portal message: plain text, subject ≤ 120 and body ≤ 5,000
characters, both required, an audience the practice offers. Line breaks are kept (every
kind written as one newline); any other control character is refused, never stripped
silently (SECURITY.md U4: it would reach a terminal at the desk)."""

from __future__ import annotations

from collections.abc import Sequence

from frontdesk.core.text import has_controls, unify_line_breaks
from frontdesk.portal.message_results import (
    BODY_LIMIT,
    SUBJECT_LIMIT,
    FieldProblem,
    MessageInvalid,
)
from store.states import MessageAudience


def body_text(value: str | None) -> str:
    """A typed body as it is stored: every line break one newline, blank lines at either end
    and trailing spaces of the whole dropped (the words and the inner layout kept)."""
    text = unify_line_breaks(value or "")
    return text.strip("\n").rstrip()


def body_problem(value: str | None) -> FieldProblem | None:
    """What is wrong with a body (after `body_text`), or None."""
    text = body_text(value)
    if has_controls(text, allow_newlines=True):
        return FieldProblem.CONTROL_CHARACTERS
    if not text.strip():
        return FieldProblem.MISSING
    if len(text) > BODY_LIMIT:
        return FieldProblem.TOO_LONG
    return None


def subject_text(value: str | None) -> str:
    """A typed subject as it is stored: trimmed, inner runs of spaces kept as typed."""
    return (value or "").strip(" \t")


def subject_problem(value: str | None) -> FieldProblem | None:
    text = subject_text(value)
    if has_controls(text):  # a subject is one line: a line break is refused too
        return FieldProblem.CONTROL_CHARACTERS
    if not text:
        return FieldProblem.MISSING
    if len(text) > SUBJECT_LIMIT:
        return FieldProblem.TOO_LONG
    return None


def audience_of(
    value: str | MessageAudience | None, offered: Sequence[MessageAudience]
) -> MessageAudience | FieldProblem:
    """The audience chosen, or why it is refused (none given: the first offered)."""
    if value is None or value == "":
        return offered[0] if offered else FieldProblem.MISSING
    try:
        audience = MessageAudience(value)
    except ValueError:
        return FieldProblem.NOT_OFFERED
    return audience if audience in offered else FieldProblem.NOT_OFFERED


def checked_new_thread(
    *,
    audience: str | MessageAudience | None,
    subject: str | None,
    body: str | None,
    offered: Sequence[MessageAudience],
) -> tuple[MessageAudience, str, str]:
    """(audience, subject, body) of a new thread, or MessageInvalid naming every refused
    field at once."""
    problems: dict[str, FieldProblem] = {}
    chosen = audience_of(audience, offered)
    if isinstance(chosen, FieldProblem):
        problems["audience"] = chosen
    if (problem := subject_problem(subject)) is not None:
        problems["subject"] = problem
    if (problem := body_problem(body)) is not None:
        problems["body"] = problem
    if problems or isinstance(chosen, FieldProblem):
        raise MessageInvalid(problems)
    return chosen, subject_text(subject), body_text(body)


def checked_body(body: str | None) -> str:
    """The body of a reply, or MessageInvalid."""
    problem = body_problem(body)
    if problem is not None:
        raise MessageInvalid({"body": problem})
    return body_text(body)
