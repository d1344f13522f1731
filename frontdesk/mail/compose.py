"""Building the emails FrontDesk sends. Only a greeting name and the link: no other client data.

`invitation_email` and friends compose the subject and both bodies when the outbox row is
written; `build_message` turns a stored outbox row into the `EmailMessage` handed to the mail
server (headers are made at send time; the Message-ID is the row's, stable across retries).
"""

from __future__ import annotations

import html
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email import policy, quoprimime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, formataddr
from functools import lru_cache
from typing import cast

from frontdesk.core.clock import as_utc, zone_named
from frontdesk.core.config import Settings
from frontdesk.core.errors import FrontDeskError
from frontdesk.core.text import has_controls, single_line
from frontdesk.mail.placeholders import (
    Body,
    TemplateError,
    render_line,
    sender_name,
)
from store.models import OutboxEmail, Practice

log = logging.getLogger(__name__)

INVITATION_SUBJECT = "Your Client Portal invitation"
RESEND_SUBJECT = "Your new Client Portal link"
RESTORED_SUBJECT = "Your Client Portal access is active"
REGISTERED_SUBJECT = "Your Client Portal account is ready"
NEW_MESSAGE_SUBJECT = "You have a new message in your Client Portal"
RESET_SUBJECT = "Reset your Client Portal password"
RESET_DONE_SUBJECT = "Your Client Portal password was changed"
SIGN_IN_EMAIL_CHANGED_SUBJECT = "Your Client Portal sign-in email was changed"
PRACTICE_MESSAGE_SUBJECT = "A client sent a message in the Client Portal"
FORMS_WAITING_SUBJECT = "You have forms to complete"
# A line the invitation adds when forms were assigned with the new chart (no form is named).
FORMS_WAITING_LINE = (
    "{practice_name} has also sent you forms to complete. You will find them in your Client "
    "Portal once your account is set up."
)


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    text: str
    html: str
    from_name: str


class MessageError(FrontDeskError, ValueError):
    """An outbox row cannot become a safe email (bad header value, no sender address)."""


@lru_cache(maxsize=64)
def format_expiry(expires_at: datetime, timezone: str) -> str:
    """'Thursday, December 3 at 4:00 PM EST' in the practice's time zone (with its
    abbreviation: a client may read the email in another zone). Cached: a bulk action's
    links all expire at the same moment."""
    local = as_utc(expires_at).astimezone(zone_named(timezone))
    hour = local.strftime("%I").lstrip("0") or "12"
    zone = local.tzname() or "UTC"
    return f"{local:%A}, {local:%B} {local.day} at {hour}:{local:%M} {local:%p} {zone}"


# --------------------------------------------------------------------------------------------
# Default bodies, written in the same placeholder language as practice templates.
# --------------------------------------------------------------------------------------------

_EXPIRED_WITH_PHONE = (
    "If the link has expired, call {practice_name} at {practice_phone} and ask for a new one."
)
_EXPIRED_NO_PHONE = "If the link has expired, contact {practice_name} and ask for a new one."

_INVITATION_BODY = """Hello {client_preferred_name},

{practice_name} invites you to set up your Client Portal account.

{link}

This link expires on {expires_on}.

To set up your account you will be asked for your last name, your date of birth and a new \
password.

%s
"""

_RESEND_BODY = """Hello {client_preferred_name},

{practice_name} has sent you a new link to set up your Client Portal account. Any earlier link \
no longer works.

{link}

This link expires on {expires_on}.

To set up your account you will be asked for your last name, your date of birth and a new \
password.

%s
"""

_RESTORED_BODY = """Hello {client_preferred_name},

{practice_name} has turned your Client Portal access back on. Sign in with the email address \
and password you used before.

{link}

%s
"""

_REGISTERED_BODY = """Hello {client_preferred_name},

Your Client Portal account with {practice_name} is set up. You can now sign in.

{link}

%s
"""

_NEW_MESSAGE_BODY = """Hello {client_preferred_name},

You have a new message from {practice_name} in your Client Portal. Sign in to read it.

{link}
"""

_RESET_BODY = """Hello {client_preferred_name},

Someone asked to reset the password of your Client Portal account with {practice_name}. To \
choose a new password, open this link. It works once and expires {expires_on}.

{link}

If you did not ask for this, you can ignore this email: your password stays as it is.
"""

_RESET_DONE_BODY = """Hello {client_preferred_name},

The password of your Client Portal account with {practice_name} was just changed, and every \
signed-in browser was signed out. Sign in with the new password.

{link}

%s
"""

_SIGN_IN_EMAIL_CHANGED_BODY = """Hello {client_preferred_name},

{practice_name} changed the email address you use to sign in to your Client Portal. Your \
password stays the same.

{link}

%s
"""

