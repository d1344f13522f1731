"""No CSV, however odd, ends in a traceback or a half-written store (issue 15): Hypothesis
writes files in every encoding, delimiter, line ending, quoting, header spelling and date
format (and broken ones, and bytes that are no text at all), imports them with any options
into a store holding an invited chart, and checks that the import either refuses the file in
one line and changes nothing, or writes exactly what its report says (nothing at all on a dry
run or when it refuses the file's rows). Derandomized and bounded; on SQLite and PostgreSQL
(PostgreSQL enforces column widths that SQLite ignores)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from frontdesk.charts.importer import ImportFileError, ImportReport, import_charts
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.text import has_controls
from frontdesk.services import Services
from store.models import Chart, ChartOwner, Invitation, RelatedContact

from .conftest import counts

SPELLINGS = {
    "chart_number": ["chart_number", "Chart Number", "MRN", "Chart #", "chart-number"],
    "first_name": ["first_name", "First Name", "Given name", "FIRST"],
    "last_name": ["last_name", "Last Name", "Family name", "Surname"],
    "date_of_birth": ["date_of_birth", "DOB", "Date of Birth", "D.O.B."],
    "email": ["email", "E-mail", "Email Address"],
    "phone": ["phone", "Telephone"],
    "preferred_name": ["preferred_name", "Nickname"],
    "contact_name": ["contact_name", "Guardian Name"],
    "contact_relationship": ["contact_relationship", "Relationship"],
    "contact_email": ["contact_email", "Guardian Email"],
    "contact_phone": ["contact_phone"],
    "owner": ["owner", "Chart Owner"],
}
NOT_OURS = ["Insurance", "", " ", "notes", "Referral", "émoji 🙂", "a,b", 'quo"te']
ODD = [
    *("", " ", "x" * 41, "a\r\nb", "tab\there", '"quoted"', "\x1b[31mred", "\u202eevil"),
    *("\ufb03" * 100, "5" * 41, "legal guardian " + "x" * 60, "=1+1", "NULL", "-", "\ufeff"),
]
GOOD = {  # what each column mostly holds: rows that pass, and the near misses
    "chart_number": ["C-1", "C-2", "C-3", "C-77", "c-1", "C 1", "C-2"],
    "first_name": ["Ana", "Leo", "José", "Nguyễn"],
    "last_name": ["O'Brien", "Park", "Muñoz", "Lee"],
    "date_of_birth": [
        *("1985-03-04", "03/04/1985", "3/4/1985", "6/1/2014", "04/03/1985", "3/4/85"),
        *("13/04/1985", "02/30/1990", "2099-01-01", "1899-12-31", "0/0/0000", "04.03.1985"),
    ],
    "email": ["ana@example.com", "ana.new@example.com", "ana@gmial.con", "not an email"],
    "phone": ["555-0100", "(555) 010-0199"],
    "preferred_name": ["Annie", "Lee"],
    "contact_name": ["Mina Park", "Jun Park", "mina park"],
    "contact_relationship": ["Mother", "Father", "Legal guardian", "Spouse", "Sibling"],
    "contact_email": ["mina@example.com", "jun@example.com", "mina.new@example.com", "bad@"],
    "contact_phone": ["555-0101"],
    "owner": ["client", "contact", "Client", "guardian"],
}
VALID = {  # a clean row: what passes every rule
    "chart_number": ["C-1", "C-2", "C-3", "C-4", "C-5", "C-6"],
    "date_of_birth": ["1985-03-04", "03/04/1985", "3/4/1985", "6/1/2014"],
    "email": ["ana@example.com", "ana.new@example.com", ""],
    "preferred_name": ["Annie", ""],
    "phone": ["555-0100", ""],
    "contact_name": ["Mina Park", "Jun Park", "mina park"],
    "contact_relationship": ["Mother", "Father", "Legal guardian", "Spouse"],
    "contact_email": ["mina@example.com", "jun@example.com", "mina.new@example.com"],
    "owner": ["client", "contact", ""],
}
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "mac_roman", "utf-16"]
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


def _cell(kind: str) -> st.SearchStrategy[str]:
    good = st.sampled_from(GOOD.get(kind, [""]))
    return st.one_of(good, good, good, st.just(""), st.sampled_from(ODD), ANY_TEXT)


@st.composite
def _columns(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """The header's names and the field each one means ("" for a column not ours)."""
    required = ["chart_number", "first_name", "last_name", "date_of_birth"]
    fields = required if draw(st.integers(0, 6)) else []
    fields += draw(st.lists(st.sampled_from(list(SPELLINGS)), max_size=6))
    contact = ["contact_name", "contact_relationship", "contact_email"]
    if any(f.startswith("contact") for f in fields) and draw(st.integers(0, 5)):
        fields += contact  # mostly the three together (apart, the header is refused)
    if draw(st.integers(0, 7)):
        fields = list(dict.fromkeys(fields))  # mostly each field once (a repeat is refused)
    names = [draw(st.sampled_from(SPELLINGS[f])) for f in fields]
    extra = draw(st.lists(st.sampled_from(NOT_OURS), max_size=2))
    order = draw(st.permutations(list(range(len(names) + len(extra)))))
    return [(names + extra)[i] for i in order], [(fields + [""] * len(extra))[i] for i in order]


