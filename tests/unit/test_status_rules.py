"""The design's table of what each status allows, in one place: the service refuses and the
TUI's menu disables from the same `refusal`."""

from __future__ import annotations

import subprocess
import sys

import pytest

from frontdesk.access.rules import NO_EMAIL, PORTAL_OFF, PortalAction, PortalStatus, refusal

A, S = PortalAction, PortalStatus

# status -> the actions that apply (DESIGN.md, "Status tag" table)
TABLE = {
    S.NO_PORTAL_ACCESS: {A.ACTIVATE, A.CHANGE_OWNER},
    S.INVITED: {A.RESEND, A.CHANGE_OWNER, A.REVOKE, A.RETRY_EMAIL},
    S.EXPIRED: {A.RESEND, A.CHANGE_OWNER, A.REVOKE},
    S.LOCKED: {A.RESEND, A.CHANGE_OWNER, A.REVOKE},
    S.ACTIVE: {A.CHANGE_OWNER, A.REVOKE, A.SEND_RESET},
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", list(A))
def test_the_design_table(status: PortalStatus, action: PortalAction) -> None:
    reason = refusal(action, status)
    if action in TABLE[status]:
        assert reason is None
    else:
        assert reason and reason[0].isupper() and not reason.endswith(".")


@pytest.mark.parametrize("status", [S.INVITED, S.EXPIRED, S.LOCKED])
def test_resend_needs_an_address_and_an_active_portal(status: PortalStatus) -> None:
    assert refusal(A.RESEND, status, owner_has_email=False) == NO_EMAIL
    assert refusal(A.RESEND, status, portal_active=False) == PORTAL_OFF
    assert refusal(A.REVOKE, status, owner_has_email=False, portal_active=False) is None


def test_activate_needs_them_too_and_change_owner_never_does() -> None:
    assert refusal(A.ACTIVATE, S.NO_PORTAL_ACCESS, owner_has_email=False) == NO_EMAIL
    assert refusal(A.ACTIVATE, S.NO_PORTAL_ACCESS, portal_active=False) == PORTAL_OFF
    assert refusal(A.CHANGE_OWNER, S.ACTIVE, owner_has_email=False, portal_active=False) is None


def test_the_reasons_say_what_to_do() -> None:
    assert refusal(A.RESEND, S.NO_PORTAL_ACCESS) == (
        "No invitation to resend; use Activate Portal Access"
    )
    assert refusal(A.ACTIVATE, S.EXPIRED) == (
        "An invitation already exists (Expired); use Resend Invite instead"
    )


def test_the_rules_load_no_database_layer() -> None:
    """The TUI's menu reads them before SQLAlchemy has loaded."""
    probe = (
        "import sys, frontdesk.access.rules; "
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
