"""`frontdesk charts import`: per-row errors naming line and column, all-or-nothing by default,
--skip-invalid, related contacts, and files that cannot be imported at all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from frontdesk.charts.importer import ImportFileError, import_charts
from frontdesk.core.config import load_settings
from frontdesk.services import build_services

from .conftest import CSV_HEADER, Cli, add_chart, set_up_practice

WriteCsv = Callable[..., Path]


def _numbers(cli: Cli) -> list[str]:
    return [r["chart_number"] for r in cli("charts", "list", "--json").json()]


def test_invalid_rows_are_reported_by_line_and_column_and_nothing_is_imported(
    cli: Cli, write_csv: WriteCsv
) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-9")
    path = write_csv(
        [
            CSV_HEADER,
            "C-1,Ana,O'Brien,,1985-03-04,ana@example.com,,,,",
            "C-2,Leo,Park,,1990-02-30,leo@example.com,,,,",
            "C-3,Kim,Lee,,1990-01-01,kim@@example,,,,",
            "C-9,Dup,Store,,1990-01-01,,,,,",
            "C-1,Dup,File,,1990-01-01,,,,,",
            "C-4,Tom,Ng,,1990-01-01,,,Mina,,mina@example.com",
            "C-5,Sam,Ortiz,,1990-01-01,,,,,",
        ]
    )
    result = cli("charts", "import", str(path))
    assert result.code == 1
    assert result.err_lines[:-1] == [
        "line 3, date_of_birth: Date of birth '1990-02-30' is not a real date "
        "(February 1990 has no day 30).",
        "line 4, email: Not a valid email address: "
        "The part after the @-sign contains invalid characters: '@'.",
        "line 5, chart_number: Chart number C-9 already exists (--update changes existing charts).",
        "line 6, chart_number: chart C-1 is already on line 2",
        "line 7, contact_relationship: Relationship of the contact is required.",
    ]
    assert result.err_lines[-1] == (
        "frontdesk: error: 5 error(s) in 7 row(s); nothing was imported (fix the file, or "
        "pass --skip-invalid to import the valid rows)"
    )
    assert _numbers(cli) == ["C-9"]  # all or nothing: the valid rows were not imported either
    assert [r["action"] for r in cli("audit", "--json").json()].count("chart added") == 1


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(
    cli: Cli, write_csv: WriteCsv
) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-9")
    path = write_csv(
        [
            CSV_HEADER,
            "C-1,Ana,O'Brien,,1985-03-04,ana@example.com,,,,",
            "C-9,Dup,Store,,1990-01-01,,,,,",
            "C-2,Leo,Park,,not-a-date,,,Mina Park,Mother,mina@example.com",
            "C-2,,,,,,,Jun Park,Father,jun@example.com",
            "C-3,Kim,Lee,,1990-01-01,,,Joy Lee,Mother,joy@example.com",
        ]
    )
    result = cli("charts", "import", str(path), "--skip-invalid")
    assert result.code == 1
    assert "Imported 2 chart(s) and 1 related contact(s) from 5 row(s)." in result.out
    assert result.err_lines == [
        "line 3, chart_number: Chart number C-9 already exists (--update changes existing charts).",
        "line 4, date_of_birth: Date of birth must be a date written MM/DD/YYYY or YYYY-MM-DD "
        "(got 'not-a-date').",
        "line 5, chart_number: contact skipped: chart C-2 was not imported",
        "frontdesk: error: 3 row error(s) were not imported (listed above)",
    ]
    assert sorted(_numbers(cli)) == ["C-1", "C-3", "C-9"]
    contacts = cli("charts", "show", "C-3", "--json").json()["contacts"]
    assert [(c["name"], c["relationship"], c["email"]) for c in contacts] == [
        ("Joy Lee", "Mother", "joy@example.com")
    ]


def test_bom_crlf_quoted_multiline_fields_any_column_order_and_contacts(
    lite: Cli, write_csv: WriteCsv
) -> None:
    set_up_practice(lite)
    path = write_csv(
        [
            "Email, Last_Name ,FIRST_NAME,date_of_birth,chart_number,"
            "contact_email,contact_name,contact_relationship",
            'ana@example.com,"O\'Brien, Jr.",Ana,1985-03-04,C-1,,,',
            ",Park,Leo,2014-06-01,C-2,mina@example.com,Mina Park,Mother",
            ",,,,C-2,jun@example.com,Jun Park,Father",
            "",
            '"bad@",Lee,"Kim',
            'Two lines",1990-01-01,C-3,,,',
            ",Ng,Tom,1990-01-01,C-4,,,",
        ]
    )
    result = lite("charts", "import", str(path))
    assert result.code == 1
    # The quoted field spans lines 6-7; the row is reported at the line where it starts.
    assert result.err_lines[0].startswith("line 6, ")
    path.write_bytes(path.read_bytes().replace(b'"bad@"', b"kim@example.com"))
    result = lite("charts", "import", str(path))
    assert result.code == 1
    assert result.err_lines[0] == "line 6, first_name: First name contains a control character."

    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    path.write_text("\r\n".join(line for line in lines if "Kim" not in line and "Two" not in line))
    done = lite.ok("charts", "import", str(path))
    assert "Imported 3 chart(s) and 2 related contact(s) from 4 row(s)." in done.out
    leo = lite("charts", "show", "C-2", "--json").json()
    assert [c["name"] for c in leo["contacts"]] == ["Mina Park", "Jun Park"]
    ana = lite("charts", "show", "C-1", "--json").json()
    assert ana["last_name"] == "O'Brien, Jr." and ana["email"] == "ana@example.com"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty; the first line must name the columns"),
        (b"\xef\xbb\xbf\r\n\r\n", "is empty; the first line must name the columns"),
        (b"chart_number,first_name,last_name,date_of_birth\r\n", "has a header line but no rows"),
        (
            b"chart_number,first_name,last_name\r\nC-1,A,B\r\n",
            "missing column(s) date_of_birth in the header line",
        ),
        (  # a column that is not ours is ignored (and listed): here it names the fix
            b"chart_number,first_name,last_name,emial\r\n",
            "missing column(s) date_of_birth in the header line (required: chart_number, "
            "first_name, last_name, date_of_birth); columns not recognised: emial (name one "
            'with --map "emial=date_of_birth")',
        ),
        (
            b"chart_number,first_name,last_name,date_of_birth,email,email\r\n",
            "column(s) named twice: email",
        ),
        (
            b"chart_number,first_name,last_name,date_of_birth,contact_name\r\n",
            "the contact columns go together",
        ),
        (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "does not look like a CSV file"),
        (b"chart_number,first_name\r\nC-1,Jos\xe9\r\n", "is not UTF-8 text (line 2)"),
        (
            b'chart_number,first_name,last_name,date_of_birth\r\nC-1,"A"x,B,1990-01-01\r\n',
            "is not valid CSV (line 2)",
        ),
    ],
)
def test_files_that_cannot_be_imported_say_why_in_one_line(
    lite: Cli, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    line = lite.fails("charts", "import", str(path))
    assert message in line
    assert lite("charts", "list", "--json").json() == []


def test_missing_unreadable_and_oversized_files(
    lite: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert lite.fails("charts", "import", str(tmp_path / "nope.csv")).endswith(
        "nope.csv: no such file"
    )
    assert "is a folder, not a CSV file" in lite.fails("charts", "import", str(tmp_path))
    locked = tmp_path / "locked.csv"
    locked.write_text("chart_number\n")
    locked.chmod(0)
    try:
        readable = False
        try:
            locked.read_bytes()
            readable = True  # running as root: permissions do not stop us
        except PermissionError:
            pass
        if not readable:
            assert "permission denied" in lite.fails("charts", "import", str(locked))
    finally:
        locked.chmod(0o600)
    monkeypatch.setattr("frontdesk.charts.import_file.MAX_FILE_BYTES", 10)
    big = tmp_path / "big.csv"
    big.write_text("chart_number,first_name,last_name,date_of_birth\n")
    assert "the limit is" in lite.fails("charts", "import", str(big))


def test_too_many_fields_and_too_many_rows(
    lite: Cli, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up_practice(lite)
    header = "chart_number,first_name,last_name,date_of_birth"
    path = write_csv([header, "C-1,A,B,1990-01-01,extra", "C-2,A,B,1990-01-01"])
    result = lite("charts", "import", str(path))
    assert result.err_lines[0] == "line 2, row: has 5 fields, the header 4"
    monkeypatch.setattr("frontdesk.charts.import_file.MAX_ROWS", 1)
    assert "has more than 1 rows; split the file" in lite.fails("charts", "import", str(path))


def test_the_importer_works_without_the_command_line(
    lite: Cli, write_csv: WriteCsv, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up_practice(lite)
    path = write_csv(
        ["chart_number,first_name,last_name,date_of_birth,email", "C-1,A,B,1990-01-01,a@x.org"]
    )
    services = build_services(load_settings(), clock=lite.clock, actor="importer")
    try:
        report = import_charts(services.charts, path)
        assert report.ok and report.committed and report.charts_added == ["C-1"]
        again = import_charts(services.charts, path)
        assert not again.committed and again.charts_added == []
        assert [str(e) for e in again.errors] == [
            "line 2, chart_number: Chart number C-1 already exists "
            "(--update changes existing charts)."
        ]
        with pytest.raises(ImportFileError):
            import_charts(services.charts, path.with_name("missing.csv"))
    finally:
        services.close()


def test_help_documents_the_csv_format(lite: Cli) -> None:
    result = lite("charts", "import", "--help")
    assert result.code == 0
    for words in ("contact_relationship", "YYYY-MM-DD", "--skip-invalid", "same chart_number"):
        assert words in result.out


def test_a_contact_the_service_refuses_rolls_back_the_whole_file(
    cli: Cli, write_csv: WriteCsv
) -> None:
    """Charts and their contacts are one transaction: a contact refused only by the service's
    own check (a name over 100 characters) leaves no chart of the file behind."""
    set_up_practice(cli)
    long_name = "M" * 201
    path = write_csv(
        [
            CSV_HEADER,
            "C-1,Ana,O'Brien,,1985-03-04,ana@example.com,,,,",
            f"C-2,Leo,Park,,1990-02-03,,,{long_name},Mother,mina@example.com",
        ]
    )
    result = cli("charts", "import", str(path))
    assert result.code == 1
    assert result.err_lines[0] == "line 3, contact_name: Name is longer than 100 characters."
    assert _numbers(cli) == []
    assert "contact added" not in [r["action"] for r in cli("audit", "--json").json()]
