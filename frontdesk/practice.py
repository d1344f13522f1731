"""The practice: its one settings row (name, phone, portal on/off, invitation validity, time
zone, reply-to), read with its fallback and its time zone in one place, and changed through
`PracticeSettings.update_practice` (audited)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import Session

from frontdesk import audit
from frontdesk.core import fields
from frontdesk.core.clock import Clock, zone_named
from frontdesk.core.errors import InvalidInput
from store.db import Database
from store.models import Practice

PRACTICE_ID = 1  # the store holds one practice


def practice_row(session: Session) -> Practice:
    """The practice row, or an unsaved blank one where none was set up yet."""
    practice = session.get(Practice, PRACTICE_ID)
    if practice is None:
        return Practice(id=PRACTICE_ID, name="", phone="")
    return practice


def practice_zone(practice: Practice) -> ZoneInfo:
    """The practice's time zone (UTC when its name is unknown here)."""
    return zone_named(practice.timezone)


class PracticeSettings:
    """Reads and changes of the practice row."""

    def __init__(self, db: Database, clock: Clock, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor

    def practice(self) -> Practice:
        with self.db.read() as session:
            return practice_row(session)

    def zone(self) -> ZoneInfo:
        """The practice's time zone, read now."""
        return practice_zone(self.practice())

    def practice_contact(self) -> tuple[str, str]:
        """The practice's name and phone, for a page; on SQLite one row through the driver."""
        if self.db.is_sqlite:
            row = self.db.read_row_sqlite("SELECT name, phone FROM practice WHERE id = 1", {})
            return (str(row[0] or ""), str(row[1] or "")) if row is not None else ("", "")
        practice = self.practice()
        return practice.name, practice.phone

    def update_practice(
        self,
        *,
        name: str | None = None,
        phone: str | None = None,
        portal_active: bool | None = None,
        invitation_days: int | None = None,
        timezone: str | None = None,
        reply_to: str | None = None,
    ) -> Practice:
        """Create or change the practice; turning the portal on is "activate the portal"."""
        if name is not None:
            name = fields.clean_text(name, "name", "Practice name", limit=200)
        if phone is not None:
            phone = fields.clean_text(phone, "phone", "Practice phone", required=False, limit=40)
        if invitation_days is not None and not 1 <= invitation_days <= 30:
            raise InvalidInput("Invitation validity must be 1 to 30 days.", "invitation_days")
        if timezone is not None:
            fields.check_zone(timezone, "timezone")
        if reply_to is not None and reply_to != "":
            reply_to = fields.email_or_error(reply_to, "reply_to")

        def work(session: Session) -> Practice:
            now = self.clock.now()
            practice = session.get(Practice, PRACTICE_ID)
            created = practice is None
            if practice is None:
                practice = Practice(id=PRACTICE_ID)
            changes = []
            for key, value in (
                ("name", name),
                ("phone", phone),
                ("portal_active", portal_active),
                ("invitation_days", invitation_days),
                ("timezone", timezone),
                ("reply_to", reply_to if reply_to != "" else None),
            ):
                if value is not None or (key == "reply_to" and reply_to == ""):
                    if getattr(practice, key) != value:
                        changes.append(key)
                    setattr(practice, key, value)
            if portal_active and not (practice.name or "").strip():
                raise InvalidInput(
                    "Set the practice name before activating the portal.", "portal_active"
                )
            practice.updated_at = now
            session.add(practice)
            if created or changes:
                action = "practice created" if created else "practice updated"
                if "portal_active" in changes:
                    action = "portal activated" if portal_active else "portal deactivated"
                audit.record(
                    session,
                    at=now,
                    actor=self.actor,
                    action=action,
                    detail=",".join(changes),
                    source=f"os:{self.actor}",
                )
            return practice

        return self.db.transact(work)
