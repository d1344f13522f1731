"""The store's guarantees: pragmas, immediate write transactions, schema-level rules."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from store.db import StoreError, StoreUnavailable, create_engine_for, open_database
from store.migrate import current_revision, head_revision
from store.models import AuditEvent, Chart, Invitation
from tests.store import workers

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def _chart(number: str = "C-1") -> Chart:
    return Chart(
        chart_number=number,
        first_name="Ana",
        last_name="Lopez",
        date_of_birth=datetime(1985, 3, 4).date(),
        created_at=NOW,
        updated_at=NOW,
    )


def test_sqlite_pragmas_on_every_connection(sqlite_url: str) -> None:
    db = open_database(sqlite_url)
    for _ in range(3):  # several pooled/new connections
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    db.dispose()


def test_dangling_foreign_key_is_refused(db_url: str) -> None:
    db = open_database(db_url)
    with pytest.raises(IntegrityError):

        def work(session: sa.orm.Session) -> None:
            session.add(
                Invitation(
                    chart_id=999,
                    token_digest="0" * 64,
                    recipient_name="x",
                    recipient_email="x@example.com",
                    created_at=NOW,
                    created_by="t",
                    expires_at=NOW,
                )
            )

        db.transact(work)
    db.dispose()


def test_fresh_sqlite_database_is_created_and_migrated(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'dir' / 'new.db'}"
    db = open_database(url)
    assert current_revision(db) == head_revision()
    db.dispose()


def test_at_most_one_live_invitation_per_chart_is_enforced_by_the_schema(db_url: str) -> None:
    db = open_database(db_url)

    def seed(session: sa.orm.Session) -> int:
        chart = _chart()
        session.add(chart)
        session.flush()
        return chart.id or 0

    chart_id = db.transact(seed)

    def live(digest: str) -> Invitation:
        return Invitation(
            chart_id=chart_id,
            token_digest=digest,
            recipient_name="Ana",
            recipient_email="ana@example.com",
            created_at=NOW,
            created_by="t",
            expires_at=NOW + timedelta(days=7),
        )

    db.transact(lambda s: s.add(live("a" * 64)))
    with pytest.raises(IntegrityError):
        db.transact(lambda s: s.add(live("b" * 64)))
    # A superseded one next to the live one is fine.
    inv = live("c" * 64)
    inv.state = "superseded"
    db.transact(lambda s: s.add(inv))
    db.dispose()


def test_audit_rows_cannot_be_updated_or_deleted(db_url: str) -> None:
    db = open_database(db_url)
    db.transact(
        lambda s: s.add(AuditEvent(at=NOW, actor="alice", action="chart added", outcome="ok"))
    )
    with pytest.raises(DBAPIError, match="append-only"):
        db.transact(lambda s: s.execute(sa.update(AuditEvent).values(actor="mallory")))
    with pytest.raises(DBAPIError, match="append-only"):
        db.transact(lambda s: s.execute(sa.delete(AuditEvent)))
    with db.read() as session:
        rows = session.execute(sa.select(AuditEvent.actor)).scalars().all()
    assert rows == ["alice"]
    db.dispose()


def test_bad_database_urls_give_one_line(tmp_path) -> None:
    with pytest.raises(StoreUnavailable) as bad:
        open_database("nonsense:/x")
    assert "\n" not in str(bad.value)
    with pytest.raises(StoreUnavailable) as down:
        open_database("postgresql+psycopg://postgres@127.0.0.1:1/none")
    assert "Cannot open the database" in str(down.value)
    with pytest.raises(StoreUnavailable):
        create_engine_for("mysql://x@y/z")


def test_immediate_transactions_lose_no_update_between_processes(sqlite_url: str) -> None:
    """Two processes read a counter, meet at a barrier, then write it + 1: with BEGIN IMMEDIATE
    the second waits for the first, so the counter reaches 2 (a deferred BEGIN fails or loses
    one)."""
    db = open_database(sqlite_url)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    db.dispose()
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=workers.increment_counter, args=(sqlite_url, barrier, results))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    db = open_database(sqlite_url)
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 2
    assert outcomes == ["ok", "ok"]
    db.dispose()


def test_upgrade_from_0001_refolds_search_keys_without_apostrophes(tmp_path) -> None:
    """Charts stored by 0001 (apostrophes in their search keys) are found by "obri" after
    `frontdesk db upgrade` — the migration recomputes the keys the new folding expects."""
    from alembic import command

    from store.migrate import alembic_config, upgrade

    db = create_engine_for(f"sqlite:///{tmp_path / 'old.db'}")
    config = alembic_config()
    with db.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with db.begin() as conn:
        conn.execute(
            sa.insert(Chart.__table__).values(  # type: ignore[attr-defined]
                chart_number="X-1",
                first_name="Di",
                last_name="O'Brien",
                date_of_birth=datetime(1985, 3, 4).date(),
                created_at=NOW,
                updated_at=NOW,
                last_key="o'brien",
                first_key="di",
                email_key="",
                search_text="o\u2019brien di x-1",
            )
        )
    db.dispose()
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}", migrate=False)
    assert current_revision(database) == "0001"
    upgrade(database)
    assert current_revision(database) == head_revision()
    with database.engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT last_key, search_text FROM chart")).one()
        found = conn.execute(
            sa.text("SELECT rowid FROM chart_fts WHERE chart_fts MATCH :q"), {"q": '"obri"'}
        ).all()
    assert tuple(keys) == ("obrien", "obrien di x-1")
    assert len(found) == 1  # the FTS index followed the update
    database.dispose()


def test_head_revision_constant_matches_the_newest_migration() -> None:
    """Opening a current database skips Alembic by comparing with HEAD_REVISION: it must name
    the newest script, or every start would run (or skip) migrations wrongly."""
    from store.migrate import HEAD_REVISION

    assert head_revision() == HEAD_REVISION


def test_read_row_sqlite_matches_what_sqlalchemy_reads(sqlite_url: str) -> None:
    """The link page's driver-level read returns the row SQLAlchemy would, datetimes
    included; a statement the store cannot run is a one-line StoreUnavailable."""
    db = open_database(sqlite_url)
    when = datetime(2026, 12, 3, 15, 0, 0, 123456, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(Chart.__table__).values(  # type: ignore[attr-defined]
                chart_number="X-1",
                first_name="Di",
                last_name="Lee",
                date_of_birth=datetime(1985, 3, 4).date(),
                created_at=when,
                updated_at=when,
            )
        )
        expected = conn.execute(sa.text("SELECT chart_number, created_at FROM chart")).one()
        typed = conn.execute(sa.select(Chart.__table__.c.created_at)).scalar_one()  # type: ignore[attr-defined]
    row = db.read_row_sqlite("SELECT chart_number, created_at FROM chart WHERE id = :id", {"id": 1})
    assert row is not None and row[0] == "X-1" and row[1] == expected[1]
    assert db.datetime_from_sqlite(row[1]) == typed
    assert db.datetime_from_sqlite(row[1]).replace(tzinfo=UTC) == when
    assert db.read_row_sqlite("SELECT 1 FROM chart WHERE id = :id", {"id": 99}) is None
    with pytest.raises(StoreUnavailable, match="no such table"):
        db.read_row_sqlite("SELECT * FROM nowhere", {})
    db.dispose()


@pytest.mark.postgres
def test_read_row_sqlite_is_refused_on_postgresql(pg_url: str) -> None:
    db = open_database(pg_url)
    with pytest.raises(StoreError, match="for SQLite"):
        db.read_row_sqlite("SELECT 1", {})
    db.dispose()
