"""`frontdesk charts import` (frontdesk.cli.chart_import): the summary a person reads, the
refused rows on stderr, the exit codes, the options as usage errors, and the progress shown on
a terminal (a rich bar) or without one (plain lines)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from frontdesk.charts import importer
from frontdesk.cli import COMMANDS, chart_import, main
from frontdesk.cli.context import CliContext

from .conftest import Cli, WriteFile

EXPORT = [  # as an EHR exports it: US dates, people's headers, a column that is not ours
    "Chart Number,First Name,Last Name,DOB,E-mail,Insurance,Guardian Name,Relationship,"
    "Guardian Email",
    "C-1001,Ana,O'Brien,03/04/1985,ana@example.com,Aetna,,,",
    "C-1002,Leo,Park,6/1/2014,,Cigna,Mina Park,Mother,mina@example.com",
    "C-1002,,,,,,Jun Park,Father,jun@example.com",
    "C-1003,Kim,Lee,01/02/1970,,,,,",
]


def _set_up(cli: Cli) -> None:
    cli.ok("practice", "set", "--name", "Cedar Counseling", "--phone", "555-0100", "--portal", "on")


def test_a_realistic_export_is_imported_and_the_summary_says_what_happened(
    cli: Cli, write_file: WriteFile
) -> None:
    _set_up(cli)
    result = cli.ok("charts", "import", str(write_file(EXPORT)))
    assert result.out.splitlines() == [
        "Ignored column(s) not ours: Insurance.",
        "Imported 3 chart(s) and 2 related contact(s) from 4 row(s).",
        "Portal access of 1 child chart with no email goes to the guardian: C-1002 (Mina "
        "Park, Mother).",
        "1 chart cannot be invited until the Chart Owner has an email (frontdesk charts edit "
        "CHART --email E).",
    ]
    shown = cli("charts", "show", "C-1002", "--json").json()
    assert (shown["owner"]["name"], shown["owner"]["email"]) == ("Mina Park", "mina@example.com")


def test_dry_run_then_update_say_what_would_change_and_what_did(
    cli: Cli, write_file: WriteFile
) -> None:
    _set_up(cli)
    cli.ok("charts", "import", str(write_file(EXPORT, name="first.csv")))
    cli.ok("invites", "send", "C-1001", "--yes")
    fixed = [EXPORT[0], EXPORT[1].replace("ana@example.com", "ana.obrien@example.com"), *EXPORT[2:]]
    path = write_file(fixed)
    dry = cli.ok("charts", "import", str(path), "--update", "--dry-run")
    assert dry.out.splitlines() == [
        "Ignored column(s) not ours: Insurance.",
        "Dry run, nothing was written: would import 0 chart(s) and 0 related contact(s) from 4 "
        "row(s).",
        "Would update 1 chart; 2 charts already had the file's values.",
        "  line 2, C-1001: email would change; the live invitation link would end, a new "
        "invitation would go out",
    ]
    assert cli("charts", "show", "C-1001", "--json").json()["email"] == "ana@example.com"
    done = cli.ok("charts", "import", str(path), "--update")
    assert done.out.splitlines()[1:4] == [
        "Imported 0 chart(s) and 0 related contact(s) from 4 row(s).",
        "Updated 1 chart; 2 charts already had the file's values.",
        "  line 2, C-1001: email changed; the live invitation link ended, a new invitation queued",
    ]
    assert done.out.splitlines()[4].startswith("1 email queued. `frontdesk serve`")
    assert cli("charts", "show", "C-1001", "--json").json()["email"] == "ana.obrien@example.com"


def test_refused_rows_go_to_stderr_with_line_and_column_and_the_exit_code_is_1(
    lite: Cli, write_file: WriteFile
) -> None:
    _set_up(lite)
    path = write_file([*EXPORT[:2], "C-9,Bo,Ng,3/4/85,,,,,", "C-10,Cy,Ng,13/04/1985,,,,,"])
    result = lite("charts", "import", str(path))
    assert result.code == 1
    assert result.out == "Ignored column(s) not ours: Insurance.\n"
    assert result.err_lines == [
        "line 3, date_of_birth (DOB): Date of birth '3/4/85' has a two-digit year; write the "
        "year in full (MM/DD/YYYY).",
        "line 4, date_of_birth (DOB): Date of birth '13/04/1985' has no month 13. If the file "
        "writes the day first, import it with --date-format DD/MM/YYYY.",
        "frontdesk: error: 2 error(s) in 3 row(s); nothing was imported (fix the file, or pass "
        "--skip-invalid to import the valid rows)",
    ]
    dry = lite("charts", "import", str(path), "--dry-run")
    assert dry.code == 1 and dry.err_lines[-1] == (
        "frontdesk: error: 2 error(s) in 3 row(s): the import would refuse the whole file (fix "
        "the file, or pass --skip-invalid to import the valid rows); nothing was written (dry "
        "run)"
    )
    assert "the valid rows would import 1 chart(s)" in dry.out
    skipped = lite("charts", "import", str(path), "--skip-invalid")
    assert skipped.code == 1
    assert "Imported 1 chart(s) and 0 related contact(s) from 3 row(s)." in skipped.out
    assert skipped.err_lines[-1] == (
        "frontdesk: error: 2 row error(s) were not imported (listed above)"
    )
    assert [c["chart_number"] for c in lite("charts", "list", "--json").json()] == ["C-1001"]


def test_at_most_fifty_errors_are_listed(lite: Cli, write_file: WriteFile) -> None:
    _set_up(lite)
    rows = [f"C-{i},Bo,Ng,1/1/90" for i in range(60)]
    result = lite("charts", "import", str(write_file(["MRN,First,Last,DOB", *rows])))
    assert len(result.err_lines) == 52
    assert result.err_lines[-2] == "... and 10 more error(s)"


def test_options_for_dates_encoding_delimiter_and_names(lite: Cli, write_file: WriteFile) -> None:
    _set_up(lite)
    path = write_file(
        ["Client ID|Prénom|Nom|Né le", "C-1|José|Muñoz|04.03.1985"], encoding="cp1252"
    )
    refused = lite.fails("charts", "import", str(path))
    assert refused == (
        f"frontdesk: error: {path} is not UTF-8 text (line 1); it looks like Windows-1252 "
        "(what Excel's plain “CSV” writes on Windows): import it with --encoding cp1252, or "
        "save it as “CSV UTF-8”"
    )
    argv = ["charts", "import", str(path), "--encoding", "cp1252", "--delimiter", "|"]
    argv += ["--date-format", "DD.MM.YYYY", "--map", "Client ID=chart_number"]
    argv += ["--map", "Prénom=first_name", "--map", "Nom=last_name", "--map", "Né le=dob"]
    assert lite(*argv).code == 2  # "dob" is not a field name
    argv[-1] = "Né le=date_of_birth"
    result = lite.ok(*argv)
    assert result.out.splitlines()[0] == (
        "Imported 1 chart(s) and 0 related contact(s) from 1 row(s)."
    )
    chart = lite("charts", "show", "C-1", "--json").json()
    assert (chart["first_name"], chart["last_name"], chart["date_of_birth"]) == (
        "José",
        "Muñoz",
        "1985-03-04",
    )


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--date-format", "DD/MM/YY"], "Date format 'DD/MM/YY' is not one we read"),
        (["--encoding", "klingon"], "unknown encoding 'klingon'"),
        (["--delimiter", "ab"], "'ab': give one character: ',', ';', tab or '|'"),
        (["--map", "Client ID"], "'Client ID': write SOURCE=FIELD"),
        (["--no-invite"], "--no-invite goes with --update"),
    ],
)
def test_an_option_that_cannot_work_is_a_usage_error(
    lite: Cli, write_file: WriteFile, options: list[str], words: str
) -> None:
    result = lite("charts", "import", str(write_file(EXPORT)), *options)
    assert result.code == 2 and words in result.err
    assert "Traceback" not in result.err


@pytest.mark.parametrize("name", ["tab", "\t", "semicolon", ";", "|"])
def test_delimiter_names(name: str) -> None:
    assert chart_import._delimiter(name) in ("\t", ";", "|")


def test_a_file_that_is_not_csv_is_one_line(lite: Cli, tmp_path: Path) -> None:
    path = tmp_path / "clients.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    line = lite.fails("charts", "import", str(path))
    assert line.startswith(f"frontdesk: error: {path} does not look like a CSV file: it is an ")


def test_without_a_terminal_progress_is_plain_lines(
    lite: Cli, write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_up(lite)
    monkeypatch.setattr(chart_import, "PLAIN_PROGRESS_SECONDS", 0.0)
    monkeypatch.setattr(importer, "PROGRESS_EVERY_ROWS", 1000)
    rows = [f"C-{i},Bo,Ng,1/1/1990" for i in range(2500)]
    result = lite("charts", "import", str(write_file(["MRN,First,Last,DOB", *rows])))
    assert result.code == 0
    lines = result.err_lines
    assert len(lines) == 2 and all(
        line.startswith("frontdesk: importing clients.csv: ") for line in lines
    )
    assert lines[0].endswith("% read, 1,000 row(s)") and lines[1].endswith("% read, 2,000 row(s)")


def test_on_a_terminal_progress_is_a_bar(
    sqlite_url: str,
    write_file: WriteFile,
    clock: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("SUDO_USER", "alice")
    rows = [f"C-{i},Bo,Ng,1/1/1990" for i in range(1500)]
    path = write_file(["MRN,First,Last,DOB", *rows])
    screen = io.StringIO()
    ctx = CliContext(
        stdout=Console(file=io.StringIO()),
        stderr=Console(file=screen, force_terminal=True, width=100),
    )
    code = main(["charts", "import", str(path)], ctx, groups=COMMANDS)
    assert code == 0
    assert "Importing clients.csv" in screen.getvalue()


def test_help_documents_the_format_and_the_options(lite: Cli) -> None:
    result = lite("charts", "import", "--help")
    assert result.code == 0
    for words in (
        "contact_relationship",
        "YYYY-MM-DD",
        "MM/DD/YYYY",
        "--skip-invalid",
        "same chart_number",
        "--update",
        "--dry-run",
        "--encoding",
        "--delimiter",
        "--map",
        "--date-format",
        "--no-invite",
        "owner",
    ):
        assert words in result.out, words


def test_the_same_file_with_update_says_nothing_changed(lite: Cli, write_file: WriteFile) -> None:
    _set_up(lite)
    path = write_file(EXPORT)
    lite.ok("charts", "import", str(path))
    again = lite.ok("charts", "import", str(path), "--update")
    assert again.out.splitlines()[1:3] == [
        "Imported 0 chart(s) and 0 related contact(s) from 4 row(s).",
        "Nothing changed: 3 charts already had the file's values.",
    ]
