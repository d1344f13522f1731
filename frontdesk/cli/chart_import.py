"""`frontdesk charts import FILE.csv`: charts and related contacts from a CSV file as practices
export it, with `--update`, `--dry-run` and the options for dates, encodings, delimiters and
header names. The charts group adds the command with `register_import(commands)`.

The importer (`frontdesk.charts.importer`) reads, checks and writes; this module gives it the
chart-edit rules for `--update` (`services.chart_edits`), shows a progress bar on a terminal
(plain lines otherwise) and writes the summary: what was (or would be) added and changed, the
columns ignored, the guardians made Chart Owner, and the refused rows with line and column.
Nothing here loads the database layer until the command runs."""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from frontdesk.cli.args import command
from frontdesk.cli.context import CliContext, CliError, UsageError
from frontdesk.cli.display import plural, queued_note
from frontdesk.core.text import single_line
from frontdesk.desk.wording import FIELD_WORDS

if TYPE_CHECKING:
    from frontdesk.charts.importer import ImportProgress, ImportReport, Updated
    from frontdesk.cli.args import Commands

MAX_ERRORS_SHOWN = 50
MAX_LISTED = 20  # changed charts and guardian owners listed one by one
PLAIN_PROGRESS_SECONDS = 5.0  # without a terminal: a progress line at most this often
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "\\t": "\t", "pipe": "|"}
_EFFECT_WORDS = {
    "link_ended": "the live invitation link ended",
    "invited": "a new invitation queued",
    "sign_in_email_changed": "the portal sign-in email changed (sessions ended, both told)",
}
_WOULD_EFFECT_WORDS = {
    "link_ended": "the live invitation link would end",
    "invited": "a new invitation would go out",
    "sign_in_email_changed": "the portal sign-in email would change",
}


def register_import(charts: Commands) -> None:
    """Add `import` to the `charts` command group."""
    p = command(
        charts,
        "import",
        cmd_charts_import,
        "import charts and related contacts from a CSV file",
        epilog=_CSV_HELP,
        formatter_class=_ImportHelpFormatter,
    )
    p.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file")
    p.add_argument(
        "--skip-invalid", action="store_true", help="import the valid rows, list the others"
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="change existing charts to the file's values (a blank cell keeps the chart's)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would be added, changed and refused; write nothing",
    )
    p.add_argument(
        "--no-invite",
        action="store_true",
        help="with --update: a change that ends a live invitation link sends no new one",
    )
    p.add_argument(
        "--date-format",
        type=_date_format,
        metavar="FORMAT",
        help="how the file writes dates, e.g. DD/MM/YYYY (default MM/DD/YYYY; "
        "YYYY-MM-DD is always read)",
    )
    p.add_argument(
        "--encoding",
        type=_encoding,
        metavar="NAME",
        help="the file's encoding, e.g. cp1252 (default UTF-8, with or without BOM)",
    )
    p.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="CHAR",
        help="the column separator: ',', ';', tab or '|' (default: found from the header)",
    )
    p.add_argument(
        "--map",
        type=_mapping,
        action="append",
        default=[],
        metavar="SOURCE=FIELD",
        help='read column SOURCE as FIELD, e.g. --map "Client ID=chart_number" '
        '("SOURCE=" ignores it); may be repeated',
    )


# --------------------------------------------------------------------------------------------
# option types (each loads only the importer's plain-text parts, and only when given)
# --------------------------------------------------------------------------------------------


def _date_format(value: str) -> str:
    from frontdesk.charts.import_values import DateFormat
    from frontdesk.core.errors import InvalidInput

    try:
        return DateFormat.parse(value).text
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _encoding(value: str) -> str:
    from frontdesk.charts.import_file import ImportFileError, check_encoding

    try:
        return check_encoding(value)
    except ImportFileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _delimiter(value: str) -> str:
    text = _DELIMITER_NAMES.get(value.strip().lower(), value)
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"{single_line(value)!r}: give one character: ',', ';', tab or '|'"
        )
    return text


def _mapping(value: str) -> str:
    from frontdesk.charts.import_file import ImportFileError
    from frontdesk.charts.import_header import parse_mapping

    try:
        parse_mapping([value])
    except ImportFileError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--map ")) from None
    return value


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------


