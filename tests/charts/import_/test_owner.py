"""Who owns portal access of an imported chart (issue 15): the `owner` column (client or
contact), and by default the parent or guardian of a child that has no email of its own (the
report says so). On SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from frontdesk.charts import import_rows
from frontdesk.charts.importer import GuardianOwner
from frontdesk.services import Services
from store.models import AuditEvent, ChartOwner

from .conftest import Import, WriteFile, chart_row, counts, owner_name

HEADER = "MRN,First Name,Last Name,DOB,Email,Contact Name,Relationship,Contact Email,Owner"
CHILD = "C-2,Leo,Park,06/01/2014"  # 12 years old on the tests' day (2026-11-26)
ADULT = "C-3,Kim,Lee,01/02/1970"


@pytest.mark.parametrize(
    ("row", "owner", "guardians", "without_email"),
    [
        (f"{CHILD},,Mina Park,Mother,mina@example.com,", "Mina Park", 1, 0),
        (f"{CHILD},,Mina Park,Legal guardian,mina@example.com,", "Mina Park", 1, 0),
        (f"{CHILD},,Mina Park,Step-mother,mina@example.com,", "Mina Park", 1, 0),
        (f"{CHILD},,Mina Park,Mother,mina@example.com,contact", "Mina Park", 0, 0),
        (f"{CHILD},,Mina Park,Mother,mina@example.com,client", "Client", 0, 1),
        (f"{CHILD},,Mina Park,Mother,mina@example.com,CLIENT ", "Client", 0, 1),
        (f"{CHILD},leo@example.com,Mina Park,Mother,mina@example.com,", "Client", 0, 0),
        (f"{CHILD},,Sam Park,Sibling,sam@example.com,", "Client", 0, 1),
        (f"{CHILD},,,,,", "Client", 0, 1),
        (f"{ADULT},,Sam Lee,Spouse,sam@example.com,", "Client", 0, 1),
        (f"{ADULT},,Ann Lee,Mother,ann@example.com,", "Client", 0, 1),  # an adult: never
        (f"{ADULT},,Sam Lee,Spouse,sam@example.com,contact", "Sam Lee", 0, 0),
    ],
)
def test_who_owns_portal_access(
    run_import: Import,
    practice_ready: Services,
    write_file: WriteFile,
    row: str,
    owner: str,
    guardians: int,
    without_email: int,
) -> None:
    report = run_import(write_file([HEADER, row]))
    assert report.errors == []
    number = row.split(",")[0]
    assert owner_name(practice_ready, number) == owner
    assert len(report.guardian_owners) == guardians
    assert report.contact_owners == (1 if row.endswith(",contact") else 0)
    assert report.without_owner_email == without_email


def test_a_guardian_owner_is_reported_audited_and_can_be_invited(
    run_import: Import, practice_ready: Services, write_file: WriteFile
) -> None:
    report = run_import(write_file([HEADER, f"{CHILD},,Mina Park,Mother,mina@example.com,"]))
    assert report.guardian_owners == [GuardianOwner(2, "C-2", "Mina Park", "Mother")]
    with practice_ready.db.read() as session:
        details = [
            (e.action, e.detail)
            for e in session.exec(select(AuditEvent).where(AuditEvent.chart_number == "C-2"))
        ]
    assert details == [
        ("chart added", ""),
        ("contact added", "Mina Park (Mother)"),
        ("owner changed", "to Mina Park (Mother)"),
    ]
    done = practice_ready.invitations.send_invitation("C-2")
    assert (done.owner_name, done.owner_email) == ("Mina Park", "mina@example.com")


def test_the_first_guardian_with_an_email_owns_and_a_later_owner_row_wins(
    run_import: Import, practice_ready: Services, write_file: WriteFile
) -> None:
    path = write_file(
        [
            HEADER,
            f"{CHILD},,Sam Park,Sibling,sam@example.com,",
            "C-2,,,,,Mina Park,Mother,mina@example.com,",
            "C-2,,,,,Jun Park,Father,jun@example.com,",
            "C-4,Ivy,Ng,01/01/2015,,Ann Ng,Mother,ann@example.com,",
            "C-4,,,,,Bo Ng,Father,bo@example.com,contact",
        ]
    )
    report = run_import(path)
    assert report.errors == [] and report.contacts_added == 5
    assert owner_name(practice_ready, "C-2") == "Mina Park"
    assert owner_name(practice_ready, "C-4") == "Bo Ng"
    assert report.guardian_owners == [GuardianOwner(3, "C-2", "Mina Park", "Mother")]
    assert report.contact_owners == 1


def test_an_owner_named_in_a_later_batch_is_set_on_the_chart_written_before(
    run_import: Import,
    practice_ready: Services,
    write_file: WriteFile,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(import_rows, "BATCH_ROWS", 2)
    path = write_file(
        [
            HEADER,
            f"{CHILD},,,,,",
            "C-5,Ana,Lee,1/1/1990,ana@example.com,,,,",
            "C-6,Bo,Lee,1/1/1990,bo@example.com,,,,",
            "C-2,,,,,Mina Park,Mother,mina@example.com,",  # written after C-2's owner row
            "C-7,Ivy,Ng,01/01/2015,ivy@example.com,,,,",
            "C-8,Cy,Ng,1/1/1990,cy@example.com,,,,",
            "C-7,,,,,Bo Ng,Father,bo@example.com,contact",
        ]
    )
    report = run_import(path)
    assert report.errors == [] and len(report.charts_added) == 5
    assert owner_name(practice_ready, "C-2") == "Mina Park"
    assert owner_name(practice_ready, "C-7") == "Bo Ng"
    assert report.guardian_owners == [GuardianOwner(5, "C-2", "Mina Park", "Mother")]
    with practice_ready.db.read() as session:
        owner = session.get(ChartOwner, chart_row(practice_ready, "C-2").id)
        assert owner is not None and owner.version == 2
    assert counts(practice_ready)["owners"] == 5


@pytest.mark.parametrize(
    ("rows", "error"),
    [
        (
            [f"{CHILD},,,,,guardian"],
            "line 2, owner: Owner must be “client” or “contact” (got 'guardian').",
        ),
        (
            [f"{CHILD},,,,,contact"],
            "line 2, owner: “contact” needs the related contact on this row (contact_name, "
            "contact_relationship, contact_email).",
        ),
        (
            [
                f"{CHILD},,Mina Park,Mother,mina@example.com,",
                "C-2,,,,,Jun Park,Father,j@x.org,client",
            ],
            "line 3, owner: on a row that only adds a contact, write “contact” (this contact "
            "owns portal access) or leave it blank.",
        ),
        (
            [
                f"{CHILD},,Mina Park,Mother,mina@example.com,contact",
                "C-2,,,,,Jun Park,Father,jun@example.com,contact",
            ],
            "line 3, owner: chart C-2 already has its Chart Owner on line 2.",
        ),
        (
            [f"{CHILD},,Mina Park,Mother,,contact"],
            "line 2, contact_email: Email of the contact is required.",
        ),
    ],
)
def test_an_owner_the_rules_refuse_is_reported_with_line_and_column(
    run_import: Import,
    practice_ready: Services,
    write_file: WriteFile,
    rows: list[str],
    error: str,
) -> None:
    before = counts(practice_ready)
    report = run_import(write_file([HEADER, *rows]))
    assert [str(e) for e in report.errors] == [error]
    assert counts(practice_ready) == before
