"""Delivery status notifications (RFC 3464): reading one, and the envelope sender's tag.

A DSN is a `multipart/report; report-type=delivery-status` message: a human-readable part, a
`message/delivery-status` part (per-message fields, then one block per recipient: Action,
Status, Diagnostic-Code, ...) and the original message or its headers
(`message/rfc822` or `text/rfc822-headers`). Postfix ("Undelivered Mail Returned to Sender")
and Exchange ("Undeliverable: ...") both send this shape.

Our outgoing mail carries an envelope sender with a random tag (VERP, `local+<tag>@domain`),
so a DSN addressed to it names its email even when the original headers are cut off; the
original Message-ID is the second way to match. The tag is random: it reveals nothing.
"""

from __future__ import annotations

import email
import re
import secrets
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser

from frontdesk.core.config import Settings
from frontdesk.core.text import single_line

TAG_BYTES = 8  # 16 hex characters: 64 random bits per email
_TAG = re.compile(r"^[0-9a-f]{8,40}$")
_ADDRESS_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Return-Path")
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")


def new_bounce_tag() -> str:
    """A fresh random tag for one email's envelope sender."""
    return secrets.token_hex(TAG_BYTES)


def envelope_sender(bounce_address: str | None, tag: str | None) -> str | None:
    """`local+tag@domain` for the bounce address (the address itself without a tag)."""
    if not bounce_address or not tag:
        return bounce_address
    local, at, domain = bounce_address.rpartition("@")
    if not at:
        return bounce_address
    return f"{local}+{tag}@{domain}"


def probe_sender(settings: Settings) -> str:
    """The envelope sender a probe (doctor, the outbox's resume probe) gives in MAIL FROM: the
    same shape as a real email's (a fresh tag on the bounce address when tags are on), since a
    relay can take the plain From address and still refuse the tagged one."""
    tagged = envelope_sender(settings.bounce_mailbox, settings.envelope_tag(new_bounce_tag()))
    return tagged or settings.mail_from or ""


def tag_in_address(address: str, bounce_address: str) -> str | None:
    """The tag of `address` when it is `bounce_address` with a `+tag` (case-insensitive)."""
    local, at, domain = bounce_address.strip().lower().rpartition("@")
    candidate = address.strip().strip("<>").lower()
    prefix, suffix = f"{local}+", f"@{domain}"
    if not at or not candidate.startswith(prefix) or not candidate.endswith(suffix):
        return None
    tag = candidate[len(prefix) : len(candidate) - len(suffix)]
    return tag if _TAG.match(tag) else None


@dataclass(frozen=True)
class RecipientStatus:
    """One per-recipient block of a DSN."""

    recipient: str
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # "5.1.1"
    diagnostic: str  # "550 5.1.1 <a@b>: Recipient address rejected: User unknown", or ""

    @property
    def failed(self) -> bool:
        return self.action == "failed"

    @property
    def detail(self) -> str:
        """The reason as staff read it: the remote server's reply, else the status code."""
        if self.diagnostic:
            if self.status and self.status not in self.diagnostic:
                return f"{self.status} {self.diagnostic}"[:300]
            return self.diagnostic[:300]
        return f"{self.status} delivery failed" if self.status else "delivery failed"


@dataclass(frozen=True)
class Dsn:
    """What a delivery status notification says, and what it points back to."""

    message_id: str | None  # the DSN's own Message-ID
    original_message_id: str | None
    addressed_to: tuple[str, ...]  # the addresses the DSN was delivered to (for the tag)
    recipients: tuple[RecipientStatus, ...]

    @property
    def failure(self) -> RecipientStatus | None:
        """The first recipient that failed (None: a delay warning or a success notice)."""
        return next((r for r in self.recipients if r.failed), None)

    def tag(self, bounce_address: str | None) -> str | None:
        """The envelope sender's tag this DSN was addressed to, if any."""
        if not bounce_address:
            return None
        for address in self.addressed_to:
            found = tag_in_address(address, bounce_address)
            if found:
                return found
        return None


def is_dsn(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type") or "").lower() == "delivery-status"
    )


