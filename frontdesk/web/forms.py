"""Reading a posted form safely: a size cap, one encoding, no duplicates, no control characters."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request

from frontdesk.core.text import has_controls

MAX_BODY_BYTES = 64 * 1024
MAX_FIELDS = 20


class FormRejected(Exception):
    """The body is not a form we accept; `status` is 400, 413 or 415."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class PostedForm:
    """The fields of one form; `errors` maps a field name to a sentence for the person."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def text(self, name: str, label: str, *, max_length: int, required: bool = True) -> str:
        """A one-line text field: control characters refused, length capped (code points)."""
        value = self.values.get(name, "")
        if has_controls(value):
            self.errors[name] = f"{label} contains a character that isn't allowed."
        elif len(value) > max_length:
            self.errors[name] = f"{label} is too long (at most {max_length} characters)."
        elif required and not value.strip():
            self.errors[name] = f"Enter your {label.lower()}."
        return value

    def secret(self, name: str, label: str, *, required: bool = True) -> str:
        """A password field: control characters refused; its length is the policy's business."""
        value = self.values.get(name, "")
        if has_controls(value):
            self.errors[name] = f"{label} contains a character that isn't allowed."
        elif required and not value:
            self.errors[name] = f"Enter your {label.lower()}."
        return value


async def read_form(
    request: Request, *, max_bytes: int = MAX_BODY_BYTES, max_fields: int = MAX_FIELDS
) -> PostedForm:
    """The urlencoded body of `request`, at most `max_bytes` and `max_fields` (the defaults
    suit the account forms; a practice's long form asks for more), as a PostedForm."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise FormRejected(415, "not a form submission")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FormRejected(413, "form too large")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise FormRejected(413, "form too large")
    except ClientDisconnect:
        raise FormRejected(400, "the browser went away") from None
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except (UnicodeDecodeError, ValueError):
        raise FormRejected(400, "the form could not be read") from None
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            raise FormRejected(400, "a field was sent twice")
        values[name] = value
    return PostedForm(values)
