"""The identity check of registration: last name and date of birth, compared strictly."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

_APOSTROPHES = "\u2019\u2018\u02bc\u02bb\u0060\u00b4\u2032\uff07\u201b"
_HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d\u00ad"
_TRANSLATE = {ord(c): "'" for c in _APOSTROPHES} | {ord(c): "-" for c in _HYPHENS}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Latin letters with a stroke, bar or other mark that Unicode does not decompose, and the
# ligatures a US keyboard spells out: each folds to the plain letters a client would type.
_LATIN_PLAIN = {
    "ø": "o", "ł": "l", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ƚ": "l",
    "ɨ": "i", "ʉ": "u", "ı": "i", "ȷ": "j", "æ": "ae", "œ": "oe",
}  # fmt: skip


def _is_latin(char: str) -> bool:
    return unicodedata.name(char, "").startswith("LATIN ")


def _fold_latin(text: str) -> str:
    """Latin letters without their marks (García → Garcia, Müller → Muller, Wałęsa →
    Walesa); marks on letters of other scripts stay (й ≠ и), and no letter is ever guessed
    (Garcia ≠ Garza)."""
    kept: list[str] = []
    for char in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(char) and kept and _is_latin(kept[-1][-1]):
            continue  # a mark on a Latin letter
        kept.append(_LATIN_PLAIN.get(char, char))
    return unicodedata.normalize("NFC", "".join(kept))


def normalize_last_name(value: str) -> str:
    """NFKC, apostrophe and hyphen variants made alike, case folded, Latin letters folded to
    their plain base (SECURITY.md R3: clients on phones and US keyboards drop accents),
    trimmed, spaces collapsed."""
    # Variants are made alike before NFKC too: NFKC turns the acute accent (´, typed as an
    # apostrophe on some keyboards) into a space and a combining mark.
    text = unicodedata.normalize("NFKC", value.translate(_TRANSLATE)).translate(_TRANSLATE)
    text = _fold_latin(text.casefold())
    text = re.sub(r"\s*-\s*", "-", text)
    return " ".join(text.split())


def last_names_match(entered: str, on_chart: str) -> bool:
    return bool(normalize_last_name(entered)) and normalize_last_name(
        entered
    ) == normalize_last_name(on_chart)


def parse_date_strict(value: str) -> date | None:
    """Parse YYYY-MM-DD (surrounding spaces allowed) and nothing else; None when invalid."""
    text = value.strip()
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
