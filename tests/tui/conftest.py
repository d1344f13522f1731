"""Fixtures for the TUI suites: a seeded SQLite store (copied per test), a real SMTP server on
127.0.0.1, and the app built the way the CLI builds it (frozen clock, fixed actor)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from frontdesk.app import FrontDeskApp
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from screens.chart_table import ChartTable
from tests.factories import (
    REFUSED_ADDRESS,
    T0,
    seed_small_practice,
    services_for,
    smtp_settings,
)
from tests.tui.smtp import SmtpServer, free_port


def seed_store(database_url: str) -> None:
    """Seed `seed_small_practice` into a migrated store, its emails delivered to a local
    SMTP server that refuses REFUSED_ADDRESS."""
    with SmtpServer(refuse={REFUSED_ADDRESS}) as server:
        settings = smtp_settings(database_url, server.port)
        services = services_for(settings)
        seed_small_practice(services, settings)
        services.close()


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with a chart in every status, built once per run (copied by each test)."""
    path = tmp_path_factory.mktemp("tui-seed") / "seed.db"
    seed_store(f"sqlite:///{path}")
    return path


@pytest.fixture
def seeded_url(seeded_file: Path, tmp_path: Path) -> str:
    copy = tmp_path / "frontdesk.db"
    shutil.copyfile(seeded_file, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def tui_clock() -> FrozenClock:
    return FrozenClock(T0)


AppFactory = Callable[..., FrontDeskApp]


@pytest.fixture
def make_app(tui_clock: FrozenClock) -> Iterator[AppFactory]:
    """Build FrontDeskApp on a database URL (the seeded copy by default) and an SMTP port."""
    built: list[Services] = []

    def make(
        database_url: str,
        *,
        smtp_port: int | None = None,
        refresh_interval: float = 1.0,
        delivery: Callable[[], object] | None = None,
    ) -> FrontDeskApp:
        services = services_for(
            smtp_settings(database_url, smtp_port or free_port()), clock=tui_clock
        )
        built.append(services)
        app = FrontDeskApp(services=services, delivery=delivery, refresh_interval=refresh_interval)
        app.animation_level = "none"  # the end state is what is tested; skip the tweening
        return app

    yield make
    for services in built:
        services.close()


async def settle(pilot: Pilot[object]) -> None:
    """Wait until the app's workers are done and the screen has caught up (no sleeping)."""
    for _ in range(2):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def freeze_cursors(pilot: Pilot[object]) -> None:
    """Stop text cursors blinking, so a screenshot does not depend on when it is taken."""
    for screen in pilot.app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False


async def open_chart(pilot: Pilot[object], chart_number: str, *, typed: bool = True) -> None:
    """Find the chart by its number in the search box, Enter opens it. Typed key by key, or
    (for snapshots, which test the picture, not the typing) put in the box at once."""
    await settle(pilot)
    search = pilot.app.screen.query_one("#search", Input)
    if typed:
        # Clear the box (Ctrl+U when in it; `/` otherwise focuses it with the text selected),
        # then type the number's last four characters (a substring match finds it).
        await pilot.press("ctrl+u" if search.has_focus else "slash")
        await pilot.press(*chart_number[-4:])
    else:
        search.value = chart_number
    await settle(pilot)
    highlighted = pilot.app.screen.query_one(ChartTable).highlighted
    assert highlighted is not None and highlighted.chart_number == chart_number
    await pilot.press("enter")
    await settle(pilot)
