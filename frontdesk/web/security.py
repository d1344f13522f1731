"""Response headers on every response, the last-resort error handler, and log redaction.

- `SecurityHeaders`: a strict Content-Security-Policy (no script at all), no referrer, no
  sniffing, no framing, and `Cache-Control: no-store` on everything but the stylesheet.
- `ErrorShield`: the one place the web catches what a route lets escape. A `StoreError`
  (the database is unreachable or stays busy) is a 503 page, a `FrontDeskError` (a refusal a
  person can act on) a 4xx page (404 for `NotFound`, 403 for `NotAllowed`, 400 otherwise), and
  anything else the generic 500 page. Each is one log line holding the exception type, where it
  happened and an incident id, never its message (which could hold client data) and never a
  traceback. Routes do not catch these themselves.
- `redact` / `RedactFilter`: registration and password-reset tokens in paths (every prefix in
  `links.TOKEN_PREFIXES`) and any long random-looking value are
  replaced before a log line is written (the uvicorn access log included).
"""

from __future__ import annotations

import logging
import re
import secrets
import traceback
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.core import links
from frontdesk.core.errors import FrontDeskError, NotAllowed, NotFound
from store.db import StoreError

log = logging.getLogger("frontdesk.web")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
STATIC_PREFIX = links.STATIC + "/"
FAVICON = "/favicon.ico"


def security_headers(path: str, *, https: bool) -> dict[str, str]:
    """The headers every response carries (cache rules depend on the path)."""
    cacheable = path.startswith(STATIC_PREFIX) or path == FAVICON
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        "Cache-Control": "public, max-age=3600" if cacheable else "no-store",
    }
    if not cacheable:
        headers["Pragma"] = "no-cache"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


class SecurityHeaders:
    """Pure ASGI middleware that sets `security_headers` on every HTTP response (and drops any
    Server header). The headers are encoded once, for the two kinds of path."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https
        self._raw = {
            cacheable: [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in security_headers(
                    STATIC_PREFIX if cacheable else "/", https=https
                ).items()
            ]
            for cacheable in (True, False)
        }
        self._replaced = {name for name, _ in self._raw[False]} | {
            name for name, _ in self._raw[True]
        }
        self._replaced.add(b"server")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        extra = self._raw[path.startswith(STATIC_PREFIX) or path == FAVICON]
        replaced = self._replaced

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name.lower() not in replaced
                ]
                headers.extend(extra)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


ErrorPage = Callable[[int, str], Response]


def error_status(exc: Exception) -> int:
    """The status of the page shown for an exception a route let escape."""
    if isinstance(exc, StoreError):
        return 503
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotAllowed):
        return 403
    if isinstance(exc, FrontDeskError):
        return 400
    return 500


class ErrorShield:
    """Turns an escaped exception into an error page and one PHI-free log line."""

    def __init__(self, app: ASGIApp, *, error_page: ErrorPage) -> None:
        self.app = app
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # the last resort: logged below, never re-raised to clients
            incident = secrets.token_hex(4)
            status = error_status(exc)
            log.error(
                "incident %s: %s during %s %s at %s",
                incident,
                type(exc).__name__,
                scope.get("method", "?"),
                redact(scope.get("path", "")),
                _where(exc),
            )
            if started:
                return  # the page was already on its way; the connection is closed as is
            await self.error_page(status, incident)(scope, receive, send)


def _where(exc: BaseException) -> str:
    """file:line of the innermost frames of our own code (no message, no locals)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/frontdesk/" in f.filename or "/store/" in f.filename]
    chosen = (ours or frames)[-3:]
    return " < ".join(
        f"{f.filename.rsplit('/', 2)[-2]}/{f.filename.rsplit('/', 1)[-1]}:{f.lineno} {f.name}"
        for f in reversed(chosen)
    )


# ------------------------------------------------------------------------------------------
# Log redaction
# ------------------------------------------------------------------------------------------

_LONG_SECRET = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])")


def redact(text: str) -> str:
    """`text` with the tokens of registration and reset paths and long random-looking values
    replaced."""
    text = links.redact_token_paths(text)
    return _LONG_SECRET.sub("[redacted]", text)


class RedactFilter(logging.Filter):
    """Rewrites a record's message and string arguments through `redact` (keeps the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {
                k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()
            }
        return True
