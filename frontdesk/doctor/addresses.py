"""Checks two addresses in the settings: the public URL clients reach the portal at, and the
sender address."""

from __future__ import annotations

from urllib.parse import urlsplit

from frontdesk.core.config import Settings, is_loopback_host
from frontdesk.doctor.results import CheckResult, Status, result

DEFAULT_PUBLIC_URL = Settings().public_url


def check_public_url(settings: Settings) -> CheckResult:
    url = settings.public_url or ""
    parts = urlsplit(url)
    fix = "set FRONTDESK_PUBLIC_URL to the https:// address clients reach the portal at"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return result("public_url", Status.FAIL, f"not an http(s) URL: {url!r}", fix)
    if parts.query or parts.fragment:
        return result("public_url", Status.FAIL, f"{url} must not carry a query or fragment", fix)
    loopback = is_loopback_host(parts.hostname)
    if parts.scheme == "http" and not loopback:
        return result(
            "public_url",
            Status.FAIL,
            f"{url} uses http:// on a host that is not loopback: registration links and "
            "passwords would travel unencrypted",
            f"use https://{parts.netloc}{parts.path} (TLS at your reverse proxy)",
            url=url,
        )
    if loopback:
        unset = " (not set: the default)" if url == DEFAULT_PUBLIC_URL else ""
        return result(
            "public_url",
            Status.WARN,
            f"{url}{unset} is a loopback address: emailed links work only on this machine",
            fix,
            url=url,
        )
    return result("public_url", Status.PASS, f"{url} (https)", url=url)


def check_mail_from(settings: Settings) -> CheckResult:
    sender = settings.mail_from
    if not sender or "@" not in sender:
        return result(
            "mail_from",
            Status.FAIL,
            "FRONTDESK_MAIL_FROM is not set: emails stay queued",
            "set FRONTDESK_MAIL_FROM (or mail_from in the config file) to the practice's "
            "sending address",
        )
    return result("mail_from", Status.PASS, f"emails are sent from {sender}")
