"""What the import reports, and what it needs from the layer above: the refused rows (line and
column), the charts and contacts `--update` changed, the guardians made Chart Owner, and the
`ChartEditor` protocol through which an update follows the chart-edit rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sqlmodel import Session

from frontdesk.charts.records import ChartChanges, ContactChanges


class EditResult(Protocol):
    """What one correction did (`frontdesk.access.outcomes.EditOutcome` is one)."""

    @property
    def changed(self) -> tuple[str, ...]: ...
    @property
    def effects(self) -> tuple[str, ...]: ...
    @property
    def outbox_ids(self) -> tuple[int, ...]: ...


class ChartEditor(Protocol):
    """The rules of correcting a chart and its contacts, each change in the caller's
    transaction: a changed email, last name or date of birth ends a live invitation (and, with
    `invite`, sends a new one); every change audited. `frontdesk.access.chart_edits
    .ChartEditService` is the one implementation: the import's caller passes it in (the charts
    layer does not import the access layer)."""

    def edit_chart(
        self,
        chart_number: str,
        changes: ChartChanges,
        *,
        invite: bool = ...,
        session: Session | None = ...,
    ) -> EditResult: ...

    def edit_contact(
        self,
        contact_id: int,
        changes: ContactChanges,
        *,
        invite: bool = ...,
        session: Session | None = ...,
    ) -> EditResult: ...


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str
    column: str = ""  # how the line names the column ("date_of_birth (DOB)"); field if ""

    def __str__(self) -> str:
        return f"line {self.line}, {self.column or self.field}: {self.message}"


@dataclass(frozen=True)
class Updated:
    """A chart (or one of its related contacts) that `--update` changed."""

    line: int
    chart_number: str
    changed: tuple[str, ...]  # field names, in form order
    effects: tuple[str, ...]  # EditEffect values: "link_ended", "invited", ...
    contact: str | None = None  # "Mina Park (Mother)" when a contact was changed
    emails: int = 0  # emails queued (a new invitation, sign-in email notices)


@dataclass(frozen=True)
class GuardianOwner:
    """A child's chart with no email of its own whose guardian got portal ownership."""

    line: int
    chart_number: str
    name: str
    relationship: str


@dataclass
class Outcome:
    """What one run of the import's transaction did and refused (the report's numbers)."""

    rows: int = 0
    charts_added: list[str] = field(default_factory=list)
    contacts_added: int = 0
    updated: list[Updated] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    guardian_owners: list[GuardianOwner] = field(default_factory=list)
    contact_owners: int = 0  # charts the `owner` column gave to a related contact
    without_owner_email: int = 0  # added charts whose owner has no email: cannot be invited
    unnamed_with_data: set[int] = field(default_factory=set)
