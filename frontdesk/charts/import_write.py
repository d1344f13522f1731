"""The import's work inside its one transaction: new charts, their related contacts, Chart
Owners and audit rows inserted a batch at a time with Core `executemany` (no ORM object per row;
the practice row read once), rows of existing charts handed to `ChartUpdates` when the import
updates. The rows are read and checked by `RowReader`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from frontdesk import audit
from frontdesk.charts.import_header import CHART_FIELDS, Columns
from frontdesk.charts.import_report import ChartEditor, GuardianOwner, Outcome
from frontdesk.charts.import_rows import ContactRow, Group, RowReader
from frontdesk.charts.import_update import ChartUpdates
from frontdesk.charts.import_values import DateFormat, is_guardian, is_minor
from frontdesk.charts.records import contact_detail
from frontdesk.core.clock import Clock
from frontdesk.core.text import single_line
from frontdesk.practice import practice_row, practice_zone
from store.bulk import insert_many, reserve_ids
from store.models import Chart, ChartOwner, RelatedContact


@dataclass
class NewContact:
    row: ContactRow
    chart_id: int
    added_chart: bool  # its chart was added by this import


class ImportWriter(RowReader):
    """One run of the import inside `session`'s transaction (see the module docstring)."""

    def __init__(
        self,
        session: Session,
        *,
        clock: Clock,
        actor: str,
        columns: Columns,
        dates: DateFormat,
        update: bool,
        invite: bool,
        editor: ChartEditor | None,
    ) -> None:
        now = clock.now()
        today = now.astimezone(practice_zone(practice_row(session))).date()
        super().__init__(columns=columns, dates=dates, today=today, now=now)
        self.session = session
        self.conn = session.connection()
        self.actor = actor
        self.source = f"os:{actor}"
        self.updates = (
            ChartUpdates(self, session, editor, invite=invite)
            if update and editor is not None
            else None
        )

    # ---------------------------------------------------------------- writing a batch

    def finish(self) -> Outcome:
        """Write what is left; the outcome, its errors in line order."""
        self.flush()
        out = self.out
        out.without_owner_email = sum(
            1
            for seen in self._seen.values()
            if seen.state == "added" and not seen.has_email and seen.owner_contact is None
        )
        out.errors.sort(key=lambda e: (e.line, e.field.startswith("contact_")))
        return out

    def flush(self) -> None:
        groups, self._batch = self._batch, []
        stored = self._stored([g.number for g in groups if g.number])
        inserts: list[tuple[Group, dict[str, Any]]] = []
        for group in groups:
            row = stored.get(group.number)
            if row is None:
                values = self.checked(group)
                if values is None or group.refused:
                    group.seen.state = "refused"
                    continue
                inserts.append((group, values))
            elif self.updates is None:
                self.error(
                    group.line,
                    "chart_number",
                    f"Chart number {single_line(group.number)} already exists "
                    "(--update changes existing charts).",
                )
                group.seen.state = "refused"
            else:
                self.updates.chart(group, row)
        self._insert_charts(inserts)
        self._write_contacts()
        self._write_owners([group for group, _ in inserts])
        self.session.expunge_all()  # the edit steps' objects: memory stays bounded

    def _stored(self, numbers: Sequence[str]) -> dict[str, sa.Row[Any]]:
        if not numbers:
            return {}
        query = sa.select(
            col(Chart.id),
            col(Chart.chart_number),
            *(getattr(Chart, name) for name in CHART_FIELDS),
        ).where(col(Chart.chart_number).in_(numbers))
        return {row.chart_number: row for row in self.conn.execute(query)}

    def _insert_charts(self, inserts: list[tuple[Group, dict[str, Any]]]) -> None:
        if not inserts:
            return
        ids = reserve_ids(self.conn, Chart, len(inserts))
        rows = [
            values | {"id": chart_id} for (_, values), chart_id in zip(inserts, ids, strict=True)
        ]
        insert_many(self.conn, Chart, rows)
        for (group, values), chart_id in zip(inserts, ids, strict=True):
            seen = group.seen
            seen.state, seen.chart_id = "added", chart_id
            seen.has_email = values["email"] is not None
            seen.guardian = (
                not seen.has_email
                and not seen.explicit_owner
                and is_minor(values["date_of_birth"], self.today)
            )
            self.out.charts_added.append(values["chart_number"])
        events = [
            self._event("chart added", group.seen.chart_id, group.number, "")
            for group, _ in inserts
        ]
        audit.record_many(self.session, events)

    def _write_contacts(self) -> None:
        pending, self._contacts = self._contacts, []
        new: list[NewContact] = []
        for row in pending:
            seen = row.seen
            if seen.state == "refused":
                if not row.on_chart_row:
                    self.error(
                        row.line,
                        "chart_number",
                        f"contact skipped: chart {single_line(row.number)} was not imported",
                    )
            elif seen.state == "added":
                assert seen.chart_id is not None
                new.append(NewContact(row, seen.chart_id, True))
            elif self.updates is not None and self.updates.contact(row):
                assert seen.chart_id is not None
                new.append(NewContact(row, seen.chart_id, False))
        if not new:
            return
        ids = reserve_ids(self.conn, RelatedContact, len(new))
        rows = [
            {
                "id": contact_id,
                "chart_id": item.chart_id,
                "name": item.row.contact.name,
                "relationship": item.row.contact.relationship,
                "email": item.row.contact.email,
                "phone": item.row.contact.phone,
                "created_at": self.now,
                "removed_at": None,
            }
            for item, contact_id in zip(new, ids, strict=True)
        ]
        insert_many(self.conn, RelatedContact, rows)
        events: list[dict[str, Any]] = []
        late: list[tuple[int, int]] = []  # (chart, contact): owner rows written before
        for item, contact_id in zip(new, ids, strict=True):
            self.out.contacts_added += 1
            detail = contact_detail(item.row.contact)
            events.append(self._event("contact added", item.chart_id, item.row.number, detail))
            if item.added_chart and self._owns(item.row):
                seen = item.row.seen
                seen.owner_contact = contact_id
                events.append(
                    self._event("owner changed", item.chart_id, item.row.number, f"to {detail}")
                )
                if seen.owner_written:
                    late.append((item.chart_id, contact_id))
        audit.record_many(self.session, events)
        for chart_id, contact_id in late:
            self.conn.execute(
                sa.update(ChartOwner)
                .where(col(ChartOwner.chart_id) == chart_id)
                .values(
                    related_contact_id=contact_id,
                    version=col(ChartOwner.version) + 1,
                    updated_at=self.now,
                )
            )

    def _owns(self, row: ContactRow) -> bool:
        """Whether this new contact of a new chart owns its portal access: named by the owner
        column, or a guardian (with an email) of a child without an email of its own."""
        seen = row.seen
        contact = row.contact
        if row.owner:
            self.out.contact_owners += 1
            if seen.owner_contact is not None:  # a guardian by default, until this row
                self.out.guardian_owners = [
                    g for g in self.out.guardian_owners if g.chart_number != row.number
                ]
            return True
        if (
            seen.guardian
            and seen.owner_contact is None
            and contact.email
            and is_guardian(contact.relationship)
        ):
            self.out.guardian_owners.append(
                GuardianOwner(row.line, row.number, contact.name, contact.relationship)
            )
            return True
        return False

    def _write_owners(self, groups: list[Group]) -> None:
        """The Chart Owner rows of the charts this batch added."""
        if not groups:
            return
        owners = [
            {
                "chart_id": group.seen.chart_id,
                "related_contact_id": group.seen.owner_contact,
                "version": 1,
                "updated_at": self.now,
                "updated_by": self.actor,
            }
            for group in groups
        ]
        insert_many(self.conn, ChartOwner, owners)
        for group in groups:
            group.seen.owner_written = True

    # ---------------------------------------------------------------- helpers

    def _event(self, action: str, chart_id: int | None, number: str, detail: str) -> dict[str, Any]:
        return audit.event_row(
            at=self.now,
            actor=self.actor,
            action=action,
            source=self.source,
            chart_id=chart_id,
            chart_number=number,
            detail=detail,
        )
