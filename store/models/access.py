"""Who may enter the portal: invitations, accounts, sessions, sign-in throttling, web secrets."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, partial_unique_index, utc_datetime
from store.states import InvitationKind, InvitationState, ResetState


class Invitation(StoreTable, table=True):
    """One emailed registration link. Only the SHA-256 digest of its token is stored."""

    __tablename__ = "invitation"
    __table_args__ = (
        partial_unique_index(
            "uq_invitation_one_live_per_chart", "chart_id", where="state = 'live'"
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
    kind: str = Field(default=InvitationKind.INVITATION, max_length=20)  # an InvitationKind
    state: str = Field(default=InvitationState.LIVE, max_length=20)  # an InvitationState
    failed_attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=utc_datetime())
    created_by: str = Field(max_length=100)
    expires_at: datetime = Field(sa_type=utc_datetime())
    locked_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    ended_at: datetime | None = Field(default=None, sa_type=utc_datetime())


class PortalAccount(StoreTable, table=True):
    """A registered portal login for a chart's owner. At most one enabled account per chart."""

    __tablename__ = "portal_account"
    __table_args__ = (
        partial_unique_index(
            "uq_portal_account_one_enabled_per_chart", "chart_id", where="disabled_at IS NULL"
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
    created_at: datetime = Field(sa_type=utc_datetime())
    disabled_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    failed_logins: int = Field(default=0)
    throttled_until: datetime | None = Field(default=None, sa_type=utc_datetime())
    must_change_password: bool = Field(default=False)
    last_login_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    # The content-free "you have a new message" emails; the client can turn them off.
    message_notices: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class PortalSession(StoreTable, table=True):
    """A signed-in browser. Only the SHA-256 digest of the cookie's session id is stored."""

    __tablename__ = "portal_session"

    id: int | None = Field(default=None, primary_key=True)
    id_digest: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    account_id: int = Field(foreign_key="portal_account.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(sa_type=utc_datetime())
    last_seen_at: datetime = Field(sa_type=utc_datetime())
    ended_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    source: str = Field(default="", max_length=64)


class LoginThrottle(StoreTable, table=True):
    """Failed sign-in counting per key (a digest of an email or of a client address)."""

    __tablename__ = "login_throttle"

    key_digest: str = Field(max_length=64, primary_key=True)
    failures: int = Field(default=0)
    window_started_at: datetime = Field(sa_type=utc_datetime())
    blocked_until: datetime | None = Field(default=None, sa_type=utc_datetime())


class ServerSecret(StoreTable, table=True):
    """Random keys the web endpoint needs across restarts and processes (e.g. CSRF signing)."""

    __tablename__ = "server_secret"

    name: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=utc_datetime())


class PasswordReset(StoreTable, table=True):
    """One emailed password-reset link of a portal account. Only the SHA-256 digest of its
    token (with the reset purpose bound in) is stored; at most one live link per account."""

    __tablename__ = "password_reset"
    __table_args__ = (
        partial_unique_index(
            "uq_password_reset_one_live_per_account", "account_id", where="state = 'live'"
        ),
        sa.Index("ix_password_reset_account_created", "account_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="portal_account.id", ondelete="CASCADE")
    token_digest: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    origin: str = Field(max_length=10)  # a ResetOrigin
    requested_by: str = Field(max_length=100)
    state: str = Field(default=ResetState.LIVE, max_length=20)  # a ResetState
    failed_attempts: int = Field(default=0)
    created_at: datetime = Field(sa_type=utc_datetime())
    expires_at: datetime = Field(sa_type=utc_datetime())
    ended_at: datetime | None = Field(default=None, sa_type=utc_datetime())
