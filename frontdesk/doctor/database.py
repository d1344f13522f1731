"""Checks the store: the database is reachable (opened without migrating it), its schema is at
the newest revision, and the practice's Client Portal is active."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from frontdesk.doctor.results import CheckResult, Status, result, skip
from frontdesk.practice import practice_row
from store.db import Database, StoreError, describe_error, open_database

UPGRADE_FIX = "run `frontdesk db upgrade`"


def sqlite_path(database_url: str) -> Path | None:
    """The SQLite file of the URL (None for other databases or in-memory)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def check_database(database_url: str) -> tuple[CheckResult, Database | None]:
    """The check, and the database when it opened (the caller disposes of it)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return result(
            "database",
            Status.FAIL,
            "FRONTDESK_DATABASE_URL is not a valid database URL",
            "set it to sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
        ), None
    shown = url.render_as_string(hide_password=True)
    is_sqlite = url.get_backend_name() == "sqlite"
    path = sqlite_path(database_url)
    if path is not None and not path.exists():
        return result(
            "database",
            Status.FAIL,
            f"no database file at {path}",
            f"{UPGRADE_FIX} to create it (or correct FRONTDESK_DATABASE_URL)",
            url=shown,
        ), None
    fix = (
        "check FRONTDESK_DATABASE_URL and the file's permissions"
        if is_sqlite
        else "check FRONTDESK_DATABASE_URL, and that PostgreSQL is running and accepts "
        "connections from this host"
    )
    try:
        db = open_database(database_url, migrate=False)
    except StoreError as exc:
        return result("database", Status.FAIL, str(exc), fix, url=shown), None
    except SQLAlchemyError as exc:
        return result(
            "database",
            Status.FAIL,
            f"cannot open the database at {shown}: {describe_error(exc)}",
            fix,
            url=shown,
        ), None
    except OSError as exc:
        return result(
            "database",
            Status.FAIL,
            f"cannot open the database at {shown}: {exc.strerror or exc}",
            fix,
            url=shown,
        ), None
    kind = "SQLite" if db.is_sqlite else "PostgreSQL"
    return result("database", Status.PASS, f"{kind} at {shown}", url=shown), db


def check_migrations(db: Database | None) -> CheckResult:
    """Passes exactly when the schema is at the newest revision."""
    if db is None:
        return skip("migrations", "skipped: the database is not reachable")
    from alembic.util import CommandError

    from store.migrate import alembic_config, current_revision, head_revision

    try:
        current = current_revision(db)
    except SQLAlchemyError as exc:
        return result(
            "migrations",
            Status.FAIL,
            f"cannot read the schema revision: {describe_error(exc)}",
            UPGRADE_FIX,
        )
    head = head_revision()
    data = {"current": current, "head": head}
    if current == head:
        return result("migrations", Status.PASS, f"schema at {head}, the newest revision", **data)
    if current is None:
        return result(
            "migrations",
            Status.FAIL,
            f"the database has no FrontDesk schema yet (the program needs {head})",
            UPGRADE_FIX,
            **data,
        )
    from alembic.script import ScriptDirectory

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except CommandError:
        return result(
            "migrations",
            Status.FAIL,
            f"the schema is at revision {current}, which this program does not know "
            f"(it needs {head}): a newer FrontDesk migrated it",
            "upgrade FrontDesk on this host to the version that migrated the database",
            **data,
        )
    return result(
        "migrations",
        Status.FAIL,
        f"the schema is at {current}, the program needs {head}",
        UPGRADE_FIX,
        **data,
    )


def check_portal(db: Database | None, schema_current: bool) -> CheckResult:
    """The practice is set up and its portal is on."""
    if db is None or not schema_current:
        return skip("portal", "skipped: the database is not reachable or not migrated")
    try:
        with db.read() as session:
            practice = practice_row(session)
    except (StoreError, SQLAlchemyError) as exc:
        return result(
            "portal", Status.FAIL, f"cannot read the practice: {exc}", "see the database check"
        )
    if not practice.name:
        return result(
            "portal",
            Status.FAIL,
            "the practice is not set up: invitations cannot be sent",
            "frontdesk practice set --name NAME --phone PHONE --portal on",
        )
    if not practice.portal_active:
        return result(
            "portal",
            Status.FAIL,
            f"the Client Portal of {practice.name} is not active: invitations cannot be sent",
            "frontdesk practice set --portal on",
            practice=practice.name,
        )
    return result(
        "portal",
        Status.PASS,
        f"the Client Portal of {practice.name} is active",
        practice=practice.name,
    )
