"""Secrets in links and cookies: 256 bits from `secrets`, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 32  # 256 bits → 43 url-safe characters


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """Hex SHA-256 of a token; what the database keeps and looks up by."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def purpose_digest(purpose: str, token: str) -> str:
    """The digest of a token bound to one purpose (e.g. "reset"): a token made for one flow
    never matches a digest stored by another (SECURITY.md T7)."""
    return digest(f"{purpose}:{token}")


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )


_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def looks_like_token(value: str) -> bool:
    """Cheap shape check before any database work: 43 url-safe characters."""
    return _TOKEN_SHAPE.fullmatch(value) is not None
