"""Thread views written behind the page (SQLite): the read mark and audit row of every view,
as `MessageService.client_thread` writes them, group-committed; a message the practice writes
after the view stays unread and keeps its email; `close()` writes what still waits; the
reads answered again while nothing changed are the same as fresh ones."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlmodel import col, select

from frontdesk.core.clock import FrozenClock
from frontdesk.portal.message_reads import ClientMessagePages
from frontdesk.portal.message_views import ThreadViewed, ViewRecorder, write_views
from frontdesk.services import Services
from store.db import Database
from store.models import AuditEvent, MessageThread
from tests.factories import ANA_OBRIEN, services_for, set_up_practice
from tests.portal.messages.conftest import Client, registered_client


def setup(tmp_path: Path, clock: FrozenClock) -> tuple[Services, Client, int]:
    services = services_for(f"sqlite:///{tmp_path / 'views.db'}", clock=clock)
    set_up_practice(services)
    ana = registered_client(services, ANA_OBRIEN)
    thread = services.messages.staff_start("C-1001", subject="Hello", body="First")
    return services, ana, thread.thread_id


def viewed_rows(services: Services) -> list[tuple[str, str, str, str]]:
    with services.db.read() as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "message thread viewed")
            .order_by(col(AuditEvent.id))
        ).all()
        return [(r.actor, r.detail, r.source, r.chart_number or "") for r in rows]


def thread_row(services: Services, thread_id: int) -> MessageThread:
    with services.db.read() as session:
        found = session.get(MessageThread, thread_id)
        assert found is not None
        return found


def test_a_view_is_marked_and_audited_as_the_service_does(
    tmp_path: Path, clock: FrozenClock
) -> None:
    services, ana, thread_id = setup(tmp_path, clock)
    try:
        clock.advance(60)
        reads = ClientMessagePages(services.db, services.clock, services.messages)
        page = reads.thread(ana.account_id, ana.chart_id, thread_id, None, client_address="1.2.3.4")
        assert page is not None and page.view.messages[0].body == "First"
        assert reads.views is not None
        reads.views.flush()
        row = thread_row(services, thread_id)
        assert row.client_last_read_at is not None and row.client_notice_due_at is None
        # The service's own read of the same thread writes the same audit row.
        services.messages.client_thread(
            ana.account_id, ana.chart_id, thread_id, client_address="1.2.3.4"
        )
        ours, theirs = viewed_rows(services)
        assert ours == theirs == (f"client:{ana.account_id}", f"thread {thread_id}",
                                  "web:1.2.3.4", "C-1001")  # fmt: skip
        reads.views.close()
    finally:
        services.close()


def test_a_message_written_after_the_view_stays_unread(tmp_path: Path, clock: FrozenClock) -> None:
    services, ana, thread_id = setup(tmp_path, clock)
    try:
        seen_at = clock.now()
        clock.advance(60)
        services.messages.staff_reply(thread_id, body="Second")  # after the page was read
        due = thread_row(services, thread_id).client_notice_due_at
        assert due is not None
        view = ThreadViewed(thread_id, ana.account_id, ana.chart_id, "C-1001", seen_at, "")
        write_views(services.db, [view, view])
        row = thread_row(services, thread_id)
        assert row.client_notice_due_at == due  # the email for "Second" still goes out
        assert (
            services.messages.client_threads(ana.account_id, ana.chart_id)
            .threads[0]
            .unread_by_client
        )
        assert len(viewed_rows(services)) == 2  # one audit row per view
    finally:
        services.close()


def test_views_are_group_committed_and_close_writes_what_waits(
    tmp_path: Path, clock: FrozenClock
) -> None:
    services, ana, thread_id = setup(tmp_path, clock)
    batches: list[int] = []
    entered, release = threading.Event(), threading.Event()

    def slow_writer(db: Database, views: list[ThreadViewed]) -> None:
        batches.append(len(views))
        entered.set()
        release.wait(10)
        write_views(db, views)

    recorder = ViewRecorder(services.db, slow_writer)
    view = ThreadViewed(thread_id, ana.account_id, ana.chart_id, "C-1001", clock.now(), "")
    try:
        recorder.record(view)
        assert entered.wait(10)  # the first batch is being written...
        for _ in range(25):
            recorder.record(view)  # ...while these wait for the next one
        release.set()
        recorder.close()
        assert batches == [1, 25]
        assert len(viewed_rows(services)) == 26
        recorder.record(view)  # after close: written at once
        assert len(viewed_rows(services)) == 27
    finally:
        release.set()
        services.close()


def test_an_unchanged_answer_is_kept_until_something_is_written(
    tmp_path: Path, clock: FrozenClock
) -> None:
    services, ana, thread_id = setup(tmp_path, clock)
    try:
        reads = ClientMessagePages(services.db, services.clock, services.messages)
        first = reads.threads(ana.account_id, ana.chart_id, 1)
        again = reads.threads(ana.account_id, ana.chart_id, 1)
        assert again.page.threads is first.page.threads  # answered from what was kept
        clock.advance(60)
        services.messages.staff_reply(thread_id, body="News")  # another connection commits
        fresh = reads.threads(ana.account_id, ana.chart_id, 1)
        assert fresh.page.threads[0].messages == 2
        assert fresh.page.threads[0].last_activity_at == clock.now()
    finally:
        services.close()
