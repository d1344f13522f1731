"""Migration 0005 and the models agree (SQLite and PostgreSQL), the inbox order indexes keep
their DESC columns, and the migration goes down and up again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import open_database
from store.migrate import alembic_config
from store.models import SQLModel

OURS = {"message_thread", "portal_message", "inbox_item"}
NEW_COLUMNS = {
    ("practice", "messaging"),
    ("practice", "message_promise"),
    ("practice", "message_audiences"),
    ("practice", "message_notify_email"),
    ("portal_account", "message_notices"),
}
# Reflection drops an index column's DESC, so autogenerate cannot compare these; they are
# checked by their stored definition below instead.
ORDER_INDEXES = {"ix_inbox_item_order", "ix_inbox_item_kind_order", "ix_inbox_item_audience_order"}


def _touches_ours(diff: Any) -> bool:
    if isinstance(diff, list):  # column modifications come as lists of tuples
        return any(_touches_ours(d) for d in diff)
    kind, *rest = diff
    if kind in ("add_index", "remove_index"):
        index = rest[0]
        return index.table.name in OURS and index.name not in ORDER_INDEXES
    if kind in ("add_table", "remove_table"):
        return rest[0].name in OURS
    if kind in ("add_column", "remove_column"):
        return rest[1] in OURS or (rest[1], rest[2].name) in NEW_COLUMNS
    if kind.startswith("modify_"):
        return rest[1] in OURS or (rest[1], rest[2]) in NEW_COLUMNS
    return False


def test_models_and_migration_agree(db_url: str) -> None:
    db = open_database(db_url)
    try:
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = [d for d in compare_metadata(context, SQLModel.metadata) if _touches_ours(d)]
            assert diffs == []
            if db.is_sqlite:
                sql = "SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_inbox_item_%order'"
            else:
                sql = (  # (%% : psycopg reads a lone % as a placeholder)
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE indexname LIKE 'ix_inbox_item_%%order'"
                )
            found = dict(conn.exec_driver_sql(sql).all())
        assert set(found) == ORDER_INDEXES
        for definition in found.values():
            assert "urgent DESC, unread DESC, waiting_since, id" in definition
    finally:
        db.dispose()


def test_migration_goes_down_and_up(db_url: str) -> None:
    db = open_database(db_url)
    try:
        config = alembic_config()
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
        assert not sa.inspect(db.engine).has_table("inbox_item")
        with db.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
        inspector = sa.inspect(db.engine)
        assert set(inspector.get_table_names()) >= OURS
        assert "messaging" in {c["name"] for c in inspector.get_columns("practice")}
    finally:
        db.dispose()
