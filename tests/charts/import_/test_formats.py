"""Files as practices export them (issue 15): each date format, encoding, delimiter and header
spelling, and each file that is not CSV at all, with the exact words of every refusal. On
SQLite: reading a file does not depend on the engine (tests/charts/import_/test_update.py and
the fuzz test run on both)."""

from __future__ import annotations

import codecs
import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from frontdesk.charts.import_file import HEAD_BYTES, ImportFileError
from frontdesk.charts.importer import KNOWN_COLUMNS
from frontdesk.services import Services

from .conftest import Import, WriteFile, chart_row, counts

HEADER = "chart_number,first_name,last_name,date_of_birth"

# ------------------------------------------------------------------------------------- dates

DATES_READ = [
    ("1985-03-04", None, date(1985, 3, 4)),
    ("03/04/1985", None, date(1985, 3, 4)),
    ("3/4/1985", None, date(1985, 3, 4)),
    ("12/31/1999", None, date(1999, 12, 31)),
    (" 3 / 4 / 1985 ", None, date(1985, 3, 4)),
    ("04/03/1985", "DD/MM/YYYY", date(1985, 3, 4)),
    ("4/3/1985", "dd/mm/yyyy", date(1985, 3, 4)),
    ("04.03.1985", "DD.MM.YYYY", date(1985, 3, 4)),
    ("1985-03-04", "DD/MM/YYYY", date(1985, 3, 4)),  # ISO is always read
    ("1985/03/04", "YYYY/MM/DD", date(1985, 3, 4)),
    ("03-04-1985", "MM-DD-YYYY", date(1985, 3, 4)),
    ("2/29/2024", None, date(2024, 2, 29)),
]


@pytest.mark.parametrize(("value", "date_format", "expected"), DATES_READ)
def test_each_date_format_is_read(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    value: str,
    date_format: str | None,
    expected: date,
) -> None:
    path = write_file([HEADER, f'C-1,Ana,Lee,"{value}"'])
    report = lite_import(path, date_format=date_format)
    assert report.errors == [] and report.charts_added == ["C-1"]
    assert chart_row(lite_services, "C-1").date_of_birth == expected


DATES_REFUSED = [
    (
        "3/4/85",
        None,
        "Date of birth '3/4/85' has a two-digit year; write the year in full (MM/DD/YYYY).",
    ),
    (
        "04/03/85",
        "DD/MM/YYYY",
        "Date of birth '04/03/85' has a two-digit year; write the year in full (DD/MM/YYYY).",
    ),
    (
        "02/30/1990",
        None,
        "Date of birth '02/30/1990' is not a real date (February 1990 has no day 30).",
    ),
    (
        "1990-02-30",
        None,
        "Date of birth '1990-02-30' is not a real date (February 1990 has no day 30).",
    ),
    (
        "2/29/2023",
        None,
        "Date of birth '2/29/2023' is not a real date (February 2023 has no day 29).",
    ),
    (
        "31/04/1990",
        "DD/MM/YYYY",
        "Date of birth '31/04/1990' is not a real date (April 1990 has no day 31).",
    ),
    (
        "13/04/1985",
        None,
        "Date of birth '13/04/1985' has no month 13. If the file writes the day first, import "
        "it with --date-format DD/MM/YYYY.",
    ),
    (
        "04/13/1985",
        "DD/MM/YYYY",
        "Date of birth '04/13/1985' has no month 13. If the file writes the month first, "
        "import it with --date-format MM/DD/YYYY.",
    ),
    ("1985-13-04", None, "Date of birth '1985-13-04' has no month 13."),
    (
        "March 4, 1985",
        None,
        "Date of birth must be a date written MM/DD/YYYY or YYYY-MM-DD (got 'March 4, 1985').",
    ),
    (
        "1985/03/04",
        None,
        "Date of birth must be a date written MM/DD/YYYY or YYYY-MM-DD (got '1985/03/04').",
    ),
    (
        "3/4/19850",
        None,
        "Date of birth must be a date written MM/DD/YYYY or YYYY-MM-DD (got '3/4/19850').",
    ),
    ("01/01/2099", None, "Date of birth is in the future."),
    ("01/01/1899", None, "Date of birth is before 1900."),
    ("", None, "Date of birth is required."),
]


