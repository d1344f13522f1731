"""The rows of the message pages, put in words and rendered before the page template sees
them.

A list page shows 20 threads and a thread page 30 messages, and the same rows come back on
every view. Each row is put in words once (`ThreadRow`, `MessageRow`: plain text, times in the
practice's zone) and rendered by its macro in `templates/messages/_rows.html` (autoescaped,
like every template); `RowRenderer` keeps the rendered rows by their content, so a row is
rendered again only when something in it changed. Nothing in a kept row depends on who views
it (the withdraw form, which carries the session's CSRF token, is the page's own).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from starlette.responses import HTMLResponse

from frontdesk.portal.message_reads import when
from frontdesk.portal.message_results import MessageView, ThreadSummary, ThreadView
from frontdesk.web.pages import Pages
from store.states import MessageAudience, MessageAuthor, ThreadState

AUDIENCE_LABELS = {
    MessageAudience.FRONT_DESK: "Front desk",
    MessageAudience.BILLING: "Billing",
    MessageAudience.CLINICAL: "Clinical team",
}
# The same in a sentence: "Your message goes to the practice's billing office."
AUDIENCE_PHRASES = {
    MessageAudience.FRONT_DESK: "front desk",
    MessageAudience.BILLING: "billing office",
    MessageAudience.CLINICAL: "clinical team",
}
STATE_WORDS = {
    ThreadState.WAITING: "Waiting for the practice",
    ThreadState.ANSWERED: "The practice replied",
    ThreadState.CLOSED: "Closed",
}
FIRST_WORD_WORDS = "From the practice"  # the practice wrote first and the client has not answered


def state_words(t: ThreadSummary) -> str:
    """The thread's state for the client: "The practice replied", or "From the practice" when
    the practice began it and the client has not answered."""
    if t.sent_unasked:
        return FIRST_WORD_WORDS
    return STATE_WORDS.get(t.state, t.state)


WITHDRAWN_SUBJECT = "(withdrawn)"


@lru_cache(maxsize=16_384)
def stamp(moment: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(ISO 8601 for `<time datetime>`, the words in the practice's zone)."""
    return moment.isoformat(), when(moment, zone)


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """One thread in the list."""

    id: int
    subject: str
    unread: bool
    meta: str  # "Billing · The practice replied · 3 messages · "
    badge: str  # shown while unread: "New reply", or "New message" when the practice began it
    iso: str
    shown: str


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One message of a thread page."""

    id: int
    mine: bool
    author: str
    iso: str
    shown: str
    body: str
    withdrawn: bool
    withdrawable: bool


def thread_rows(threads: tuple[ThreadSummary, ...], zone: ZoneInfo) -> list[ThreadRow]:
    rows = []
    for t in threads:
        iso, shown = stamp(t.last_activity_at, zone)
        count = f"{t.messages} message{'' if t.messages == 1 else 's'}"
        meta = f"{AUDIENCE_LABELS.get(t.audience, t.audience)} · {state_words(t)} · {count} · "
        subject = t.subject or WITHDRAWN_SUBJECT  # everything of it withdrawn by the client
        badge = "New message" if t.practice_wrote_first else "New reply"
        rows.append(ThreadRow(t.id, subject, t.unread_by_client, meta, badge, iso, shown))
    return rows


def _message_row(m: MessageView, view: ThreadView, zone: ZoneInfo) -> MessageRow:
    iso, shown = stamp(m.created_at, zone)
    mine = m.author is MessageAuthor.CLIENT
    author = "You" if mine else m.author_name
    withdrawn, withdrawable = m.withdrawn_at is not None, m.id == view.withdrawable_id
    return MessageRow(m.id, mine, author, iso, shown, m.body, withdrawn, withdrawable)


def message_rows(view: ThreadView, zone: ZoneInfo) -> list[MessageRow]:
    return [_message_row(m, view, zone) for m in view.messages]


@dataclass(frozen=True, slots=True)
class MessageItem:
    """A message on its page: the kept rendering and what the page adds to it."""

    id: int
    mine: bool
    html: Markup
    withdrawable: bool


ROWS_TEMPLATE = "messages/_rows.html"
KEPT_ROWS = 4096


class RowRenderer:
    """Renders rows through the `_rows.html` macros, keeping the last KEPT_ROWS of each kind."""

    def __init__(self, env: jinja2.Environment) -> None:
        module: Any = env.get_template(ROWS_TEMPLATE).module
        # An autoescaping environment's macros return Markup (their values escaped).
        thread_item: Callable[[ThreadRow, str], Markup] = module.thread_item
        message_head: Callable[[MessageRow], Markup] = module.message_head
        self.thread_item = lru_cache(maxsize=KEPT_ROWS)(thread_item)
        self.message_head = lru_cache(maxsize=KEPT_ROWS)(message_head)
        # The reads hand back the very same summary / message objects while a page has not
        # changed (message_reads decodes a page once): their rows are kept by identity too.
        # A kept entry holds its object, so no other object can have its id meanwhile.
        self._by_object: dict[tuple[int, ZoneInfo], tuple[object, Markup]] = {}

    def _kept(self, item: object, zone: ZoneInfo) -> Markup | None:
        found = self._by_object.get((id(item), zone))
        return found[1] if found is not None and found[0] is item else None

    def _keep(self, item: object, zone: ZoneInfo, html: Markup) -> Markup:
        if len(self._by_object) >= KEPT_ROWS:
            self._by_object.clear()
        self._by_object[(id(item), zone)] = (item, html)
        return html

    def threads(
        self, threads: tuple[ThreadSummary, ...], zone: ZoneInfo, messages_url: str
    ) -> list[Markup]:
        items = []
        for t in threads:
            html = self._kept(t, zone)
            if html is None:
                row = thread_rows((t,), zone)[0]
                html = self._keep(t, zone, self.thread_item(row, messages_url))
            items.append(html)
        return items

    def messages(self, view: ThreadView, zone: ZoneInfo) -> list[MessageItem]:
        items = []
        for m in view.messages:
            html = self._kept(m, zone)
            if html is None:
                html = self._keep(m, zone, self.message_head(_message_row(m, view, zone)))
            mine = m.author is MessageAuthor.CLIENT
            items.append(MessageItem(m.id, mine, html, m.id == view.withdrawable_id))
        return items


KEPT_PAGES = 128
KEPT_PAGE_CHARS = 200_000


class PageKeeper:
    """Whole pages kept as rendered, with the CSRF token left as a slot, as `Pages.blank_form`
    keeps blank forms: the list and a thread page come back unchanged on every view until
    something in them changes. `key` names everything a page shows besides its `anchor`, the
    rows object the reads hand back unchanged (held here, so its identity stays its own)."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.slot = f"csrf-slot-{secrets.token_hex(16)}"
        self._kept: OrderedDict[tuple[Any, ...], tuple[object, str]] = OrderedDict()

    def page(
        self,
        template: str,
        key: tuple[Any, ...],
        anchor: object,
        csrf_token: str,
        context: dict[str, Any],
    ) -> HTMLResponse:
        full_key = (template, id(anchor), *key, *self.pages.practice_contact)
        found = self._kept.get(full_key)
        if found is not None and found[0] is anchor:
            self._kept.move_to_end(full_key)
            html = found[1]
        else:
            html = self.pages.render(template, **{**context, "csrf_token": self.slot})
            if len(html) <= KEPT_PAGE_CHARS:
                self._kept[full_key] = (anchor, html)
                if len(self._kept) > KEPT_PAGES:
                    self._kept.popitem(last=False)
        return HTMLResponse(html.replace(self.slot, csrf_token))
