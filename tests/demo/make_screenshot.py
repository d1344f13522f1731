"""The README's picture of `frontdesk demo`: its first screen, as an SVG.

    python -m tests.demo.make_screenshot docs/demo.svg

Runs the real demo stack (fresh database, capture server, web endpoint) on a frozen clock, takes
the TUI's first screen with the welcome toast, and stops everything again.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from frontdesk.app import FrontDeskApp
from frontdesk.core.clock import FrozenClock
from frontdesk.demo.stack import DEMO_DATABASE, DemoStack, demo_info
from tests.factories import T0
from tests.tui.conftest import settle

SIZE = (100, 30)


async def shoot(target: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / DEMO_DATABASE
        with DemoStack(path, clock=FrozenClock(T0), actor="alice") as stack:
            app = FrontDeskApp(
                services=stack.services, delivery=stack.deliver, demo=demo_info(stack)
            )
            app.animation_level = "none"
            async with app.run_test(size=SIZE, notifications=True) as pilot:
                await settle(pilot)
                await pilot.pause()
                target.parent.mkdir(parents=True, exist_ok=True)
                app.save_screenshot(filename=target.name, path=str(target.parent))


if __name__ == "__main__":
    asyncio.run(shoot(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/demo.svg")))