@pytest.mark.parametrize(("value", "date_format", "message"), DATES_REFUSED)
def test_a_date_that_is_not_real_or_ambiguous_is_refused_with_its_fix(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    value: str,
    date_format: str | None,
    message: str,
) -> None:
    path = write_file(["Chart Number,First Name,Last Name,DOB", f'C-1,Ana,Lee,"{value}"'])
    before = counts(lite_services)
    report = lite_import(path, date_format=date_format)
    assert [str(e) for e in report.errors] == [f"line 2, date_of_birth (DOB): {message}"]
    assert counts(lite_services) == before


def test_an_earlier_field_is_reported_before_a_bad_date(
    lite_import: Import, write_file: WriteFile
) -> None:
    report = lite_import(write_file([HEADER, "C-1,,Lee,3/4/85"]))
    assert [str(e) for e in report.errors] == ["line 2, first_name: First name is required."]


@pytest.mark.parametrize(
    ("date_format", "message"),
    [
        (
            "DD/MM/YY",
            "--date-format: Date format 'DD/MM/YY' is not one we read: use DD, MM and YYYY in "
            "any order with /, -, . or a space between (e.g. DD/MM/YYYY).",
        ),
        (
            "MM/MM/YYYY",
            "--date-format: Date format 'MM/MM/YYYY' is not one we read: use DD, MM and YYYY "
            "in any order with /, -, . or a space between (e.g. DD/MM/YYYY).",
        ),
    ],
)
def test_a_date_format_we_cannot_read_is_refused(
    lite_import: Import, write_file: WriteFile, date_format: str, message: str
) -> None:
    with pytest.raises(ImportFileError) as refused:
        lite_import(write_file([HEADER, "C-1,Ana,Lee,1985-03-04"]), date_format=date_format)
    assert str(refused.value) == message


# ----------------------------------------------------------------------------------- encodings

ROW_MUNOZ = "C-1,José,Muñoz,03/04/1985"


@pytest.mark.parametrize(
    ("encoding", "bom", "option"),
    [
        ("utf-8", False, None),
        ("utf-8", True, None),
        ("utf-8", True, "utf-8"),
        ("cp1252", False, "cp1252"),
        ("cp1252", False, "windows-1252"),
        ("latin-1", False, "latin-1"),
        ("mac_roman", False, "mac_roman"),
        ("utf-16", False, "utf-16"),  # Python writes its BOM
    ],
)
def test_each_encoding_is_read_with_its_option(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    encoding: str,
    bom: bool,
    option: str | None,
) -> None:
    path = write_file([HEADER, ROW_MUNOZ], encoding=encoding, bom=bom)
    report = lite_import(path, encoding=option)
    assert report.errors == [] and report.charts_added == ["C-1"]
    chart = chart_row(lite_services, "C-1")
    assert (chart.first_name, chart.last_name) == ("José", "Muñoz")


WINDOWS = "it looks like Windows-1252 (what Excel's plain “CSV” writes on Windows)"
NOT_UTF8 = [
    (
        [HEADER, ROW_MUNOZ],
        "cp1252",
        f"is not UTF-8 text (line 2); {WINDOWS}: import it with --encoding cp1252, or save it "
        "as “CSV UTF-8”",
    ),
    (
        ["chart_number,first_name,last_name,date_of_birth,Pré-nom", "C-1,Ana,Lee,1985-03-04,x"],
        "cp1252",
        f"is not UTF-8 text (line 1); {WINDOWS}: import it with --encoding cp1252, or save it "
        "as “CSV UTF-8”",
    ),
    (
        [HEADER, "C-1,Ana,O’Brien,1985-03-04"],  # a curly apostrophe: 0x92 in Windows-1252
        "cp1252",
        f"is not UTF-8 text (line 2); {WINDOWS}: import it with --encoding cp1252, or save it "
        "as “CSV UTF-8”",
    ),
    (
        [HEADER, "C-1,Åsa,Lee,1985-03-04"],  # 0x81: not a character of Windows-1252
        "mac_roman",
        "is not UTF-8 text (line 2); it looks like Mac Roman (an older Mac export): import it "
        "with --encoding mac_roman, or save it as “CSV UTF-8”",
    ),
    (
        [HEADER, ROW_MUNOZ],
        "utf-16",
        "is not UTF-8 text (line 1); it is UTF-16 (Excel's “Unicode Text”): import it with "
        "--encoding utf-16, or save it as “CSV UTF-8”",
    ),
    (
        [HEADER, ROW_MUNOZ],
        "utf-16-le",  # no byte-order mark
        "is not UTF-8 text (line 1); it looks like UTF-16: import it with --encoding utf-16, "
        "or save it as “CSV UTF-8”",
    ),
]


