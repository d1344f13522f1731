"""password reset links; a related contact's phone and removal

`password_reset` holds one row per emailed reset link (only the digest of its token), at most
one live link per account. `related_contact.phone` lets the desk keep a guardian's number;
`related_contact.removed_at` marks a contact the desk removed (the row stays: invitations,
accounts and the audit trail may name it).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN, not batch mode: SQLite must not rebuild a table others reference.
    op.add_column("related_contact", sa.Column("phone", sa.String(length=40), nullable=True))
    op.add_column(
        "related_contact", sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "password_reset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["portal_account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_digest"),
    )
    op.create_index(
        "uq_password_reset_one_live_per_account",
        "password_reset",
        ["account_id"],
        unique=True,
        sqlite_where=sa.text("state = 'live'"),
        postgresql_where=sa.text("state = 'live'"),
    )
    op.create_index(
        "ix_password_reset_account_created", "password_reset", ["account_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_password_reset_account_created", table_name="password_reset")
    op.drop_index("uq_password_reset_one_live_per_account", table_name="password_reset")
    op.drop_table("password_reset")
    op.drop_column("related_contact", "removed_at")
    op.drop_column("related_contact", "phone")
