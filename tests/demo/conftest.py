"""Fixtures for the demo suite: a demo database seeded once per run (frozen clock, real SMTP
capture during seeding), copied for each test, and a running DemoStack on the copy."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from frontdesk.core.clock import FrozenClock
from frontdesk.demo.stack import DEMO_DATABASE, CapturedMail, DemoStack
from tests.factories import T0


@dataclass(frozen=True)
class Seeded:
    path: Path
    history: list[CapturedMail]  # what the capture server received while seeding


@pytest.fixture(scope="session")
def seeded_demo(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A fresh demo database as `frontdesk demo` makes it (40 charts), once per run."""
    path = tmp_path_factory.mktemp("demo-seed") / DEMO_DATABASE
    with DemoStack(path, clock=FrozenClock(T0), actor="alice") as stack:
        assert stack.seeded
        history = stack.mailbox.messages()
    return Seeded(path, history)


@pytest.fixture
def demo_copy(seeded_demo: Seeded, tmp_path: Path) -> Path:
    copy = tmp_path / DEMO_DATABASE
    shutil.copyfile(seeded_demo.path, copy)
    return copy


@pytest.fixture
def demo_clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def stack(demo_copy: Path, demo_clock: FrozenClock) -> Iterator[DemoStack]:
    """A running demo (SMTP capture, web endpoint, delivery) on a copy of the seeded database,
    logging to demo.log beside it (as `frontdesk demo` does)."""
    log = demo_copy.parent / "demo.log"
    with DemoStack(demo_copy, reuse=True, clock=demo_clock, actor="alice", log_path=log) as running:
        yield running
