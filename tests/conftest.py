"""Shared fixtures: a frozen clock, real SQLite and PostgreSQL databases, and built services.

PostgreSQL tests use throwaway databases on 127.0.0.1:5432 (user postgres, trust auth), cloned
from a template migrated once per run. Outside CI they are skipped when no server answers; in CI
(CI=true) a missing server is an error, never a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import Services
from store.db import open_database
from tests.factories import (
    PG_ADMIN_URL,
    PRACTICE_PHONE,
    T0,
    make_settings,
    pg_admin_engine,
    pg_database,
    pg_database_url,
    services_for,
    set_up_practice,
)

__all__ = ["PG_ADMIN_URL", "T0"]  # for the suites that still import them from here


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


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """Name of a migrated template database (created once per run, per xdist worker)."""
    engine = pg_admin_engine()
    if engine is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (CI must start it)")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"fd_tmpl_{worker}_{os.getpid()}"
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    db = open_database(pg_database_url(name))
    db.dispose()
    yield name
    with engine.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    with pg_database(template=pg_template) as url:
        yield url


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
    return make_settings(db_url)


@pytest.fixture
def services(settings: Settings, clock: FrozenClock) -> Iterator[Services]:
    built = services_for(settings, clock=clock)
    yield built
    built.close()


@pytest.fixture
def practice_ready(services: Services) -> Services:
    """Services with an active practice."""
    set_up_practice(services, phone=PRACTICE_PHONE)
    return services