def cmd_charts_import(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.charts.importer import import_charts

    if args.no_invite and not args.update:
        raise UsageError("--no-invite goes with --update (only an update can end a link)")
    services = ctx.services()
    with _progress(ctx, args.file) as progress:
        report = import_charts(
            services.charts,
            args.file,
            skip_invalid=args.skip_invalid,
            update=args.update,
            dry_run=args.dry_run,
            invite=not args.no_invite,
            editor=services.chart_edits if args.update else None,
            encoding=args.encoding,
            delimiter=args.delimiter,
            date_format=args.date_format,
            mapping=args.map,
            progress=progress,
        )
    _summary(ctx, report, skip_invalid=args.skip_invalid)
    _errors(ctx, report)
    errors = len(report.errors)
    if report.dry_run and errors:
        if args.skip_invalid:
            raise CliError(
                f"{errors} row error(s) would not be imported (listed above); nothing was "
                "written (dry run)"
            )
        raise CliError(
            f"{errors} error(s) in {report.rows} row(s): the import would refuse the whole "
            "file (fix the file, or pass --skip-invalid to import the valid rows); nothing "
            "was written (dry run)"
        )
    if errors and not args.skip_invalid:
        raise CliError(
            f"{errors} error(s) in {report.rows} row(s); nothing was imported "
            "(fix the file, or pass --skip-invalid to import the valid rows)"
        )
    if errors:
        raise CliError(f"{errors} row error(s) were not imported (listed above)")
    return 0


def _summary(ctx: CliContext, report: ImportReport, *, skip_invalid: bool) -> None:
    """What was (or, on a dry run, would be) written: stdout, one sentence a line."""
    if report.ignored_columns:
        ctx.say(f"Ignored column(s) not ours: {', '.join(report.ignored_columns)}.")
    if report.errors and not skip_invalid and not report.dry_run:
        return  # nothing was imported: the errors and the last line say so
    charts, contacts = len(report.charts_added), report.contacts_added
    counts = f"{charts} chart(s) and {contacts} related contact(s) from {report.rows} row(s)"
    if not report.dry_run:
        ctx.say(f"Imported {counts}.")
    elif report.errors and not skip_invalid:
        ctx.say(f"Dry run, nothing was written: the valid rows would import {counts}.")
    else:
        ctx.say(f"Dry run, nothing was written: would import {counts}.")
    would = report.dry_run
    if report.updated or report.unchanged:
        same = f"{plural(report.unchanged, 'chart')} already had the file's values"
        if not report.updated:
            ctx.say(f"Nothing {'would change' if would else 'changed'}: {same}.")
        else:
            line = (
                f"{'Would update' if would else 'Updated'} {plural(report.charts_updated, 'chart')}"
            )
            ctx.say(line + (f"; {same}." if report.unchanged else "."))
        for updated in report.updated[:MAX_LISTED]:
            ctx.say(f"  {_updated_words(updated, would=would)}")
        if len(report.updated) > MAX_LISTED:
            ctx.say(f"  … and {len(report.updated) - MAX_LISTED} more change(s).")
    if report.guardian_owners:
        shown = ", ".join(
            f"{single_line(g.chart_number)} ({single_line(g.name)}, {single_line(g.relationship)})"
            for g in report.guardian_owners[:MAX_LISTED]
        )
        more = len(report.guardian_owners) - MAX_LISTED
        ctx.say(
            f"Portal access of {plural(len(report.guardian_owners), 'child chart')} with no "
            f"email {'would go' if would else 'goes'} to the guardian: {shown}"
            + (f", and {more} more" if more > 0 else "")
            + "."
        )
    if report.contact_owners:
        ctx.say(
            f"{plural(report.contact_owners, 'chart')}: the related contact "
            f"{'would own' if would else 'owns'} portal access (owner column)."
        )
    if report.without_owner_email:
        ctx.say(
            f"{plural(report.without_owner_email, 'chart')} cannot be invited until the Chart "
            "Owner has an email (frontdesk charts edit CHART --email E)."
        )
    emails = sum(u.emails for u in report.updated)
    if emails and not would:
        ctx.say(f"{plural(emails, 'email')} queued. {queued_note(ctx, emails)}")


def _updated_words(updated: Updated, *, would: bool) -> str:
    """ "line 5, C-1001: email, date of birth changed; the live invitation link ended"."""
    what = single_line(updated.chart_number)
    if updated.contact:
        what += f", {single_line(updated.contact)}"
    fields = ", ".join(FIELD_WORDS.get(name, name) for name in updated.changed)
    words = _WOULD_EFFECT_WORDS if would else _EFFECT_WORDS
    effects = [words.get(effect, effect) for effect in updated.effects]
    text = f"line {updated.line}, {what}: {fields} {'would change' if would else 'changed'}"
    return text + ("; " + ", ".join(effects) if effects else "")


def _errors(ctx: CliContext, report: ImportReport) -> None:
    """The refused rows, one line each on stderr (the first MAX_ERRORS_SHOWN)."""
    out = ctx.stderr.file
    for error in report.errors[:MAX_ERRORS_SHOWN]:
        out.write(f"{single_line(str(error))}\n")
    if len(report.errors) > MAX_ERRORS_SHOWN:
        out.write(f"... and {len(report.errors) - MAX_ERRORS_SHOWN} more error(s)\n")
    out.flush()


@contextmanager
def _progress(ctx: CliContext, path: Path) -> Iterator[ImportProgress]:
    """A progress bar on a terminal (rich, on stderr, gone when done); without one, a plain
    line on stderr at most every PLAIN_PROGRESS_SECONDS (a short import prints none)."""
    name = single_line(path.name)
    if ctx.stderr.is_terminal:
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

        columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
        with Progress(*columns, console=ctx.stderr, transient=True) as bar:
            task = bar.add_task(f"Importing {name}", total=None)

            def show(done: int, total: int, rows: int) -> None:
                bar.update(
                    task,
                    completed=done,
                    total=max(total, 1),
                    description=f"Importing {name}: {rows:,} row(s)",
                )

            yield show
        return
    last = time.monotonic()

    def line(done: int, total: int, rows: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PLAIN_PROGRESS_SECONDS or done >= total:
            return
        last = now
        share = done * 100 // max(total, 1)
        ctx.stderr.file.write(f"frontdesk: importing {name}: {share}% read, {rows:,} row(s)\n")
        ctx.stderr.file.flush()

    yield line


# --------------------------------------------------------------------------------------------
# the help
# --------------------------------------------------------------------------------------------

_CSV_HELP = "(the CSV format: written when this help is shown)"


def csv_help() -> str:
    """The epilog of `charts import --help`: the importer's columns, options and limits."""
    from frontdesk.charts.import_file import MAX_FILE_BYTES, MAX_ROWS
    from frontdesk.charts.import_header import CONTACT_COLUMNS, REQUIRED_COLUMNS

    return f"""\
The file is CSV with a header line naming the columns, in any order. Names are matched without
regard to case, spaces, underscores and hyphens, with the usual synonyms ("Chart Number",
"MRN", "Chart #", "Given name", "Family name", "DOB", "Date of Birth", "E-mail", ...);
--map names the rest. Columns that are not ours are ignored and listed.

  required  {", ".join(REQUIRED_COLUMNS)}
  optional  preferred_name, email, phone
  contact   {", ".join(CONTACT_COLUMNS)} (together), contact_phone
  owner     client or contact: who owns portal access (default: the client; a child
            under 18 without an email of its own: its parent or guardian contact)

Dates: YYYY-MM-DD always, and MM/DD/YYYY or M/D/YYYY (or --date-format); a two-digit year is
refused, never guessed. UTF-8 with or without BOM (or --encoding, e.g. cp1252); comma,
semicolon or tab found from the header (or --delimiter). A row with the contact columns filled
adds that related contact (guardian, parent, ...) to its chart. For more contacts of one chart,
add rows right after it with the same chart_number, every chart column blank and only the
contact columns filled. Example:

  Chart Number,First Name,Last Name,DOB,E-mail,Contact Name,Relationship,Contact Email
  C-1001,Ana,O'Brien,03/04/1985,ana@example.com,,,
  C-1002,Leo,Park,06/01/2014,,Mina Park,Mother,mina@example.com
  C-1002,,,,,Jun Park,Father,jun@example.com

Every row is checked first; errors name the line and the column. Unless --skip-invalid is
given, nothing is imported when any row is invalid. Everything is written in one transaction.
An existing chart number is an error unless --update: then the file's filled cells change the
chart as `charts edit` does (a changed email, last name or date of birth ends a live
invitation link and sends a new one unless --no-invite; every change audited). --dry-run shows
what would be added, changed and refused and writes nothing. Files up to
{MAX_FILE_BYTES // 10**6} MB and {MAX_ROWS:,} rows.
"""


class _ImportHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Writes the CSV format as the epilog only when the help is shown (from the importer's
    plain-text modules: the help loads no database layer either)."""

    def add_text(self, text: str | None) -> None:
        super().add_text(csv_help() if text is _CSV_HELP else text)
