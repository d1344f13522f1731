"""A store for the bulk action's TUI tests: a practice whose Expired worklist holds 30 charts
(invited through the real services 9 days before the tests' "now", their emails delivered to a
real SMTP server), built once per run and copied per test; and the keys that reach a worklist's
bulk action from the browser."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from frontdesk.access.outcomes import BulkAction
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.services import Services
from store.models import Chart
from tests.factories import (
    PRACTICE_PHONE,
    PRACTICE_TIMEZONE,
    T0,
    acting_at,
    deliver_at,
    services_for,
    set_up_practice,
    smtp_settings,
)
from tests.tui.smtp import SmtpServer

_FIRST = ("Ana", "Ben", "Chloé", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun")
_LAST = ("Abara", "O'Brien", "Costa", "Dubois", "Evans", "Fischer", "Garcia [x]", "Haddad")
EXPIRED_COUNT = 30
GUARDIAN_CHART = "E-1003"  # its owner is a guardian, Mina Costa (Mother)

# Keys from the browser (search box focused) to each worklist's bulk action: Tab to the
# worklist tabs, arrows (they wrap: ← from All is Active), then Ctrl+G. At most 5.
KEYS_TO_BULK = {
    "expired": ("tab", "right", "right", "right", "ctrl+g"),
    "locked": ("tab", "left", "left", "left", "ctrl+g"),
    "no_portal_access": ("tab", "left", "left", "ctrl+g"),
}


def expired_charts() -> list[ChartInput]:
    """E-1000 … E-1029, in name order of the browser, each with its own address."""
    charts = []
    for n in range(EXPIRED_COUNT):
        first, last = _FIRST[n % len(_FIRST)], _LAST[n % len(_LAST)]
        email = f"{first.lower().replace('é', 'e')}.{n:02d}@example.com"
        charts.append(ChartInput(f"E-{1000 + n}", first, last, "1980-01-02", email))
    return charts


def seed_expired_store(database_url: str) -> None:
    """The practice, 30 charts added a month ago and invited 9 days ago (now Expired)."""
    with SmtpServer() as server:
        settings = smtp_settings(database_url, server.port)
        services = services_for(settings)
        set_up_practice(services, phone=PRACTICE_PHONE, timezone=PRACTICE_TIMEZONE)
        month_ago = acting_at(services, T0 - timedelta(days=30), actor="bob")
        for chart in expired_charts():
            month_ago.charts.add_chart(chart)
        month_ago.invitations.change_owner(
            GUARDIAN_CHART,
            new_contact=ContactInput("Mina Costa", "Mother", "mina.costa@example.com"),
        )
        nine_days = T0 - timedelta(days=9)
        sent = acting_at(services, nine_days, actor="bob").invitations.send_all_without_access()
        assert len(sent.sent) == EXPIRED_COUNT
        report = deliver_at(services, nine_days, settings)
        assert report.sent == EXPIRED_COUNT
        services.close()


def set_chart_email(services: Services, numbers: list[str], email: str | None) -> None:
    """Change charts' email straight in the store (an address lost or mistyped since the
    invitation went out: no link ends, as the forms would make it)."""
    table = Chart.__table__  # type: ignore[attr-defined]
    with services.db.write_once() as session:
        session.execute(
            sa.update(table).where(table.c.chart_number.in_(numbers)).values(email=email)
        )


@pytest.fixture(scope="session")
def expired_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tui-bulk") / "expired.db"
    seed_expired_store(f"sqlite:///{path}")
    return path


@pytest.fixture
def expired_url(expired_file: Path, tmp_path: Path) -> str:
    copy = tmp_path / "frontdesk.db"
    shutil.copyfile(expired_file, copy)
    return f"sqlite:///{copy}"


class PausedRun:
    """`services.invitations.run_bulk`, pausing (worker thread) once the count reaches `at`
    until the test resumes it (or, `until_cancel`, the screen's cancel is set: a snapshot
    taken mid-run lets the app close), 20 s at most. Records every count."""

    def __init__(self, real: Callable[..., Any], at: int, *, until_cancel: bool = False) -> None:
        self.real = real
        self.at = at
        self.until_cancel = until_cancel
        self.reached = threading.Event()
        self.resume = threading.Event()
        self.counts: list[int] = []

    def __call__(self, action: BulkAction, *, progress: Any, cancel: Any) -> Any:
        def counted(done: int, total: int) -> None:
            self.counts.append(done)
            progress(done, total)
            if done == self.at:
                self.reached.set()
                for _ in range(1000):
                    if self.resume.wait(0.02) or (self.until_cancel and cancel.is_set()):
                        break

        return self.real(action, progress=counted, cancel=cancel)
