"""Reading and checking the import's rows: each record of the file becomes a chart's row (a
`Group`, checked by the shared field rules when its batch is written) or one more related
contact of a chart met earlier (a `ContactRow`, checked at once). What is kept for the whole
file is one small `Seen` entry per chart number: for duplicates, contact rows and owners."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa

from frontdesk.charts.import_header import ALL_CONTACT_COLUMNS, CHART_FIELDS, Columns
from frontdesk.charts.import_report import Outcome, RowError
from frontdesk.charts.import_values import OWNER_CLIENT, OWNER_CONTACT, DateFormat, owner_value
from frontdesk.charts.records import (
    ChartInput,
    CheckedContact,
    ContactInput,
    checked_chart_row,
    checked_contact,
)
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

BATCH_ROWS = 2000
_EARLIER_FIELDS = ("chart_number", "first_name", "last_name", "preferred_name")


class Seen:
    """A chart number met in the file: where, and what became of it."""

    __slots__ = (
        "chart_id",
        "explicit_owner",
        "guardian",
        "has_email",
        "line",
        "owner_contact",
        "owner_line",
        "owner_written",
        "state",
    )

    def __init__(self, line: int) -> None:
        self.line = line
        self.state = "pending"  # pending | added | updated | refused
        self.chart_id: int | None = None
        self.has_email = False
        self.guardian = False  # a child without email: a guardian may own by default
        self.explicit_owner = False  # the owner column decided
        self.owner_contact: int | None = None  # the contact that owns (added charts)
        self.owner_line = 0  # the line whose owner=contact named the owner
        self.owner_written = False  # its chart_owner row is in the store


@dataclass
class Group:
    """A chart's own row."""

    line: int
    number: str
    values: dict[str, str]
    owner: str | None
    seen: Seen
    refused: bool


@dataclass
class ContactRow:
    line: int
    number: str
    contact: CheckedContact
    owner: bool  # owner=contact on this row
    seen: Seen
    on_chart_row: bool


