"""bounces read back: the envelope sender's tag on each email, and the notifications read

`outbox_email.bounce_tag` is the random tag of the email's envelope sender (VERP:
`local+<tag>@domain`); `bounce_status` and `bounced_at` record a delivery status notification
matched to it (the diagnostic goes to `last_error`). `bounce_notice` remembers each
notification the bounce reader looked at, by its place in the mailbox, so it is counted once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN, not batch mode: SQLite must not rebuild a table others reference.
    op.add_column("outbox_email", sa.Column("bounce_tag", sa.String(length=40), nullable=True))
    op.add_column("outbox_email", sa.Column("bounce_status", sa.String(length=20), nullable=True))
    op.add_column(
        "outbox_email", sa.Column("bounced_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_outbox_bounce_tag", "outbox_email", ["bounce_tag"])
    op.create_table(
        "bounce_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=300), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=300), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox_email.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox", "uid_validity", "uid", name="uq_bounce_notice_place"),
    )


def downgrade() -> None:
    op.drop_table("bounce_notice")
    op.drop_index("ix_outbox_bounce_tag", table_name="outbox_email")
    op.drop_column("outbox_email", "bounced_at")
    op.drop_column("outbox_email", "bounce_status")
    op.drop_column("outbox_email", "bounce_tag")