@st.composite
def _rows(draw: st.DrawFn, kinds: list[str], clean: bool) -> list[list[str]]:
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        if clean or draw(st.booleans()):  # a clean row
            row = [
                draw(st.sampled_from(VALID.get(kind) or GOOD.get(kind) or [""])) for kind in kinds
            ]
        else:
            row = [draw(_cell(kind)) for kind in kinds]
        shape = draw(st.integers(0, 9))
        if shape == 0 and rows:  # a row that only adds a contact
            row = [
                value if kind == "chart_number" or kind.startswith("contact") else ""
                for value, kind in zip(row, kinds, strict=True)
            ]
        elif shape == 1 and not clean:  # too short or too long
            row = row[: draw(st.integers(0, len(row)))] + draw(st.lists(_cell(""), max_size=2))
        rows.append(row)
    return rows


def _maps(names: list[str]) -> list[tuple[str, ...]]:
    """--map values for the columns not ours in `names` (and, rarely, one that is not there)."""
    maps: list[tuple[str, ...]] = [("Client ID=chart_number",)]
    if "Insurance" in names:
        maps.append(("Insurance=",))
    if "notes" in names:
        maps += [("notes=phone",), ("notes=owner",)]
    return maps


@st.composite
def cases(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """Bytes a practice might hand over as its export (sometimes not text at all), and the
    options it is imported with (mostly the ones that fit the file)."""
    names, kinds = draw(_columns())
    clean = draw(st.integers(0, 2)) == 0  # a file that is imported (the rest: anything goes)
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=newline)
    writer.writerow(names)
    writer.writerows(draw(_rows(kinds, clean)))
    text = buffer.getvalue()
    if not clean and draw(st.integers(0, 9)) == 0:  # a broken quote somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + '"' + text[at:]
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, "replace")
    if not clean and draw(st.integers(0, 9)) == 0:  # a stray byte
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=2)) + data[at:]
    if not clean and draw(st.integers(0, 14)) == 0:
        data = draw(st.binary(max_size=400))  # not text at all
    given_encoding = encoding if clean else draw(st.sampled_from([encoding, None, "cp1252"]))
    options = {
        "skip_invalid": draw(st.booleans()),
        "update": draw(st.booleans()),
        "dry_run": draw(st.integers(0, 3)) == 0,
        "invite": draw(st.booleans()),
        "encoding": None if given_encoding in ("utf-8", "utf-8-sig") else given_encoding,
        "delimiter": draw(st.sampled_from([None, delimiter] if clean else [None, delimiter, ";"])),
        "date_format": draw(st.sampled_from([None, None, "DD/MM/YYYY", "DD.MM.YYYY"])),
        "mapping": () if clean else draw(st.sampled_from([(), (), *_maps(names)])),
    }
    return data, options


