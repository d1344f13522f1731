"""Checks that the SMTP password can be found: in the keyring (asked in a time-boxed call) or in
FRONTDESK_SMTP_PASSWORD. Nothing printed holds the password."""

from __future__ import annotations

from dataclasses import dataclass

import keyring

from frontdesk.core.config import Settings
from frontdesk.doctor.results import CheckResult, Status, result, skip
from frontdesk.mail.secrets import KeyringTimeout, SecretError, get_smtp_password


@dataclass(frozen=True)
class PasswordCheck:
    """The check, the password it found, and otherwise why the login check cannot run."""

    check: CheckResult
    password: str | None = None
    login_blocker: str | None = None


def check_smtp_password(settings: Settings, keyring_timeout: float) -> PasswordCheck:
    username = settings.smtp_username
    fix = (
        "run `frontdesk smtp set-password`; where no keyring works (headless, SSH) set "
        "FRONTDESK_SMTP_PASSWORD in the environment of `frontdesk serve`"
    )
    if not username:
        return PasswordCheck(
            skip("smtp_password", "not applicable: no SMTP login (FRONTDESK_SMTP_USERNAME unset)"),
            login_blocker="no SMTP login configured",
        )
    try:
        lookup = get_smtp_password(settings, timeout=keyring_timeout)
    except KeyringTimeout as exc:
        return PasswordCheck(
            result(
                "smtp_password",
                Status.FAIL,
                str(exc),
                "unlock the keyring of this login session, or set FRONTDESK_SMTP_PASSWORD",
            ),
            login_blocker="the keyring did not answer",
        )
    except SecretError as exc:
        return PasswordCheck(
            result("smtp_password", Status.FAIL, str(exc), fix),
            login_blocker="the keyring failed",
        )
    backend = type(keyring.get_keyring())
    backend_name = f"{backend.__module__}.{backend.__name__}"
    if lookup.password is None:
        note = lookup.note or ""
        if not note or note.startswith("SMTP password not set"):
            detail = f"no SMTP password for {username} in the keyring ({backend_name})"
        else:  # the keyring itself does not work here
            detail = note.split("; set FRONTDESK_SMTP_PASSWORD")[0]
        return PasswordCheck(
            result(
                "smtp_password",
                Status.FAIL,
                f"{detail}, and FRONTDESK_SMTP_PASSWORD is not set",
                fix,
                backend=backend_name,
            ),
            login_blocker="no SMTP password",
        )
    if lookup.source == "keyring":
        detail = f"the password for {username} is in the keyring ({backend_name})"
    else:
        detail = "FRONTDESK_SMTP_PASSWORD is set"
        if lookup.note:
            detail += f" (keyring: {lookup.note})"
        else:
            detail += f" (nothing stored in the keyring {backend_name})"
    return PasswordCheck(
        result("smtp_password", Status.PASS, detail, source=lookup.source, backend=backend_name),
        password=lookup.password,
    )
