"""Every URL path the product builds, routes or redacts, in one place.

Links in emails are built from the configured public base URL (never from a request's Host
header); the web app routes these paths; logs and stored emails redact the token paths."""

from __future__ import annotations

import re

REGISTER = "/register/"  # + the invitation's raw token
RESET = "/reset/"  # + the password-reset link's raw token
FORGOT = "/forgot"
LOGIN = "/login"
LOGOUT = "/logout"
PORTAL = "/portal"
PORTAL_MESSAGES = "/portal/messages"  # the client's threads (+ "/new", "/<id>", "/<id>/withdraw")
HEALTHZ = "/healthz"
STATIC = "/static"
PORTAL_TASKS = "/portal/tasks"  # the client's forms (+ "/<id>": one form)

# Paths that carry a secret token after their prefix (logs and kept emails never show it).
TOKEN_PREFIXES = (REGISTER, RESET)

_URLSAFE = r"[A-Za-z0-9_\-]"
_REGISTER_TOKEN = re.compile(re.escape(REGISTER) + r"(" + _URLSAFE + r"+)")
_RESET_TOKEN = re.compile(re.escape(RESET) + r"(" + _URLSAFE + r"+)")
_ANY_TOKEN = re.compile("(" + "|".join(re.escape(p) for p in TOKEN_PREFIXES) + ")" + _URLSAFE + "+")
# In a log line a path runs to the next space, quote, query or fragment.
_TOKEN_PATH_IN_LOG = re.compile(
    "(" + "|".join(re.escape(p) for p in TOKEN_PREFIXES) + r")[^\s\"'?#]*"
)


def register_link(public_base: str, token: str) -> str:
    """The emailed registration link for an invitation's raw token."""
    return f"{public_base}{REGISTER}{token}"


def reset_link(public_base: str, token: str) -> str:
    """The emailed password-reset link for a reset's raw token."""
    return f"{public_base}{RESET}{token}"


def login_link(public_base: str) -> str:
    """The sign-in page, for emails that send the client to sign in."""
    return f"{public_base}{LOGIN}"


def login_path(notice: str | None = None) -> str:
    """The sign-in page's path, with a notice code (`?m=`) when given."""
    return f"{LOGIN}?m={notice}" if notice else LOGIN


def task_path(task_id: int) -> str:
    """A signed-in client's form (task) page."""
    return f"{PORTAL_TASKS}/{task_id}"


def message_thread_path(thread_id: int) -> str:
    """A signed-in client's message thread page."""
    return f"{PORTAL_MESSAGES}/{thread_id}"


def register_route() -> str:
    """The registration route pattern for the web app."""
    return REGISTER + "{token:path}"


def reset_route() -> str:
    """The password-reset route pattern for the web app."""
    return RESET + "{token:path}"


def redact_token_paths(text: str, mark: str = "[redacted]") -> str:
    """`text` with the token after every token-carrying path prefix replaced by `mark`
    (for log lines: a path ends at a space, quote, `?` or `#`)."""
    return _TOKEN_PATH_IN_LOG.sub(lambda m: m.group(1) + mark, text)


def remove_link_tokens(text: str, mark: str = "[removed]") -> str:
    """`text` (an email body) with the token of every registration or reset link replaced by
    `mark`: once delivered, no raw token stays at rest."""
    return _ANY_TOKEN.sub(lambda m: m.group(1) + mark, text)


def find_register_token(text: str) -> str | None:
    """The first registration link's token in `text` (a delivered email), or None."""
    found = _REGISTER_TOKEN.search(text)
    return found.group(1) if found else None


def find_reset_token(text: str) -> str | None:
    """The first password-reset link's token in `text` (a delivered email), or None."""
    found = _RESET_TOKEN.search(text)
    return found.group(1) if found else None
