"""The outbox: every email the program sends."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, utc_datetime
from store.states import OutboxState


class OutboxEmail(StoreTable, table=True):
    """An email waiting to be (or already) handed to the mail server.

    Written in the same transaction as the change that caused it. After delivery the bodies are
    reduced so that no usable link remains at rest.
    """

    __tablename__ = "outbox_email"
    __table_args__ = (
        sa.Index("ix_outbox_state_next", "state", "next_attempt_at"),
        sa.Index("ix_outbox_invitation", "invitation_id"),
        sa.Index("ix_outbox_bounce_tag", "bounce_tag"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    chart_id: int | None = Field(default=None, foreign_key="chart.id", ondelete="SET NULL")
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    to_address: str = Field(max_length=320)
    to_name: str = Field(default="", max_length=200)
    subject: str = Field(max_length=300)
    body_text: str = Field(sa_type=sa.Text)
    body_html: str = Field(sa_type=sa.Text)
    message_id: str = Field(max_length=200)
    state: str = Field(default=OutboxState.PENDING, max_length=20)  # an OutboxState
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=utc_datetime())
    next_attempt_at: datetime = Field(sa_type=utc_datetime())
    lease_until: datetime | None = Field(default=None, sa_type=utc_datetime())
    lease_owner: str | None = Field(default=None, max_length=100)
    first_failure_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    # Bounces read back (issue 16): the random tag of the envelope sender (VERP), and what the
    # delivery status notification said (its status code; the diagnostic is in last_error).
    bounce_tag: str | None = Field(default=None, max_length=40)
    bounce_status: str | None = Field(default=None, max_length=20)
    bounced_at: datetime | None = Field(default=None, sa_type=utc_datetime())


class BounceNotice(StoreTable, table=True):
    """A delivery status notification the bounce reader has looked at, by its place in the
    bounce mailbox (folder, UIDVALIDITY, UID), so a second run does not count it again. The
    notification itself stays in the mailbox; nothing is deleted."""

    __tablename__ = "bounce_notice"
    __table_args__ = (
        sa.UniqueConstraint("mailbox", "uid_validity", "uid", name="uq_bounce_notice_place"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mailbox: str = Field(max_length=300)  # user@host/folder
    uid_validity: int = Field(sa_type=sa.BigInteger)
    uid: int = Field(sa_type=sa.BigInteger)
    message_id: str | None = Field(default=None, max_length=300)
    outcome: str = Field(max_length=20)  # matched | unmatched | notice (not a failure)
    outbox_id: int | None = Field(default=None, foreign_key="outbox_email.id", ondelete="SET NULL")
    status: str | None = Field(default=None, max_length=20)
    read_at: datetime = Field(sa_type=utc_datetime())


class MailPause(StoreTable, table=True):
    """The outbox is paused while this one row exists: a setup failure (TLS not trusted, login
    or sender refused, wrong security for the port, server unreachable) stopped sending. Every
    process (the TUI, the CLI, `frontdesk serve`) reads it; a successful probe deletes it."""

    __tablename__ = "mail_pause"

    id: int = Field(default=1, primary_key=True)  # always 1: one pause for the whole outbox
    kind: str = Field(max_length=20)  # a frontdesk.mail.failures.SetupKind
    detail: str = Field(max_length=500)  # what happened, in the server's words where it spoke
    fix: str = Field(max_length=300)
    since: datetime = Field(sa_type=utc_datetime())
    probes: int = Field(default=0)  # failed probes since the pause began
    next_probe_at: datetime = Field(sa_type=utc_datetime())
    updated_at: datetime = Field(sa_type=utc_datetime())