_PRACTICE_MESSAGE_BODY = """A client sent a message through the Client Portal. Open FrontDesk \
to read it.
"""

_FORMS_WAITING_BODY = """Hello {client_preferred_name},

You have forms to complete for {practice_name}. Sign in to see them.

{link}
"""

_CALL_WITH_PHONE = "If you did not expect this email, call {practice_name} at {practice_phone}."
_CALL_NO_PHONE = "If you did not expect this email, contact {practice_name}."


@lru_cache(maxsize=64)
def parsed_body(text: str) -> Body:
    """`Body.parse(text)`, parsed once per text: the built-in bodies and a practice's template
    are the same for every email (a bulk action composes thousands). Bodies are immutable."""
    return Body.parse(text)


def _values(
    practice: Practice,
    *,
    greeting_name: str,
    first_name: str | None,
    link: str,
    expires_on: str = "",
) -> dict[str, str]:
    return {
        "client_preferred_name": single_line(greeting_name).strip(),
        "client_first_name": single_line(first_name or greeting_name).strip(),
        "practice_name": single_line(practice.name or "").strip(),
        "practice_phone": single_line(practice.phone or "").strip(),
        "link": link,
        "expires_on": expires_on,
    }


def _page(title: str, header: str, blocks: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="margin:0;padding:0;background:#f4f6f8">\n'
        '<div style="max-width:560px;margin:0 auto;padding:24px;background:#ffffff;'
        'font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b">\n'
        f'<h1 style="font-size:20px;margin:0 0 16px">{html.escape(header)}</h1>\n'
        f"{blocks}\n</div>\n</body></html>\n"
    )


def _compose(
    practice: Practice,
    *,
    subject: str,
    header: str,
    body: Body,
    values: dict[str, str],
    button: str,
) -> ComposedEmail:
    text = f"{header}\n\n{body.text(values)}" if header else body.text(values)
    return ComposedEmail(
        subject=single_line(subject),
        text=text,
        html=_page(subject, header, body.html_blocks(values, button=button)),
        from_name=sender_name(practice),
    )


def _default(
    practice: Practice,
    template: str,
    subject: str,
    values: dict[str, str],
    button: str,
    *,
    with_phone: str,
    without_phone: str,
) -> ComposedEmail:
    tail = with_phone if values["practice_phone"] else without_phone
    body = parsed_body(template.replace("%s", tail) if "%s" in template else template)
    return _compose(
        practice,
        subject=subject,
        header=single_line(practice.name or ""),
        body=body,
        values=values,
        button=button,
    )


def invitation_email(
    practice: Practice,
    *,
    greeting_name: str,
    link: str,
    expires_at: datetime,
    resend: bool,
    first_name: str | None = None,
    forms_waiting: bool = False,
) -> ComposedEmail:
    """The registration invitation (or its resend). Uses the practice template when enabled.
    `forms_waiting`: forms were assigned too; one more paragraph says so (naming none)."""
    values = _values(
        practice,
        greeting_name=greeting_name,
        first_name=first_name,
        link=link,
        expires_on=format_expiry(expires_at, practice.timezone),
    )
    if practice.template_enabled and practice.template_body and practice.template_subject:
        try:
            return _compose(
                practice,
                subject=render_line(practice.template_subject, practice, INVITATION_SUBJECT),
                header=render_line(practice.template_header_name, practice, practice.name or ""),
                body=parsed_body(_template_with_forms_line(practice.template_body, forms_waiting)),
                values=values,
                button="Set up my account",
            )
        except TemplateError as exc:
            log.warning("practice email template unusable (%s); using the default", exc.field)
    return _default(
        practice,
        _with_forms_line(_RESEND_BODY if resend else _INVITATION_BODY, forms_waiting),
        RESEND_SUBJECT if resend else INVITATION_SUBJECT,
        values,
        "Set up my account",
        with_phone=_EXPIRED_WITH_PHONE,
        without_phone=_EXPIRED_NO_PHONE,
    )


def _template_with_forms_line(body: str, forms_waiting: bool) -> str:
    """A practice's own body, with the forms-waiting paragraph at its end."""
    return f"{body.rstrip()}\n\n{FORMS_WAITING_LINE}\n" if forms_waiting else body


def _with_forms_line(template: str, forms_waiting: bool) -> str:
    """A default body with the forms-waiting paragraph before its closing line."""
    return template.replace("%s", f"{FORMS_WAITING_LINE}\n\n%s") if forms_waiting else template


