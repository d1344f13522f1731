"""Fixtures for the lifecycle suites (run on SQLite and PostgreSQL); their data comes from
tests/factories.py."""

from __future__ import annotations

import pytest

from frontdesk.services import Services
from tests.factories import ANA_OBRIEN


@pytest.fixture
def chart(practice_ready: Services) -> str:
    """Chart C-1001 (Ana O'Brien, 1985-03-04, ana@example.com, "Annie") in the practice."""
    practice_ready.charts.add_chart(ANA_OBRIEN)
    return ANA_OBRIEN.chart_number
