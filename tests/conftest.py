"""Shared fixtures: a frozen clock, real SQLite and PostgreSQL databases, and built services.

PostgreSQL tests use throwaway databases on 127.0.0.1:5432 (user postgres, trust auth), cloned
from a template migrated once per run. Outside CI they are skipped when no server answers; in CI
(CI=true) a missing server is an error, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import Services, build_services
from store.db import create_engine_for, open_database

PG_ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolate_from_machine(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the developer's config, data dir or keyring."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("FRONTDESK_") and name != "FRONTDESK_TEST_PG_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("FRONTDESK_CONFIG", str(home / "config" / "frontdesk" / "config.toml"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


def _pg_admin_engine() -> sa.Engine | None:
    engine = create_engine_for(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Name of a migrated template database (created once per run, per xdist worker)."""
    engine = _pg_admin_engine()
    if engine is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (CI must start it)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"fd_tmpl_{worker}_{os.getpid()}"
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = open_database(_pg_url(name))
    db.dispose()
    yield name
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


def _pg_url(name: str) -> str:
    return sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    engine = _pg_admin_engine()
    assert engine is not None
    name = f"fd_{uuid.uuid4().hex[:16]}"
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield _pg_url(name)
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'frontdesk.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'frontdesk.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        public_url="http://127.0.0.1:8080",
        smtp_host="127.0.0.1",
        smtp_security="none",
        mail_from="portal@cedar.example",
    )


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    built = build_services(settings, clock=clock, actor="alice")
    yield built
    built.close()


@pytest.fixture
def practice_ready(services: Services) -> Services:
    """Services with an active practice."""
    services.practice.update_practice(
        name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
    )
    return services
