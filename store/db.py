"""Engine and transaction factory.

SQLite (the default): WAL, foreign keys, a 5 s busy timeout and FULL sync on every connection,
and every write transaction begins IMMEDIATE so two processes never lose an update.
PostgreSQL: psycopg 3; write transactions lock what they change with SELECT ... FOR UPDATE.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlmodel import Session

from store.errors import StoreBusy, StoreError, StoreUnavailable, describe_error
from store.migrate import ensure_current

__all__ = [
    "BUSY_TIMEOUT_MS",
    "WRITE_ATTEMPTS",
    "Database",
    "StoreBusy",
    "StoreError",
    "StoreUnavailable",
    "create_engine_for",
    "describe_error",
    "open_database",
]

T = TypeVar("T")

BUSY_TIMEOUT_MS = 5000
WRITE_ATTEMPTS = 3


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError) and "database is locked" in str(exc).lower():
        return True
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None)
    # 40001 serialization_failure, 40P01 deadlock_detected, 55P03 lock_not_available
    return sqlstate in {"40001", "40P01", "55P03"}


class Database:
    """An engine plus the session factories every service uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.is_postgres = engine.dialect.name == "postgresql"
        if self.is_postgres:  # the models' PostgreSQL-only index forms (store.models.columns)
            from store.models.columns import add_postgresql_options

            add_postgresql_options()
        self._sqlite_datetime: Callable[[Any], Any] | None = None
        self._readers = threading.local()  # each thread's read_row_sqlite connection
        self._readers_lock = threading.Lock()
        self._held_readers: list[Any] = []

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading. Nothing it does is committed; objects stay readable after."""
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                yield session
        except OperationalError as exc:
            if _is_retryable(exc):
                raise StoreBusy("The database is busy — try again in a moment.") from exc
            raise StoreUnavailable(f"Database error: {describe_error(exc)}") from exc

    def read_row_sqlite(self, sql: str, params: Mapping[str, object]) -> tuple[Any, ...] | None:
        """The first row of one read-only SELECT (named `:params`) run by the SQLite driver
        itself: no SQLAlchemy connection, events or result processing, a tenth of the cost
        for the hottest read there is (a registration link's page, on every view). A single
        statement reads one consistent snapshot on its own. Values come back as the driver
        gives them: DATETIME columns as text, see `datetime_from_sqlite`."""
        if not self.is_sqlite:
            raise StoreError("read_row_sqlite is for SQLite stores")
        raw = self._thread_reader()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(sql, params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc).lower():
                raise StoreBusy("The database is busy — try again in a moment.") from exc
            raise StoreUnavailable(f"Database error: {describe_error(exc)}") from exc
        return None if row is None else tuple(row)

    def _thread_reader(self) -> Any:
        """This thread's own connection for `read_row_sqlite`, opened once (with the same
        settings as every connection) and kept out of the pool: the pool's checkout and
        return cost more than the read. In autocommit, so it holds no snapshot between
        reads. Closed by `dispose`."""
        raw = getattr(self._readers, "raw", None)
        if raw is None:
            try:
                raw = self.engine.raw_connection()
            except OperationalError as exc:
                raise StoreUnavailable(f"Database error: {describe_error(exc)}") from exc
            raw.detach()  # closed for real when done, never handed to another thread
            self._readers.raw = raw
            with self._readers_lock:
                self._held_readers.append(raw)
        return raw

    def datetime_from_sqlite(self, value: object) -> datetime | None:
        """A DATETIME value as read by `read_row_sqlite`, as SQLAlchemy would have read it."""
        if self._sqlite_datetime is None:
            dialect = self.engine.dialect
            column_type = sa.DateTime(timezone=True).dialect_impl(dialect)
            self._sqlite_datetime = column_type.result_processor(dialect, None)
        result = self._sqlite_datetime(value) if self._sqlite_datetime else value
        return cast("datetime | None", result)

    @contextmanager
    def read_connection(self) -> Iterator[sa.Connection]:
        """A bare connection for a hot read path (no ORM session); nothing is committed."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            if _is_retryable(exc):
                raise StoreBusy("The database is busy — try again in a moment.") from exc
            raise StoreUnavailable(f"Database error: {describe_error(exc)}") from exc

    @contextmanager
    def write_once(self) -> Iterator[Session]:
        """One write transaction (BEGIN IMMEDIATE on SQLite); commits on success."""
        with self.engine.connect() as conn:
            conn.execution_options(frontdesk_write=True)
            with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.flush()

    def transact(self, work: Callable[[Session], T], *, attempts: int = WRITE_ATTEMPTS) -> T:
        """Run `work` in a write transaction, retrying the whole of it when the database is
        locked or a serialization conflict occurs. Nothing is half-written: a failed attempt
        rolls back entirely."""
        for attempt in range(1, attempts + 1):
            try:
                with self.write_once() as session:
                    return work(session)
            except DBAPIError as exc:
                if _is_retryable(exc) and attempt < attempts:
                    time.sleep(random.uniform(0.05, 0.25))
                    continue
                if _is_retryable(exc):
                    raise StoreBusy("The database is busy — try again in a moment.") from exc
                if isinstance(exc, OperationalError):
                    raise StoreUnavailable(f"Database error: {describe_error(exc)}") from exc
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        with self._readers_lock:
            held, self._held_readers = self._held_readers, []
        for raw in held:
            with contextlib.suppress(Exception):  # a reader another thread may still hold
                raw.close()
        self._readers = threading.local()
        self.engine.dispose()


def _install_sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own transaction handling defers BEGIN).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = FULL")
            # Deleted and superseded content (old outbox bodies, ended sessions) is overwritten
            # with zeros rather than left readable in free pages of the file.
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("frontdesk_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def create_engine_for(url: str, *, echo: bool = False) -> Engine:
    """Build an engine for a SQLAlchemy URL; SQLite files get their folder created."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreUnavailable(
            "FRONTDESK_DATABASE_URL is not a valid database URL (expected sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = sa.create_engine(
                parsed, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}
            )
        except NoSuchModuleError:
            raise StoreUnavailable(f"Unsupported database URL: {backend}") from None
        _install_sqlite_events(engine)
        return engine
    if backend == "postgresql":
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            parsed,
            echo=echo,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 5, "application_name": "frontdesk"},
        )
    raise StoreUnavailable(
        f"Unsupported database {backend!r}: use sqlite:///PATH or postgresql+psycopg://..."
    )


def open_database(url: str, *, migrate: bool = True) -> Database:
    """Open (and, for SQLite or an empty database, create and migrate) the database at `url`."""
    engine = create_engine_for(url)
    db = Database(engine)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        engine.dispose()
        raise StoreUnavailable(
            f"Cannot open the database at {db.url}: {describe_error(exc)}"
        ) from None
    if migrate:
        ensure_current(db)
    return db
