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
from store.models import INVITATION_LIVE, OUTBOX_BOUNCED, Invitation, PortalAccount

__all__ = [
    "EXPIRING_SOON",
    "MAX_IDENTITY_FAILURES",
    "STATUS_FILTERS",
    "PortalStatus",
    "StatusInfo",
    "charts_with_status",
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
        "bounced": sa.and_(has_inv, _invitation_bounced(invitation)),
    }
    if name not in conditions:
        raise ValueError(f"unknown status {name!r}")
    return conditions[name]


def _invitation_bounced(invitation: ColumnCollection[str, Any]) -> sa.ColumnElement[bool]:
    """The invitation's email came back as a bounce. Not correlated: the few bounced emails
    are read once per statement (by the outbox's state index), not probed per chart."""
    outbox = Invitation.metadata.tables["outbox_email"].alias("bounced_mail")
    bounced = sa.select(outbox.c.invitation_id).where(outbox.c.state == OUTBOX_BOUNCED)
    condition: sa.ColumnElement[bool] = invitation.id.in_(bounced)
    return condition


# "The chart's live invitation" and "its enabled account", as aliases and outer-join conditions
# over the plain Core tables: chart reads join them to compute the status in SQL.
CHART = Invitation.metadata.tables["chart"]
LIVE_INV = Invitation.metadata.tables["invitation"].alias("live_inv")
ENABLED_ACCT = Invitation.metadata.tables["portal_account"].alias("enabled_acct")
LIVE_JOIN = sa.and_(LIVE_INV.c.chart_id == CHART.c.id, LIVE_INV.c.state == INVITATION_LIVE)
ACCOUNT_JOIN = sa.and_(ENABLED_ACCT.c.chart_id == CHART.c.id, ENABLED_ACCT.c.disabled_at.is_(None))
NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
SOON = sa.bindparam("soon", type_=sa.DateTime(timezone=True))


def charts_with_status(query: Any, status: str | None) -> Any:
    """`query` FROM chart, keeping only the charts whose status is `status` (None: all); the
    status is `status_condition`, bound to :now and :soon."""
    query = query.select_from(CHART)
    if status is None:
        return query
    inv, acct = LIVE_INV.c, ENABLED_ACCT.c
    return (
        query.outerjoin(LIVE_INV, LIVE_JOIN)
        .outerjoin(ENABLED_ACCT, ACCOUNT_JOIN)
        .where(status_condition(status, NOW, inv, acct, soon_before=SOON))
    )


def chart_numbers_in_status(
    conn: sa.Connection, status: str, now: datetime, *, limit: int
) -> list[str]:
    """The first `limit` chart numbers whose status is `status`, in the browser's name order."""
    chart = CHART.c
    query = (
        charts_with_status(sa.select(chart.chart_number), status)
        .order_by(chart.last_key, chart.first_key, chart.id)
        .limit(limit)
    )
    rows = conn.execute(query, {"now": now, "soon": now + EXPIRING_SOON}).all()
    return [row[0] for row in rows]
