"""Re-importing a file (issue 15): `--update` changes existing charts by the chart-edit rules (a
changed email, last name or date of birth ends the live link; every change audited), and
`--dry-run` shows what would be added, changed and refused and writes nothing. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from argon2 import PasswordHasher
from sqlmodel import col, select

from frontdesk.access import passwords
from frontdesk.access.status import PortalStatus
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.services import Services
from store.models import AuditEvent
from tests.factories import latest_token, outbox_rows, register_chart

from .conftest import Import, WriteFile, chart_row, counts, owner_name

HEADER = "Chart Number,First Name,Last Name,DOB,Email,Phone"
ANA = "C-1,Ana,O'Brien,03/04/1985,ana@example.com,555-0100"
LEO = "C-2,Leo,Park,06/01/1990,leo@example.com,"
KIM = "C-3,Kim,Lee,01/02/1970,kim@example.com,"


@pytest.fixture
def imported(run_import: Import, write_file: WriteFile, practice_ready: Services) -> Services:
    """C-1, C-2 and C-3 imported from a first file; C-1 invited."""
    report = run_import(write_file([HEADER, ANA, LEO, KIM], name="first.csv"))
    assert report.ok and report.charts_added == ["C-1", "C-2", "C-3"]
    practice_ready.invitations.send_invitation("C-1")
    return practice_ready


def _actions(services: Services) -> list[tuple[str, str | None, str]]:
    with services.db.read() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    return [(row.action, row.chart_number, row.detail) for row in rows]


def test_the_same_file_again_changes_nothing(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    before = counts(imported)
    report = run_import(write_file([HEADER, ANA, LEO, KIM]), update=True)
    assert (report.errors, report.charts_added, report.updated) == ([], [], [])
    assert report.unchanged == 3 and not report.committed
    assert counts(imported) == before


def test_without_update_an_existing_chart_is_still_an_error(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    path = write_file([HEADER, ANA.replace("ana@", "ana.o@"), "C-4,Bo,Ng,1/1/1990,,"])
    before = counts(imported)
    report = run_import(path)
    assert [str(e) for e in report.errors] == [
        "line 2, chart_number: Chart number C-1 already exists (--update changes existing charts)."
    ]
    assert counts(imported) == before
    assert run_import(path, skip_invalid=True).charts_added == ["C-4"]
    assert chart_row(imported, "C-1").email == "ana@example.com"


def test_a_changed_email_ends_the_live_link_and_a_new_one_goes_to_the_new_address(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    old_token = latest_token(imported, "C-1")
    fixed = ANA.replace("ana@example.com", "ana.obrien@example.com")
    report = run_import(write_file([HEADER, fixed, LEO, KIM]), update=True)
    assert report.errors == [] and report.committed and report.unchanged == 2
    (change,) = report.updated
    assert (change.line, change.chart_number, change.changed) == (2, "C-1", ("email",))
    assert change.effects == ("link_ended", "invited") and change.emails == 1
    assert imported.registration.inspect_token(old_token).state == "replaced"
    new_token = latest_token(imported, "C-1")
    assert imported.registration.inspect_token(new_token).state == "valid"
    assert outbox_rows(imported)[-1].to_address == "ana.obrien@example.com"
    assert imported.views.chart("C-1").status.status is PortalStatus.INVITED
    assert _actions(imported)[-2:] == [
        ("invitation resent", "C-1", f"invitation {_live_id(imported, 'C-1')} to a…@example.com"),
        (
            "chart edited",
            "C-1",
            "email a…@example.com → a…@example.com changed; the live invitation link ended; a "
            "new invitation sent",
        ),
    ]


def _live_id(services: Services, number: str) -> int | None:
    return services.views.chart(number).invitation_id


@pytest.mark.parametrize(
    ("row", "changed", "ends_link"),
    [
        ("C-1,Ana,O'Brien-Lee,03/04/1985,ana@example.com,555-0100", ("last_name",), True),
        ("C-1,Ana,O'Brien,04/03/1985,ana@example.com,555-0100", ("date_of_birth",), True),
        ("C-1,Anna,O'Brien,03/04/1985,ana@example.com,555-0199", ("first_name", "phone"), False),
    ],
)
def test_what_the_link_depends_on_ends_it_and_nothing_else_does(
    imported: Services,
    run_import: Import,
    write_file: WriteFile,
    row: str,
    changed: tuple[str, ...],
    ends_link: bool,
) -> None:
    old_token = latest_token(imported, "C-1")
    report = run_import(write_file([HEADER, row]), update=True, invite=False)
    (change,) = report.updated
    assert change.changed == changed
    assert change.effects == (("link_ended",) if ends_link else ())
    state = imported.registration.inspect_token(old_token).state
    assert state == ("replaced" if ends_link else "valid")


def test_no_invite_only_ends_the_link(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    before = counts(imported)
    fixed = ANA.replace("ana@example.com", "ana.obrien@example.com")
    report = run_import(write_file([HEADER, fixed]), update=True, invite=False)
    assert report.updated[0].effects == ("link_ended",) and report.updated[0].emails == 0
    assert counts(imported)["outbox"] == before["outbox"] and counts(imported)["live"] == 0


def test_a_blank_cell_keeps_what_the_chart_has_and_a_partial_file_updates(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    path = write_file(["MRN,Phone,E-mail", "C-1,,", "C-2,555-0123,", "C-9,555-0000,"])
    report = run_import(path, update=True, skip_invalid=True)
    assert [(u.chart_number, u.changed) for u in report.updated] == [("C-2", ("phone",))]
    assert report.unchanged == 1
    assert [str(e) for e in report.errors] == ["line 4, first_name: First name is required."]
    assert chart_row(imported, "C-1").email == "ana@example.com"
    assert chart_row(imported, "C-1").phone == "555-0100"
    assert chart_row(imported, "C-2").phone == "555-0123"


def test_new_and_existing_charts_in_one_file(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    path = write_file([HEADER, ANA, LEO.replace("Leo", "Leon"), "C-4,Bo,Ng,1/1/1990,,"])
    report = run_import(path, update=True)
    assert report.charts_added == ["C-4"]
    assert [(u.chart_number, u.changed) for u in report.updated] == [("C-2", ("first_name",))]
    assert imported.search.search_charts("leon")[0].chart_number == "C-2"
    assert ("chart edited", "C-2", "first name changed") in _actions(imported)


def test_a_refused_change_leaves_its_chart_as_it_was_and_the_rest_goes_in(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    """The portal is off: ending C-1's link would need a new invitation that cannot be sent.
    The edit is undone to its savepoint; with --skip-invalid the other rows are written."""
    imported.practice.update_practice(portal_active=False)
    old_token = latest_token(imported, "C-1")
    path = write_file([HEADER, ANA.replace("ana@", "ana.o@"), LEO.replace("Leo", "Leon")])
    report = run_import(path, update=True, skip_invalid=True)
    assert [str(e) for e in report.errors] == [
        "line 2, email: The practice's Client Portal is not active; activate it first "
        "(frontdesk practice set --portal on)."
    ]
    assert [u.chart_number for u in report.updated] == ["C-2"]
    assert chart_row(imported, "C-1").email == "ana@example.com"
    assert imported.registration.inspect_token(old_token).state == "valid"
    assert chart_row(imported, "C-2").first_name == "Leon"


def test_an_active_owners_email_change_changes_the_sign_in_email(
    imported: Services, run_import: Import, write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    assert register_chart(imported, "C-1").state == "registered"
    fixed = ANA.replace("ana@example.com", "ana.obrien@example.com")
    report = run_import(write_file([HEADER, fixed]), update=True)
    (change,) = report.updated
    assert change.effects == ("sign_in_email_changed",) and change.emails == 2
    assert imported.views.chart("C-1").account_email == "ana.obrien@example.com"


def test_contact_rows_update_the_contact_of_that_name_or_add_one(
    practice_ready: Services, run_import: Import, write_file: WriteFile
) -> None:
    header = "chart_number,first_name,last_name,date_of_birth,contact_name,contact_relationship,"
    header += "contact_email,owner"
    first = [header, "C-5,Leo,Park,06/01/2014,Mina Park,Mother,mina@example.com,contact"]
    assert run_import(write_file(first, name="first.csv")).ok
    practice_ready.invitations.send_invitation("C-5")
    old_token = latest_token(practice_ready, "C-5")
    again = [
        header,
        "C-5,Leo,Park,06/01/2014,mina park,Mother,mina.park@example.com,contact",
        "C-5,,,,Jun Park,Father,jun@example.com,",
    ]
    report = run_import(write_file(again), update=True)
    assert report.errors == [] and report.contacts_added == 1
    (change,) = report.updated
    assert (change.chart_number, change.contact, change.changed) == (
        "C-5",
        "Mina Park (Mother)",
        ("email",),
    )
    assert change.effects == ("link_ended", "invited")
    assert practice_ready.registration.inspect_token(old_token).state == "replaced"
    assert outbox_rows(practice_ready)[-1].to_address == "mina.park@example.com"
    names = [(c.name, c.email, c.is_owner) for c in practice_ready.chart_edits.contacts("C-5")]
    assert names == [
        ("Mina Park", "mina.park@example.com", True),
        ("Jun Park", "jun@example.com", False),
    ]


def test_an_import_never_changes_the_chart_owner(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    imported.charts.add_contact("C-3", ContactInput("Sam Lee", "Spouse", "sam@example.com"))
    header = HEADER + ",Owner,Contact Name,Relationship,Contact Email"
    path = write_file(
        [
            header,
            ANA + ",contact,Gil O'Brien,Father,gil@example.com",
            KIM + ",contact,Sam Lee,Spouse,sam@example.com",
        ]
    )
    before = counts(imported)
    report = run_import(path, update=True)
    assert [str(e) for e in report.errors] == [
        "line 2, owner: chart C-1 has another Chart Owner; an import does not change "
        "it (frontdesk owner set C-1 does).",
        "line 3, owner: chart C-3 has another Chart Owner; an import does not change "
        "it (frontdesk owner set C-3 does).",
    ]
    assert counts(imported) == before
    assert owner_name(imported, "C-1") == "Client" and owner_name(imported, "C-3") == "Client"


def test_dry_run_shows_what_would_be_added_changed_and_refused_and_writes_nothing(
    imported: Services, run_import: Import, write_file: WriteFile
) -> None:
    old_token = latest_token(imported, "C-1")
    path = write_file(
        [
            HEADER,
            ANA.replace("ana@example.com", "ana.obrien@example.com"),
            LEO,
            "C-4,Bo,Ng,1/1/1990,,",
            "C-5,Cy,Ng,1/1/90,,",
        ]
    )
    before = counts(imported)
    report = run_import(path, update=True, dry_run=True, skip_invalid=True)
    assert report.dry_run and not report.committed
    assert report.charts_added == ["C-4"] and report.unchanged == 1
    assert [(u.chart_number, u.changed, u.effects) for u in report.updated] == [
        ("C-1", ("email",), ("link_ended", "invited"))
    ]
    assert [str(e) for e in report.errors] == [
        "line 5, date_of_birth (DOB): Date of birth '1/1/90' has a two-digit year; write the "
        "year in full (MM/DD/YYYY)."
    ]
    assert counts(imported) == before
    assert imported.registration.inspect_token(old_token).state == "valid"
    assert chart_row(imported, "C-1").email == "ana@example.com"
    # and then for real: the same outcome
    done = run_import(path, update=True, skip_invalid=True)
    assert (done.charts_added, [u.chart_number for u in done.updated]) == (["C-4"], ["C-1"])


def test_dry_run_of_a_new_file_writes_nothing(
    practice_ready: Services, run_import: Import, write_file: WriteFile
) -> None:
    before = counts(practice_ready)
    report = run_import(write_file([HEADER, ANA, LEO]), dry_run=True)
    assert report.dry_run and report.charts_added == ["C-1", "C-2"] and report.ok
    assert counts(practice_ready) == before


def test_an_edited_chart_keeps_its_search_keys_current(
    practice_ready: Services, run_import: Import, write_file: WriteFile
) -> None:
    practice_ready.charts.add_chart(ChartInput("C-8", "Zoë", "Adams", date(1990, 1, 1)))
    report = run_import(write_file(["MRN,Last Name", "C-8,Zimmer"]), update=True)
    assert [u.changed for u in report.updated] == [("last_name",)]
    assert [c.chart_number for c in practice_ready.search.search_charts("zimm")] == ["C-8"]
    assert practice_ready.search.search_charts("adams") == []
