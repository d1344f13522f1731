"""Text hygiene for anything a client or staff member typed: control characters and search keys."""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and newline, DEL, C1 controls, and bidi embedding/override/isolate marks.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK_RE = re.compile("[\r\n\u2028\u2029\x85]")


_ANY_LINE_BREAK_RE = re.compile("\r\n|[\r\u2028\u2029\x85]")


def unify_line_breaks(value: str) -> str:
    """Every kind of line break as one newline: browsers post a textarea's breaks as CR LF."""
    return _ANY_LINE_BREAK_RE.sub("\n", value)


def strip_controls(value: str) -> str:
    """Remove control characters (keeps tab and newline) so they never reach a terminal."""
    return _CONTROL_RE.sub("", value)


def single_line(value: str) -> str:
    """Display form of a one-line field: controls removed, line breaks turned into spaces."""
    return strip_controls(_LINE_BREAK_RE.sub(" ", value))


def has_controls(value: str, *, allow_newlines: bool = False) -> bool:
    """True when `value` holds a control character (newlines count unless allowed)."""
    if _CONTROL_RE.search(value):
        return True
    return not allow_newlines and bool(_LINE_BREAK_RE.search(value))


# Dropped from search keys so "obri" finds "O'Brien" (store/migrations 0002 keeps old rows in step).
_APOSTROPHES = frozenset("'\u2019\u2018\u02bc`\u00b4")


def search_key(value: str | None) -> str:
    """Fold a value for searching: accents and apostrophes removed, case folded, spaces
    collapsed."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) and ch not in _APOSTROPHES
    )
    return " ".join(bare.casefold().split())
