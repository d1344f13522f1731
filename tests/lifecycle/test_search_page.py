"""The browser's page read (one statement per keystroke): what it returns must be what the
chart screen shows, for every status and way of matching, on SQLite and on PostgreSQL."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.desk.search import ChartSearch
from frontdesk.services import Services
from tests.factories import latest_token, lock_invitation, register_chart

PASSWORD = "correct horse battery staple"


def _summary(detail: object) -> dict[str, object]:
    """The ChartSummary fields of a ChartDetail (the detail adds contacts and account)."""
    from frontdesk.desk.views import ChartSummary

    return {f.name: getattr(detail, f.name) for f in dataclasses.fields(ChartSummary)}


@pytest.fixture
def five_states(practice_ready: Services, clock: FrozenClock) -> Services:
    """Charts in each status, one owned by a guardian, one whose email failed."""
    charts = [
        ("C-1", "Ana", "Abbott", "ana@example.com"),  # no portal access
        ("C-2", "Bo", "Baker", "bo@example.com"),  # invited, guardian owns it, mail failed
        ("C-3", "Cy", "Carter", "cy@example.com"),  # expired
        ("C-4", "Di", "Dunn", "di@example.com"),  # locked
        ("C-5", "Ed", "Evans", "ed@example.com"),  # active
    ]
    for number, first, last, email in charts:
        practice_ready.charts.add_chart(ChartInput(number, first, last, "1985-03-04", email))
    practice_ready.invitations.send_invitation("C-3")
    clock.advance(8 * 86400)  # C-3's link lapses
    practice_ready.invitations.change_owner(
        "C-2", new_contact=ContactInput("Gail Baker", "Guardian", "gail@example.com"), invite=True
    )
    with practice_ready.db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE outbox_email SET state = 'failed', last_error = 'mailbox unavailable' "
                "WHERE id = (SELECT max(id) FROM outbox_email)"
            )
        )
    practice_ready.invitations.send_invitation("C-4")
    lock_invitation(
        practice_ready,
        latest_token(practice_ready, "C-4"),
        last_name="Nobody",
        date_of_birth="1985-03-04",
        password=PASSWORD,
    )
    practice_ready.invitations.send_invitation("C-5")
    result = register_chart(practice_ready, "C-5", password=PASSWORD)
    assert result.state == "registered"
    return practice_ready


def test_page_rows_are_what_the_chart_screen_shows(five_states: Services) -> None:
    page = five_states.search.search_charts()
    assert [c.chart_number for c in page] == ["C-1", "C-2", "C-3", "C-4", "C-5"]
    for row in page:
        assert _summary(row) == _summary(five_states.views.chart(row.chart_number))
    labels = {c.chart_number: c.status.label for c in page}
    assert labels == {
        "C-1": "No Portal Access",
        "C-2": "Invited",
        "C-3": "Expired",
        "C-4": "Locked",
        "C-5": "Active",
    }
    guarded = page[1]
    assert (guarded.owner.name, guarded.owner.relationship) == ("Gail Baker", "Guardian")
    assert guarded.delivery is not None
    assert guarded.delivery.label == "Not delivered: mailbox unavailable"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("no_portal_access", ["C-1"]),
        ("invited", ["C-2"]),
        ("expiring_soon", []),
        ("expired", ["C-3"]),
        ("locked", ["C-4"]),
        ("active", ["C-5"]),
    ],
)
def test_status_filter_with_and_without_text(
    five_states: Services, status: str, expected: list[str]
) -> None:
    assert [c.chart_number for c in five_states.search.search_charts(status=status)] == expected
    assert five_states.search.count_charts(status=status) == len(expected)
    # "c-" is a chart-number prefix of every chart and "example" a substring of every email.
    for text in ("C-", "example"):
        found = [c.chart_number for c in five_states.search.search_charts(text, status=status)]
        assert found == expected, text
        assert five_states.search.count_charts(text, status=status) == len(expected), text


def test_expiring_soon_is_the_last_48_hours(five_states: Services, clock: FrozenClock) -> None:
    clock.advance(6 * 86400)  # C-2's guardian invitation has a day left
    assert [c.chart_number for c in five_states.search.search_charts(status="expiring_soon")] == [
        "C-2"
    ]
    assert [
        c.chart_number for c in five_states.search.search_charts("bak", status="expiring_soon")
    ] == ["C-2"]


def test_unknown_status_is_refused(five_states: Services) -> None:
    with pytest.raises(ValueError, match="unknown status"):
        five_states.search.search_charts(status="archived")


@pytest.mark.parametrize("threshold", [0, ChartSearch._FTS_SCAN_THRESHOLD])
def test_substring_by_trigram_index_or_by_walking_gives_the_same_page(
    practice_ready: Services, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    """A fragment seeks its trigram matches and sorts them, or (when it matches more than
    the threshold) walks the name index: the same charts, in the same order, either way."""
    monkeypatch.setattr(ChartSearch, "_FTS_SCAN_THRESHOLD", threshold)
    names = ["Rossi", "Ambrose", "Prost", "Rosen", "Ross", "Carrosa", "Smith"]
    for n, last in enumerate(names):
        practice_ready.charts.add_chart(
            ChartInput(f"R-{n}", "Lee", last, "1990-01-01", f"l{n}@example.com")
        )
    found = [c.last_name for c in practice_ready.search.search_charts("ros")]
    assert found == ["Ambrose", "Carrosa", "Prost", "Rosen", "Ross", "Rossi"]
    assert [c.last_name for c in practice_ready.search.search_charts("ros", limit=2, offset=2)] == [
        "Prost",
        "Rosen",
    ]
    assert practice_ready.search.count_charts("ros") == 6


def test_search_text_that_looks_like_sql_or_like_patterns_is_literal(
    practice_ready: Services,
) -> None:
    practice_ready.charts.add_chart(
        ChartInput("P-1", "Al", "Percent", "1990-01-01", "a_b@example.com")
    )
    practice_ready.charts.add_chart(
        ChartInput("P-2", "Bo", "Pxrcent", "1990-01-01", "axb@example.com")
    )
    assert [c.chart_number for c in practice_ready.search.search_charts("a_b")] == ["P-1"]
    assert [c.chart_number for c in practice_ready.search.search_charts("p%")] == []
    assert [c.chart_number for c in practice_ready.search.search_charts("' OR 1=1 --")] == []
    assert [c.chart_number for c in practice_ready.search.search_charts('"')] == []


def test_prepared_statements_cover_every_keystroke(
    practice_ready: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After prepare_search no search without a status filter builds a statement: each
    keystroke costs only running one (building one takes milliseconds)."""
    monkeypatch.setattr(ChartSearch, "_SORT_LIMIT", 2)
    monkeypatch.setattr(ChartSearch, "_FTS_SCAN_THRESHOLD", 2)
    for n in range(6):
        practice_ready.charts.add_chart(
            ChartInput(f"C-{n}", "Sam", f"Sample{n}", "1990-01-01", f"sam{n}@example.com")
        )
    prepared = practice_ready.search.prepare_search()
    assert prepared == len(practice_ready.search._page_statements)
    for text in ("s", "sa", "sam", "sample", "c-", "c-1", "mple", "xyz", "sam1@"):
        practice_ready.search.search_charts(text)
    assert len(practice_ready.search._page_statements) == prepared
    practice_ready.search.search_charts("sam", status="invited")  # a filtered search builds its own
    assert len(practice_ready.search._page_statements) == prepared + 1
