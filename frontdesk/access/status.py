"""The portal status tag on the database side: from a chart's rows (`compute_status`) and as a
SQL condition (`status_condition`). The rule itself, and what each status allows, are in
`frontdesk.access.rules` (no database layer), re-exported here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.expression import ColumnCollection

from frontdesk.access.rules import (
    EXPIRING_SOON,
    MAX_IDENTITY_FAILURES,
    STATUS_FILTERS,
    PortalStatus,
    StatusInfo,
    status_of,
)
from store.models import Invitation, PortalAccount

__all__ = [
    "EXPIRING_SOON",
    "MAX_IDENTITY_FAILURES",
    "STATUS_FILTERS",
    "PortalStatus",
    "StatusInfo",
    "compute_status",
    "status_condition",
    "status_of",
]


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


def status_condition(
    name: str,
    now: datetime | sa.ColumnElement[datetime],
    invitation: ColumnCollection[str, Any],
    account: ColumnCollection[str, Any],
    *,
    soon_before: datetime | sa.ColumnElement[datetime] | None = None,
) -> sa.ColumnElement[bool]:
    """The same rule as compute_status, as a SQL condition over outer-joined live invitation and
    enabled account (the columns of their table aliases, passed in), so the worklist filters in
    the database. `now` may be
    a bound parameter (for a statement built once); `soon_before` (default `now` + 48 h, which
    needs a real `now`) is when an invitation stops being "expiring soon"."""
    if soon_before is None:
        if not isinstance(now, datetime):
            raise TypeError("soon_before is needed when now is a SQL expression")
        soon_before = now + EXPIRING_SOON
    has_account = account.id.is_not(None)
    has_inv = sa.and_(account.id.is_(None), invitation.id.is_not(None))
    locked = invitation.failed_attempts >= MAX_IDENTITY_FAILURES
    not_locked = invitation.failed_attempts < MAX_IDENTITY_FAILURES
    expires_at = invitation.expires_at
    conditions: dict[str, sa.ColumnElement[bool]] = {
        PortalStatus.ACTIVE: has_account,
        PortalStatus.NO_PORTAL_ACCESS: sa.and_(account.id.is_(None), invitation.id.is_(None)),
        PortalStatus.LOCKED: sa.and_(has_inv, locked),
        PortalStatus.EXPIRED: sa.and_(has_inv, not_locked, expires_at <= now),
        PortalStatus.INVITED: sa.and_(has_inv, not_locked, expires_at > now),
        "expiring_soon": sa.and_(has_inv, not_locked, expires_at > now, expires_at < soon_before),
    }
    if name not in conditions:
        raise ValueError(f"unknown status {name!r}")
    return conditions[name]
