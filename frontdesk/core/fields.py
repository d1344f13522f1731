"""Shared field rules: how a typed name, phone, date of birth, email or time zone is checked and
cleaned, each refusal an `InvalidInput` naming its field. The chart form, the CSV import, the
practice settings and the change-owner form all use these."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frontdesk.core.emails import InvalidEmail, normalize_email
from frontdesk.core.errors import InvalidInput
from frontdesk.core.identity import parse_date_strict
from frontdesk.core.text import has_controls, search_key


def clean_text(
    value: str, field_name: str, label: str, *, required: bool = True, limit: int = 100
) -> str:
    """Trim and collapse spaces; refuse control characters and values longer than `limit`
    (the width of the column that stores them)."""
    text = " ".join(value.split()) if value else ""
    if has_controls(value or ""):
        raise InvalidInput(f"{label} contains a control character.", field_name)
    if required and not text:
        raise InvalidInput(f"{label} is required.", field_name)
    if len(text) > limit:
        raise InvalidInput(f"{label} is longer than {limit} characters.", field_name)
    return text


def search_key_of(value: str, width: int) -> str:
    """A folded search key cut to its column's width (folding can lengthen text: "ﬃ" → "ffi";
    a prefix that long is never typed, so nothing findable is lost)."""
    return search_key(value)[:width].rstrip()


def date_of_birth(value: str | date, today: date) -> date:
    """A date of birth written YYYY-MM-DD (or a date), not in the future, not before 1900."""
    if isinstance(value, date):
        parsed: date | None = value
    else:
        parsed = parse_date_strict(value)
    if parsed is None:
        raise InvalidInput(
            f"Date of birth must be a real date written YYYY-MM-DD (got {str(value)!r}).",
            "date_of_birth",
        )
    if parsed > today:
        raise InvalidInput("Date of birth is in the future.", "date_of_birth")
    if parsed.year < 1900:
        raise InvalidInput("Date of birth is before 1900.", "date_of_birth")
    return parsed


def email_or_error(value: str, field_name: str = "email") -> str:
    """The normalized address, or InvalidInput naming `field_name`."""
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise InvalidInput(str(exc), field_name) from None


def check_zone(name: str, field_name: str = "timezone") -> None:
    """Refuse a time zone name this machine does not know."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone {name!r}.", field_name) from None
