"""The practice's own settings."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, utc_datetime


class Practice(StoreTable, table=True):
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
    # Portal messages (issue 13): a MessagingMode, the words for when the practice answers,
    # the audiences offered (comma-separated MessageAudience values, in the order shown) and
    # an optional address told (without content) when a client writes.
    messaging: str = Field(default="on", max_length=20, sa_column_kwargs={"server_default": "on"})
    message_promise: str | None = Field(default=None, max_length=200)
    message_audiences: str = Field(
        default="front_desk,billing,clinical",
        max_length=100,
        sa_column_kwargs={"server_default": "front_desk,billing,clinical"},
    )
    message_notify_email: str | None = Field(default=None, max_length=320)
