"""Import charts (and related contacts) from a CSV file; callable without the command line.

The file is UTF-8 (a byte-order mark is fine, as Excel writes it), comma separated, with a header
line naming the columns. Column names are case-insensitive and may come in any order:

    chart_number, first_name, last_name, date_of_birth     required
    preferred_name, email, phone                           optional
    contact_name, contact_relationship, contact_email      optional: a related contact

A row whose contact columns are filled adds that related contact (guardian, parent, ...) to the
row's chart; the three contact columns go together. To give one chart several contacts, follow
its row with rows that repeat the chart number, leave every chart column blank and fill only the
contact columns. Dates are YYYY-MM-DD. Blank lines are ignored.

Every row is checked by the lifecycle service's own rules before anything is written; errors
name the line and the column ("line 7, date_of_birth: ..."). By default nothing is imported
when any row is invalid; with `skip_invalid` the valid rows are imported and the rest reported.
Charts and their related contacts are added in one transaction: a file is imported whole or
not at all (with `skip_invalid`, the refused rows are left out and the rest goes in together).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session

from frontdesk.charts.records import ChartInput, ChartRecords, ContactInput
from frontdesk.core.emails import InvalidEmail, normalize_email
from frontdesk.core.errors import FrontDeskError, InvalidInput
from frontdesk.core.text import has_controls, single_line

MAX_FILE_BYTES = 50_000_000
MAX_ROWS = 100_000

REQUIRED_COLUMNS = ("chart_number", "first_name", "last_name", "date_of_birth")
CHART_OPTIONAL_COLUMNS = ("preferred_name", "email", "phone")
CONTACT_COLUMNS = ("contact_name", "contact_relationship", "contact_email")
KNOWN_COLUMNS = REQUIRED_COLUMNS + CHART_OPTIONAL_COLUMNS + CONTACT_COLUMNS
_CHART_FIELDS = ("first_name", "last_name", "date_of_birth", *CHART_OPTIONAL_COLUMNS)


class ImportFileError(FrontDeskError):
    """The file cannot be imported at all (unreadable, not CSV, bad header); one line."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]
    problem: str | None = None  # the row's shape is wrong (too many fields)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def has_contact(self) -> bool:
        return any(self.get(c) for c in CONTACT_COLUMNS)

    @property
    def contact_only(self) -> bool:
        return not any(self.get(c) for c in _CHART_FIELDS)


@dataclass
class ImportReport:
    """What an import read, wrote and refused."""

    rows: int = 0
    charts_added: list[str] = field(default_factory=list)
    contacts_added: int = 0
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


class _Rollback(Exception):
    """Raised inside the import transaction to undo it (all-or-nothing with errors)."""


@dataclass
class _Written:
    """What one run of the import transaction added, and the rows it refused."""

    charts: list[str] = field(default_factory=list)
    contacts: list[tuple[_Row, str]] = field(default_factory=list)  # (row, chart number)
    errors: list[RowError] = field(default_factory=list)
    contacts_added: int = 0


def read_rows(path: Path) -> list[_Row]:
    """Read and check the file's shape; raise ImportFileError with one line when unusable."""
    name = single_line(str(path))
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ImportFileError(f"{name} is a folder, not a CSV file")
        if size > MAX_FILE_BYTES:
            raise ImportFileError(
                f"{name} is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES // 10**6} MB "
                "(split the file)"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ImportFileError(f"cannot read {name}: no such file") from None
    except PermissionError:
        raise ImportFileError(f"cannot read {name}: permission denied") from None
    except OSError as exc:
        raise ImportFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:65536]:
        raise ImportFileError(f"{name} does not look like a CSV file (it holds binary data)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{name} is not UTF-8 text (line {line}); save it as “CSV UTF-8”"
        ) from None
    if not text.strip():
        raise ImportFileError(f"{name} is empty; the first line must name the columns")
    return list(_parse(text, name))


