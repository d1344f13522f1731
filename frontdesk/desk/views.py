"""The chart as the desk sees it: a browser row (`ChartSummary`) and the chart screen
(`ChartDetail`), read with one Core statement (the chart, its live invitation, enabled
account, owner and the newest email of the invitation), no ORM objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from frontdesk.access.status import (
    ACCOUNT_JOIN,
    CHART,
    ENABLED_ACCT,
    LIVE_INV,
    LIVE_JOIN,
    StatusInfo,
    status_of,
)
from frontdesk.charts.lookup import Owner
from frontdesk.charts.records import Contact
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.errors import NotFound
from frontdesk.core.text import single_line
from frontdesk.mail.delivery import Delivery, delivery_from
from store.db import Database

_OWNER = CHART.metadata.tables["chart_owner"]
_CONTACT = CHART.metadata.tables["related_contact"]
_OUTBOX = CHART.metadata.tables["outbox_email"]
_NEWEST_MAIL = _OUTBOX.alias("newest_mail")


@dataclass(frozen=True)
class ChartSummary:
    chart_number: str
    first_name: str
    last_name: str
    preferred_name: str | None
    date_of_birth: date
    email: str | None
    phone: str | None
    owner: Owner
    status: StatusInfo
    invitation_id: int | None
    sent_at: datetime | None
    sent_by: str | None
    expires_at: datetime | None
    failed_attempts: int
    delivery: Delivery | None
    owner_version: int

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}"


@dataclass(frozen=True)
class ChartDetail(ChartSummary):
    contacts: tuple[Contact, ...] = ()
    account_email: str | None = None


def summary_select(charts: Any) -> Any:
    """What a browser row and the chart screen show, in columns: the chart, its live
    invitation, enabled account, owner (contact) and the newest email of the invitation.
    `charts` is the FROM that brings the `chart` table in (which charts)."""
    chart, inv, acct = CHART.c, LIVE_INV.c, ENABLED_ACCT.c
    newest_mail = (
        sa.select(sa.func.max(_OUTBOX.c.id))
        .where(_OUTBOX.c.invitation_id == inv.id)
        .scalar_subquery()
    )
    owner, contact, mail = _OWNER.c, _CONTACT.c, _NEWEST_MAIL.c
    return sa.select(
        chart.chart_number,
        chart.first_name,
        chart.last_name,
        chart.preferred_name,
        chart.date_of_birth,
        chart.email,
        chart.phone,
        inv.id.label("inv_id"),
        inv.created_at.label("inv_created_at"),
        inv.created_by.label("inv_created_by"),
        inv.expires_at.label("inv_expires_at"),
        inv.failed_attempts.label("inv_failed_attempts"),
        acct.id.label("acct_id"),
        acct.email.label("acct_email"),
        chart.id.label("chart_id"),
        owner.version.label("owner_version"),
        contact.id.label("contact_id"),
        contact.name.label("contact_name"),
        contact.relationship.label("contact_relationship"),
        contact.email.label("contact_email"),
        mail.state.label("mail_state"),
        mail.sent_at.label("mail_sent_at"),
        mail.next_attempt_at.label("mail_next_attempt_at"),
        mail.last_error.label("mail_error"),
        mail.bounce_status.label("mail_bounce_status"),
    ).select_from(
        charts.outerjoin(LIVE_INV, LIVE_JOIN)
        .outerjoin(ENABLED_ACCT, ACCOUNT_JOIN)
        .outerjoin(_OWNER, owner.chart_id == chart.id)
        .outerjoin(_CONTACT, contact.id == owner.related_contact_id)
        .outerjoin(_NEWEST_MAIL, mail.id == newest_mail)
    )


# One chart by its number, for the chart screen (the columns of a browser row).
_ONE_CHART = summary_select(CHART).where(CHART.c.chart_number == sa.bindparam("number"))


def summary_of_row(row: Any, now: datetime) -> ChartSummary:
    """A ChartSummary from a row of `summary_select`."""
    if row.contact_id is not None:
        owner = Owner(row.contact_name, row.contact_relationship, row.contact_email, row.contact_id)
    else:
        owner = Owner(f"{row.first_name} {row.last_name}", "Client", row.email, None)
    has_invitation = row.inv_id is not None
    return ChartSummary(
        chart_number=row.chart_number,
        first_name=row.first_name,
        last_name=row.last_name,
        preferred_name=row.preferred_name,
        date_of_birth=row.date_of_birth,
        email=row.email,
        phone=row.phone,
        owner=owner,
        status=status_of(
            has_account=row.acct_id is not None,
            expires_at=row.inv_expires_at,
            failed_attempts=row.inv_failed_attempts or 0,
            now=now,
        ),
        invitation_id=row.inv_id,
        sent_at=as_utc(row.inv_created_at) if has_invitation else None,
        sent_by=row.inv_created_by,
        expires_at=as_utc(row.inv_expires_at) if has_invitation else None,
        failed_attempts=row.inv_failed_attempts or 0,
        delivery=(
            delivery_from(
                row.mail_state,
                row.mail_sent_at,
                row.mail_next_attempt_at,
                row.mail_error,
                row.mail_bounce_status,
            )
            if has_invitation and row.mail_state is not None
            else None
        ),
        owner_version=row.owner_version or 0,
    )


class ChartViews:
    """One chart as the chart screen shows it."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def chart(self, chart_number: str) -> ChartDetail:
        """Everything the chart screen shows (the same columns as a browser row, read the
        same way, plus the related contacts and the enabled account's email)."""
        now = self.clock.now()
        with self.db.read_connection() as conn:
            row = conn.execute(_ONE_CHART, {"number": chart_number.strip()}).first()
            if row is None:
                raise NotFound(f"No chart with number {single_line(chart_number)!r}.")
            contacts = conn.execute(
                sa.select(
                    _CONTACT.c.id,
                    _CONTACT.c.name,
                    _CONTACT.c.relationship,
                    _CONTACT.c.email,
                    _CONTACT.c.phone,
                )
                .where(_CONTACT.c.chart_id == row.chart_id, _CONTACT.c.removed_at.is_(None))
                .order_by(_CONTACT.c.id)
            ).all()
        summary = summary_of_row(row, now)
        return ChartDetail(
            **{f: getattr(summary, f) for f in summary.__dataclass_fields__},
            contacts=tuple(
                Contact(c.id, c.name, c.relationship, c.email, c.phone) for c in contacts
            ),
            account_email=row.acct_email,
        )
