"""What the signed-in client's message pages read, with what each page needs besides the
threads (the practice's mode, promise and time zone).

Every read takes the session's `account_id` and `chart_id`; a thread that is not the
account's own is `None` (the page's 404), exactly as `MessageService` answers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from frontdesk.core.clock import Clock, zone_named
from frontdesk.core.errors import NotFound
from frontdesk.portal.message_results import ClientMessaging, ThreadPage, ThreadView
from frontdesk.portal.messages import MessageService
from store.db import Database
from store.states import MessagingMode

THREADS_PER_PAGE = 20
MESSAGES_PER_PAGE = 30


@dataclass(frozen=True)
class ThreadsPageData:
    """The list page: one page of threads and the account's messaging facts."""

    page: ThreadPage
    overview: ClientMessaging
    zone: ZoneInfo


@dataclass(frozen=True)
class ThreadPageData:
    """A thread page: the thread opened (one page of messages) and the practice's mode and
    promise for the reply form."""

    view: ThreadView
    mode: MessagingMode
    promise: str | None
    zone: ZoneInfo


def when(moment: datetime, zone: ZoneInfo) -> str:
    """ "Dec 7, 2026, 3:04 PM" in the practice's zone."""
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    return (
        f"{local:%b} {local.day}, {local.year}, {hour}:{local.minute:02d} "
        f"{'AM' if local.hour < 12 else 'PM'}"
    )


class ClientMessagePages:
    """The reads behind the client's message pages (blocking: the web runs them in its thread
    pool)."""

    def __init__(self, db: Database, clock: Clock, messages: MessageService) -> None:
        self.db = db
        self.clock = clock
        self.messages = messages
        self._zones: dict[str, ZoneInfo] = {}

    def zone(self, name: str | None) -> ZoneInfo:
        key = name or ""
        zone = self._zones.get(key)
        if zone is None:
            zone = self._zones[key] = zone_named(name)
        return zone

    def _practice_zone(self) -> ZoneInfo:
        if self.db.is_sqlite:
            row = self.db.read_row_sqlite("SELECT timezone FROM practice WHERE id = 1", {})
            return self.zone(str(row[0]) if row and row[0] else None)
        from frontdesk.practice import PracticeSettings

        return PracticeSettings(self.db, self.clock, "web").zone()

    def overview(self, account_id: int, chart_id: int) -> ClientMessaging:
        return self.messages.client_overview(account_id, chart_id)

    def threads(self, account_id: int, chart_id: int, page: int | None) -> ThreadsPageData:
        overview = self.messages.client_overview(account_id, chart_id)
        listing = self.messages.client_threads(
            account_id, chart_id, page=page or 1, per_page=THREADS_PER_PAGE
        )
        return ThreadsPageData(listing, overview, self._practice_zone())

    def thread(
        self,
        account_id: int,
        chart_id: int,
        thread_id: int,
        page: int | None,
        *,
        client_address: str = "",
    ) -> ThreadPageData | None:
        """The thread opened by its client (marked read, audited), or None when it is not
        the account's own."""
        try:
            view = self.messages.client_thread(
                account_id, chart_id, thread_id,
                page=page, per_page=MESSAGES_PER_PAGE, client_address=client_address,
            )  # fmt: skip
        except NotFound:
            return None
        overview = self.messages.client_overview(account_id, chart_id)
        return ThreadPageData(view, overview.mode, overview.promise, self._practice_zone())
