"""The models' partial unique indexes: both stores get their WHERE, the schema the migrations
built agrees, and a SQLite desk never loads SQLAlchemy's PostgreSQL dialect (issue 12: it cost
the terminal's first page about 40 ms)."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa

from store.db import open_database

PARTIAL = {
    "uq_invitation_one_live_per_chart": "state = 'live'",
    "uq_portal_account_one_enabled_per_chart": "disabled_at IS NULL",
    "uq_password_reset_one_live_per_account": "state = 'live'",
    "uq_inbox_item_one_open_per_source": "state = 'open'",
}


def _declared_in_a_fresh_process(url: str) -> dict[str, str]:
    """Each partial index's CREATE INDEX for `url`'s dialect, as a process that opens the
    (already migrated) store sees the models: no migration has run in it."""
    code = (
        "import json\n"
        "from sqlalchemy.schema import CreateIndex\n"
        "from store.db import open_database\n"
        "from store.models import SQLModel\n"
        f"db = open_database({url!r})\n"
        f"names = {sorted(PARTIAL)!r}\n"
        "print(json.dumps({i.name: str(CreateIndex(i).compile(dialect=db.engine.dialect))\n"
        "    for t in SQLModel.metadata.tables.values() for i in t.indexes if i.name in names}))\n"
        "db.dispose()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    found: dict[str, str] = json.loads(done.stdout)
    return found


def test_each_store_declares_and_holds_the_partial_indexes(db_url: str) -> None:
    db = open_database(db_url)
    try:
        declared = _declared_in_a_fresh_process(db_url)
        for name, where in PARTIAL.items():
            assert declared[name].startswith("CREATE UNIQUE INDEX"), declared[name]
            assert declared[name].endswith(f"WHERE {where}"), declared[name]
            with db.engine.connect() as conn:
                if db.is_sqlite:
                    stored = conn.execute(
                        sa.text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": name}
                    ).scalar_one()
                else:
                    stored = conn.execute(
                        sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                        {"n": name},
                    ).scalar_one()
            assert "UNIQUE" in stored.upper() and "WHERE" in stored.upper(), stored
    finally:
        db.dispose()


def test_a_sqlite_desk_never_loads_the_postgresql_dialect(sqlite_url: str) -> None:
    open_database(sqlite_url).dispose()  # migrated here: the desk below opens a current store
    code = (
        "import sys\n"
        "from store.db import open_database\n"
        "import frontdesk.desk.search, store.models\n"
        f"open_database({sqlite_url!r}).dispose()\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]", done.stdout
