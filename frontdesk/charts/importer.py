"""Import charts (and related contacts) from a CSV file as practices export it; callable
without the command line (`import_charts`).

The file (see `import_file`): UTF-8 with or without a byte-order mark, or `encoding`; comma,
semicolon or tab separated (found from the header line), or `delimiter`; a header line naming
the columns, matched as people write them (see `import_header`; `mapping` names the rest).
Columns that are not ours are ignored and listed in the report.

    chart_number, first_name, last_name, date_of_birth     required
    preferred_name, email, phone                           optional
    contact_name, contact_relationship, contact_email      optional: a related contact
    contact_phone                                          optional, with the contact
    owner                                                  optional: client | contact

A row whose contact columns are filled adds that related contact (guardian, parent, ...) to
the row's chart; the three contact columns go together. To give one chart several contacts,
follow its row with rows that repeat the chart number, leave every chart column blank and fill
only the contact columns. `owner` = contact makes that row's contact the Chart Owner; a child
(under 18) with no email of its own and a parent or guardian contact with an email gets that
contact as Chart Owner unless the owner column says otherwise (the report lists them). Dates:
ISO always, and `date_format` (US MM/DD/YYYY by default; see `import_values`). Blank lines are
ignored.

Every row is checked by the shared field rules before the transaction commits; errors name the
line and the column ("line 7, date_of_birth: ..."). Everything goes in one transaction: by
default nothing is imported when any row is invalid; with `skip_invalid` the valid rows are
imported and the rest reported. An existing chart number is an error unless `update`: then the
file's filled cells change the chart through the chart-edit rules (`editor`, in the same
transaction: a changed email, last name or date of birth ends a live invitation, and with
`invite` a new one goes out; every change audited; a blank cell keeps what the chart has; the
Chart Owner is never changed). `dry_run` does all of it and rolls it back: the report says what
would be added, changed and refused, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdesk.charts.import_file import (
    DELIMITERS,
    MAX_FILE_BYTES,
    MAX_ROWS,
    CsvSource,
    FileFormat,
    ImportFileError,
)
from frontdesk.charts.import_header import (
    CONTACT_COLUMNS,
    KNOWN_COLUMNS,
    REQUIRED_COLUMNS,
    SYNONYMS,
    is_known,
    match_header,
    parse_mapping,
)
from frontdesk.charts.import_report import (
    ChartEditor,
    EditResult,
    GuardianOwner,
    Outcome,
    RowError,
    Updated,
)
from frontdesk.charts.import_values import DEFAULT_DATE_FORMAT, DateFormat
from frontdesk.charts.import_write import ImportWriter
from frontdesk.charts.records import ChartRecords
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import single_line

__all__ = [
    "CONTACT_COLUMNS",
    "DEFAULT_DATE_FORMAT",
    "DELIMITERS",
    "KNOWN_COLUMNS",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "PROGRESS_EVERY_ROWS",
    "REQUIRED_COLUMNS",
    "SYNONYMS",
    "ChartEditor",
    "EditResult",
    "GuardianOwner",
    "ImportFileError",
    "ImportProgress",
    "ImportReport",
    "RowError",
    "Updated",
    "import_charts",
]

PROGRESS_EVERY_ROWS = 1000


class ImportProgress(Protocol):
    """Told every PROGRESS_EVERY_ROWS rows (and at the end): bytes of the file read, its size,
    rows read."""

    def __call__(self, done: int, total: int, rows: int) -> None: ...


@dataclass
class ImportReport:
    """What an import read, wrote (or, on a dry run, would write) and refused."""

    rows: int = 0
    charts_added: list[str] = field(default_factory=list)
    contacts_added: int = 0
    updated: list[Updated] = field(default_factory=list)  # charts and contacts changed
    unchanged: int = 0  # existing charts (--update) whose fields already had the file's values
    errors: list[RowError] = field(default_factory=list)
    committed: bool = False
    dry_run: bool = False
    ignored_columns: tuple[str, ...] = ()  # header text of the columns that are not ours
    guardian_owners: list[GuardianOwner] = field(default_factory=list)
    contact_owners: int = 0  # charts the owner column gave to their related contact
    without_owner_email: int = 0  # added charts whose owner has no email (cannot be invited)
    format: FileFormat | None = None
    date_format: str = DEFAULT_DATE_FORMAT

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def charts_updated(self) -> int:
        return len({u.chart_number for u in self.updated})


class _Rollback(Exception):
    """Raised inside the import transaction to undo it (errors, or a dry run)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__("rolled back")
        self.outcome = outcome


def import_charts(
    charts: ChartRecords,
    path: Path,
    *,
    skip_invalid: bool = False,
    update: bool = False,
    dry_run: bool = False,
    invite: bool = True,
    editor: ChartEditor | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    date_format: str | None = None,
    mapping: Iterable[str] = (),
    progress: ImportProgress | None = None,
) -> ImportReport:
    """Import the file at `path`; see the module docstring for the format and guarantees.
    `update` needs `editor` (the chart-edit rules); `mapping` holds "SOURCE=FIELD" items.
    ImportFileError (one line) when the file cannot be imported at all."""
    if update and editor is None:
        raise ValueError("update=True needs the chart-edit rules (editor=...)")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise ImportFileError(
            f"--delimiter {single_line(delimiter)!r}: give one character (a comma, a semicolon, "
            "tab or |)"
        )
    try:
        dates = DateFormat.parse(date_format)
    except InvalidInput as exc:
        raise ImportFileError(f"--date-format: {exc}") from None
    columns_map = parse_mapping(mapping)
    source = CsvSource(path, encoding=encoding, delimiter=delimiter, recognize=is_known)
    columns = match_header(source.header, source.name, mapping=columns_map, update=update)

    def work(session: Session) -> Outcome:
        # Fresh state on every call: the transaction is retried whole when the database is busy.
        writer = ImportWriter(
            session,
            clock=charts.clock,
            actor=charts.actor,
            columns=columns,
            dates=dates,
            update=update,
            invite=invite,
            editor=editor,
        )
        for line, cells in source.records():
            writer.add(line, cells)
            if progress is not None and writer.out.rows % PROGRESS_EVERY_ROWS == 0:
                progress(source.bytes_read, source.size, writer.out.rows)
        outcome = writer.finish()
        if progress is not None:
            progress(source.size, source.size, outcome.rows)
        if not outcome.rows:
            raise ImportFileError(f"{source.name} has a header line but no rows")
        if dry_run or (outcome.errors and not skip_invalid):
            raise _Rollback(outcome)
        return outcome

    report = ImportReport(dry_run=dry_run, format=source.format, date_format=dates.text)
    try:
        outcome = charts.db.transact(work)
        report.committed = bool(outcome.charts_added or outcome.contacts_added or outcome.updated)
        kept = True
    except _Rollback as rollback:
        outcome, kept = rollback.outcome, dry_run
    except IntegrityError:
        raise ImportFileError(
            f"another desk added or changed charts of {source.name} while it was imported; "
            "nothing was imported (run the import again)"
        ) from None
    unnamed = tuple(f"(unnamed column {i + 1})" for i in sorted(outcome.unnamed_with_data))
    report.ignored_columns = columns.ignored + unnamed
    report.rows, report.errors = outcome.rows, outcome.errors
    if kept:  # what was (or, on a dry run, would be) written
        report.charts_added = outcome.charts_added
        report.contacts_added = outcome.contacts_added
        report.updated = outcome.updated
        report.unchanged = outcome.unchanged
        report.guardian_owners = outcome.guardian_owners
        report.contact_owners = outcome.contact_owners
        report.without_owner_email = outcome.without_owner_email
    return report
