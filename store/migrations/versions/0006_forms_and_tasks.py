"""forms and tasks: the form library (versions, packages) and the tasks assigned to charts

`form_version` holds every version of every form's definition (JSON); `form_package` the
ordered lists of form keys assigned together; `task` a form assigned to a chart, its answers,
score and band, and the time of each transition. The built-in forms and the `new-client`
package are added by the form library on first use (frontdesk.portal.forms).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 21:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "version", name="uq_form_version_key_version"),
    )
    op.create_table(
        "form_package",
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("form_keys", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chart_id", sa.Integer(), nullable=False),
        sa.Column("form_key", sa.String(length=60), nullable=False),
        sa.Column("form_version_id", sa.Integer(), nullable=False),
        sa.Column("package_key", sa.String(length=60), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=30), nullable=True),
        sa.Column("item9_flag", sa.Boolean(), nullable=False),
        sa.Column("returned_reason", sa.String(length=500), nullable=True),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("draft_saved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sa.String(length=100), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sa.String(length=100), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chart_id"], ["chart.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["form_version_id"], ["form_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_task_chart_state", "task", ["chart_id", "state", "assigned_at"])
    op.create_index("ix_task_state_submitted", "task", ["state", "submitted_at"])


def downgrade() -> None:
    op.drop_index("ix_task_state_submitted", table_name="task")
    op.drop_index("ix_task_chart_state", table_name="task")
    op.drop_table("task")
    op.drop_table("form_package")
    op.drop_table("form_version")
