"""What each portal status means and allows — the design's table — without the database layer.

One function computes a chart's status tag from the columns it depends on (`status_of`); one
function says why an action of the ⋮ menu does not apply to a chart (`refusal`). The lifecycle
service enforces these rules and the TUI's menu shows them, so both read them here; this module
imports no SQLAlchemy, so the screens can use it before the database layer has loaded.
`frontdesk.access.status` adds the database side (from rows, and as SQL conditions).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from frontdesk.core.clock import as_utc

MAX_IDENTITY_FAILURES = 5
EXPIRING_SOON = timedelta(hours=48)


class PortalStatus(enum.StrEnum):
    """Values are the `--json` names; `label` is the tag staff read."""

    NO_PORTAL_ACCESS = "no_portal_access"
    INVITED = "invited"
    EXPIRED = "expired"
    LOCKED = "locked"
    ACTIVE = "active"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    PortalStatus.NO_PORTAL_ACCESS: "No Portal Access",
    PortalStatus.INVITED: "Invited",
    PortalStatus.EXPIRED: "Expired",
    PortalStatus.LOCKED: "Locked",
    PortalStatus.ACTIVE: "Active",
}

# Filters offered to staff (the browser's worklist and `--status`): the five tags plus
# "expiring_soon", a subset of invited, and "bounced": the current invitation's email came back
# (a delivery status notification said the address does not exist, the mailbox is full, ...).
STATUS_FILTERS = (*(s.value for s in PortalStatus), "expiring_soon", "bounced")


@dataclass(frozen=True)
class StatusInfo:
    status: PortalStatus
    expires_at: datetime | None = None
    expiring_soon: bool = False
    seconds_left: float | None = None

    @property
    def label(self) -> str:
        return self.status.label

    @property
    def detail(self) -> str:
        """A short qualifier: "expires in 3 days", "Expiring soon", or ""."""
        if self.status is not PortalStatus.INVITED or self.seconds_left is None:
            return ""
        if self.expiring_soon:
            hours = max(1, int(self.seconds_left // 3600))
            return f"Expiring soon · {hours} h left"
        # Nearest whole day: a link sent seconds ago reads "7 days", not "6".
        days = int(self.seconds_left / 86400 + 0.5)
        return f"expires in {days} day{'s' if days != 1 else ''}"


def status_of(
    *, has_account: bool, expires_at: datetime | None, failed_attempts: int, now: datetime
) -> StatusInfo:
    """The status tag from the columns it depends on (`expires_at` None: no live invitation);
    for reads that fetch columns rather than rows."""
    if has_account:
        return StatusInfo(PortalStatus.ACTIVE)
    if expires_at is None:
        return StatusInfo(PortalStatus.NO_PORTAL_ACCESS)
    expires_at = as_utc(expires_at)
    if failed_attempts >= MAX_IDENTITY_FAILURES:
        return StatusInfo(PortalStatus.LOCKED, expires_at)
    if expires_at <= now:
        return StatusInfo(PortalStatus.EXPIRED, expires_at)
    left = (expires_at - now).total_seconds()
    return StatusInfo(
        PortalStatus.INVITED,
        expires_at,
        expiring_soon=left < EXPIRING_SOON.total_seconds(),
        seconds_left=left,
    )


class PortalAction(enum.StrEnum):
    """The ⋮ menu's actions (values are the CLI's and the audit's names)."""

    CHANGE_OWNER = "change_owner"
    RESEND = "resend"
    REVOKE = "revoke"
    ACTIVATE = "activate"
    SEND_RESET = "send_reset"  # a password-reset link for an Active owner, sent by the desk
    RETRY_EMAIL = "retry_email"  # send the failed or retrying invitation email again now


PORTAL_OFF = "The practice's Client Portal is not active"
NO_EMAIL = "The chart owner has no email address"


def refusal(
    action: PortalAction,
    status: PortalStatus,
    *,
    owner_has_email: bool = True,
    portal_active: bool = True,
) -> str | None:
    """Why `action` does not apply to a chart whose tag is `status` (None: it applies).
    An owner without an email address, or a practice whose portal is off, also refuse what
    sends an email (Resend, Activate); leave them out to ask about the status alone.

    | status           | applies                                              |
    | No Portal Access | Activate Portal Access, Change Ownership             |
    | Invited          | Resend Invite, Change Ownership, Revoke Access       |
    | Expired, Locked  | Resend Invite, Change Ownership, Revoke Access       |
    | Active           | Change Ownership, Revoke Access, Send password reset |

    Retry email (its invitation's email failed or is retrying) applies to Invited only.
    """
    sends_mail = action in (PortalAction.RESEND, PortalAction.ACTIVATE)
    if action is PortalAction.CHANGE_OWNER:
        return None
    if action is PortalAction.REVOKE:
        if status is PortalStatus.NO_PORTAL_ACCESS:
            return "There is no portal access to revoke"
        return None
    if action is PortalAction.SEND_RESET:
        if status is PortalStatus.ACTIVE:
            return None  # an enabled, registered account always has its sign-in email
        if status is PortalStatus.NO_PORTAL_ACCESS:
            return "There is no portal account to reset"
        return "The owner has not registered yet; resend the invitation instead"
    if action is PortalAction.RETRY_EMAIL:  # the live, unexpired invitation's email only
        if status is PortalStatus.INVITED:
            return None
        if status in (PortalStatus.EXPIRED, PortalStatus.LOCKED):
            return f"The invitation is {status.label}; resend it instead"
        return "There is no invitation email to retry"
    if action is PortalAction.RESEND:
        if status is PortalStatus.ACTIVE:
            return "The client has already registered; there is no invitation to resend"
        if status is PortalStatus.NO_PORTAL_ACCESS:
            return "No invitation to resend; use Activate Portal Access"
    if action is PortalAction.ACTIVATE:
        if status is PortalStatus.ACTIVE:
            return "This chart already has portal access"
        if status is not PortalStatus.NO_PORTAL_ACCESS:
            return f"An invitation already exists ({status.label}); use Resend Invite instead"
    if sends_mail and not portal_active:
        return PORTAL_OFF
    if sends_mail and not owner_has_email:
        return NO_EMAIL
    return None
