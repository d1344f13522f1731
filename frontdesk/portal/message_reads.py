"""What the signed-in client's message pages read, with what each page needs besides the
threads (the practice's mode, promise and time zone).

Every read takes the session's `account_id` and `chart_id`; a thread that is not the
account's own is `None` (the page's 404), exactly as `MessageService` answers it.

On PostgreSQL the pages call `MessageService` (`client_overview`, `client_threads`,
`client_thread`) in the web's thread pool. On SQLite, where the pages are read most and a
reader never waits for a lock, each page is one or two statements straight through the driver
(`Database.read_row_sqlite`; a page of rows comes back as one JSON array), run in place, and a
thread view's read mark and audit row go to a `ViewRecorder` (group-committed behind the
page, see `message_views`). The results are the service's own types, built by its rules
(`messaging_settings`, `after`; the reply and withdraw conditions of `message_steps` are
restated in SQL and one line each, and the same page tests run on both stores).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from frontdesk.core.clock import Clock, zone_named
from frontdesk.core.errors import NotFound
from frontdesk.portal.message_results import (
    ClientMessaging,
    MessageView,
    ThreadPage,
    ThreadSummary,
    ThreadView,
)
from frontdesk.portal.message_steps import after
from frontdesk.portal.message_views import ThreadViewed, ViewRecorder
from frontdesk.portal.messages import MessageService
from frontdesk.practice import MessagingSettings, messaging_settings
from store.db import Database
from store.models import Practice
from store.states import MessageAudience, MessageAuthor, MessagingMode, ThreadState

THREADS_PER_PAGE = 20
MESSAGES_PER_PAGE = 30

_UNREAD = (
    "t.last_practice_message_at IS NOT NULL AND (t.client_last_read_at IS NULL "
    "OR t.last_practice_message_at > t.client_last_read_at)"
)
_THREAD_COLUMNS = (
    "t.id, t.audience, t.subject, t.state, t.created_by, t.created_at, t.last_activity_at, "
    "t.message_count, t.last_practice_message_at, t.client_last_read_at, "
    "t.last_client_message_at, t.practice_last_read_at"
)
# The account (checked against the session's chart), the practice, the thread counts and one
# page of threads (newest activity first) as a JSON array. An account is for one chart, so its
# threads are its chart's: the counts read the account's index alone.
_LIST_SQL = f"""
SELECT a.disabled_at, a.message_notices, p.messaging, p.message_promise, p.message_audiences,
       p.message_notify_email, p.timezone, c.chart_number,
       n.threads, n.unread,
       (SELECT json_group_array(json_array({_THREAD_COLUMNS}))
          FROM (SELECT * FROM message_thread
                 WHERE account_id = :account AND chart_id = :chart
                 ORDER BY last_activity_at DESC, id DESC LIMIT :limit OFFSET :offset) AS t)
FROM portal_account AS a
JOIN (SELECT count(*) AS threads, coalesce(sum({_UNREAD}), 0) AS unread
        FROM message_thread AS t WHERE t.account_id = :account) AS n
LEFT JOIN practice AS p ON p.id = 1
LEFT JOIN chart AS c ON c.id = a.chart_id
WHERE a.id = :account AND a.chart_id = :chart
"""  # noqa: S608 - built from the constants above, no input
# The thread (only the account's own), its account, the practice, how many messages it has,
# and the client's newest message not withdrawn (the one they may withdraw).
_THREAD_SQL = f"""
SELECT a.disabled_at, a.owner_name, p.messaging, p.message_promise, p.message_audiences,
       p.message_notify_email, p.timezone, p.name, c.chart_number, {_THREAD_COLUMNS},
       (SELECT count(*) FROM portal_message AS m WHERE m.thread_id = t.id),
       (SELECT json_array(m.id, m.author_account_id, m.created_at) FROM portal_message AS m
         WHERE m.thread_id = t.id AND m.withdrawn_at IS NULL AND m.author = 'client'
         ORDER BY m.created_at DESC, m.id DESC LIMIT 1)
FROM message_thread AS t
JOIN portal_account AS a ON a.id = t.account_id AND a.chart_id = t.chart_id
LEFT JOIN practice AS p ON p.id = 1
LEFT JOIN chart AS c ON c.id = t.chart_id
WHERE t.id = :thread AND t.account_id = :account AND t.chart_id = :chart
"""  # noqa: S608 - built from the constants above, no input
# One page of a thread's messages as a JSON array (in no order): the page is found on the
# thread's covering index, from its nearer end, and only its own rows are read.
_MESSAGES_SQL = """
SELECT json_group_array(json_array(id, author, body, created_at, withdrawn_at, author_account_id))
FROM portal_message WHERE id IN (
  SELECT id FROM portal_message WHERE thread_id = :thread
  ORDER BY created_at, id LIMIT :limit OFFSET :offset)
"""
_MESSAGES_FROM_END_SQL = _MESSAGES_SQL.replace("created_at, id", "created_at DESC, id DESC")


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


def _time(value: Any) -> datetime | None:
    """A DATETIME as SQLite's driver gives it ("2026-11-26 15:00:00.000000", UTC)."""
    return None if value is None else _parsed(str(value))


