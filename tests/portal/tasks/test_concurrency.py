"""Two desks assigning the same package to a chart at the same moment leave one set of
tasks; a client's two browsers submitting at once submit once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from frontdesk.core.errors import NotAllowed
from frontdesk.services import Services
from store.states import TaskState
from tests.factories import services_for
from tests.portal.conftest import ACTIVE_CHART, Client


def race(services: Services, work: Callable[[Services], Any], count: int = 4) -> list[Any]:
    """Run `work` on `count` threads, each with its own services (its own engine), released
    together; each result or the error it raised."""
    desks = [services_for(services.settings, clock=services.clock) for _ in range(count)]
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[index] = work(desks[index])
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for desk in desks:
        desk.close()
    return results


def test_one_package_assignment_wins(desk: Services) -> None:
    desk.forms.forms()
    results = race(desk, lambda d: d.tasks.assign(ACTIVE_CHART, package_key="new-client"))
    assert sum(not isinstance(r, Exception) for r in results) == 1, results
    assert all(isinstance(r, NotAllowed) for r in results if isinstance(r, Exception)), results
    assert len(desk.tasks.chart_tasks(ACTIVE_CHART)) == 4


def test_one_submission_wins(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    answers = {f"gad7_{n}": "2" for n in range(1, 8)}
    results = race(desk, lambda d: d.tasks.submit(ana, task.id, answers))
    done = [r for r in results if not isinstance(r, Exception) and r.ok]
    assert len(done) == 1, results
    assert all(isinstance(r, NotAllowed) for r in results if r not in done), results
    assert desk.tasks.task(task.id).state is TaskState.SUBMITTED
    assert desk.inbox.items().total == 1
