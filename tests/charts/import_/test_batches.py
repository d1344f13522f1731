"""How a big file is written (issue 15, speed): in batches of Core `executemany`, no ORM object
and no query per row, the practice row read once, whatever the file's length."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from frontdesk.services import Services

from .conftest import Import, WriteFile, counts


def test_a_big_file_is_written_in_batches_and_reads_the_practice_once(
    lite_import: Import, lite_services: Services, write_file: WriteFile
) -> None:
    rows = []
    for i in range(5000):
        if i % 10:
            rows.append(f"C-{i},Ana,Lee{i},03/04/1985,ana.{i}@example.com,,,")
        else:  # a child with a guardian, who owns portal access
            rows.append(f"C-{i},Leo,Park{i},06/01/2014,,Mina Park,Mother,mina.{i}@example.com")
    path = write_file(["MRN,First,Last,DOB,Email,Contact Name,Relationship,Contact Email", *rows])
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(" ".join(statement.split()))

    sa.event.listen(lite_services.db.engine, "before_cursor_execute", note)
    try:
        report = lite_import(path)
    finally:
        sa.event.remove(lite_services.db.engine, "before_cursor_execute", note)
    assert report.ok and len(report.charts_added) == 5000 and report.contacts_added == 500
    assert len(report.guardian_owners) == 500
    assert sum("FROM practice" in s for s in statements) == 1
    assert len(statements) < 60, statements  # batches, not rows
    assert counts(lite_services) | {"audit": 0} == {
        "charts": 5000,
        "contacts": 500,
        "owners": 5000,
        "audit": 0,
        "outbox": 0,
        "live": 0,
    }
    with lite_services.db.read() as session:
        actions = session.execute(
            sa.text("SELECT action, count(*) FROM audit_event GROUP BY action ORDER BY action")
        ).all()
    assert [tuple(a) for a in actions] == [
        ("chart added", 5000),
        ("contact added", 500),
        ("owner changed", 500),
        ("portal activated", 1),
    ]