def access_restored_email(practice: Practice, *, greeting_name: str, link: str) -> ComposedEmail:
    """'Portal access activated': the existing account works again with the same password."""
    return _sign_in_notice(
        practice, _RESTORED_BODY, RESTORED_SUBJECT, greeting_name, link, call_us=True
    )


def registration_complete_email(
    practice: Practice, *, greeting_name: str, link: str
) -> ComposedEmail:
    """Sent after a client registers, so they learn of a registration they did not make."""
    return _sign_in_notice(
        practice, _REGISTERED_BODY, REGISTERED_SUBJECT, greeting_name, link, call_us=True
    )


def new_message_email(practice: Practice, *, greeting_name: str, link: str) -> ComposedEmail:
    """A notice that a message waits in the portal; never the message itself."""
    return _sign_in_notice(
        practice, _NEW_MESSAGE_BODY, NEW_MESSAGE_SUBJECT, greeting_name, link, call_us=False
    )


def practice_message_email(practice: Practice) -> ComposedEmail:
    """To the practice's notification address: a client wrote. No client, no subject, no
    text, no link (staff read messages in FrontDesk)."""
    values = _values(practice, greeting_name="", first_name=None, link="")
    return _default(
        practice, _PRACTICE_MESSAGE_BODY, PRACTICE_MESSAGE_SUBJECT, values, "",
        with_phone="", without_phone="",
    )  # fmt: skip


def forms_waiting_email(practice: Practice, *, greeting_name: str, link: str) -> ComposedEmail:
    """Forms were assigned to an Active account's chart: "You have forms to complete for
    <practice>. Sign in to see them." (never which forms)."""
    return _sign_in_notice(
        practice, _FORMS_WAITING_BODY, FORMS_WAITING_SUBJECT, greeting_name, link, call_us=False
    )


def password_reset_email(
    practice: Practice, *, greeting_name: str, link: str, expires_at: datetime
) -> ComposedEmail:
    """A password-reset link (the link is the only secret; nothing else about the account)."""
    values = _values(
        practice,
        greeting_name=greeting_name,
        first_name=None,
        link=link,
        expires_on=format_expiry(expires_at, practice.timezone),
    )
    return _default(
        practice, _RESET_BODY, RESET_SUBJECT, values, "Choose a new password",
        with_phone="", without_phone="",
    )  # fmt: skip


def password_changed_email(practice: Practice, *, greeting_name: str, link: str) -> ComposedEmail:
    """Sent after a password reset, so a change the client did not make is noticed."""
    return _sign_in_notice(
        practice, _RESET_DONE_BODY, RESET_DONE_SUBJECT, greeting_name, link,
        call_us=True,
    )  # fmt: skip


def sign_in_email_changed_email(
    practice: Practice, *, greeting_name: str, link: str
) -> ComposedEmail:
    """Sent to the old and the new address when the desk changes an account's sign-in email
    (no address in it: the notice carries no content)."""
    return _sign_in_notice(
        practice, _SIGN_IN_EMAIL_CHANGED_BODY, SIGN_IN_EMAIL_CHANGED_SUBJECT, greeting_name,
        link, call_us=True,
    )  # fmt: skip


def _sign_in_notice(
    practice: Practice,
    template: str,
    subject: str,
    greeting_name: str,
    link: str,
    *,
    call_us: bool,
) -> ComposedEmail:
    """A built-in notice whose button is "Sign in" (optionally with "call us" closing)."""
    values = _values(practice, greeting_name=greeting_name, first_name=None, link=link)
    return _default(
        practice,
        template,
        subject,
        values,
        "Sign in",
        with_phone=_CALL_WITH_PHONE if call_us else "",
        without_phone=_CALL_NO_PHONE if call_us else "",
    )


# --------------------------------------------------------------------------------------------
# The message handed to the mail server
# --------------------------------------------------------------------------------------------


def _header_value(value: str, what: str) -> str:
    if "\r" in value or "\n" in value or has_controls(value):
        raise MessageError(f"{what} contains a line break or control character")
    return value


