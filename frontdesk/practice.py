"""The practice: its one settings row (name, phone, portal on/off, invitation validity, time
zone, reply-to), read with its fallback and its time zone in one place, and changed through
`PracticeSettings.update_practice` (audited)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from frontdesk import audit
from frontdesk.core import fields
from frontdesk.core.clock import Clock, zone_named
from frontdesk.core.errors import InvalidInput
from store.db import Database
from store.models import MessageAudience, MessagingMode, Practice

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


MESSAGE_PROMISE_LIMIT = 200


@dataclass(frozen=True)
class MessagingSettings:
    """The practice's portal-messaging settings (issue 13), as the services and pages use
    them. `promise` is the practice's words for when it answers ("within one business day"),
    None when not set; `audiences` are those offered to clients, in the order shown;
    `notify_email` is told (without content) when a client writes, None for no one."""

    mode: MessagingMode
    promise: str | None
    audiences: tuple[MessageAudience, ...]
    notify_email: str | None

    @property
    def clients_may_start(self) -> bool:
        return self.mode is MessagingMode.ON

    @property
    def enabled(self) -> bool:
        return self.mode is not MessagingMode.OFF


def messaging_settings(practice: Practice) -> MessagingSettings:
    """The messaging settings of a practice row (unknown stored values fall back safely:
    an unknown mode is OFF, unknown audiences are left out, none left means front desk)."""
    try:
        mode = MessagingMode(practice.messaging or MessagingMode.ON)
    except ValueError:
        mode = MessagingMode.OFF
    audiences = tuple(
        MessageAudience(name)
        for name in (practice.message_audiences or "").split(",")
        if name in MessageAudience.__members__.values()
    )
    return MessagingSettings(
        mode=mode,
        promise=(practice.message_promise or "").strip() or None,
        audiences=audiences or (MessageAudience.FRONT_DESK,),
        notify_email=practice.message_notify_email or None,
    )


def parse_audiences(value: str | Iterable[str]) -> tuple[MessageAudience, ...]:
    """Audiences written `front_desk,billing` (or as a list): each known, none repeated, at
    least one; InvalidInput naming `message_audiences` otherwise."""
    names = value.split(",") if isinstance(value, str) else list(value)
    found: list[MessageAudience] = []
    for name in (n.strip().lower().replace("-", "_") for n in names):
        if not name:
            continue
        try:
            audience = MessageAudience(name)
        except ValueError:
            known = ", ".join(a.value for a in MessageAudience)
            raise InvalidInput(
                f"Unknown message audience {name!r}; use {known}.", "message_audiences"
            ) from None
        if audience not in found:
            found.append(audience)
    if not found:
        raise InvalidInput("Offer at least one message audience.", "message_audiences")
    return tuple(found)


def messaging_changes(
    *,
    mode: MessagingMode | str | None = None,
    promise: str | None = None,
    audiences: str | Iterable[str] | None = None,
    notify_email: str | None = None,
) -> dict[str, str | None]:
    """The practice columns that these messaging settings would set, checked and cleaned
    (InvalidInput naming the field otherwise); None arguments are left out."""
    wanted: dict[str, str | None] = {}
    if mode is not None:
        try:
            wanted["messaging"] = MessagingMode(mode).value
        except ValueError:
            known = ", ".join(m.value for m in MessagingMode)
            raise InvalidInput(f"Messaging must be one of {known}.", "messaging") from None
    if promise is not None:
        wanted["message_promise"] = (
            fields.clean_text(
                promise,
                "message_promise",
                "The message promise",
                required=False,
                limit=MESSAGE_PROMISE_LIMIT,
            )
            or None
        )
    if audiences is not None:
        wanted["message_audiences"] = ",".join(a.value for a in parse_audiences(audiences))
    if notify_email is not None:
        wanted["message_notify_email"] = (
            fields.email_or_error(notify_email, "message_notify_email")
            if notify_email.strip()
            else None
        )
    return wanted


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

    def messaging(self) -> MessagingSettings:
        """The practice's portal-messaging settings, read now."""
        return messaging_settings(self.practice())

    def update_messaging(
        self,
        *,
        mode: MessagingMode | str | None = None,
        promise: str | None = None,
        audiences: str | Iterable[str] | None = None,
        notify_email: str | None = None,
    ) -> MessagingSettings:
        """Change the messaging settings (None leaves one as it is; "" clears the promise or
        the notification address). Audited, one row naming what changed."""
        wanted = messaging_changes(
            mode=mode, promise=promise, audiences=audiences, notify_email=notify_email
        )

        def work(session: Session) -> MessagingSettings:
            now = self.clock.now()
            practice = session.get(Practice, PRACTICE_ID)
            if practice is None:
                raise InvalidInput("Set the practice up first (its name).", "name")
            changes = [key for key, value in wanted.items() if getattr(practice, key) != value]
            for key, value in wanted.items():
                setattr(practice, key, value)
            if changes:
                practice.updated_at = now
                session.add(practice)
                audit.record(
                    session,
                    at=now,
                    actor=self.actor,
                    action="messaging settings changed",
                    detail=",".join(changes)
                    + (f"; messaging {practice.messaging}" if "messaging" in changes else ""),
                    source=f"os:{self.actor}",
                )
            return messaging_settings(practice)

        return self.db.transact(work)
