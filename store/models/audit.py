"""The audit trail."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, utc_datetime


class AuditEvent(StoreTable, table=True):
    """Append-only record of every state change (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_chart_at", "chart_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=utc_datetime(), index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    chart_id: int | None = Field(default=None)
    chart_number: str | None = Field(default=None, max_length=40)
    outcome: str = Field(default="ok", max_length=40)
    detail: str = Field(default="", max_length=500)
    source: str = Field(default="", max_length=100)
