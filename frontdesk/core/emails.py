"""Email addresses: validated and normalised with email-validator; likely typos flagged."""

from __future__ import annotations

from frontdesk.core.errors import FrontDeskError

_COMMON_TYPOS = {
    "gmial.com": "gmail.com",
    "gmai.com": "gmail.com",
    "gmal.com": "gmail.com",
    "gmaill.com": "gmail.com",
    "gnail.com": "gmail.com",
    "gamil.com": "gmail.com",
    "gmail.co": "gmail.com",
    "gmail.cm": "gmail.com",
    "yahooo.com": "yahoo.com",
    "yaho.com": "yahoo.com",
    "yahoo.co": "yahoo.com",
    "hotmial.com": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "hotmail.co": "hotmail.com",
    "outlok.com": "outlook.com",
    "outloo.com": "outlook.com",
    "iclod.com": "icloud.com",
    "icloud.co": "icloud.com",
    "aol.co": "aol.com",
}
_BAD_TLDS = {"con": "com", "cmo": "com", "ocm": "com", "comm": "com", "nte": "net", "ogr": "org"}


class InvalidEmail(FrontDeskError, ValueError):
    """The address is not usable; the message says why in one line."""


def normalize_email(value: str) -> str:
    """Return the normalised address, or raise InvalidEmail with a one-line reason."""
    text = value.strip()
    if not text:
        raise InvalidEmail("Email address is empty.")
    if any(ch in text for ch in "\r\n\x00") or any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidEmail("Email address contains a control character.")
    # Imported here: the terminal UI loads this module at start but validates rarely.
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(f"Not a valid email address: {exc}") from None
    return str(result.normalized)


def likely_typo(address: str) -> str | None:
    """A suggested correction when the domain looks like a typo of a common one, else None."""
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    if domain in _COMMON_TYPOS:
        return f"{local}@{_COMMON_TYPOS[domain]}"
    head, _, tld = domain.rpartition(".")
    if head and tld in _BAD_TLDS:
        return f"{local}@{head}.{_BAD_TLDS[tld]}"
    return None


def mask_email(address: str) -> str:
    """a…@example.com — enough for staff to recognise, little for a log or a toast."""
    local, _, domain = address.rpartition("@")
    if not local:
        return address
    return f"{local[0]}…@{domain}"
