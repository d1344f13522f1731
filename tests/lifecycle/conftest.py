"""Helpers for the lifecycle suites (run on SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from frontdesk.charts.records import ChartInput
from frontdesk.services import Services
from store.models import OutboxEmail

LINK_RE = re.compile(r"/register/([A-Za-z0-9_-]{43})")


def latest_token(services: Services) -> str:
    """The token in the newest queued email (the only place a raw token exists)."""
    with services.db.read() as session:
        row = session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id).desc())).first()
    assert row is not None
    match = LINK_RE.search(row.body_text)
    assert match, "no registration link in the newest email"
    return match.group(1)


@pytest.fixture
def chart(practice_ready: Services) -> str:
    practice_ready.charts.add_chart(
        ChartInput("C-1001", "Ana", "O'Brien", "1985-03-04", "ana@example.com", "Annie")
    )
    return "C-1001"