class RowReader:
    """Takes the file's records one by one (`add`) and hands a batch to `flush` every
    BATCH_ROWS chart rows; notes every refusal in `out.errors`."""

    def __init__(self, *, columns: Columns, dates: DateFormat, today: date, now: Any) -> None:
        self.columns = columns
        self.dates = dates
        self.today = today
        self.now = now
        self.out = Outcome()
        self._seen: dict[str, Seen] = {}
        self._batch: list[Group] = []
        self._contacts: list[ContactRow] = []

    def flush(self) -> None:
        raise NotImplementedError

    def add(self, line: int, cells: list[str]) -> None:
        """Take one record of the file (after the header)."""
        out = self.out
        out.rows += 1
        columns = self.columns
        if len(cells) > columns.width:
            self.error(line, "row", f"has {len(cells)} fields, the header {columns.width}")
            return
        size = len(cells)
        values = {f: cells[i].strip() for f, i in columns.index.items() if i < size}
        for i in columns.unnamed:
            if i < size and cells[i].strip():
                out.unnamed_with_data.add(i)
        number = values.get("chart_number", "")
        has_contact = any(values.get(c) for c in ALL_CONTACT_COLUMNS)
        try:
            owner = owner_value(values.get("owner", ""))
            owner_error = None
        except InvalidInput as exc:
            owner, owner_error = None, exc
        if number and has_contact and not any(values.get(f) for f in CHART_FIELDS):
            self._contact_only(line, number, values, owner, owner_error)
            return
        if number in self._seen:
            first = self._seen[number].line
            self.error(
                line, "chart_number", f"chart {single_line(number)} is already on line {first}"
            )
            if has_contact:
                self._contact(line, values)  # its errors are reported too
            return
        seen = Seen(line)
        if number:
            self._seen[number] = seen
        refused = owner_error is not None
        if owner_error is not None:
            self.field_error(line, owner_error, "owner")
        contact = self._contact(line, values) if has_contact else None
        if has_contact and contact is None:
            refused = True
        if owner == OWNER_CONTACT and not has_contact:
            self.error(
                line,
                "owner",
                "“contact” needs the related contact on this row (contact_name, "
                "contact_relationship, contact_email).",
            )
            refused = True
        seen.explicit_owner = owner is not None
        if owner == OWNER_CONTACT:
            seen.owner_line = line
        self._batch.append(Group(line, number, values, owner, seen, refused))
        if contact is not None and not refused:
            self._contacts.append(
                ContactRow(line, number, contact, owner == OWNER_CONTACT, seen, True)
            )
        if len(self._batch) >= BATCH_ROWS:
            self.flush()

    def _contact_only(
        self,
        line: int,
        number: str,
        values: dict[str, str],
        owner: str | None,
        owner_error: InvalidInput | None,
    ) -> None:
        """A row that repeats a chart number with only contact columns: one more contact."""
        seen = self._seen.get(number)
        if seen is None:
            self.error(
                line,
                "chart_number",
                f"a row with only contact columns must follow the row of chart "
                f"{single_line(number)} in this file",
            )
            return
        if owner_error is not None:
            self.field_error(line, owner_error, "owner")
            return
        if owner == OWNER_CLIENT:
            self.error(
                line,
                "owner",
                "on a row that only adds a contact, write “contact” (this contact owns portal "
                "access) or leave it blank.",
            )
            return
        if owner == OWNER_CONTACT and seen.owner_line:
            self.error(
                line,
                "owner",
                f"chart {single_line(number)} already has its Chart Owner on line "
                f"{seen.owner_line}.",
            )
            return
        contact = self._contact(line, values)
        if contact is None:
            return
        if owner == OWNER_CONTACT:
            seen.owner_line = line
            seen.explicit_owner = True
        self._contacts.append(
            ContactRow(line, number, contact, owner == OWNER_CONTACT, seen, False)
        )

    def _contact(self, line: int, values: dict[str, str]) -> CheckedContact | None:
        """The row's related contact checked by the contact rules, or None (errors noted)."""
        missing = False
        for column, label in (
            ("contact_name", "Name"),
            ("contact_relationship", "Relationship"),
            ("contact_email", "Email"),
        ):
            if not values.get(column):
                self.error(line, column, f"{label} of the contact is required.")
                missing = True
        if missing:
            return None
        try:
            return checked_contact(
                ContactInput(
                    name=values["contact_name"],
                    relationship=values["contact_relationship"],
                    email=values["contact_email"],
                    phone=values.get("contact_phone") or None,
                )
            )
        except InvalidInput as exc:
            self.field_error(line, exc, f"contact_{exc.field or 'name'}")
            return None

    # ---------------------------------------------------------------- checking a chart

    def checked(self, group: Group, base: sa.Row[Any] | None = None) -> dict[str, Any] | None:
        """The chart's columns as the rules store them (a new chart, or `base` with the file's
        filled cells over it), or None with the error noted."""
        values = group.values

        def given(name: str) -> str | None:
            text = values.get(name, "")
            if text or base is None:
                return text
            stored = getattr(base, name)
            return None if stored is None else str(stored)

        data = ChartInput(
            chart_number=base.chart_number if base is not None else group.number,
            first_name=given("first_name") or "",
            last_name=given("last_name") or "",
            date_of_birth=self.today,
            email=given("email"),
            preferred_name=given("preferred_name"),
            phone=given("phone"),
        )
        try:
            dob = self._date(values.get("date_of_birth", ""), base)
        except InvalidInput as exc:
            self._date_refused(group.line, data, exc)
            return None
        try:
            return checked_chart_row(
                replace(data, date_of_birth=dob), today=self.today, now=self.now
            )
        except InvalidInput as exc:
            self.field_error(group.line, exc, exc.field or "chart_number")
            return None

    def _date_refused(self, line: int, data: ChartInput, date_error: InvalidInput) -> None:
        """Note a date that cannot be read, unless a field checked before it is wrong too
        (errors come in the order of the chart form)."""
        error = date_error
        try:
            checked_chart_row(data, today=self.today, now=self.now)
        except InvalidInput as earlier:
            if earlier.field in _EARLIER_FIELDS:
                error = earlier
        self.field_error(line, error, error.field or "date_of_birth")

    def _date(self, text: str, base: sa.Row[Any] | None) -> date:
        if not text:
            if base is not None:
                return base.date_of_birth  # type: ignore[no-any-return]
            raise InvalidInput("Date of birth is required.", "date_of_birth")
        return self.dates.read(text)

    def error(self, line: int, name: str, message: str) -> None:
        self.out.errors.append(RowError(line, name, message, self.columns.label(name)))

    def field_error(self, line: int, error: InvalidInput, name: str) -> None:
        self.error(line, name, str(error))
