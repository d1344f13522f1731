"""The values of an imported row that a chart form never sees: dates as exports write them, the
`owner` column, and who counts as a guardian for the default Chart Owner of a child.

Dates: ISO (YYYY-MM-DD) always; otherwise the file's date format, US `MM/DD/YYYY` (and
`M/D/YYYY`) by default, another with `date_format` ("DD/MM/YYYY", "DD.MM.YYYY", ...). A
two-digit year or an impossible date is refused with the fix, never guessed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

DEFAULT_DATE_FORMAT = "MM/DD/YYYY"
OWNER_CLIENT = "client"
OWNER_CONTACT = "contact"
ADULT_AGE = 18
# Relationships whose contact may own a child's portal access by default (words of the
# relationship, folded): parents, step- and grandparents, guardians.
GUARDIAN_WORDS = frozenset(
    {
        "mother", "father", "parent", "mom", "mum", "dad", "guardian", "stepmother",
        "stepfather", "stepparent", "grandmother", "grandfather", "grandparent",
        "foster", "custodian", "legal",
    }
)  # fmt: skip
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_PART = {"DD": "day", "D": "day", "MM": "month", "M": "month", "YYYY": "year"}
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True)
class DateFormat:
    """A file's date format: the order of day, month and year and the separator between."""

    text: str  # as given, upper case: "MM/DD/YYYY"
    order: tuple[str, str, str]  # ("month", "day", "year")
    separator: str

    @classmethod
    def parse(cls, text: str | None) -> DateFormat:
        """ "MM/DD/YYYY", "DD.MM.YYYY", "YYYY/MM/DD", ... (InvalidInput for anything else)."""
        spec = (text or DEFAULT_DATE_FORMAT).strip().upper()
        match = re.fullmatch(r"([A-Z]+)([/.\- ])([A-Z]+)\2([A-Z]+)", spec)
        parts = tuple(_PART.get(match[i]) for i in (1, 3, 4)) if match else ()
        if match is None or sorted(p or "" for p in parts) != ["day", "month", "year"]:
            raise InvalidInput(
                f"Date format {single_line(text or '')!r} is not one we read: use DD, MM and "
                "YYYY in any order with /, -, . or a space between (e.g. DD/MM/YYYY).",
                "date_format",
            )
        order = (str(parts[0]), str(parts[1]), str(parts[2]))
        return cls(spec, order, match.group(2))

    @property
    def day_first(self) -> bool:
        return self.order.index("day") < self.order.index("month")

    def read(self, value: str) -> date:
        """The date `value` means in this format (or ISO); InvalidInput naming
        date_of_birth, with the fix, when it is not a real date written so."""
        text = value.strip()
        iso = _ISO.fullmatch(text)
        if iso:
            return self._real(text, int(iso[1]), int(iso[2]), int(iso[3]))
        pieces = re.split(r"\s*[/.\-]\s*" if self.separator != " " else r"\s+", text)
        if len(pieces) != 3 or not all(p.isdigit() and p.isascii() for p in pieces):
            raise self._refusal(text)
        numbers = dict(zip(self.order, (int(p) for p in pieces), strict=True))
        year_at = self.order.index("year")
        if any(len(p) > 2 for i, p in enumerate(pieces) if i != year_at):
            raise self._refusal(text)
        if len(pieces[year_at]) <= 2:
            raise InvalidInput(
                f"Date of birth {single_line(text)!r} has a two-digit year; write the year in "
                f"full ({self.text}).",
                "date_of_birth",
            )
        if len(pieces[year_at]) != 4:
            raise self._refusal(text)
        return self._real(text, numbers["year"], numbers["month"], numbers["day"])

    def _real(self, text: str, year: int, month: int, day: int) -> date:
        try:
            return date(year, month, day)
        except ValueError:
            pass
        if not 1 <= month <= 12:
            hint = ""
            if 1 <= day <= 12 and month <= 31 and not _ISO.fullmatch(text):
                # the day and the month the other way round would be a date: say how
                first, other = ("month", "MM/DD/YYYY") if self.day_first else ("day", "DD/MM/YYYY")
                hint = (
                    f" If the file writes the {first} first, import it with --date-format {other}."
                )
            raise InvalidInput(
                f"Date of birth {single_line(text)!r} has no month {month}.{hint}",
                "date_of_birth",
            )
        raise InvalidInput(
            f"Date of birth {single_line(text)!r} is not a real date ({_MONTHS[month - 1]} "
            f"{year} has no day {day}).",
            "date_of_birth",
        )

    def _refusal(self, text: str) -> InvalidInput:
        return InvalidInput(
            f"Date of birth must be a date written {self.text} or YYYY-MM-DD "
            f"(got {single_line(text)!r}).",
            "date_of_birth",
        )


def owner_value(value: str) -> str | None:
    """The `owner` cell: "client", "contact" or None (blank); InvalidInput otherwise."""
    text = " ".join(value.split()).casefold()
    if not text:
        return None
    if text in (OWNER_CLIENT, OWNER_CONTACT):
        return text
    raise InvalidInput(
        f"Owner must be “client” or “contact” (got {single_line(value)!r}).", "owner"
    )


def is_guardian(relationship: str) -> bool:
    """Whether a relationship names a parent or guardian ("Mother", "Legal guardian",
    "Step-father"; not "Sibling", "Spouse" or "Emergency contact")."""
    words = re.split(r"[\s/,\-()]+", relationship.casefold())
    joined = "".join(words)
    return any(word in GUARDIAN_WORDS for word in words) or joined in GUARDIAN_WORDS


def is_minor(date_of_birth: date, today: date) -> bool:
    """Younger than 18 on `today`."""
    had_birthday = (today.month, today.day) >= (date_of_birth.month, date_of_birth.day)
    age = today.year - date_of_birth.year - (0 if had_birthday else 1)
    return age < ADULT_AGE