class _FoldOnce(BaseHeader):
    """A header that remembers how it was folded (our fixed headers are reused by every
    message, so each is folded once per wire format instead of once per message)."""

    def fold(self, *, policy: policy.Policy) -> str:
        key = (policy.linesep, policy.max_line_length, getattr(policy, "utf8", False))
        folds: dict[tuple[object, ...], str] = self.__dict__.setdefault("_folds", {})
        folded = folds.get(key)
        if folded is None:
            folded = folds[key] = super().fold(policy=policy)
        return folded


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, remembering the class it makes for each header name
    (the stock one builds a new class on every lookup, which dominates building a message)."""

    def __init__(self) -> None:
        super().__init__(base_class=_FoldOnce)
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


MAIL_POLICY = policy.default.clone(header_factory=_HeaderClasses())
"""email.policy.default with a caching header registry; every message we build uses it."""


@lru_cache(maxsize=2)
def wire_policy(utf8: bool) -> policy.EmailPolicy[EmailMessage]:
    """How a message goes over SMTP: CRLF line ends; UTF-8 headers only with SMTPUTF8."""
    return MAIL_POLICY.clone(linesep="\r\n", utf8=utf8)


@lru_cache(maxsize=64)
def _fixed_header(name: str, value: str) -> BaseHeader:
    """A parsed header reused across messages (parsing headers is most of the build cost)."""
    return cast(BaseHeader, MAIL_POLICY.header_factory(name, value))


@lru_cache(maxsize=64)
def _address_header(name: str, display_name: str, addr_spec: str) -> BaseHeader:
    return _fixed_header(name, str(_address(display_name, addr_spec, name)))


def _address(display_name: str, addr_spec: str, what: str) -> Address:
    _header_value(display_name, f"{what} name")
    _header_value(addr_spec, f"{what} address")
    try:
        return Address(display_name=display_name, addr_spec=addr_spec.strip())
    except (ValueError, IndexError) as exc:
        raise MessageError(f"{what} address is not valid: {exc}") from None


@lru_cache(maxsize=1)
def _boundary() -> str:
    """A MIME boundary for this process: 128 random bits, so no body can contain it."""
    return f"=_frontdesk_{secrets.token_hex(16)}"


def _text_part(body: str, subtype: str) -> MIMEPart:
    """A UTF-8 text part: 7bit when every line is short ASCII, else quoted-printable.

    (What `set_content` does, minus re-parsing the same two headers for every message.)"""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    part = MIMEPart(policy=MAIL_POLICY)
    part["Content-Type"] = _fixed_header("Content-Type", f'text/{subtype}; charset="utf-8"')
    if body.isascii() and max(map(len, body.split("\n"))) <= 78:
        part["Content-Transfer-Encoding"] = _fixed_header("Content-Transfer-Encoding", "7bit")
        part.set_payload(body)
    else:
        encoded = quoprimime.body_encode(body.encode("utf-8").decode("latin-1"), 76)
        part["Content-Transfer-Encoding"] = _fixed_header(
            "Content-Transfer-Encoding", "quoted-printable"
        )
        part.set_payload(encoded)
    return part


_SIMPLE_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
)
_SIMPLE_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")


def _set_checked(msg: EmailMessage, name: str, value: str) -> None:
    """Set a header whose value was already checked (one line, no control characters).

    A short ASCII value is stored as it is, skipping a re-parse that costs more than sending
    it; anything else goes through the policy, which encodes and folds it."""
    if value.isascii() and len(name) + 2 + len(value) <= 78:
        msg.set_raw(name, value)
    else:
        msg[name] = value


def build_message(
    row: OutboxEmail, settings: Settings, practice: Practice, *, now: datetime | None = None
) -> EmailMessage:
    """The multipart (plain text + HTML) message for one outbox row, built at send time.

    Every header value is checked for line breaks and control characters first (E7)."""
    if not settings.mail_from:
        raise MessageError("FRONTDESK_MAIL_FROM is not set: no sender address")
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["MIME-Version"] = _fixed_header("MIME-Version", "1.0")
    msg.set_raw("Date", format_datetime(as_utc(now or row.created_at)))
    message_id = _header_value(row.message_id, "Message-ID")
    if _SIMPLE_MESSAGE_ID.fullmatch(message_id):
        _set_checked(msg, "Message-ID", message_id)
    else:
        msg["Message-ID"] = message_id
    msg["From"] = _address_header("From", sender_name(practice), settings.mail_from)
    if practice.reply_to:
        msg["Reply-To"] = _address_header("Reply-To", "", practice.reply_to)
    to_name = _header_value(row.to_name or "", "To name")
    to_address = _header_value(row.to_address, "To address").strip()
    if to_name.isascii() and _SIMPLE_ADDRESS.fullmatch(to_address):
        _set_checked(msg, "To", formataddr((to_name, to_address)))
    else:
        msg["To"] = _address(to_name, to_address, "To")
    _set_checked(msg, "Subject", _header_value(row.subject, "Subject"))
    msg["Auto-Submitted"] = _fixed_header("Auto-Submitted", "auto-generated")
    msg["X-Auto-Response-Suppress"] = _fixed_header("X-Auto-Response-Suppress", "All")
    msg["Content-Type"] = _fixed_header(
        "Content-Type", f'multipart/alternative; boundary="{_boundary()}"'
    )
    msg.set_payload([_text_part(row.body_text, "plain"), _text_part(row.body_html, "html")])
    return msg