@pytest.mark.parametrize(("lines", "encoding", "message"), NOT_UTF8)
def test_a_file_that_is_not_utf8_is_refused_with_the_line_a_guess_and_the_option(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    lines: list[str],
    encoding: str,
    message: str,
) -> None:
    path = write_file(lines, encoding=encoding)
    before = counts(lite_services)
    with pytest.raises(ImportFileError) as refused:
        lite_import(path)
    assert str(refused.value) == f"{path} {message}"
    assert counts(lite_services) == before


def test_a_bad_byte_far_into_the_file_names_its_line_and_nothing_is_written(
    lite_import: Import, lite_services: Services, write_file: WriteFile
) -> None:
    rows = [f"C-{i},Ana,Lee,03/04/1985" for i in range(3000)]
    path = write_file([HEADER, *rows, ROW_MUNOZ.replace("C-1,", "C-X,")], encoding="cp1252")
    assert path.stat().st_size > HEAD_BYTES  # past what is checked before reading the rows
    before = counts(lite_services)
    with pytest.raises(ImportFileError) as refused:
        lite_import(path)
    assert str(refused.value).startswith(f"{path} is not UTF-8 text (line 3002); {WINDOWS}")
    assert counts(lite_services) == before


@pytest.mark.parametrize(
    ("encoding", "message"),
    [
        ("cp1252", "cannot be read as Windows-1252 (line 2); check the --encoding"),
        ("utf-8", "cannot be read as UTF-8 (line 2); check the --encoding"),
    ],
)
def test_a_file_the_given_encoding_cannot_read_says_so(
    lite_import: Import, write_file: WriteFile, encoding: str, message: str
) -> None:
    path = write_file([HEADER, "C-1,Ana,Lee,1985-03-04"])
    path.write_bytes(path.read_bytes().replace(b"Ana", b"A\x81\xffa"))
    with pytest.raises(ImportFileError) as refused:
        lite_import(path, encoding=encoding)
    assert str(refused.value) == f"{path} {message}"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("klingon", "unknown encoding 'klingon' (for example: utf-8, cp1252, mac_roman, utf-16)"),
        ("rot13", "'rot13' is not a text encoding"),
    ],
)
def test_an_encoding_that_is_not_one_is_refused(
    lite_import: Import, write_file: WriteFile, name: str, message: str
) -> None:
    with pytest.raises(ImportFileError) as refused:
        lite_import(write_file([HEADER, "C-1,Ana,Lee,1985-03-04"]), encoding=name)
    assert str(refused.value) == message


# ---------------------------------------------------------------------------------- delimiters


@pytest.mark.parametrize(
    ("delimiter", "option", "found"),
    [
        (",", None, ","),
        (";", None, ";"),
        ("\t", None, "\t"),
        ("|", "|", "|"),
        (";", ";", ";"),
    ],
)
def test_each_delimiter_is_found_or_given(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    delimiter: str,
    option: str | None,
    found: str,
) -> None:
    header = delimiter.join(["Chart Number", "First Name", "Last Name", "DOB", "Email"])
    row = delimiter.join(["C-1", "Ana", '"O\'Brien, Jr."', "03/04/1985", "ana@example.com"])
    report = lite_import(write_file([header, row]), delimiter=option)
    assert report.errors == [] and report.format is not None
    assert report.format.delimiter == found
    assert chart_row(lite_services, "C-1").last_name == "O'Brien, Jr."


