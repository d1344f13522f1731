"""What a signed-in client does on the portal: secure messages (threads of messages between
the chart's portal account and the practice)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, utc_datetime
from store.states import MessageAudience, ThreadState


class MessageThread(StoreTable, table=True):
    """A conversation between a chart's portal account and the practice.

    The thread belongs to the chart and to the account that owned portal access when it
    began: a later owner of the chart's access does not read an earlier owner's threads.
    The `last_*` / `*_read_at` columns are kept by the writer so that listing threads with
    their unread marks reads one indexed row per thread."""

    __tablename__ = "message_thread"
    __table_args__ = (
        sa.Index("ix_message_thread_chart_activity", "chart_id", "last_activity_at", "id"),
        sa.Index("ix_message_thread_account_activity", "account_id", "last_activity_at", "id"),
        sa.Index("ix_message_thread_notice_due", "client_notice_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", ondelete="CASCADE")
    account_id: int = Field(foreign_key="portal_account.id", ondelete="CASCADE")
    audience: str = Field(default=MessageAudience.FRONT_DESK, max_length=20)  # MessageAudience
    subject: str = Field(max_length=120)
    created_by: str = Field(max_length=10)  # a MessageAuthor
    created_by_staff: str | None = Field(default=None, max_length=100)  # the login, if staff
    created_at: datetime = Field(sa_type=utc_datetime())
    last_activity_at: datetime = Field(sa_type=utc_datetime())
    updated_at: datetime = Field(sa_type=utc_datetime())  # any change, reads included
    state: str = Field(default=ThreadState.WAITING, max_length=20)  # a ThreadState
    message_count: int = Field(default=0)  # messages not withdrawn
    last_client_message_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    last_practice_message_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    client_last_read_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    practice_last_read_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    practice_last_read_by: str | None = Field(default=None, max_length=100)
    # The content-free "you have a new message" email to the client: when the next one is due
    # (the practice wrote and the client has not read it), and when the last one was queued.
    client_notice_due_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    last_client_notice_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    # The content-free "a client sent a message" email to the practice's address.
    last_practice_notice_at: datetime | None = Field(default=None, sa_type=utc_datetime())


class PortalMessage(StoreTable, table=True):
    """One message of a thread: plain text, line breaks kept. A withdrawn message keeps its
    row (the thread's history shows that something was withdrawn) but not its text."""

    __tablename__ = "portal_message"
    __table_args__ = (sa.Index("ix_portal_message_thread_time", "thread_id", "created_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    thread_id: int = Field(foreign_key="message_thread.id", ondelete="CASCADE")
    author: str = Field(max_length=10)  # a MessageAuthor
    author_staff: str | None = Field(default=None, max_length=100)  # the staff login
    author_account_id: int | None = Field(
        default=None, foreign_key="portal_account.id", ondelete="SET NULL"
    )
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=utc_datetime())
    withdrawn_at: datetime | None = Field(default=None, sa_type=utc_datetime())
