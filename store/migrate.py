"""Alembic migrations, run programmatically (`frontdesk db upgrade`, and on first use of SQLite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import Database, StoreError

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str | None]:
    """Migrate to the newest revision; return (before, after)."""
    before = current_revision(db)
    config = alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    return before, current_revision(db)


def ensure_current(db: Database) -> None:
    """Create/migrate a SQLite or empty database; refuse an out-of-date PostgreSQL one."""
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
