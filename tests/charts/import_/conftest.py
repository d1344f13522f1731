"""Fixtures of the CSV import suite: the importer on SQLite and PostgreSQL (`practice_ready`
from tests/conftest.py), the command line (`cli`, `lite` from tests/cli/conftest.py) running
`charts import` (`frontdesk.cli.chart_import`), and files written as exports write them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import select

from frontdesk.charts.importer import ImportReport, import_charts
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from store.models import AuditEvent, Chart, ChartOwner, Invitation, OutboxEmail, RelatedContact
from tests.cli.conftest import Cli, cli, lite
from tests.factories import PRACTICE_PHONE, services_for, set_up_practice

__all__ = ["Cli", "cli", "lite"]  # the command-line fixtures, re-exported for this folder

WriteFile = Callable[..., Path]
Import = Callable[..., ImportReport]


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """write_file(lines, encoding=..., newline=..., bom=..., name=...) writes an export."""

    def write(
        lines: Sequence[str],
        *,
        encoding: str = "utf-8",
        newline: str = "\r\n",
        bom: bool = False,
        name: str = "clients.csv",
    ) -> Path:
        path = tmp_path / name
        data = (newline.join(lines) + newline).encode(encoding)
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        return path

    return write


@pytest.fixture
def run_import(practice_ready: Services) -> Import:
    """import_charts on the practice's store, with the chart-edit rules for --update."""

    def run(path: Path, **options: Any) -> ImportReport:
        if options.get("update"):
            options.setdefault("editor", practice_ready.chart_edits)
        return import_charts(practice_ready.charts, path, **options)

    return run


def counts(services: Services) -> dict[str, int]:
    """How many rows each table the import writes holds (and the invitations' states)."""
    with services.db.read() as session:

        def count(model: Any, *where: Any) -> int:
            return session.exec(select(sa.func.count()).select_from(model).where(*where)).one()

        return {
            "charts": count(Chart),
            "contacts": count(RelatedContact),
            "owners": count(ChartOwner),
            "audit": count(AuditEvent),
            "outbox": count(OutboxEmail),
            "live": count(Invitation, Invitation.state == "live"),
        }


def chart_row(services: Services, number: str) -> Chart:
    with services.db.read() as session:
        return session.exec(select(Chart).where(Chart.chart_number == number)).one()


def owner_name(services: Services, number: str) -> str:
    """ "Client", or the name of the related contact that owns the chart's portal access."""
    owner = services.views.chart(number).owner
    return "Client" if owner.is_client else owner.name


@pytest.fixture
def lite_services(sqlite_url: str, clock: FrozenClock) -> Iterator[Services]:
    """Services with an active practice on SQLite only: for what the engine does not change
    (reading, decoding, header and date rules)."""
    services = services_for(sqlite_url, clock=clock)
    set_up_practice(services, phone=PRACTICE_PHONE)
    yield services
    services.close()


@pytest.fixture
def lite_import(lite_services: Services) -> Import:
    def run(path: Path, **options: Any) -> ImportReport:
        if options.get("update"):
            options.setdefault("editor", lite_services.chart_edits)
        return import_charts(lite_services.charts, path, **options)

    return run
