"""Alembic migrations, run programmatically (`frontdesk db upgrade`, and on first use of SQLite).

Alembic is imported only when a migration has to run or be inspected: opening a current database
(every start of the terminal UI) reads the `alembic_version` row with plain SQL and compares it
with HEAD_REVISION, which a test keeps equal to the newest migration script.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from store.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

    from store.db import Database

MIGRATIONS = Path(__file__).with_name("migrations")

# The newest revision in store/migrations/versions (tests/store checks it against Alembic).
HEAD_REVISION = "0006"


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _stored_revision(db: Database) -> str | None:
    """The database's revision without Alembic: None when it has no version table yet."""
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        try:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except DBAPIError:
            return None
    return str(rows[0][0]) if len(rows) == 1 else None


def upgrade(db: Database) -> tuple[str | None, str | None]:
    """Migrate to the newest revision; return (before, after)."""
    from alembic import command

    before = current_revision(db)
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, current_revision(db)


def ensure_current(db: Database) -> None:
    """Create/migrate a SQLite or empty database; refuse an out-of-date PostgreSQL one."""
    if _stored_revision(db) == HEAD_REVISION:
        return
    current = current_revision(db)
    head = head_revision()
    if current == head:
        return
    if db.is_sqlite or current is None:
        upgrade(db)
        return
    raise StoreError(
        f"The database schema is at {current}, the program needs {head}: run `frontdesk db upgrade`"
    )
