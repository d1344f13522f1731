"""portal messages, the desk's Portal inbox, messaging settings

`message_thread` and `portal_message` hold the secure messages between a chart's portal
account and the practice; `inbox_item` is the desk's one Portal inbox (at most one open item
per kind and source). The practice gains its messaging settings (mode, the words for when it
answers, the audiences offered, an optional notification address); a portal account gains
its choice of "you have a new message" emails.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


# The Portal inbox's order: urgent first, then unread, then the longest waiting.
_ORDER_HEAD = (sa.text("urgent DESC"), sa.text("unread DESC"))


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # ADD COLUMN, not batch mode: SQLite must not rebuild a table others reference.
    op.add_column(
        "practice",
        sa.Column("messaging", sa.String(length=20), server_default="on", nullable=False),
    )
    op.add_column("practice", sa.Column("message_promise", sa.String(length=200), nullable=True))
    op.add_column(
        "practice",
        sa.Column(
            "message_audiences",
            sa.String(length=100),
            server_default="front_desk,billing,clinical",
            nullable=False,
        ),
    )
    op.add_column(
        "practice", sa.Column("message_notify_email", sa.String(length=320), nullable=True)
    )
    op.add_column(
        "portal_account",
        sa.Column("message_notices", sa.Boolean(), server_default=sa.true(), nullable=False),
    )

    op.create_table(
        "message_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chart_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("created_by", sa.String(length=10), nullable=False),
        sa.Column("created_by_staff", sa.String(length=100), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("last_activity_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("last_client_message_at", _utc(), nullable=True),
        sa.Column("last_practice_message_at", _utc(), nullable=True),
        sa.Column("client_last_read_at", _utc(), nullable=True),
        sa.Column("practice_last_read_at", _utc(), nullable=True),
        sa.Column("practice_last_read_by", sa.String(length=100), nullable=True),
        sa.Column("client_notice_due_at", _utc(), nullable=True),
        sa.Column("last_client_notice_at", _utc(), nullable=True),
        sa.Column("last_practice_notice_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["chart_id"], ["chart.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["portal_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_message_thread_chart_activity",
        "message_thread",
        ["chart_id", "last_activity_at", "id"],
    )
    op.create_index(
        "ix_message_thread_account_activity",
        "message_thread",
        ["account_id", "last_activity_at", "id"],
    )
    op.create_index("ix_message_thread_notice_due", "message_thread", ["client_notice_due_at"])

    op.create_table(
        "portal_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("author_staff", sa.String(length=100), nullable=True),
        sa.Column("author_account_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("withdrawn_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["thread_id"], ["message_thread.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_account_id"], ["portal_account.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_portal_message_thread_time", "portal_message", ["thread_id", "created_at", "id"]
    )

    op.create_table(
        "inbox_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chart_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False),
        sa.Column("unread", sa.Boolean(), nullable=False),
        sa.Column("waiting_since", _utc(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("close_reason", sa.String(length=20), nullable=True),
        sa.Column("acknowledged_at", _utc(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["chart_id"], ["chart.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_inbox_item_one_open_per_source",
        "inbox_item",
        ["kind", "source_id"],
        unique=True,
        sqlite_where=sa.text("state = 'open'"),
        postgresql_where=sa.text("state = 'open'"),
    )
    op.create_index(
        "ix_inbox_item_order",
        "inbox_item",
        ["state", *_ORDER_HEAD, "waiting_since", "id"],
    )
    op.create_index(
        "ix_inbox_item_kind_order",
        "inbox_item",
        ["state", "kind", *_ORDER_HEAD, "waiting_since", "id"],
    )
    op.create_index(
        "ix_inbox_item_audience_order",
        "inbox_item",
        ["state", "audience", *_ORDER_HEAD, "waiting_since", "id"],
    )
    op.create_index("ix_inbox_item_chart", "inbox_item", ["chart_id", "state"])
    op.create_index("ix_inbox_item_updated", "inbox_item", ["updated_at"])


def downgrade() -> None:
    op.drop_table("inbox_item")  # its indexes go with it
    op.drop_table("portal_message")
    op.drop_table("message_thread")
    op.drop_column("portal_account", "message_notices")
    op.drop_column("practice", "message_notify_email")
    op.drop_column("practice", "message_audiences")
    op.drop_column("practice", "message_promise")
    op.drop_column("practice", "messaging")
