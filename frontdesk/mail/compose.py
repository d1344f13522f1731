"""Building the emails FrontDesk sends. Only a greeting name and the link: no other client data."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from store.models import Practice


@dataclass(frozen=True)
class ComposedEmail:
    subject: str
    text: str
    html: str
    from_name: str


def format_expiry(expires_at: datetime, timezone: str) -> str:
    """'Thursday, December 3 at 4:00 PM' in the practice's time zone."""
    local = expires_at.astimezone(ZoneInfo(timezone))
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local:%A}, {local:%B} {local.day} at {hour}:{local:%M} {local:%p}"


def _html_page(title: str, paragraphs: list[str], link: str | None, button: str | None) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs)
    if link and button:
        safe = html.escape(link, quote=True)
        body = body.replace(
            "<p>[[button]]</p>\n",
            f'<p><a href="{safe}" style="display:inline-block;padding:12px 20px;'
            f'background:#1f5f8b;color:#ffffff;text-decoration:none;border-radius:6px">'
            f"{html.escape(button)}</a></p>\n"
            f"<p>Or copy this link into your browser:<br>{safe}</p>\n",
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;line-height:1.5">\n{body}</body></html>\n'
    )


def _text(paragraphs: list[str], link: str | None) -> str:
    out = []
    for p in paragraphs:
        out.append(link if p == "[[button]]" and link else p)
    return "\n\n".join(out) + "\n"


def invitation_email(
    practice: Practice, *, greeting_name: str, link: str, expires_at: datetime, resend: bool
) -> ComposedEmail:
    """The registration invitation (or its resend)."""
    expiry = format_expiry(expires_at, practice.timezone)
    intro = (
        f"{practice.name} has sent you a new link to set up your Client Portal account."
        if resend
        else f"{practice.name} invites you to set up your Client Portal account."
    )
    paragraphs = [
        f"Hello {greeting_name},",
        intro,
        "[[button]]",
        f"This link expires on {expiry}.",
        "You will be asked for your last name, your date of birth and a new password.",
        (
            "If the link has expired, call "
            f"{practice.name} at {practice.phone} and ask them to send a new one."
            if practice.phone
            else f"If the link has expired, ask {practice.name} to send a new one."
        ),
    ]
    subject = "Your Client Portal invitation"
    return ComposedEmail(
        subject=subject,
        text=_text(paragraphs, link),
        html=_html_page(subject, paragraphs, link, "Set up my account"),
        from_name=practice.name,
    )


def access_restored_email(practice: Practice, *, greeting_name: str, link: str) -> ComposedEmail:
    paragraphs = [
        f"Hello {greeting_name},",
        f"{practice.name} has turned your Client Portal access back on. "
        "Sign in with the email and password you used before.",
        "[[button]]",
    ]
    subject = "Your Client Portal access is active"
    return ComposedEmail(
        subject,
        _text(paragraphs, link),
        _html_page(subject, paragraphs, link, "Sign in"),
        practice.name,
    )


def registration_complete_email(
    practice: Practice, *, greeting_name: str, link: str
) -> ComposedEmail:
    paragraphs = [
        f"Hello {greeting_name},",
        "Your Client Portal account is set up. You can now sign in.",
        "[[button]]",
        f"If you did not do this, call {practice.name}"
        + (f" at {practice.phone}." if practice.phone else "."),
    ]
    subject = "Your Client Portal account is ready"
    return ComposedEmail(
        subject,
        _text(paragraphs, link),
        _html_page(subject, paragraphs, link, "Sign in"),
        practice.name,
    )
