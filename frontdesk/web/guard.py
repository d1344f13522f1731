"""What a request must show before a route acts on it, checked in one place.

- **Signed-in routes** take their session from `Guard.signed_in(handler)`, the one session
  guard: no live session → a redirect to the sign-in page (with the "session ended" notice
  when the browser sent a session cookie); on a POST the form must be same-site, readable and
  carry the session's CSRF token. The handler gets a `SignedIn`: the account and the **chart
  of the session** (`account_id`, `chart_id`). A signed-in route reads and changes only that
  chart, never one named by the request, so another chart's id is a 404 by construction.
- **Anonymous forms** (registration, sign-in) carry HMAC(server key, pre-session id), the
  pre-session id in its own HttpOnly cookie: `anonymous_form_token` / `anonymous_form`.
- **Cookies**: HttpOnly, SameSite=Lax, Path=/; over https `Secure` and `__Host-` prefixed.
  The session cookie holds only a random id pointing at a server-side session.

See `frontdesk.web.csrf` for the two CSRF checks themselves.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from frontdesk.access.signin import ActiveSession
from frontdesk.core import links, tokens
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.forms import MAX_BODY_BYTES, MAX_FIELDS, FormRejected, PostedForm, read_form
from frontdesk.web.pages import Pages

Handler = Callable[[Request], Awaitable[Response]]
SAFE_METHODS = frozenset({"GET", "HEAD"})
ENDED_NOTICE = "ended"  # /login?m=ended: "Your session ended …"
_COOKIE_SAFE = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class SignedIn:
    """What the guard gives a signed-in route: its session, and on a POST the checked form.

    `account_id` and `chart_id` are the session's own: the only account and chart a
    signed-in route may read or change."""

    session: ActiveSession
    session_id: str  # the browser's cookie value (sign-out ends this session)
    form: PostedForm  # a POST's fields, same-site and CSRF-checked; empty on GET / HEAD

    @property
    def account_id(self) -> int:
        return self.session.account_id

    @property
    def chart_id(self) -> int:
        return self.session.chart_id


SignedInHandler = Callable[[Request, SignedIn], Awaitable[Response]]


class Guard:
    """Sessions, cookies and CSRF for one set of services."""

    def __init__(self, services: Services, pages: Pages) -> None:
        settings = services.settings
        self.signin = services.signin
        self.pages = pages
        # On SQLite the session's row is read on the event loop (less than the hop to a worker
        # thread); other databases are reached over a network, so it is read in the pool.
        self.in_place = services.db.is_sqlite
        self.https = settings.public_is_https
        self.origin = csrf.public_origin(settings.public_url)
        prefix = "__Host-" if self.https else ""
        self.session_cookie = f"{prefix}fd_session"
        self.pre_cookie = f"{prefix}fd_pre"
        self._csrf_key: bytes | None = None

    # ------------------------------------------------------------------ the session guard

    def signed_in(
        self,
        handler: SignedInHandler,
        *,
        ended_notice: bool = True,
        max_bytes: int = MAX_BODY_BYTES,
        max_fields: int = MAX_FIELDS,
    ) -> Handler:
        """`handler` behind the session guard: the one way a route gets its session.

        - POST (any method but GET / HEAD): the form is read first; a cross-site, oversized or
          unreadable one gets its error page.
        - No live session: a 303 to the sign-in page, the session cookie cleared if one was
          sent, with the "session ended" notice when one was (`ended_notice=False`: never,
          for a sign-out, where leaving is what was asked). `max_bytes` / `max_fields` cap
          the form (a practice's long form is bigger than the account forms).
        - POST without the session's CSRF token: the "form has expired" page (403).
        - Otherwise `handler(request, SignedIn(...))`."""

        async def guarded(request: Request) -> Response:
            posting = request.method not in SAFE_METHODS
            form = PostedForm({})
            if posting:
                posted = await self.posted_form(request, max_bytes=max_bytes, max_fields=max_fields)
                if isinstance(posted, Response):
                    return posted
                form = posted
            session_id = self.session_id_of(request)
            active = await self.current_session(request)
            if active is None or session_id is None:
                sent_cookie = session_id is not None
                notice = ENDED_NOTICE if ended_notice and sent_cookie else None
                return self.signed_out_redirect(request, notice)
            if posting and not csrf.session_token_ok(
                active.csrf_token, form.values.get(csrf.CSRF_FIELD)
            ):
                return self.pages.csrf_failed()
            return await handler(request, SignedIn(active, session_id, form))

        guarded.__name__ = getattr(handler, "__name__", "guarded")
        guarded.__doc__ = handler.__doc__
        return guarded

    def session_id_of(self, request: Request) -> str | None:
        """The session cookie's value, when the browser sent one."""
        return request.cookies.get(self.session_cookie)

    async def current_session(self, request: Request) -> ActiveSession | None:
        """The browser's live session, or None. Routes that need one use `signed_in`; this
        is for pages that only look (the sign-in page sends a signed-in browser on)."""
        cookie = self.session_id_of(request)
        if not cookie:
            return None
        if self.in_place:  # one indexed row through the driver: a WAL reader never waits
            lookup = self.signin.look_up_session(cookie)
            found = lookup.active
            if lookup.write is not None:  # the rare write (every 30 s, or the end) in the pool
                found = await run_in_threadpool(self.signin.settle_session, lookup)
        else:
            found = await run_in_threadpool(self.signin.session, cookie)
        if found is not None:
            self.pages.remember_practice(found.practice_name, found.practice_phone)
        return found

    def signed_out_redirect(self, request: Request, notice: str | None) -> Response:
        """To the sign-in page (with its `?m=` notice), dropping any session cookie sent."""
        return self.forget_session(request, self.pages.redirect(links.login_path(notice)))

    def forget_session(self, request: Request, response: Response) -> Response:
        """`response`, clearing the session cookie when the browser sent one."""
        if self.session_id_of(request) is not None:
            self._clear_cookie(response, self.session_cookie)
        return response

    def start_session(self, response: Response, session_id: str) -> Response:
        """`response`, setting a newly started session's cookie."""
        self._set_cookie(response, self.session_cookie, session_id)
        return response

    # ------------------------------------------------------------------ forms and CSRF

    async def posted_form(
        self,
        request: Request,
        *,
        max_bytes: int = MAX_BODY_BYTES,
        max_fields: int = MAX_FIELDS,
    ) -> PostedForm | Response:
        """The form of a POST, or the page refusing it (cross-site, too large, unreadable)."""
        if csrf.is_cross_site(request.headers, self.origin):
            return self.pages.csrf_failed()
        try:
            return await read_form(request, max_bytes=max_bytes, max_fields=max_fields)
        except FormRejected as rejected:
            return self.pages.error_page(rejected.status)

    async def anonymous_form(self, request: Request) -> PostedForm | Response:
        """The form of an anonymous POST (registration, sign-in) carrying this browser's
        token, or the page refusing it."""
        form = await self.posted_form(request)
        if isinstance(form, Response):
            return form
        key = await self.csrf_key()
        submitted = form.values.get(csrf.CSRF_FIELD)
        if not csrf.anonymous_token_ok(key, request.cookies.get(self.pre_cookie), submitted):
            return self.pages.csrf_failed()
        return form

    async def anonymous_form_token(self, request: Request) -> tuple[str, str | None]:
        """(token for the form, new pre-session id to set as a cookie or None)."""
        pre_id = request.cookies.get(self.pre_cookie)
        new_id = None
        if not pre_id or not tokens.looks_like_token(pre_id):
            pre_id = new_id = tokens.new_token()
        return csrf.anonymous_token(await self.csrf_key(), pre_id), new_id

    def with_pre_cookie(self, response: Response, new_pre_id: str | None) -> Response:
        if new_pre_id:
            self._set_cookie(response, self.pre_cookie, new_pre_id)
        return response

    async def csrf_key(self) -> bytes:
        if self._csrf_key is None:
            self._csrf_key = await run_in_threadpool(self.signin.server_secret, csrf.KEY_NAME)
        return self._csrf_key

    @staticmethod
    def client_address(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # ------------------------------------------------------------------ cookies

    def _set_cookie(self, response: Response, name: str, value: str) -> None:
        if _COOKIE_SAFE.fullmatch(value):  # our tokens: the header Starlette would write, built
            secure = "; Secure" if self.https else ""  # without SimpleCookie (per request)
            header = f"{name}={value}; HttpOnly; Path=/; SameSite=lax{secure}"
            response.raw_headers.append((b"set-cookie", header.encode("latin-1")))
            return
        response.set_cookie(name, value, path="/", secure=self.https, httponly=True, samesite="lax")

    def _clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.https, httponly=True, samesite="lax")
