"""Secure messages on the portal: the signed-in client's threads with the practice.

- `GET /portal/messages` the account's threads (newest activity first, unread marked,
  `?page=N`), with the "email me when the practice writes" preference
  (`POST /portal/messages/emails`);
- `GET /portal/messages/new` the compose page, `POST /portal/messages` starts a thread;
- `GET /portal/messages/<id>` one thread (`?page=N`; the newest page by default), marked read
  for the client; `POST /portal/messages/<id>` replies; `POST /portal/messages/<id>/withdraw`
  withdraws the client's own last message while the practice has not read it.

The rules are `MessageService`'s; this module writes the words. Every route is behind the
session guard and takes the account and chart from `SignedIn`, never from the request: another
chart's (or account's) thread id is the ordinary 404 page. A refused field is shown at the
field with what was typed; nothing is stored. After a POST the browser is sent on (303) to a
page that says what happened (`?m=` notice codes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.core import links
from frontdesk.core.errors import NotFound
from frontdesk.core.text import strip_controls
from frontdesk.portal.message_reads import (
    ClientMessagePages,
    ThreadPageData,
    ThreadsPageData,
    when,
)
from frontdesk.portal.message_results import (
    BODY_LIMIT,
    SUBJECT_LIMIT,
    FieldProblem,
    MessageInvalid,
    MessageRefused,
    Refusal,
)
from frontdesk.portal.message_rules import body_text
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.guard import Guard, SignedIn
from frontdesk.web.pages import Pages
from frontdesk.web.routes.message_rows import (
    AUDIENCE_LABELS,
    AUDIENCE_PHRASES,
    STATE_WORDS,
    WITHDRAWN_SUBJECT,
    PageKeeper,
    RowRenderer,
    state_words,
)
from store.states import MessagingMode

LIST_TEMPLATE = "messages/list.html"
COMPOSE_TEMPLATE = "messages/compose.html"
THREAD_TEMPLATE = "messages/thread.html"
MAX_ID = 2**63 - 1  # larger ids are no one's thread (and would not fit the database's integer)
MAX_PAGE = 1_000_000
T = TypeVar("T")

EMERGENCY = "Not for emergencies: call 911 or 988."
DEFAULT_PROMISE = "The practice reads messages during business hours."


def promise_words(promise: str | None, practice_name: str | None) -> str:
    """The banner's sentence on when the practice answers. The practice may set a whole
    sentence ("We answer within one business day.") or only the time ("within one business
    day", the CLI help's example): a fragment (it starts in lower case) is made a sentence."""
    if not promise:
        return DEFAULT_PROMISE
    if not promise[0].islower():
        return promise
    ending = "" if promise[-1] in ".!?" else "."
    return f"{practice_name or 'The practice'} answers messages {promise}{ending}"


# ?m= codes a POST sends the browser on with: (the words, whether it is a problem).
NOTICES: dict[str, tuple[str, bool]] = {
    "sent": ("Your message was sent.", False),
    "started": ("Your message was sent. The practice will answer here.", False),
    "withdrawn": ("Your message was withdrawn. The practice won't see it.", False),
    "read": (
        "Your message couldn't be withdrawn: someone at the practice has already read it.",
        True,
    ),
    "not_last": ("Only your most recent message can be withdrawn.", True),
    "nothing": ("There is no message of yours to withdraw in this conversation.", True),
    "emails_on": ("You'll get an email when the practice writes to you.", False),
    "emails_off": ("You won't get emails about new messages. Check here instead.", False),
    "off": ("The practice has turned portal messaging off.", True),
    "reply_only": ("The practice can't take replies in this conversation.", True),
}
_WITHDRAW_NOTICES = {
    Refusal.ALREADY_READ: "read",
    Refusal.NOT_LAST: "not_last",
    Refusal.NOTHING_TO_WITHDRAW: "nothing",
    Refusal.MESSAGING_OFF: "off",
}

FIELD_LABELS = {"audience": "Who it's for", "subject": "Subject", "body": "Message"}


def field_error(name: str, problem: FieldProblem, value: str) -> str:
    """The words at a refused field."""
    label = FIELD_LABELS.get(name, name)
    if problem is FieldProblem.MISSING:
        return {
            "subject": "Enter a subject.",
            "body": "Write your message.",
            "audience": "Choose who the message is for.",
        }.get(name, f"Enter {label.lower()}.")
    if problem is FieldProblem.TOO_LONG:
        limit = SUBJECT_LIMIT if name == "subject" else BODY_LIMIT
        over = counted_length(name, value) - limit
        return (
            f"{label} is too long: at most {limit:,} characters. "
            f"Shorten it by {over:,} character{'s' if over != 1 else ''}."
        )
    if problem is FieldProblem.CONTROL_CHARACTERS:
        if name == "subject":
            return (
                "The subject must be one line of plain text. A line break or a hidden control "
                "character (often pasted from another program) was removed: check it and send "
                "again."
            )
        return (
            "Your message had a hidden control character (often pasted from another program). "
            "It was removed below: check the text and send again."
        )
    return "Choose one of the options offered."


def counted_length(name: str, value: str) -> int:
    """A field's length as the limit counts it (a line break is one character)."""
    return len(body_text(value)) if name == "body" else len(value.strip(" \t"))


def shown_value(name: str, value: str) -> str:
    """What is put back into a refused form's field: what was typed, without the characters
    the page cannot show (control characters; a subject's line breaks)."""
    if name == "subject":
        return strip_controls(value.replace("\r", " ").replace("\n", " "))
    return strip_controls(value.replace("\r\n", "\n").replace("\r", "\n"))


def left_words(value: str) -> str:
    """ "5,000 characters left", "1 character too many"."""
    left = BODY_LIMIT - len(body_text(value))
    if left >= 0:
        return f"{left:,} character{'' if left == 1 else 's'} left"
    return f"{-left:,} character{'' if left == -1 else 's'} too many"


def page_number(request: Request) -> int | None:
    """`?page=N` (a positive number); None when absent or not one."""
    raw = request.query_params.get("page", "")
    if raw.isdigit() and 0 < len(raw) <= 7:
        return min(int(raw), MAX_PAGE) or None
    return None


def thread_id_of(request: Request) -> int:
    """The thread id in the path; anything no thread could have is the 404 page."""
    thread_id = int(request.path_params["thread_id"])
    if not 0 < thread_id <= MAX_ID:
        raise HTTPException(404)
    return thread_id


async def acting(work: Callable[[], T]) -> T:
    """`work()` (a service call) in the thread pool; a thread that is not the account's own
    is the ordinary 404 page."""
    try:
        return await run_in_threadpool(work)
    except NotFound:
        raise HTTPException(404) from None


@dataclass(frozen=True)
class Form:
    """A form shown again: what was typed and the words at each refused field."""

    values: dict[str, str]
    errors: dict[str, str]


class MessageRoutes:
    """The messages pages, bound to one set of services."""

    def __init__(self, services: Services, pages: Pages, guard: Guard) -> None:
        self.services = services
        self.messages = services.messages
        self.pages = pages
        self.guard = guard
        self.reads = ClientMessagePages(services.db, services.clock, services.messages)
        self.rows = RowRenderer(pages.env)
        self.kept = PageKeeper(pages)
        self.messages_url = pages.base + links.PORTAL_MESSAGES

    def routes(self) -> list[BaseRoute]:
        guarded = self.guard.signed_in
        base = links.PORTAL_MESSAGES
        thread = base + "/{thread_id:int}"
        return [
            Route(base, guarded(self.list_get), methods=["GET"]),
            Route(base, guarded(self.start_post), methods=["POST"]),
            Route(base + "/new", guarded(self.compose_get), methods=["GET"]),
            Route(base + "/emails", guarded(self.emails_post), methods=["POST"]),
            Route(thread, guarded(self.thread_get), methods=["GET"]),
            Route(thread, guarded(self.reply_post), methods=["POST"]),
            Route(thread + "/withdraw", guarded(self.withdraw_post), methods=["POST"]),
        ]

    # ------------------------------------------------------------------ shared context

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """A page's read: in place where it never waits (SQLite), else in the thread pool."""
        if self.reads.in_place:
            return work(*args)
        return await run_in_threadpool(work, *args)

    def context(self, signed: SignedIn, title: str, **extra: Any) -> dict[str, Any]:
        notice_code = extra.pop("notice_code", "")
        notice, problem = NOTICES.get(notice_code, ("", False))
        return {
            "title": title,
            "session": signed.session,
            "csrf_field": csrf.CSRF_FIELD,
            "csrf_token": signed.session.csrf_token,
            "messages_url": self.messages_url,
            "portal_url": self.pages.base + links.PORTAL,
            "base_url": self.pages.base,
            "audience_labels": AUDIENCE_LABELS,
            "audience_phrases": AUDIENCE_PHRASES,
            "state_words": STATE_WORDS,
            "emergency": EMERGENCY,
            "subject_limit": SUBJECT_LIMIT,
            "body_limit": BODY_LIMIT,
            "notice": notice,
            "notice_is_problem": problem,
            "when": when,
            **extra,
        }

    def redirect(self, path: str, notice: str = "") -> Response:
        return self.pages.redirect(f"{path}?m={notice}" if notice else path)

    @staticmethod
    def notice_code(request: Request) -> str:
        code = request.query_params.get("m", "")
        return code if code in NOTICES else ""

    # ------------------------------------------------------------------ the list

    async def list_get(self, request: Request, signed: SignedIn) -> Response:
        data = await self.read(
            self.reads.threads, signed.account_id, signed.chart_id, page_number(request)
        )
        return self.list_page(signed, data, self.notice_code(request))

    def list_page(self, signed: SignedIn, data: ThreadsPageData, notice: str) -> HTMLResponse:
        listing = data.page
        context = self.context(
            signed,
            "Messages" if listing.page == 1 else f"Messages, page {listing.page}",
            data=data,
            listing=listing,
            rows=self.rows.threads(listing.threads, data.zone, self.messages_url),
            notice_code=notice,
        )
        if not self.reads.in_place:
            return self.pages.page(LIST_TEMPLATE, **context)
        key = (
            listing.page, listing.pages, listing.total, listing.unread, data.overview,
            data.zone, notice, signed.session.practice_name,
        )  # fmt: skip
        return self.kept.page(
            LIST_TEMPLATE, key, listing.threads, signed.session.csrf_token, context
        )

    async def emails_post(self, request: Request, signed: SignedIn) -> Response:
        wanted = signed.form.values.get("notices", "")
        if wanted not in ("on", "off"):
            return self.pages.error_page(400)
        address = self.guard.client_address(request)
        await acting(
            lambda: self.messages.set_notices(
                signed.account_id, signed.chart_id, enabled=wanted == "on", client_address=address
            )
        )
        return self.redirect(links.PORTAL_MESSAGES, f"emails_{wanted}")

    # ------------------------------------------------------------------ starting a thread

    async def compose_get(self, request: Request, signed: SignedIn) -> Response:
        overview = await self.read(self.reads.overview, signed.account_id, signed.chart_id)
        return self.compose_page(signed, overview, Form({}, {}))

    def compose_page(
        self, signed: SignedIn, overview: Any, form: Form, status: int = 200, notice: str = ""
    ) -> HTMLResponse:
        values = form.values
        body = values.get("body", "")
        return self.pages.page(
            COMPOSE_TEMPLATE,
            status,
            **self.context(
                signed,
                "New message",
                overview=overview,
                promise=promise_words(overview.promise, signed.session.practice_name),
                values=values,
                errors=form.errors,
                chosen=values.get("audience") or (overview.audiences or ("",))[0],
                left=left_words(body),
                notice_code=notice,
            ),
        )

    async def start_post(self, request: Request, signed: SignedIn) -> Response:
        values = signed.form.values
        audience, subject, body = (values.get(k, "") for k in ("audience", "subject", "body"))
        address = self.guard.client_address(request)
        try:
            sent = await acting(
                lambda: self.messages.client_start(
                    signed.account_id, signed.chart_id,
                    audience=audience, subject=subject, body=body, client_address=address,
                )
            )  # fmt: skip
        except MessageInvalid as invalid:
            overview = await run_in_threadpool(
                self.reads.overview, signed.account_id, signed.chart_id
            )
            typed = {"audience": audience, "subject": subject, "body": body}
            form = Form(
                {k: shown_value(k, v) for k, v in typed.items()},
                {k: field_error(k, p, typed.get(k, "")) for k, p in invalid.problems.items()},
            )
            return self.compose_page(signed, overview, form, status=400)
        except MessageRefused as refused:
            overview = await run_in_threadpool(
                self.reads.overview, signed.account_id, signed.chart_id
            )
            code = "off" if refused.reason is Refusal.MESSAGING_OFF else ""
            return self.compose_page(signed, overview, Form({}, {}), status=403, notice=code)
        return self.redirect(links.message_thread_path(sent.thread_id), "started")

    # ------------------------------------------------------------------ one thread

    async def thread_get(self, request: Request, signed: SignedIn) -> Response:
        thread_id = thread_id_of(request)
        address = self.guard.client_address(request)
        page = page_number(request)
        data = await self.read(
            lambda: self.reads.thread(
                signed.account_id, signed.chart_id, thread_id, page, client_address=address
            )
        )
        if data is None:
            raise HTTPException(404)
        return self.thread_page(signed, data, Form({}, {}), notice=self.notice_code(request))

    def thread_page(
        self,
        signed: SignedIn,
        data: ThreadPageData,
        form: Form,
        status: int = 200,
        notice: str = "",
    ) -> HTMLResponse:
        view = data.view
        title = view.thread.subject or WITHDRAWN_SUBJECT
        if view.page != view.pages:
            title = f"{title} (page {view.page} of {view.pages})"
        context = self.context(
            signed,
            title,
            data=data,
            view=view,
            thread=view.thread,
            thread_state=state_words(view.thread),
            rows=self.rows.messages(view, data.zone),
            thread_url=f"{self.pages.base}{links.message_thread_path(view.thread.id)}",
            promise=promise_words(data.promise, signed.session.practice_name),
            values=form.values,
            errors=form.errors,
            left=left_words(form.values.get("body", "")),
            messaging_off=data.mode is MessagingMode.OFF,
            notice_code=notice,
        )
        if form.values or form.errors or status != 200 or not self.reads.in_place:
            return self.pages.page(THREAD_TEMPLATE, status, **context)
        key = (
            view.thread, view.page, view.pages, view.total, view.withdrawable_id, view.can_reply,
            data.mode, data.promise, data.zone, notice, signed.session.practice_name,
        )  # fmt: skip
        return self.kept.page(
            THREAD_TEMPLATE, key, view.messages, signed.session.csrf_token, context
        )

    async def reply_post(self, request: Request, signed: SignedIn) -> Response:
        thread_id = thread_id_of(request)
        body = signed.form.values.get("body", "")
        address = self.guard.client_address(request)
        try:
            await acting(
                lambda: self.messages.client_reply(
                    signed.account_id, signed.chart_id, thread_id,
                    body=body, client_address=address,
                )
            )  # fmt: skip
        except MessageInvalid as invalid:
            data = await self.read(
                lambda: self.reads.thread(
                    signed.account_id, signed.chart_id, thread_id, None, client_address=address
                )
            )
            if data is None:
                raise HTTPException(404) from None
            form = Form(
                {"body": shown_value("body", body)},
                {k: field_error(k, p, body) for k, p in invalid.problems.items()},
            )
            return self.thread_page(signed, data, form, status=400)
        except MessageRefused as refused:
            code = "off" if refused.reason is Refusal.MESSAGING_OFF else "reply_only"
            return self.redirect(links.message_thread_path(thread_id), code)
        return self.redirect(links.message_thread_path(thread_id), "sent")

    async def withdraw_post(self, request: Request, signed: SignedIn) -> Response:
        thread_id = thread_id_of(request)
        raw = signed.form.values.get("message_id", "")
        message_id = int(raw) if raw.isdigit() and 0 < len(raw) < 19 else None
        address = self.guard.client_address(request)
        try:
            await acting(
                lambda: self.messages.client_withdraw(
                    signed.account_id, signed.chart_id, thread_id,
                    message_id=message_id, client_address=address,
                )
            )  # fmt: skip
        except MessageRefused as refused:
            code = _WITHDRAW_NOTICES.get(refused.reason, "nothing")
            return self.redirect(links.message_thread_path(thread_id), code)
        return self.redirect(links.message_thread_path(thread_id), "withdrawn")


def routes(services: Services, pages: Pages, guard: Guard) -> list[BaseRoute]:
    """`GET|POST /portal/messages`, `GET /portal/messages/new`, `POST /portal/messages/emails`,
    `GET|POST /portal/messages/<id>`, `POST /portal/messages/<id>/withdraw`."""
    return MessageRoutes(services, pages, guard).routes()
