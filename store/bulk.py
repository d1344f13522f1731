"""Inserting many rows at once, the fastest way each engine has, through SQLAlchemy Core (the
CSV import writes 100,000 charts, their owners and their audit rows this way).

- SQLite: SQLAlchemy's multi-row INSERT, a page of rows per statement ("insertmanyvalues"; it
  is used with RETURNING), about twice as fast here as one statement per row.
- PostgreSQL: one short INSERT run by psycopg's pipelined `executemany` (SQLAlchemy's
  multi-row statements are so long that psycopg parses each one again, which costs more than
  the round trips it saves).

`reserve_ids` hands out the primary keys of rows about to be inserted, so that rows which
refer to them (a chart's owner, its audit rows) are built without reading anything back. Both
run inside a write transaction: on SQLite, `BEGIN IMMEDIATE` holds the lock that makes the
next ids this transaction's own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

__all__ = ["insert_many", "reserve_ids"]

_compiled: dict[tuple[str, str, tuple[str, ...]], str] = {}


def _table(model: type[SQLModel]) -> sa.Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


def reserve_ids(conn: sa.Connection, model: type[SQLModel], count: int) -> list[int]:
    """The next `count` primary keys of `model`'s table (an integer `id`), for rows this
    transaction inserts with them."""
    if count <= 0:
        return []
    table = _table(model)
    if conn.dialect.name == "postgresql":
        query = sa.text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"
        )
        return list(conn.execute(query, {"table": table.name, "n": count}).scalars())
    # SQLite: an INTEGER PRIMARY KEY takes the largest id + 1; the write lock keeps it ours.
    top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def insert_many(
    conn: sa.Connection, model: type[SQLModel], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` (each with the same keys) into `model`'s table in one go. Values as the
    driver takes them: str, int, date, aware datetime, None."""
    if not rows:
        return
    table = _table(model)
    if conn.dialect.name == "postgresql":
        keys = tuple(rows[0])
        cache_key = (conn.dialect.name, table.name, keys)
        sql = _compiled.get(cache_key)
        if sql is None:
            compiled = sa.insert(table).compile(dialect=conn.dialect, column_keys=list(keys))
            sql = _compiled[cache_key] = str(compiled)
        conn.exec_driver_sql(sql, list(rows))
        return
    statement = sa.insert(table)
    if "id" in table.c:
        statement = statement.returning(table.c.id)  # a page of rows per statement
    conn.execute(statement, list(rows))
