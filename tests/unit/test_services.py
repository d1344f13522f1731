"""The composition root builds each service when first asked for, once per `Services`: the
terminal's first page of charts loads only the chart search (issue 12), and threads asking at
once share one object."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from frontdesk.core.config import Settings
from frontdesk.services import build_services
from store.db import open_database

LATER = ("frontdesk.access.invitations", "frontdesk.portal.tasks", "frontdesk.portal.messages",
         "frontdesk.desk.inbox", "frontdesk.mail.outbox")  # fmt: skip


def test_the_search_loads_without_the_other_services(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_database(url).dispose()  # migrated here: the process below opens a current store
    code = (
        "import sys\n"
        "from frontdesk.core.config import Settings\n"
        "from frontdesk.services import build_services\n"
        f"services = build_services(Settings(database_url={url!r}), actor='t')\n"
        "services.search.search_charts('a')\n"
        f"print([m for m in {LATER!r} if m in sys.modules])\n"
        "new_chart = services.new_chart\n"
        "assert new_chart.tasks is services.tasks and new_chart.charts is services.charts\n"
        f"print([m for m in {LATER!r} if m in sys.modules])\n"
        "services.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.splitlines()
    assert before == "[]"
    assert "frontdesk.access.invitations" in after and "frontdesk.portal.tasks" in after


def test_threads_asking_at_once_share_one_service(tmp_path: Path) -> None:
    services = build_services(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}"), actor="t")
    start = threading.Barrier(8)
    found: list[object] = []

    def ask() -> None:
        start.wait()
        found.append(services.new_chart)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(found) == 8 and all(f is found[0] for f in found)
        assert services.new_chart is found[0]
        assert found[0].invitations is services.invitations  # type: ignore[attr-defined]
    finally:
        services.close()