def test_a_semicolon_file_whose_names_hold_commas_is_still_read_by_semicolons(
    lite_import: Import, lite_services: Services, write_file: WriteFile
) -> None:
    path = write_file(
        ["Chart Number;Name, last;First Name;DOB", "C-1;Lee, Jr.;Ana;03/04/1985"],
    )
    report = lite_import(path, mapping=["Name, last=last_name"])
    assert report.errors == [] and report.format is not None and report.format.delimiter == ";"
    assert chart_row(lite_services, "C-1").last_name == "Lee, Jr."


def test_the_wrong_delimiter_says_which_columns_it_saw(
    lite_import: Import, write_file: WriteFile
) -> None:
    path = write_file(["chart_number;first_name;last_name;date_of_birth", "C-1;A;B;1985-03-04"])
    with pytest.raises(ImportFileError) as refused:
        lite_import(path, delimiter=",")
    assert str(refused.value) == (
        f"{path}: missing column(s) chart_number, first_name, last_name, date_of_birth in the "
        "header line (required: chart_number, first_name, last_name, date_of_birth); columns "
        "not recognised: chart_number;first_name;last_name;date_of_birth (name one with --map "
        '"chart_number;first_name;last_name;date_of_birth=chart_number")'
    )


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_each_line_ending_is_read(lite_import: Import, write_file: WriteFile, newline: str) -> None:
    lines = [HEADER, "C-1,Ana,Lee,1985-03-04", '"C-2","Bo","Two\nLines",1985-03-04', ""]
    report = lite_import(write_file(lines, newline=newline), skip_invalid=True)
    assert report.charts_added == ["C-1"]
    assert [str(e) for e in report.errors] == [
        "line 3, last_name: Last name contains a control character."
    ]


# ------------------------------------------------------------------------------------- headers

SPELLINGS = [
    ("chart_number", ["Chart Number", "CHART_NUMBER", "chart-number", "MRN", "Chart #", "Chart"]),
    ("first_name", ["First Name", "FIRST_NAME", "first-name", "Given name", "Given", "First"]),
    ("last_name", ["Last Name", "Family name", "Surname", "LAST NAME", "last"]),
    ("date_of_birth", ["DOB", "D.O.B.", "Date of Birth", "Birth Date", "birthdate", "Birthday"]),
    ("email", ["E-mail", "Email Address", "e_mail", "EMAIL"]),
    ("phone", ["Phone Number", "Telephone", "phone"]),
    ("preferred_name", ["Preferred Name", "Nickname", "preferred"]),
    ("contact_name", ["Contact Name", "Guardian Name", "Guardian"]),
    ("contact_relationship", ["Contact Relationship", "Relationship"]),
    ("contact_email", ["Contact Email", "Guardian Email", "Contact E-mail"]),
    ("contact_phone", ["Contact Phone", "Guardian Phone"]),
    ("owner", ["Owner", "Chart Owner", "Portal Owner"]),
]
VALUES = {
    "chart_number": "C-7",
    "first_name": "Leo",
    "last_name": "Park",
    "date_of_birth": "06/01/1990",
    "email": "leo@example.com",
    "phone": "555-0101",
    "preferred_name": "Lee",
    "contact_name": "Mina Park",
    "contact_relationship": "Mother",
    "contact_email": "mina@example.com",
    "contact_phone": "555-0102",
    "owner": "contact",
}


@pytest.mark.parametrize(
    ("field", "spelling"), [(f, s) for f, spellings in SPELLINGS for s in spellings]
)
def test_each_header_spelling_means_its_field(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    field: str,
    spelling: str,
) -> None:
    names = [spelling if name == field else name for name in KNOWN_COLUMNS]
    path = write_file([",".join(names), ",".join(VALUES[name] for name in KNOWN_COLUMNS)])
    report = lite_import(path)
    assert (report.errors, report.ignored_columns, report.charts_added) == ([], (), ["C-7"])
    shown = lite_services.views.chart("C-7")
    assert (shown.first_name, shown.last_name, shown.preferred_name) == ("Leo", "Park", "Lee")
    assert (shown.date_of_birth, shown.email, shown.phone) == (
        date(1990, 6, 1),
        "leo@example.com",
        "555-0101",
    )
    assert (shown.owner.name, shown.owner.email) == ("Mina Park", "mina@example.com")
    (contact,) = lite_services.chart_edits.contacts("C-7")
    assert (contact.relationship, contact.phone) == ("Mother", "555-0102")