@lru_cache(maxsize=8192)
def _parsed(text: str) -> datetime:
    """The same times come back on every view of a page: each is parsed once."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _at(value: Any) -> datetime:
    moment = _time(value)
    assert moment is not None
    return moment


def _summary(row: list[Any] | tuple[Any, ...], chart_id: int, chart_number: str) -> ThreadSummary:
    (
        thread_id, audience, subject, state, created_by, created_at, last_activity_at, count,
        last_practice, client_read, last_client, practice_read,
    ) = row  # fmt: skip
    return ThreadSummary(
        id=int(thread_id),
        chart_id=chart_id,
        chart_number=chart_number,
        audience=MessageAudience(audience),
        subject=str(subject),
        state=ThreadState(state),
        created_by=MessageAuthor(created_by),
        created_at=_at(created_at),
        last_activity_at=_at(last_activity_at),
        messages=int(count),
        unread_by_client=after(_time(last_practice), _time(client_read)),
        unread_by_practice=after(_time(last_client), _time(practice_read)),
        client_wrote=last_client is not None,
    )


@lru_cache(maxsize=256)
def _summaries(threads_json: str, chart_id: int, chart_number: str) -> tuple[ThreadSummary, ...]:
    """A page of threads from its JSON, newest activity first. The same page comes back on
    every view until something in it changes: it is decoded once."""
    found = (_summary(t, chart_id, chart_number) for t in json.loads(threads_json))
    return tuple(sorted(found, key=lambda s: (s.last_activity_at, s.id), reverse=True))


@lru_cache(maxsize=256)
def _messages(
    messages_json: str, account_id: int, owner: str, practice: str
) -> tuple[MessageView, ...]:
    """A page of messages from its JSON, oldest first (decoded once, as `_summaries`)."""
    views = (
        MessageView(
            id=int(m_id),
            author=MessageAuthor(author),
            author_name=(
                (owner if by_account == account_id else "Client")
                if author == MessageAuthor.CLIENT
                else practice
            ),
            staff_login=None,
            body=str(body),
            created_at=_at(created_at),
            withdrawn_at=_time(withdrawn_at),
        )
        for m_id, author, body, created_at, withdrawn_at, by_account in json.loads(messages_json)
    )
    return tuple(sorted(views, key=lambda m: (m.created_at, m.id)))


KEPT_READS = 256
KEPT_READ_CHARS = 64_000


class UnchangedReads:
    """`Database.read_row_sqlite`, answered from the last answer while the database has not
    changed: SQLite's `PRAGMA data_version` on the reading connection (one per thread, and
    never a writer) changes whenever any other connection commits, so an unchanged version
    means an unchanged answer. A page viewed again and again costs one pragma."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._kept: OrderedDict[tuple[Any, ...], tuple[Any, tuple[Any, ...] | None]] = OrderedDict()

    def row(self, sql: str, params: dict[str, Any]) -> tuple[Any, ...] | None:
        version_row = self.db.read_row_sqlite("PRAGMA data_version", {})
        version = version_row[0] if version_row else None
        key = (threading.get_ident(), sql, *sorted(params.items()))
        found = self._kept.get(key)
        if found is not None and found[0] == version:
            return found[1]
        row = self.db.read_row_sqlite(sql, params)
        if sum(len(v) for v in row or () if isinstance(v, str)) <= KEPT_READ_CHARS:
            self._kept[key] = (version, row)
            self._kept.move_to_end(key)
            if len(self._kept) > KEPT_READS:
                self._kept.popitem(last=False)
        return row


