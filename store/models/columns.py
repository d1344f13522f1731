"""Column types the table modules share."""

from __future__ import annotations

import sqlalchemy as sa


def utc_datetime() -> sa.DateTime:
    """A timezone-aware DATETIME; every time is stored in UTC."""
    return sa.DateTime(timezone=True)
