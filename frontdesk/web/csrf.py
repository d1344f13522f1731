"""Cross-site request forgery defences for every POST.

Two independent checks, both required:

1. The request must not come from another site: a `Sec-Fetch-Site` other than `same-origin` or
   `none` is refused; without that header, an `Origin` other than the configured public URL's
   (or `null`, see `is_cross_site`) is refused.
2. A synchronizer token in the form. Signed-in forms carry the session's own random token.
   Anonymous forms (registration, sign-in) carry HMAC-SHA256(server key, pre-session id), where
   the pre-session id is a random value in an HttpOnly cookie; the key lives in the ServerSecret
   table, so every process of the same database accepts it.

Every comparison of secrets is constant-time (`frontdesk.core.tokens.same`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from frontdesk.core import tokens

CSRF_FIELD = "csrf_token"
KEY_NAME = "csrf-hmac-key"
_PURPOSE = b"frontdesk anonymous form v1\x1f"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def anonymous_token(key: bytes, pre_session_id: str) -> str:
    """The token an anonymous form carries for this browser's pre-session id."""
    mac = hmac.new(key, _PURPOSE + pre_session_id.encode("ascii", "replace"), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")


def anonymous_token_ok(key: bytes, pre_session_id: str | None, submitted: str | None) -> bool:
    """True when `submitted` is the token of this pre-session id (constant-time)."""
    if not pre_session_id or not submitted or not tokens.looks_like_token(pre_session_id):
        return False
    return tokens.same(anonymous_token(key, pre_session_id), submitted)


def session_token_ok(expected: str, submitted: str | None) -> bool:
    """True when a signed-in form carries its session's token (constant-time)."""
    if not expected or not submitted:
        return False
    return tokens.same(expected, submitted)


def public_origin(public_url: str) -> str:
    """The browser-style origin of the public URL: scheme://host[:port], default port omitted."""
    parts = urlsplit(public_url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def is_cross_site(headers: Mapping[str, str], allowed_origin: str) -> bool:
    """True when the browser says this POST comes from another site.

    `Sec-Fetch-Site` decides when the browser sends it. Otherwise a present `Origin` must be the
    public URL's; `Origin: null` is let through because browsers send exactly that for a form
    POST from a page served with `Referrer-Policy: no-referrer` (ours), and such a request still
    needs the synchronizer token, whose pre-session cookie a SameSite=Lax browser never sends
    on a cross-site POST.
    """
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() not in ("same-origin", "none")
    origin = headers.get("origin")
    if origin is None or origin.strip().lower() == "null":
        return False
    return origin.strip().lower() != allowed_origin
