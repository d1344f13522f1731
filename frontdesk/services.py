"""The composition root's factory: builds every collaborator once, for the CLI, the TUI, the web
endpoint and the tests alike. Nothing here runs at import time."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.core.clock import Clock, SystemClock
from frontdesk.core.config import Settings
from frontdesk.portal import PortalService, staff_actor
from store.db import Database, open_database


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    portal: PortalService

    def close(self) -> None:
        self.db.dispose()


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    actor: str | None = None,
    db: Database | None = None,
    migrate: bool = True,
) -> Services:
    clock = clock or SystemClock()
    db = db or open_database(settings.database_url, migrate=migrate)
    portal = PortalService(db, clock, settings, actor or staff_actor())
    return Services(settings=settings, db=db, clock=clock, portal=portal)
