"""The desk's one Portal inbox: every item that needs the front desk, whatever portal feature
brought it in (a message thread now; forms and tasks, requests later)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, partial_unique_index, utc_datetime
from store.states import InboxState

# The inbox's order as index columns (migration 0005 writes the same).
ORDER = (sa.text("urgent DESC"), sa.text("unread DESC"), "waiting_since", "id")


class InboxItem(StoreTable, table=True):
    """One thing waiting for the desk. `kind` + `source_id` name what it is about (an
    InboxKind and that thing's id); at most one OPEN item per (kind, source_id), enforced by
    the schema. The writer keeps it current: the feature that opened it closes it."""

    __tablename__ = "inbox_item"
    __table_args__ = (
        partial_unique_index(
            "uq_inbox_item_one_open_per_source", "kind", "source_id", where="state = 'open'"
        ),
        # The list's order (urgent first, then unread, then the longest waiting) within a
        # state, alone or with a kind or an audience filter: a page is read from the index in
        # order, never sorted.
        sa.Index("ix_inbox_item_order", "state", *ORDER),
        sa.Index("ix_inbox_item_kind_order", "state", "kind", *ORDER),
        sa.Index("ix_inbox_item_audience_order", "state", "audience", *ORDER),
        sa.Index("ix_inbox_item_chart", "chart_id", "state"),
        sa.Index("ix_inbox_item_updated", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", ondelete="CASCADE")
    kind: str = Field(max_length=20)  # an InboxKind
    source_id: int
    subject: str = Field(default="", max_length=200)
    audience: str | None = Field(default=None, max_length=20)  # a MessageAudience, if any
    state: str = Field(default=InboxState.OPEN, max_length=10)  # an InboxState
    urgent: bool = Field(default=False)
    unread: bool = Field(default=True)  # new activity no one at the desk has opened yet
    waiting_since: datetime = Field(sa_type=utc_datetime())
    created_at: datetime = Field(sa_type=utc_datetime())
    updated_at: datetime = Field(sa_type=utc_datetime())
    closed_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    closed_by: str | None = Field(default=None, max_length=100)
    close_reason: str | None = Field(default=None, max_length=20)  # an InboxCloseReason
    acknowledged_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    acknowledged_by: str | None = Field(default=None, max_length=100)
