"""`--update`: a row of an existing chart changes it through the chart-edit rules (the
`ChartEditor` the caller passes in, each change in the import's transaction under a savepoint,
so a refused change leaves the rest as it was). Only the file's filled cells count: a blank
cell keeps what the chart has. A contact row changes the chart's contact of that name, or adds
one. The Chart Owner is never changed by an import."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from frontdesk.charts.import_header import CHART_FIELDS
from frontdesk.charts.import_report import ChartEditor, Updated
from frontdesk.charts.import_rows import ContactRow, Group, RowReader
from frontdesk.charts.import_values import OWNER_CLIENT
from frontdesk.charts.records import ChartChanges, ContactChanges
from frontdesk.core.errors import FrontDeskError, InvalidInput
from frontdesk.core.text import single_line
from store.models import ChartOwner, RelatedContact


class ChartUpdates:
    """The update steps of one import run."""

    def __init__(
        self, rows: RowReader, session: Session, editor: ChartEditor, *, invite: bool
    ) -> None:
        self.rows = rows
        self.session = session
        self.conn = session.connection()
        self.editor = editor
        self.invite = invite

    def chart(self, group: Group, row: sa.Row[Any]) -> None:
        """Change an existing chart by the chart-edit rules (only the file's filled cells;
        a blank cell keeps what the chart has)."""
        seen = group.seen
        seen.chart_id = row.id
        values = self.rows.checked(group, base=row)
        if values is None or group.refused:
            seen.state = "refused"
            return
        if group.owner == OWNER_CLIENT and self.owner_of(row.id) is not None:
            self.owner_refusal(group.line, group.number)
            seen.state = "refused"
            return
        changed = [name for name in CHART_FIELDS if values[name] != getattr(row, name)]
        seen.state = "updated"
        if not changed:
            self.rows.out.unchanged += 1
            return
        changes = ChartChanges(
            **{name: values[name] if values[name] is not None else "" for name in changed}
        )
        try:
            with self.session.begin_nested():
                done = self.editor.edit_chart(
                    row.chart_number, changes, invite=self.invite, session=self.session
                )
        except FrontDeskError as exc:
            name = exc.field if isinstance(exc, InvalidInput) and exc.field else changed[0]
            self.rows.error(group.line, name, str(exc))
            seen.state = "refused"
            return
        self.rows.out.updated.append(
            Updated(
                group.line,
                row.chart_number,
                done.changed,
                tuple(done.effects),
                emails=len(done.outbox_ids),
            )
        )

    def contact(self, row: ContactRow) -> bool:
        """A contact row of an existing chart: the chart's contact of that name changed by the
        contact-edit rules; True when it is a new contact of the chart (to be added)."""
        seen = row.seen
        assert seen.chart_id is not None
        contact = row.contact
        stored = self.conn.execute(
            sa.select(
                col(RelatedContact.id),
                col(RelatedContact.name),
                col(RelatedContact.relationship),
                col(RelatedContact.email),
                col(RelatedContact.phone),
            ).where(
                col(RelatedContact.chart_id) == seen.chart_id,
                col(RelatedContact.removed_at).is_(None),
            )
        ).all()
        match = next((c for c in stored if c.name.casefold() == contact.name.casefold()), None)
        if row.owner and (match is None or self.owner_of(seen.chart_id) != match.id):
            self.owner_refusal(row.line, row.number)
            return False
        if match is None:
            return True
        changed = {
            name: value
            for name in ("relationship", "email", "phone")
            if (value := getattr(contact, name)) is not None and value != getattr(match, name)
        }
        if not changed:
            return False
        try:
            with self.session.begin_nested():
                done = self.editor.edit_contact(
                    match.id, ContactChanges(**changed), invite=self.invite, session=self.session
                )
        except FrontDeskError as exc:
            name = exc.field if isinstance(exc, InvalidInput) and exc.field else "name"
            self.rows.error(row.line, f"contact_{name}", str(exc))
            return False
        self.rows.out.updated.append(
            Updated(
                row.line,
                row.number,
                done.changed,
                tuple(done.effects),
                contact=f"{match.name} ({contact.relationship})",
                emails=len(done.outbox_ids),
            )
        )
        return False

    def owner_of(self, chart_id: int) -> int | None:
        """The related contact that owns the chart (None: the client, or no owner row)."""
        owner = self.conn.execute(
            sa.select(col(ChartOwner.related_contact_id)).where(
                col(ChartOwner.chart_id) == chart_id
            )
        ).scalar()
        return owner

    def owner_refusal(self, line: int, number: str) -> None:
        shown = single_line(number)
        self.rows.error(
            line,
            "owner",
            f"chart {shown} has another Chart Owner; an import does not change it "
            f"(frontdesk owner set {shown} does).",
        )