def _parse(text: str, name: str) -> Iterator[_Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        columns = [c.strip().lower() for c in header]
        _check_header(columns, name)
        width = len(columns)
        count = 0
        previous_end = reader.line_num
        for record in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            count += 1
            if count > MAX_ROWS:
                raise ImportFileError(f"{name} has more than {MAX_ROWS:,} rows; split the file")
            if len(record) > width:
                yield _Row(line, {}, f"has {len(record)} fields, the header {width}")
                continue
            cells = [c.strip() for c in record] + [""] * (width - len(record))
            yield _Row(line, dict(zip(columns, cells, strict=True)))
    except csv.Error as exc:
        raise ImportFileError(f"{name} is not valid CSV (line {reader.line_num}): {exc}") from None


def _check_header(columns: list[str], name: str) -> None:
    if not any(columns):
        raise ImportFileError(f"{name}: the first line must name the columns")
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"{name}: unknown column(s) {', '.join(single_line(c) for c in unknown)}; "
            f"known columns are {', '.join(KNOWN_COLUMNS)}"
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise ImportFileError(f"{name}: column(s) named twice: {', '.join(repeated)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ImportFileError(
            f"{name}: missing column(s) {', '.join(missing)} in the header line "
            f"(required: {', '.join(REQUIRED_COLUMNS)})"
        )
    if 0 < sum(c in columns for c in CONTACT_COLUMNS) < len(CONTACT_COLUMNS):
        raise ImportFileError(
            f"{name}: the contact columns go together: {', '.join(CONTACT_COLUMNS)}"
        )


def _chart_input(row: _Row) -> ChartInput:
    return ChartInput(
        chart_number=row.get("chart_number"),
        first_name=row.get("first_name"),
        last_name=row.get("last_name"),
        date_of_birth=row.get("date_of_birth"),
        email=row.get("email") or None,
        preferred_name=row.get("preferred_name") or None,
        phone=row.get("phone") or None,
    )


def _contact_errors(row: _Row) -> list[RowError]:
    """Check a row's contact columns (the service checks them again when adding)."""
    errors = []
    for column, label in (("contact_name", "Name"), ("contact_relationship", "Relationship")):
        value = row.get(column)
        if not value:
            errors.append(RowError(row.line, column, f"{label} of the contact is required."))
        elif has_controls(value):
            errors.append(RowError(row.line, column, f"{label} contains a control character."))
    email = row.get("contact_email")
    if not email:
        errors.append(RowError(row.line, "contact_email", "Email of the contact is required."))
    else:
        try:
            normalize_email(email)
        except InvalidEmail as exc:
            errors.append(RowError(row.line, "contact_email", str(exc)))
    return errors


def _field_of(error: InvalidInput) -> str:
    return error.field or "chart_number"


def import_charts(charts: ChartRecords, path: Path, *, skip_invalid: bool = False) -> ImportReport:
    """Import the file at `path`; see the module docstring for the format and guarantees."""
    rows = read_rows(path)
    if not rows:
        raise ImportFileError(f"{single_line(str(path))} has a header line but no rows")

    def write(session: Session) -> _Written:
        # Fresh state on every call: the transaction is retried whole when the database is busy.
        # Charts and their contacts go in one transaction: all of the file, or none of it.
        written = _Written()
        first_line: dict[str, int] = {}
        for row in rows:
            _import_row(charts, session, row, first_line, written)
        _add_contacts(charts, session, written)
        if written.errors and not skip_invalid:
            raise _Rollback(written.errors)
        return written

    report = ImportReport(rows=len(rows))
    try:
        written = charts.db.transact(write)
    except _Rollback as rollback:
        report.errors = sorted(rollback.args[0], key=lambda e: e.line)
        return report
    report.committed = bool(written.charts) or written.contacts_added > 0
    report.charts_added = written.charts
    report.contacts_added = written.contacts_added
    report.errors = written.errors
    report.errors.sort(key=lambda e: e.line)
    return report


def _add_contacts(charts: ChartRecords, session: Session, written: _Written) -> None:
    """Add the related contacts of the imported charts, in the import's transaction. The
    service checks a contact before inserting it, so a refused one leaves nothing behind."""
    imported = set(written.charts)
    for row, number in written.contacts:
        if number not in imported:
            if not any(e.line == row.line for e in written.errors):
                written.errors.append(
                    RowError(
                        row.line,
                        "chart_number",
                        f"contact skipped: chart {single_line(number)} was not imported",
                    )
                )
            continue
        contact = ContactInput(
            name=row.get("contact_name"),
            relationship=row.get("contact_relationship"),
            email=row.get("contact_email"),
        )
        try:
            charts.add_contact(number, contact, session=session)
            written.contacts_added += 1
        except InvalidInput as exc:
            written.errors.append(RowError(row.line, f"contact_{exc.field or 'name'}", str(exc)))
        except FrontDeskError as exc:
            written.errors.append(RowError(row.line, "contact_name", str(exc)))


def _import_row(
    charts: ChartRecords,
    session: Session,
    row: _Row,
    first_line: dict[str, int],
    written: _Written,
) -> None:
    """Add one row's chart inside the import transaction, or record why it cannot be added.

    The service checks the chart's fields (and that its number is new) before inserting
    anything, so a refused row leaves the transaction as it was."""
    if row.problem is not None:
        written.errors.append(RowError(row.line, "row", row.problem))
        return
    number = row.get("chart_number")
    if row.contact_only and number:
        if number not in first_line:
            written.errors.append(
                RowError(
                    row.line,
                    "chart_number",
                    f"a row with only contact columns must follow the row of chart "
                    f"{single_line(number)} in this file",
                )
            )
        elif not row.has_contact:
            written.errors.append(RowError(row.line, "first_name", "First name is required."))
        else:
            errors = _contact_errors(row)
            written.errors.extend(errors)
            if not errors:
                written.contacts.append((row, number))
        return
    data = _chart_input(row)
    row_errors = _contact_errors(row) if row.has_contact else []
    if number in first_line:
        row_errors.insert(
            0,
            RowError(
                row.line,
                "chart_number",
                f"chart {single_line(number)} is already on line {first_line[number]}",
            ),
        )
    else:
        if number:
            first_line[number] = row.line
        try:
            if row_errors:
                charts.validate_chart(data)  # report the chart's own errors too
            else:
                written.charts.append(charts.add_chart(data, session=session))
        except InvalidInput as exc:
            row_errors.insert(0, RowError(row.line, _field_of(exc), str(exc)))
    written.errors.extend(row_errors)
    if not row_errors and row.has_contact:
        written.contacts.append((row, number))
