"""Chart records: adding a chart (checked by the shared field rules) and its related contacts.
A new chart's client owns its portal access until ownership is changed.

`checked_chart_row` and `checked_contact` are the checks themselves, as plain functions that
return column values: `ChartRecords`, the chart edits and the CSV import (which inserts rows in
bulk, without an ORM object per row) all check through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from frontdesk import audit
from frontdesk.charts.lookup import chart_by_number
from frontdesk.core import fields
from frontdesk.core.clock import Clock
from frontdesk.core.errors import InvalidInput
from frontdesk.core.text import has_controls
from frontdesk.practice import practice_row, practice_zone
from store.db import Database
from store.models import Chart, ChartOwner, RelatedContact


@dataclass(frozen=True)
class ChartInput:
    chart_number: str
    first_name: str
    last_name: str
    date_of_birth: str | date
    email: str | None = None
    preferred_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ContactInput:
    name: str
    relationship: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ChartChanges:
    """The fields of a chart to change (None: leave as it is; "" clears an optional field).
    Applied by `frontdesk.access.chart_edits` with what a change does to portal access."""

    first_name: str | None = None
    last_name: str | None = None
    preferred_name: str | None = None
    date_of_birth: str | date | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ContactChanges:
    """The fields of a related contact to change (None: leave as it is)."""

    name: str | None = None
    relationship: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class CheckedContact:
    """A related contact's fields as the rules store them."""

    name: str
    relationship: str
    email: str | None
    phone: str | None


def checked_chart_row(data: ChartInput, *, today: date, now: datetime) -> dict[str, Any]:
    """Check a chart's fields by the shared rules; the `chart` columns to store (search keys
    included, `created_at` / `updated_at` = `now`), or InvalidInput naming the field. `today`
    is the practice's local date (a date of birth may not be later)."""
    number = (data.chart_number or "").strip()
    if not number:
        raise InvalidInput("Chart number is required.", "chart_number")
    if has_controls(number) or len(number) > 40 or any(c.isspace() for c in number):
        raise InvalidInput(
            "Chart number must be up to 40 characters without spaces.", "chart_number"
        )
    first = fields.clean_text(data.first_name, "first_name", "First name")
    last = fields.clean_text(data.last_name, "last_name", "Last name")
    preferred = fields.clean_text(
        data.preferred_name or "", "preferred_name", "Preferred name", required=False
    )
    dob = fields.date_of_birth(data.date_of_birth, today)
    email = fields.email_or_error(data.email) if data.email and data.email.strip() else None
    phone = fields.clean_text(data.phone or "", "phone", "Phone", required=False, limit=40) or None
    key = fields.search_key_of
    return {
        "chart_number": number,
        "first_name": first,
        "last_name": last,
        "preferred_name": preferred or None,
        "date_of_birth": dob,
        "email": email,
        "phone": phone,
        "last_key": key(last, 100),
        "first_key": key(first, 100),
        "email_key": (email or "").lower(),
        "search_text": key(f"{last} {first} {preferred} {number} {email or ''}", 1000),
        "created_at": now,
        "updated_at": now,
    }


def checked_contact(contact: ContactInput) -> CheckedContact:
    """Check a related contact's fields by the shared rules (InvalidInput naming the field:
    name, relationship, email or phone)."""
    name = fields.clean_text(contact.name, "name", "Name")
    relationship = fields.clean_text(contact.relationship, "relationship", "Relationship", limit=60)
    email = (
        fields.email_or_error(contact.email) if contact.email and contact.email.strip() else None
    )
    phone = (
        fields.clean_text(contact.phone or "", "phone", "Phone", required=False, limit=40) or None
    )
    return CheckedContact(name, relationship, email, phone)


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    relationship: str
    email: str | None
    phone: str | None = None


@dataclass(frozen=True)
class ContactView(Contact):
    """A related contact as the desk lists it: whether it owns the chart's portal access."""

    is_owner: bool = False


class ChartRecords:
    """Adds charts and related contacts; every addition is audited in its transaction."""

    def __init__(self, db: Database, clock: Clock, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor

    def add_chart(self, data: ChartInput, *, session: Session | None = None) -> str:
        """Add a chart (its client owns portal access). Returns the chart number."""
        if session is not None:
            return self._add_chart(session, data)
        return self.db.transact(lambda s: self._add_chart(s, data))

    def validate_chart(self, data: ChartInput, *, today: date | None = None) -> Chart:
        """Check a chart's fields; raise InvalidInput naming the field. `today` is the
        practice's local date (looked up when not given)."""
        now = self.clock.now()
        if today is None:
            with self.db.read() as session:
                zone = practice_zone(practice_row(session))
            today = now.astimezone(zone).date()
        return Chart(**checked_chart_row(data, today=today, now=now))

    def _add_chart(self, session: Session, data: ChartInput) -> str:
        today = self.clock.now().astimezone(practice_zone(practice_row(session))).date()
        chart = self.validate_chart(data, today=today)
        exists = session.exec(
            select(Chart.id).where(Chart.chart_number == chart.chart_number)
        ).first()
        if exists is not None:
            raise InvalidInput(f"Chart number {chart.chart_number} already exists.", "chart_number")
        session.add(chart)
        session.flush()
        assert chart.id is not None
        session.add(
            ChartOwner(chart_id=chart.id, updated_at=chart.created_at, updated_by=self.actor)
        )
        self._audit(session, "chart added", chart)
        return chart.chart_number

    def add_contact(
        self, chart_number: str, contact: ContactInput, *, session: Session | None = None
    ) -> Contact:
        """Add a related contact (guardian, parent, ...) to a chart. With `session`, inside
        the caller's transaction (the CSV import adds charts and contacts as one)."""

        def work(session: Session) -> Contact:
            chart = chart_by_number(session, chart_number, lock=True)
            row = self.new_contact(session, chart, contact)
            assert row.id is not None
            return Contact(row.id, row.name, row.relationship, row.email, row.phone)

        if session is not None:
            return work(session)
        return self.db.transact(work)

    def new_contact(self, session: Session, chart: Chart, contact: ContactInput) -> RelatedContact:
        """Step: check and add a related contact to `chart` in the caller's transaction."""
        checked = checked_contact(contact)
        assert chart.id is not None
        row = RelatedContact(
            chart_id=chart.id,
            name=checked.name,
            relationship=checked.relationship,
            email=checked.email,
            phone=checked.phone,
            created_at=self.clock.now(),
        )
        session.add(row)
        session.flush()
        self._audit(session, "contact added", chart, detail=contact_detail(checked))
        return row

    def _audit(self, session: Session, action: str, chart: Chart, *, detail: str = "") -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action=action,
            chart=chart,
            detail=detail,
            source=f"os:{self.actor}",
        )


def contact_detail(contact: CheckedContact) -> str:
    """What the audit row of an added contact says: "Mina Park (Mother)"."""
    return f"{contact.name} ({contact.relationship})"
