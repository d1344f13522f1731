"""Fixtures for the access suites (SQLite and PostgreSQL); data from tests/factories.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher

from frontdesk.access import passwords
from frontdesk.services import Services
from tests.factories import ANA_OBRIEN


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """argon2id with small costs: these suites test rules, not the hash's price."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    )
    yield


@pytest.fixture
def chart(practice_ready: Services) -> str:
    """Chart C-1001 (Ana O'Brien, 1985-03-04, ana@example.com, "Annie") in the practice."""
    practice_ready.charts.add_chart(ANA_OBRIEN)
    return ANA_OBRIEN.chart_number