def test_columns_that_are_not_ours_are_ignored_and_listed(
    lite_import: Import, lite_services: Services, write_file: WriteFile
) -> None:
    path = write_file(
        [
            "Chart Number,Insurance,First Name,Last Name,DOB,Referral Source,,",
            "C-1,Aetna,Ana,Lee,03/04/1985,web,,",
            "C-2,,Bo,Ng,03/04/1985,,,notes here",
        ]
    )
    report = lite_import(path)
    assert report.errors == [] and report.charts_added == ["C-1", "C-2"]
    assert report.ignored_columns == ("Insurance", "Referral Source", "(unnamed column 8)")


@pytest.mark.parametrize(
    ("mapping", "lines", "ignored"),
    [
        (["Client ID=chart_number"], ["Client ID,First,Last,DOB", "C-1,Ana,Lee,3/4/1985"], ()),
        (["client id = chart_number"], ["Client ID,First,Last,DOB", "C-1,Ana,Lee,3/4/1985"], ()),
        (  # --map wins over a synonym: the DOB column is ignored (and listed)
            ["Birth=date_of_birth"],
            ["MRN,First,Last,Birth,DOB", "C-1,Ana,Lee,3/4/1985,not a date"],
            ("DOB",),
        ),
        (  # "SOURCE=" ignores a column that would be read
            ["Chart #="],
            ["MRN,Chart #,First,Last,DOB", "C-1,99,Ana,Lee,3/4/1985"],
            ("Chart #",),
        ),
    ],
)
def test_map_names_a_column_and_wins_over_a_synonym(
    lite_import: Import,
    lite_services: Services,
    write_file: WriteFile,
    mapping: list[str],
    lines: list[str],
    ignored: tuple[str, ...],
) -> None:
    report = lite_import(write_file(lines), mapping=mapping)
    assert (report.errors, report.charts_added) == ([], ["C-1"])
    assert report.ignored_columns == ignored
    assert chart_row(lite_services, "C-1").date_of_birth == date(1985, 3, 4)


MAP_REFUSED = [
    (["Client ID"], "--map 'Client ID': write SOURCE=FIELD, e.g. --map \"Client ID=chart_number\""),
    (
        ["=chart_number"],
        "--map '=chart_number': write SOURCE=FIELD, e.g. --map \"Client ID=chart_number\"",
    ),
    (
        ["Client ID=chart"],
        "--map 'Client ID=chart': 'chart' is not a field; the fields are "
        + ", ".join(KNOWN_COLUMNS)
        + " (or nothing after '=' to ignore the column)",
    ),
]


@pytest.mark.parametrize(("mapping", "message"), MAP_REFUSED)
def test_a_map_we_cannot_use_is_refused(
    lite_import: Import, write_file: WriteFile, mapping: list[str], message: str
) -> None:
    with pytest.raises(ImportFileError) as refused:
        lite_import(write_file([HEADER, "C-1,A,B,1985-03-04"]), mapping=mapping)
    assert str(refused.value) == message


def test_a_map_source_that_is_not_in_the_header_is_refused(
    lite_import: Import, write_file: WriteFile
) -> None:
    path = write_file([HEADER, "C-1,A,B,1985-03-04"])
    with pytest.raises(ImportFileError) as refused:
        lite_import(path, mapping=["Client ID=chart_number"])
    assert str(refused.value) == (
        f"--map: no column 'clientid' in the header line of {path} (its columns are "
        "chart_number, first_name, last_name, date_of_birth)"
    )


HEADERS_REFUSED = [
    (
        "Email,chart_number,first_name,last_name,date_of_birth,E-mail",
        "column(s) named twice: email ('Email' and 'E-mail'); remove one, or ignore one with "
        '--map "SOURCE="',
    ),
    (
        "MRN,Chart #,first_name,last_name,date_of_birth",
        "column(s) named twice: chart_number ('MRN' and 'Chart #'); remove one, or ignore one "
        'with --map "SOURCE="',
    ),
    (
        "Client ID,First Name,Last Name,Birth Date,Insurance",
        "missing column(s) chart_number in the header line (required: chart_number, "
        "first_name, last_name, date_of_birth); columns not recognised: Client ID, Insurance "
        '(name one with --map "Client ID=chart_number")',
    ),
    (
        "chart_number,first_name,last_name,date_of_birth,contact_name,contact_email",
        "the contact columns go together: contact_name, contact_relationship, contact_email",
    ),
    (
        "chart_number,first_name,last_name,date_of_birth,contact_phone",
        "the contact columns go together: contact_name, contact_relationship, contact_email",
    ),
]