def parse_dsn(raw: bytes) -> Dsn | None:
    """The DSN in `raw` (a whole message), or None when it is not an RFC 3464 report."""
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if not is_dsn(message):
        return None
    recipients: list[RecipientStatus] = []
    original_id: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            recipients.extend(_recipient_blocks(part))
        elif kind in ("text/rfc822-headers", "text/global-headers") and original_id is None:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                headers = BytesHeaderParser().parsebytes(payload)
                original_id = _message_id(headers.get("Message-ID"))
        elif kind in ("message/rfc822", "message/global") and original_id is None:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original_id = _message_id(inner[0].get("Message-ID"))
    if original_id is None:  # some relays quote only In-Reply-To / References
        original_id = _message_id(message.get("In-Reply-To"))
    addressed: list[str] = []
    for name in _ADDRESS_HEADERS:
        for value in message.get_all(name) or []:
            addressed.extend(re.findall(r"[^\s<>,\"]+@[^\s<>,\"]+", str(value)))
    return Dsn(
        message_id=_message_id(message.get("Message-ID")),
        original_message_id=original_id,
        addressed_to=tuple(addressed),
        recipients=tuple(recipients),
    )


def _recipient_blocks(part: Message) -> list[RecipientStatus]:
    """The per-recipient blocks of a message/delivery-status part (the first block holds the
    per-message fields and has no Action)."""
    blocks = part.get_payload()
    if not isinstance(blocks, list):  # an unparsed body: read the field blocks ourselves
        text = part.get_payload(decode=True)
        body = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        blocks = [email.message_from_string(b.strip() + "\n") for b in re.split(r"\n\s*\n", body)]
    found = []
    for block in blocks:
        if not isinstance(block, Message):
            continue
        action = _field(block, "Action").lower()
        if not action:
            continue
        status_match = _STATUS.search(_field(block, "Status"))
        found.append(
            RecipientStatus(
                recipient=_typed_value(_field(block, "Final-Recipient")),
                action=action.split()[0],
                status=status_match.group(0) if status_match else "",
                diagnostic=_typed_value(_field(block, "Diagnostic-Code")),
            )
        )
    return found


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    return single_line(" ".join(str(value).split())) if value is not None else ""


def _typed_value(value: str) -> str:
    """`smtp; 550 5.1.1 ...` → `550 5.1.1 ...`; `rfc822; a@b` → `a@b`."""
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and " " not in kind.strip() else value.strip()


def _message_id(value: object) -> str | None:
    if value is None:
        return None
    match = re.search(r"<[^<>\s]+>", str(value))
    return match.group(0) if match else None


# ---------------------------------------------------------------------------------------------
# What a status code means, in the words staff read beside the status tag
# ---------------------------------------------------------------------------------------------

_BY_DETAIL = {
    "1.1": "address does not exist",
    "1.10": "address does not exist",  # the domain accepts no mail (null MX)
    "1.2": "the address's domain does not exist",
    "1.3": "address is not valid",
    "1.6": "address no longer in use",
    "2.1": "mailbox disabled",
    "2.2": "mailbox full",
    "2.3": "message too large for the mailbox",
    "3.4": "message too large",
    "4.1": "recipient's mail server did not answer",
    "4.2": "recipient's mail server did not answer",
    "4.4": "recipient's mail server could not be found",
    "4.7": "recipient's mail server did not take it in time",
}
_BY_CLASS = {
    "1": "address not accepted",
    "2": "mailbox unavailable",
    "3": "recipient's mail system refused it",
    "4": "recipient's mail server could not be reached",
    "5": "recipient's mail server refused it",
    "6": "recipient's mail server refused it",
    "7": "blocked by the recipient's mail server",
}


def bounce_reason(status: str | None) -> str:
    """The reason staff read for a DSN status code: 5.1.1 → "address does not exist"."""
    match = _STATUS.search(status or "")
    if match is None:
        return "returned by the recipient's mail server"
    _, subject, detail = match.groups()
    return _BY_DETAIL.get(
        f"{subject}.{detail}", _BY_CLASS.get(subject, "returned by the recipient's mail server")
    )
