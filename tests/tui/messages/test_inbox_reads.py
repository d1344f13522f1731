"""The inbox screen's own reads (frontdesk/desk/inbox_reads.py) agree with the service's: the same
items, in the same order, for every filter the screen offers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from frontdesk.app import FrontDeskApp
from frontdesk.desk.inbox_reads import inbox_page, items_by_id, open_index
from tests.factories import T0, acting_at
from tests.tui.conftest import AppFactory
from tests.tui.messages.test_snapshots_messages import with_items

SEARCHES = ["", "liam", "noah park", "c-1005", "c-1006", "bill", "re", "PARK", "o'", "zzz", "é"]


@pytest.fixture
def app(make_app: AppFactory, seeded_url: str) -> FrontDeskApp:
    built = make_app(seeded_url)
    with_items(built)
    return built


@pytest.mark.parametrize("search", SEARCHES)
@pytest.mark.parametrize(
    ("kind", "audience"), [("", ""), ("message", ""), ("", "front_desk"), ("", "clinical")]
)
def test_the_screens_reads_match_the_service(
    app: FrontDeskApp, search: str, kind: str, audience: str
) -> None:
    services = app.services
    index = open_index(services.inbox)
    assert index.stamp == services.inbox.stamp()
    assert index.count(kind=kind, audience=audience, search=search) == (
        services.inbox.items(kind=kind or None, audience=audience or None, search=search).total
    )
    for offset in (0, 1):
        expected = services.inbox.items(
            kind=kind or None, audience=audience or None, search=search, limit=2, offset=offset
        ).items
        ids = index.match(kind=kind, audience=audience, search=search, limit=2, offset=offset)
        assert ids == [item.id for item in expected]
        assert items_by_id(services.inbox, ids) == expected
        page = inbox_page(
            services.inbox,
            kind=kind or None,
            audience=audience or None,
            state="open",
            search=search,
            limit=2,
            offset=offset,
        )
        assert page == expected


def test_an_item_closed_after_the_index_was_read_is_left_out(app: FrontDeskApp) -> None:
    services = app.services
    index = open_index(services.inbox)
    ids = index.match(kind="", audience="", search="", limit=50, offset=0)
    assert len(ids) == 4
    acting_at(services, T0 + timedelta(minutes=1)).inbox.done(ids[0])
    assert [row.id for row in items_by_id(services.inbox, ids)] == ids[1:]
    assert open_index(services.inbox).stamp != index.stamp
