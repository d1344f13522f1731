"""The practice's own settings."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from store.models.columns import utc_datetime


class Practice(SQLModel, table=True):
    """The practice this database serves (one row, id 1)."""

    __tablename__ = "practice"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    timezone: str = Field(default="America/New_York", max_length=64)
    portal_active: bool = Field(default=False)
    invitation_days: int = Field(default=7)
    reply_to: str | None = Field(default=None, max_length=320)
    template_enabled: bool = Field(default=False)
    template_from_name: str | None = Field(default=None, max_length=200)
    template_header_name: str | None = Field(default=None, max_length=200)
    template_subject: str | None = Field(default=None, max_length=300)
    template_body: str | None = Field(default=None, sa_type=sa.Text)
    updated_at: datetime | None = Field(default=None, sa_type=utc_datetime())
