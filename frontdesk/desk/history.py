"""A chart's history as the desk reads it: every audit event, plus the moments its links
expired (expiry is computed, not written, so it is added here from the invitations), in order,
newest first. People are named as staff know them: a client's own actions read "client"."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from frontdesk.audit import AuditLog, AuditRow
from frontdesk.core.clock import Clock, as_utc
from store.db import Database
from store.models import INVITATION_USED, Invitation

_INVITATION = Invitation.metadata.tables["invitation"]
_CHART = Invitation.metadata.tables["chart"]
EXPIRED = "invitation expired"


class ChartHistory:
    """The history the chart screen and `charts show` list."""

    def __init__(self, db: Database, clock: Clock, audit: AuditLog) -> None:
        self.db = db
        self.clock = clock
        self.audit = audit

    def history(self, chart_number: str, *, limit: int = 200) -> list[AuditRow]:
        now = self.clock.now()
        events = [_as_staff_sees(row) for row in self.audit.history(chart_number, limit=limit)]
        events.extend(self._expiries(chart_number, now, limit))
        events.sort(key=lambda row: row.at, reverse=True)
        return events[:limit]

    def _expiries(self, chart_number: str, now: datetime, limit: int) -> list[AuditRow]:
        """Each invitation whose link reached its expiry while it still worked."""
        inv, chart = _INVITATION, _CHART
        query = (
            sa.select(inv.c.expires_at)
            .join(chart, chart.c.id == inv.c.chart_id)
            .where(
                chart.c.chart_number == chart_number.strip(),
                inv.c.expires_at <= now,
                inv.c.state != INVITATION_USED,
                sa.or_(inv.c.ended_at.is_(None), inv.c.ended_at > inv.c.expires_at),
            )
            .order_by(inv.c.expires_at.desc())
            .limit(limit)
        )
        with self.db.read_connection() as conn:
            rows = conn.execute(query).all()
        number = chart_number.strip()
        return [
            AuditRow(as_utc(row.expires_at), "—", EXPIRED, number, "ok", "link no longer works")
            for row in rows
        ]


def _as_staff_sees(row: AuditRow) -> AuditRow:
    """The actor as staff read it: a client's own action is "client" (the account id stays in
    the audit trail itself)."""
    if row.actor.startswith("client:"):
        return AuditRow(row.at, "client", row.action, row.chart_number, row.outcome, row.detail)
    return row
