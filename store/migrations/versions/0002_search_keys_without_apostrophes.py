"""search keys without apostrophes

"obri" finds "O'Brien" and "dangelo" finds "D'Angelo": apostrophes are dropped from the folded
search keys (frontdesk.core.text.search_key). This recomputes the stored keys of existing charts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:00:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# The apostrophe forms search_key drops (ASCII, typographic, modifier letter, grave, acute).
APOSTROPHES = ("'", "\u2019", "\u2018", "\u02bc", "`", "\u00b4")


def _stripped(column: str) -> str:
    expr = column
    for mark in APOSTROPHES:
        quoted = mark.replace("'", "''")
        expr = f"replace({expr}, '{quoted}', '')"
    return expr


def upgrade() -> None:
    any_mark = " OR ".join(
        f"{column} LIKE '%{mark.replace(chr(39), chr(39) * 2)}%'"
        for column in ("last_key", "first_key", "search_text")
        for mark in APOSTROPHES
    )
    op.execute(
        f"UPDATE chart SET last_key = {_stripped('last_key')}, "  # noqa: S608 - constants only
        f"first_key = {_stripped('first_key')}, "
        f"search_text = {_stripped('search_text')} WHERE {any_mark}"
    )


def downgrade() -> None:
    # The folded keys cannot be un-stripped; search still works with them.
    pass
