"""Charts, the people related to them, and who owns a chart's portal access."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, utc_datetime


class Chart(StoreTable, table=True):
    """A client's chart. `search_text` and the *_key columns are maintained by the writer."""

    __tablename__ = "chart"
    __table_args__ = (
        sa.Index("ix_chart_last_first", "last_key", "first_key", "id"),
        # Each searched column with the name keys beside it: a search sorts its matches by
        # name from the index alone (migration 0003).
        sa.Index("ix_chart_first_names", "first_key", "last_key", "id"),
        sa.Index("ix_chart_email_names", "email_key", "last_key", "first_key", "id"),
        sa.Index("ix_chart_number_names", "chart_number", "last_key", "first_key", "id"),
        sa.Index("ix_chart_id_names", "id", "last_key", "first_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_number: str = Field(max_length=40, sa_column_kwargs={"unique": True}, index=False)
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    preferred_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    last_key: str = Field(default="", max_length=100)
    first_key: str = Field(default="", max_length=100)
    email_key: str = Field(default="", max_length=320)
    search_text: str = Field(default="", max_length=1000)
    created_at: datetime = Field(sa_type=utc_datetime())
    updated_at: datetime = Field(sa_type=utc_datetime())


class RelatedContact(StoreTable, table=True):
    """A guardian, parent, spouse or other person related to a chart."""

    __tablename__ = "related_contact"

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=60)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=utc_datetime())
    removed_at: datetime | None = Field(default=None, sa_type=utc_datetime())  # kept for history


class ChartOwner(StoreTable, table=True):
    """Who owns the chart's portal access: the client (contact id NULL) or a related contact."""

    __tablename__ = "chart_owner"

    chart_id: int = Field(foreign_key="chart.id", primary_key=True, ondelete="CASCADE")
    related_contact_id: int | None = Field(
        default=None, foreign_key="related_contact.id", ondelete="RESTRICT"
    )
    version: int = Field(default=1)
    updated_at: datetime = Field(sa_type=utc_datetime())
    updated_by: str = Field(default="", max_length=100)