@pytest.mark.parametrize(("header", "message"), HEADERS_REFUSED)
def test_a_header_we_cannot_use_is_refused_in_one_line(
    lite_import: Import, write_file: WriteFile, header: str, message: str
) -> None:
    path = write_file([header, "C-1,A,B,1985-03-04"])
    with pytest.raises(ImportFileError) as refused:
        lite_import(path)
    assert str(refused.value) == f"{path}: {message}"


# ------------------------------------------------------------------ files that are not CSV


def _xlsx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    return buffer.getvalue()


SAVE_AS = "in Excel use File › Save As › “CSV UTF-8 (Comma delimited)” and import that file"
NOT_CSV: list[tuple[str, bytes, str]] = [
    ("empty", b"", "is empty; the first line must name the columns"),
    ("only a BOM", codecs.BOM_UTF8, "is empty; the first line must name the columns"),
    (
        "blank lines",
        b"\xef\xbb\xbf\r\n  \r\n\r\n",
        "is empty; the first line must name the columns",
    ),
    ("commas only", b",,,\r\n,,\r\n", "is empty; the first line must name the columns"),
    (
        "xlsx",
        _xlsx(),
        f"does not look like a CSV file: it is an Excel workbook or another zip file (.xlsx); "
        f"{SAVE_AS}",
    ),
    (
        "xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504,
        f"does not look like a CSV file: it is an old Excel workbook (.xls) or another Office "
        f"file; {SAVE_AS}",
    ),
    (
        "pdf",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        "does not look like a CSV file: it is a PDF; export the charts from the EHR or "
        "spreadsheet as CSV instead",
    ),
    (
        "binary",
        bytes(range(256)) * 4,
        "does not look like a CSV file (it holds binary data)",
    ),
    ("header only", (HEADER + "\r\n").encode(), "has a header line but no rows"),
    (
        "prose",
        b"Hello there, this is not a list\nJust text\n",
        "missing column(s) chart_number, first_name, last_name, date_of_birth in the header "
        "line (required: chart_number, first_name, last_name, date_of_birth); columns not "
        'recognised: Hello there, this is not a list (name one with --map "Hello '
        'there=chart_number")',
    ),
    (
        "broken quotes",
        (HEADER + '\r\nC-1,"A"x,B,1990-01-01\r\n').encode(),
        "is not valid CSV (line 2): ',' expected after '\"'",
    ),
]


@pytest.mark.parametrize(
    ("content", "message"), [(c, m) for _, c, m in NOT_CSV], ids=[n for n, _, _ in NOT_CSV]
)
def test_a_file_that_is_not_csv_gets_one_clear_line(
    lite_import: Import, lite_services: Services, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    before = counts(lite_services)
    with pytest.raises(ImportFileError) as refused:
        lite_import(path)
    separator = "" if message.startswith(("column", "missing")) else " "
    if message.startswith("missing"):
        separator = ": "
    assert str(refused.value) == f"{path}{separator}{message}"
    assert counts(lite_services) == before


def test_the_options_go_to_the_report(lite_import: Import, write_file: WriteFile) -> None:
    path = write_file(["Chart Number;First;Last;DOB", "C-1;Ana;Lee;04/03/1985"], encoding="cp1252")
    report = lite_import(path, encoding="cp1252", date_format="DD/MM/YYYY")
    assert report.format is not None
    summary: dict[str, Any] = {
        "encoding": report.format.encoding_name,
        "delimiter": report.format.delimiter_name,
        "dates": report.date_format,
    }
    assert summary == {"encoding": "Windows-1252", "delimiter": "semicolon", "dates": "DD/MM/YYYY"}
