"""Migration 0006 and the models of store/models/forms.py agree, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from frontdesk.services import Services
from store.models import SQLModel

TABLES = {"form_version", "form_package", "task"}


def test_migration_matches_the_models(services: Services) -> None:
    with services.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)

    def ours(entry: object) -> bool:
        text = repr(entry)
        return any(f"'{table}'" in text or f"Table('{table}'" in text for table in TABLES)

    flat = [d for group in diff for d in (group if isinstance(group, list) else [group])]
    assert [d for d in flat if ours(d)] == []