class ClientMessagePages:
    """The reads behind the client's message pages. `in_place`: the reads are quick reads
    that never wait (SQLite), so the web runs them on its event loop; otherwise they block
    and go to its thread pool."""

    def __init__(self, db: Database, clock: Clock, messages: MessageService) -> None:
        self.db = db
        self.clock = clock
        self.messages = messages
        self.in_place = db.is_sqlite
        self.views = ViewRecorder(db) if db.is_sqlite else None
        self.unchanged = UnchangedReads(db)
        self._zones: dict[str, ZoneInfo] = {}
        self._rules: dict[tuple[Any, ...], MessagingSettings] = {}

    def zone(self, name: str | None) -> ZoneInfo:
        key = name or ""
        zone = self._zones.get(key)
        if zone is None:
            zone = self._zones[key] = zone_named(name)
        return zone

    def rules(self, messaging: Any, promise: Any, audiences: Any, notify: Any) -> MessagingSettings:
        """The practice's messaging settings from its columns, by `messaging_settings`."""
        key = (messaging, promise, audiences, notify)
        found = self._rules.get(key)
        if found is None:
            practice = Practice(
                id=1, name="", phone="", messaging=messaging, message_promise=promise,
                message_audiences=audiences or "", message_notify_email=notify,
            )  # fmt: skip
            found = self._rules[key] = messaging_settings(practice)
        return found

    # ------------------------------------------------------------------ the list and home

    def overview(self, account_id: int, chart_id: int) -> ClientMessaging:
        if not self.in_place:
            return self.messages.client_overview(account_id, chart_id)
        return self.threads(account_id, chart_id, 1, per_page=0).overview

    def threads(
        self, account_id: int, chart_id: int, page: int | None, *, per_page: int = THREADS_PER_PAGE
    ) -> ThreadsPageData:
        page = max(1, page or 1)
        if not self.in_place:
            overview = self.messages.client_overview(account_id, chart_id)
            listing = self.messages.client_threads(
                account_id, chart_id, page=page, per_page=max(1, per_page)
            )
            return ThreadsPageData(listing, overview, self._practice_zone())
        params = {
            "account": account_id, "chart": chart_id,
            "limit": per_page, "offset": (page - 1) * per_page,
        }  # fmt: skip
        row = self.unchanged.row(_LIST_SQL, params)
        if row is None or row[0] is not None:  # not the session's account, or disabled
            self.messages.client_overview(account_id, chart_id)  # raises as the service does
            raise NotFound("No such portal account.")
        _disabled, notices, messaging, promise, audiences, notify, timezone, number = row[:8]
        total, unread, threads_json = int(row[8]), int(row[9]), row[10]
        pages = max(1, math.ceil(total / per_page)) if per_page else 1
        if per_page and page > pages:  # past the end: the last page
            return self.threads(account_id, chart_id, pages, per_page=per_page)
        rules = self.rules(messaging, promise, audiences, notify)
        overview = ClientMessaging(
            mode=rules.mode,
            promise=rules.promise,
            audiences=rules.audiences,
            can_start=rules.clients_may_start,
            unread_threads=unread,
            threads=total,
            notices_enabled=bool(notices),
        )
        summaries = _summaries(threads_json or "[]", chart_id, str(number or ""))
        listing = ThreadPage(summaries, page, pages, total, unread)
        return ThreadsPageData(listing, overview, self.zone(timezone))

    def _practice_zone(self) -> ZoneInfo:
        from frontdesk.practice import PracticeSettings

        return PracticeSettings(self.db, self.clock, "web").zone()

    # ------------------------------------------------------------------ one thread

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
        if self.in_place:
            return self._thread_in_place(account_id, chart_id, thread_id, page, client_address)
        try:
            view = self.messages.client_thread(
                account_id, chart_id, thread_id,
                page=page, per_page=MESSAGES_PER_PAGE, client_address=client_address,
            )  # fmt: skip
        except NotFound:
            return None
        overview = self.messages.client_overview(account_id, chart_id)
        return ThreadPageData(view, overview.mode, overview.promise, self._practice_zone())

    def _thread_in_place(
        self, account_id: int, chart_id: int, thread_id: int, page: int | None, address: str
    ) -> ThreadPageData | None:
        now = self.clock.now()
        params = {"account": account_id, "chart": chart_id, "thread": thread_id}
        row = self.unchanged.row(_THREAD_SQL, params)
        if row is None:
            return None
        if row[0] is not None:  # the account is disabled: the service's answer
            self.messages.client_thread(account_id, chart_id, thread_id)
            return None
        owner_name, messaging, promise, audiences, notify, timezone, practice_name, number = row[
            1:9
        ]
        summary = _summary(row[9:21], chart_id, str(number or ""))
        total, last_client = int(row[21]), row[22]
        pages = max(1, math.ceil(total / MESSAGES_PER_PAGE))
        page = pages if page is None else min(max(1, page), pages)
        start, end = (page - 1) * MESSAGES_PER_PAGE, min(total, page * MESSAGES_PER_PAGE)
        from_end = total - end < start  # the newest pages are counted from the newest message
        found = self.unchanged.row(
            _MESSAGES_FROM_END_SQL if from_end else _MESSAGES_SQL,
            {"thread": thread_id, "limit": end - start,
             "offset": total - end if from_end else start},
        )  # fmt: skip
        messages = _messages(
            (found[0] if found else None) or "[]",
            account_id,
            str(owner_name or "") or "Client",
            str(practice_name or "") or "The practice",
        )
        practice_read = _time(row[20])  # practice_last_read_at
        withdrawable = None  # the client's newest message, while the practice has not read it
        if last_client is not None:
            last_id, last_by, last_at = json.loads(last_client)
            if last_by == account_id and (practice_read is None or practice_read < _at(last_at)):
                withdrawable = int(last_id)
        rules = self.rules(messaging, promise, audiences, notify)
        can_reply = rules.mode is MessagingMode.ON or (  # as message_steps.client_may_reply
            rules.mode is MessagingMode.REPLY_ONLY and summary.created_by is MessageAuthor.STAFF
        )
        view = ThreadView(
            thread=summary,
            messages=messages,
            page=page,
            pages=pages,
            total=total,
            withdrawable_id=withdrawable,
            can_reply=can_reply,
            client_read_at=now,
            practice_read_at=practice_read,
            practice_read_by=None,
        )
        assert self.views is not None
        self.views.record(
            ThreadViewed(thread_id, account_id, chart_id, str(number or ""), now, address)
        )
        return ThreadPageData(view, rules.mode, rules.promise, self.zone(timezone))
