"""How values read on screen: times in the practice's time zone, dates, and status tags.

Times are stored in UTC; staff read them in the practice's zone. The status tag's text comes from
`frontdesk.access.rules`; its colour comes from the stylesheet through the CSS class named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from frontdesk.access.rules import PortalStatus, StatusInfo
from frontdesk.core.clock import as_utc, zone_named

if TYPE_CHECKING:  # the screens import no database layer at start (see frontdesk/app.py)
    from store.models import Practice

# The status names (the `--json` names), from the rules (no database layer).
NO_PORTAL_ACCESS = PortalStatus.NO_PORTAL_ACCESS.value
INVITED = PortalStatus.INVITED.value
EXPIRED = PortalStatus.EXPIRED.value
LOCKED = PortalStatus.LOCKED.value
ACTIVE = PortalStatus.ACTIVE.value

# One CSS class per tag; frontdesk.tcss decides what each looks like.
_STATUS_CLASSES = {
    NO_PORTAL_ACCESS: "-no-access",
    INVITED: "-invited",
    EXPIRED: "-expired",
    LOCKED: "-locked",
    ACTIVE: "-active",
}
EXPIRING_CLASS = "-expiring"
STATUS_CLASSES = (*_STATUS_CLASSES.values(), EXPIRING_CLASS)


def status_class(info: StatusInfo) -> str:
    """The CSS class of a status tag ("-expiring" for an invitation in its last 48 hours)."""
    if info.status.value == INVITED and info.expiring_soon:
        return EXPIRING_CLASS
    return _STATUS_CLASSES[info.status.value]


def status_label(info: StatusInfo) -> str:
    """The tag text: the status label, or "Expiring soon" for an invitation about to lapse."""
    if info.status.value == INVITED and info.expiring_soon:
        return "Expiring soon"
    return info.label


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """'Nov 19, 2026 10:00 AM EST' in the practice's zone."""
    local = as_utc(moment).astimezone(zone)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local:%b} {local.day}, {local.year} {hour}:{local:%M} {local:%p} {local:%Z}"


def short_time(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """'Nov 19, 10:00 AM' in the practice's zone; the year when it is not this year, and the
    zone's abbreviation when it is not today's (EDT in a list headed EST)."""
    local = as_utc(moment).astimezone(zone)
    today = as_utc(now).astimezone(zone)
    hour = local.strftime("%I").lstrip("0") or "12"
    year = "" if local.year == today.year else f" {local.year}"
    abbreviation = "" if local.tzname() == today.tzname() else f" {local:%Z}"
    return f"{local:%b} {local.day}{year}, {hour}:{local:%M} {local:%p}{abbreviation}"


def local_day(moment: datetime, zone: ZoneInfo) -> str:
    """'Nov 19, 2026' in the practice's zone."""
    local = as_utc(moment).astimezone(zone)
    return f"{local:%b} {local.day}, {local.year}"


def birth_date(value: date) -> str:
    """Dates of birth as staff type them: YYYY-MM-DD."""
    return value.isoformat()


@dataclass(frozen=True)
class PracticeView:
    """What the screens need of the practice (a detached, immutable copy)."""

    name: str = ""
    timezone: str = "UTC"
    invitation_days: int = 7
    portal_active: bool = False

    @classmethod
    def of(cls, practice: Practice) -> PracticeView:
        return cls(
            name=practice.name,
            timezone=practice.timezone,
            invitation_days=practice.invitation_days,
            portal_active=practice.portal_active,
        )

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone)  # UTC when the name is unknown

    def new_link_expiry(self, now: datetime) -> datetime:
        """When a link sent now would expire."""
        return now + timedelta(days=self.invitation_days)
