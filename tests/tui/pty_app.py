"""Run FrontDeskApp on a database URL in a real terminal (used by the pseudo-terminal test):
`python -m tests.tui.pty_app sqlite:///PATH`."""

from __future__ import annotations

import sys

from frontdesk.app import FrontDeskApp
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import build_services
from tests.conftest import T0


def main(database_url: str) -> None:
    settings = Settings(database_url=database_url, mail_from="portal@cedar.example")
    services = build_services(settings, clock=FrozenClock(T0), actor="alice")
    try:
        FrontDeskApp(services=services).run()
    finally:
        services.close()


if __name__ == "__main__":
    main(sys.argv[1])
