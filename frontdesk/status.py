"""The portal status tag: one function computes it; the TUI, the CLI and the web all use it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnCollection
from sqlmodel import col

from frontdesk.clock import as_utc
from store.models import Invitation, PortalAccount

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
# "expiring_soon", a subset of invited.
STATUS_FILTERS = (*(s.value for s in PortalStatus), "expiring_soon")


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


def invitation_is_locked(invitation: Invitation) -> bool:
    return invitation.failed_attempts >= MAX_IDENTITY_FAILURES


def invitation_is_expired(invitation: Invitation, now: datetime) -> bool:
    return as_utc(invitation.expires_at) <= now


def compute_status(
    live_invitation: Invitation | None, enabled_account: PortalAccount | None, now: datetime
) -> StatusInfo:
    """The status tag of a chart from its live invitation and its enabled account."""
    return status_of(
        has_account=enabled_account is not None,
        expires_at=live_invitation.expires_at if live_invitation is not None else None,
        failed_attempts=live_invitation.failed_attempts if live_invitation is not None else 0,
        now=now,
    )


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


def status_condition(
    name: str,
    now: datetime | sa.ColumnElement[datetime],
    invitation: type[Invitation] | ColumnCollection[str, Any],
    account: type[PortalAccount] | ColumnCollection[str, Any],
    *,
    soon_before: datetime | sa.ColumnElement[datetime] | None = None,
) -> sa.ColumnElement[bool]:
    """The same rule as compute_status, as a SQL condition over outer-joined live invitation and
    enabled account (ORM aliases, or the columns of table aliases, passed in), so the worklist
    filters in the database. `now` may be
    a bound parameter (for a statement built once); `soon_before` (default `now` + 48 h, which
    needs a real `now`) is when an invitation stops being "expiring soon"."""
    if soon_before is None:
        if not isinstance(now, datetime):
            raise TypeError("soon_before is needed when now is a SQL expression")
        soon_before = now + EXPIRING_SOON
    has_account = col(account.id).is_not(None)
    has_inv = sa.and_(col(account.id).is_(None), col(invitation.id).is_not(None))
    locked = col(invitation.failed_attempts) >= MAX_IDENTITY_FAILURES
    not_locked = col(invitation.failed_attempts) < MAX_IDENTITY_FAILURES
    expires_at = col(invitation.expires_at)
    conditions: dict[str, sa.ColumnElement[bool]] = {
        PortalStatus.ACTIVE: has_account,
        PortalStatus.NO_PORTAL_ACCESS: sa.and_(
            col(account.id).is_(None), col(invitation.id).is_(None)
        ),
        PortalStatus.LOCKED: sa.and_(has_inv, locked),
        PortalStatus.EXPIRED: sa.and_(has_inv, not_locked, expires_at <= now),
        PortalStatus.INVITED: sa.and_(has_inv, not_locked, expires_at > now),
        "expiring_soon": sa.and_(has_inv, not_locked, expires_at > now, expires_at < soon_before),
    }
    if name not in conditions:
        raise ValueError(f"unknown status {name!r}")
    return conditions[name]