def _state(services: Services) -> tuple[Any, ...]:
    """Everything an import may write, to compare before and after."""
    with services.db.read() as session:
        charts = session.exec(
            select(
                Chart.chart_number,
                Chart.first_name,
                Chart.last_name,
                Chart.preferred_name,
                Chart.date_of_birth,
                Chart.email,
                Chart.phone,
                Chart.search_text,
            ).order_by(col(Chart.id))
        ).all()
        contacts = session.exec(
            select(RelatedContact.name, RelatedContact.email).order_by(col(RelatedContact.id))
        ).all()
        owners = session.exec(select(ChartOwner.chart_id, ChartOwner.related_contact_id)).all()
        invitations = session.exec(select(Invitation.id, Invitation.state)).all()
    return (
        tuple(map(tuple, charts)),
        tuple(map(tuple, contacts)),
        tuple(sorted(map(tuple, owners), key=repr)),
        tuple(sorted(map(tuple, invitations))),
        tuple(sorted(counts(services).items())),
    )


def _every_chart_has_one_owner(services: Services) -> None:
    with services.db.read() as session:
        charts = session.exec(select(sa.func.count()).select_from(Chart)).one()
        owners = session.exec(
            select(sa.func.count(sa.distinct(ChartOwner.chart_id))).select_from(ChartOwner)
        ).one()
    assert charts == owners


def _fuzz(examples: int) -> Any:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@_fuzz(250)
@given(case=cases())
@example(
    case=(
        (
            "Chart Number;First Name;Last Name;DOB;E-mail;Guardian Name;Relationship;"
            "Guardian Email\r\n"
            "C-1;Ana;O'Brien;03/04/1985;ana.new@example.com;;;\r\n"
            "C-2;Leo;Park;6/1/2014;;Mina Park;Mother;mina@example.com\r\n"
        ).encode("cp1252"),
        {
            "skip_invalid": False,
            "update": True,
            "dry_run": False,
            "invite": True,
            "encoding": "cp1252",
            "delimiter": None,
            "date_format": None,
            "mapping": (),
        },
    ),
)
def test_no_csv_ends_in_a_traceback_or_a_half_written_store(
    practice_ready: Services, tmp_path: Path, case: tuple[bytes, dict[str, Any]]
) -> None:
    data, options = case
    services = practice_ready
    _seed(services)
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    before = _state(services)
    if options["update"]:
        options = {**options, "editor": services.chart_edits}
    try:
        report = import_charts(services.charts, path, **options)
    except ImportFileError as refused:
        event("the file is refused")
        assert not has_controls(str(refused))  # one line, no control characters
        assert _state(services) == before
        return
    _check(services, report, before, options)


def _seed(services: Services) -> None:
    """C-1 (invited) and C-2 (with a guardian) in the store, once."""
    if services.search.count_charts("") > 0:
        return
    services.charts.add_chart(ChartInput("C-1", "Ana", "O'Brien", "1985-03-04", "ana@example.com"))
    services.charts.add_chart(ChartInput("C-2", "Leo", "Park", "2014-06-01"))
    services.charts.add_contact("C-2", ContactInput("Mina Park", "Mother", "mina@example.com"))
    services.invitations.send_invitation("C-1")


def _check(
    services: Services, report: ImportReport, before: tuple[Any, ...], options: dict[str, Any]
) -> None:
    after = _state(services)
    event(
        "imported: "
        + ", ".join(
            word
            for word, happened in (
                ("charts added", report.charts_added),
                ("contacts added", report.contacts_added),
                ("updated", report.updated),
                ("row errors", report.errors),
                ("guardian owners", report.guardian_owners),
            )
            if happened
        )
    )
    for error in report.errors:
        assert error.line >= 2 and not has_controls(str(error)), error
    if options["dry_run"] or (report.errors and not options["skip_invalid"]):
        assert after == before, "a refused or dry-run import wrote something"
        assert not report.committed
        return
    charts_before, charts_after = len(before[0]), len(after[0])
    assert charts_after - charts_before == len(report.charts_added)
    contacts_before, contacts_after = len(before[1]), len(after[1])
    assert contacts_after - contacts_before == report.contacts_added
    if not report.updated:
        assert after[0][:charts_before] == before[0]  # nothing else changed
    assert report.rows >= len(report.charts_added)
    _every_chart_has_one_owner(services)
