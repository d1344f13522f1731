"""SQLModel tables. Times are stored in UTC; the store never computes business rules."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Invitation states. "live" means the one current invitation of a chart; whether it has expired
# or is locked is computed at read time from expires_at / failed_attempts.
INVITATION_LIVE = "live"
INVITATION_SUPERSEDED = "superseded"
INVITATION_REVOKED = "revoked"
INVITATION_USED = "used"

# Outbox states.
OUTBOX_PENDING = "pending"
OUTBOX_SENDING = "sending"
OUTBOX_SENT = "sent"
OUTBOX_RETRYING = "retrying"
OUTBOX_FAILED = "failed"
OUTBOX_CANCELLED = "cancelled"


def _dt() -> sa.DateTime:
    return sa.DateTime(timezone=True)


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
    updated_at: datetime | None = Field(default=None, sa_type=_dt())


class Chart(SQLModel, table=True):
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
    created_at: datetime = Field(sa_type=_dt())
    updated_at: datetime = Field(sa_type=_dt())


class RelatedContact(SQLModel, table=True):
    """A guardian, parent, spouse or other person related to a chart."""

    __tablename__ = "related_contact"

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=200)
    relationship: str = Field(max_length=60)
    email: str | None = Field(default=None, max_length=320)
    created_at: datetime = Field(sa_type=_dt())


class ChartOwner(SQLModel, table=True):
    """Who owns the chart's portal access: the client (contact id NULL) or a related contact."""

    __tablename__ = "chart_owner"

    chart_id: int = Field(foreign_key="chart.id", primary_key=True, ondelete="CASCADE")
    related_contact_id: int | None = Field(
        default=None, foreign_key="related_contact.id", ondelete="RESTRICT"
    )
    version: int = Field(default=1)
    updated_at: datetime = Field(sa_type=_dt())
    updated_by: str = Field(default="", max_length=100)


class Invitation(SQLModel, table=True):
    """One emailed registration link. Only the SHA-256 digest of its token is stored."""

    __tablename__ = "invitation"
    __table_args__ = (
        sa.Index(
            "uq_invitation_one_live_per_chart",
            "chart_id",
            unique=True,
            sqlite_where=sa.text("state = 'live'"),
            postgresql_where=sa.text("state = 'live'"),
        ),
        sa.Index("ix_invitation_state_expires", "state", "expires_at"),
        sa.Index("ix_invitation_chart_created", "chart_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", ondelete="CASCADE")
    token_digest: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    related_contact_id: int | None = Field(default=None, foreign_key="related_contact.id")
    recipient_name: str = Field(max_length=200)
    recipient_email: str = Field(max_length=320)
    kind: str = Field(default="invitation", max_length=20)  # invitation | resend
    state: str = Field(default=INVITATION_LIVE, max_length=20)
    failed_attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=_dt())
    created_by: str = Field(max_length=100)
    expires_at: datetime = Field(sa_type=_dt())
    locked_at: datetime | None = Field(default=None, sa_type=_dt())
    ended_at: datetime | None = Field(default=None, sa_type=_dt())


class PortalAccount(SQLModel, table=True):
    """A registered portal login for a chart's owner. At most one enabled account per chart."""

    __tablename__ = "portal_account"
    __table_args__ = (
        sa.Index(
            "uq_portal_account_one_enabled_per_chart",
            "chart_id",
            unique=True,
            sqlite_where=sa.text("disabled_at IS NULL"),
            postgresql_where=sa.text("disabled_at IS NULL"),
        ),
        sa.Index("ix_portal_account_email", "email"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", ondelete="CASCADE")
    related_contact_id: int | None = Field(default=None, foreign_key="related_contact.id")
    invitation_id: int | None = Field(default=None, foreign_key="invitation.id")
    owner_name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    password_hash: str = Field(max_length=400)
    created_at: datetime = Field(sa_type=_dt())
    disabled_at: datetime | None = Field(default=None, sa_type=_dt())
    failed_logins: int = Field(default=0)
    throttled_until: datetime | None = Field(default=None, sa_type=_dt())
    must_change_password: bool = Field(default=False)
    last_login_at: datetime | None = Field(default=None, sa_type=_dt())


class PortalSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 digest of the cookie's session id is stored."""

    __tablename__ = "portal_session"

    id: int | None = Field(default=None, primary_key=True)
    id_digest: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    account_id: int = Field(foreign_key="portal_account.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=_dt())
    last_seen_at: datetime = Field(sa_type=_dt())
    ended_at: datetime | None = Field(default=None, sa_type=_dt())
    source: str = Field(default="", max_length=64)


class OutboxEmail(SQLModel, table=True):
    """An email waiting to be (or already) handed to the mail server.

    Written in the same transaction as the change that caused it. After delivery the bodies are
    reduced so that no usable link remains at rest.
    """

    __tablename__ = "outbox_email"
    __table_args__ = (
        sa.Index("ix_outbox_state_next", "state", "next_attempt_at"),
        sa.Index("ix_outbox_invitation", "invitation_id"),
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
    state: str = Field(default=OUTBOX_PENDING, max_length=20)
    attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=_dt())
    next_attempt_at: datetime = Field(sa_type=_dt())
    lease_until: datetime | None = Field(default=None, sa_type=_dt())
    lease_owner: str | None = Field(default=None, max_length=100)
    first_failure_at: datetime | None = Field(default=None, sa_type=_dt())
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, sa_type=_dt())


class AuditEvent(SQLModel, table=True):
    """Append-only record of every state change (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "audit_event"
    __table_args__ = (sa.Index("ix_audit_chart_at", "chart_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=_dt(), index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    chart_id: int | None = Field(default=None)
    chart_number: str | None = Field(default=None, max_length=40)
    outcome: str = Field(default="ok", max_length=40)
    detail: str = Field(default="", max_length=500)
    source: str = Field(default="", max_length=100)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-in counting per key (a digest of an email or of a client address)."""

    __tablename__ = "login_throttle"

    key_digest: str = Field(max_length=64, primary_key=True)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_type=_dt())
    blocked_until: datetime | None = Field(default=None, sa_type=_dt())


class ServerSecret(SQLModel, table=True):
    """Random keys the web endpoint needs across restarts and processes (e.g. CSRF signing)."""

    __tablename__ = "server_secret"

    name: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=_dt())
