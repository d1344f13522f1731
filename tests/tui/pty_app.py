"""Run FrontDeskApp on a database URL in a real terminal (used by the pseudo-terminal test):
`python -m tests.tui.pty_app sqlite:///PATH`."""

from __future__ import annotations

import sys

from frontdesk.app import FrontDeskApp
from frontdesk.core.config import Settings
from tests.factories import MAIL_FROM, services_for


def main(database_url: str) -> None:
    services = services_for(Settings(database_url=database_url, mail_from=MAIL_FROM))
    try:
        FrontDeskApp(services=services).run()
    finally:
        services.close()


if __name__ == "__main__":
    main(sys.argv[1])
