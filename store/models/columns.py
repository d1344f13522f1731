"""What the table modules share: their base class, column types and index forms."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

_PARTIAL_INDEXES: list[tuple[sa.Index, str]] = []


class StoreTable(SQLModel):
    """The base of every table (each is `class X(StoreTable, table=True)`): registered on
    `SQLModel.metadata` like any SQLModel table. Pydantic builds a table's validator and
    serializer when one is first used rather than at import (rows are built without
    validation; a few are dumped): about 20 ms less to import the models, which the
    terminal's first page of charts waits for (issue 12)."""

    model_config = SQLModel.model_config.copy()
    model_config["defer_build"] = True


def utc_datetime() -> sa.DateTime:
    """A timezone-aware DATETIME; every time is stored in UTC."""
    return sa.DateTime(timezone=True)


def partial_unique_index(name: str, *columns: str, where: str) -> sa.Index:
    """A unique index over the rows where `where` (plain SQL both stores read alike) holds.

    Declared with its SQLite form; its PostgreSQL form is added by `add_postgresql_options`
    when a PostgreSQL store opens. Naming PostgreSQL here would load SQLAlchemy's PostgreSQL
    dialect on every import of the models, SQLite desks included: about 40 ms of the
    terminal's first page (issue 12)."""
    index = sa.Index(name, *columns, unique=True, sqlite_where=sa.text(where))
    _PARTIAL_INDEXES.append((index, where))
    return index


def add_postgresql_options() -> None:
    """Give every partial index its PostgreSQL `WHERE` (idempotent): called when a
    PostgreSQL store opens (store.db) and by the migrations' environment."""
    for index, where in _PARTIAL_INDEXES:
        options = index.dialect_options["postgresql"]
        if options["where"] is None:
            options["where"] = sa.text(where)
