"""Passwords: the NIST SP 800-63B-4 policy and argon2id hashing with bounded concurrency."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from datetime import date
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from frontdesk.core.text import has_controls

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 15
MAX_LENGTH = 1024
# At most this many argon2 computations (64 MiB each) run at once in one process.
MAX_CONCURRENT_HASHES = 2
# zxcvbn guesses below 10^8 (its scores 0-2) are refused as guessable.
MIN_GUESSES_LOG10 = 8.0
ZXCVBN_SCORED_CHARS = 64  # zxcvbn refuses inputs over 72 characters


class _LazyHasher:
    """argon2id, t=3, m=64 MiB, p=4 (RFC 9106 low-memory profile). argon2 is imported on
    first use: the TUI imports this module (through the services) but never hashes."""

    @cached_property
    def _real(self) -> PasswordHasher:
        from argon2 import PasswordHasher

        return PasswordHasher()

    def hash(self, password: str, **kwargs: Any) -> str:
        return self._real.hash(password, **kwargs)

    def verify(self, stored: str, password: str) -> bool:
        return self._real.verify(stored, password)

    def check_needs_rehash(self, stored: str) -> bool:
        return self._real.check_needs_rehash(stored)


_hasher: Any = _LazyHasher()
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
_DUMMY_PASSWORD = "frontdesk-dummy-password-for-timing"  # noqa: S105 (not a credential)
# Hashed once, on first need (not at import: 64 MiB and ~85 ms of work), and used for unknown
# accounts so a failed sign-in costs the same either way.
_DUMMY_HASH: str | None = None
_dummy_lock = threading.Lock()


def _dummy_hash() -> str:
    global _DUMMY_HASH
    with _dummy_lock:
        if _DUMMY_HASH is None:
            with _slots:
                _DUMMY_HASH = str(_hasher.hash(_DUMMY_PASSWORD))
        return _DUMMY_HASH


def warm_up() -> None:
    """Compute the dummy hash now (the web server calls this before it serves), so the first
    failed sign-in for an unknown account takes no longer than the ones after it."""
    _dummy_hash()


def _stable(password: str) -> str:
    """NFKC form (NIST SP 800-63B: normalise before hashing), so a password typed with
    composed or decomposed accents, or full-width letters, verifies the same way."""
    return unicodedata.normalize("NFKC", password)


def hash_password(password: str) -> str:
    """argon2id hash of `password`; at most MAX_CONCURRENT_HASHES run at once."""
    if len(password) > MAX_LENGTH:
        raise ValueError("password longer than the cap")
    with _slots:
        return str(_hasher.hash(_stable(password)))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check `password`; with no stored hash, do the same work and fail."""
    from argon2.exceptions import InvalidHashError, VerificationError

    if len(password) > MAX_LENGTH:
        return False
    against = stored_hash or _dummy_hash()
    with _slots:
        try:
            matched = _hasher.verify(against, _stable(password))
        except (VerificationError, InvalidHashError):  # a mismatch is a VerificationError
            return False
        return bool(matched) and stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return bool(_hasher.check_needs_rehash(stored_hash))


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words: set[str] = set()
    for name in ("passwords",):
        words.update(FREQUENCY_LISTS.get(name, ()))
    return frozenset(words)


def _squash(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).casefold()
    return re.sub(r"[\W_]+", "", text)


def _date_forms(value: date) -> set[str]:
    y, m, d = value.year, value.month, value.day
    return {
        f"{y:04d}{m:02d}{d:02d}",
        f"{m:02d}{d:02d}{y:04d}",
        f"{d:02d}{m:02d}{y:04d}",
        f"{m}{d}{y:04d}",
        f"{m:02d}{d:02d}{y % 100:02d}",
        f"{d:02d}{m:02d}{y % 100:02d}",
        f"{m}{d}{y % 100:02d}",
        f"{y:04d}",
    }


def account_words(
    *,
    practice_name: str,
    first_name: str,
    last_name: str,
    preferred_name: str | None,
    owner_name: str,
    email: str,
) -> list[str]:
    """The words a portal account's password must not be built from (SECURITY.md P4): the
    practice, the client's names, the owner's name and the parts of the sign-in address
    ("ana.obrien+portal@…" → "ana obrien portal", each part checked on its own)."""
    email_local = " ".join(email.partition("@")[0].replace("+", ".").split("."))
    return [
        practice_name, first_name, last_name, preferred_name or "", owner_name, email_local,
        "frontdesk", "portal",
    ]  # fmt: skip


def password_problem(
    password: str,
    *,
    context_words: Iterable[str] = (),
    date_of_birth: date | None = None,
) -> str | None:
    """Why `password` is not acceptable (one sentence), or None when it is.

    No composition rules: length (code points), a hard cap, common/breached lists, zxcvbn's
    guessability estimate and the client's own context (practice name, their names, their date
    of birth).
    """
    length = len(password)
    if length > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if length < MIN_LENGTH:
        return (
            f"Use at least {MIN_LENGTH} characters (you have {length}). "
            "Three or four words work well."
        )
    # Control characters only: zero-width joiners and variation selectors belong to emoji.
    if has_controls(password):
        return "The password contains a control character."
    squashed = _squash(password)
    folded = _stable(password).casefold()
    if squashed in _common_passwords() or folded in _common_passwords():
        return "That password is too common; choose something less predictable."
    if len(set(folded.replace(" ", ""))) <= 3:
        return "That password repeats too few characters; choose something less predictable."
    words = [w for w in context_words if w]
    remaining = squashed
    for word in words:
        for part in [_squash(word), *(_squash(p) for p in word.split())]:
            if len(part) >= 3:
                remaining = remaining.replace(part, "")
    if date_of_birth is not None:
        for form in sorted(_date_forms(date_of_birth), key=len, reverse=True):
            remaining = remaining.replace(form, "")
    if len(remaining) < 8 and remaining != squashed:
        return (
            "The password is built from your name, date of birth or the practice's name; "
            "choose something others could not guess."
        )
    if remaining in _common_passwords() and remaining != squashed:
        return "The password is a common password with personal details added; choose another."
    return _guessable(password, words)


def _guessable(password: str, context: list[str]) -> str | None:
    """zxcvbn's estimate (dictionaries, keyboard walks, sequences, repeats, dates): refuse what
    an online attacker would guess in under 10^8 tries. Only the first characters are scored
    (zxcvbn slows down on long inputs, and a long password is not short of guesses)."""
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:ZXCVBN_SCORED_CHARS], user_inputs=context)
    if float(result["guesses_log10"]) >= MIN_GUESSES_LOG10:
        return None
    warning = str(result.get("feedback", {}).get("warning") or "").strip()
    reason = f" ({warning.rstrip('.')})" if warning else ""
    return f"That password would be easy to guess{reason}; add another unrelated word or two."
