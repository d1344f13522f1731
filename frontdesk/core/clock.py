"""The one source of time. Everything that needs "now" takes a Clock, so tests can freeze it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; tests use it instead of sleeping."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._at

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        """Move the clock forward by `seconds` (plus any timedelta keyword arguments)."""
        with self._lock:
            self._at += timedelta(seconds=seconds, **kwargs)
            return self._at

    def set(self, at: datetime) -> None:
        with self._lock:
            self._at = at.astimezone(UTC)


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values from SQLite are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def zone_named(name: str | None) -> ZoneInfo:
    """The time zone of that IANA name; UTC when the name is empty or unknown (a practice's
    stored zone that this machine's tz database lacks still shows times, in UTC)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def human_time(value: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """A time as staff read it on the command line and in the doctor's report: "Thu Dec 3,
    4:00 PM" in `zone` (a 12-hour clock), with the year when it is not that of `now`."""
    local = as_utc(value).astimezone(zone)
    text = f"{local:%a %b} {local.day}"
    if now is not None and as_utc(now).astimezone(zone).year != local.year:
        text += f" {local.year}"
    hour = local.hour % 12 or 12
    return f"{text}, {hour}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"
