"""A new chart at the desk: the chart (with a related contact as its Chart Owner, if given),
the portal invitation and a package's forms, in ONE transaction: all of it, or nothing.

The invitation email then says forms are waiting (they appear once the client registers); no
second email goes out. `check_email` points out a probable typo of an address, or an address
already on another chart (where a guardian is often the better owner), as data for the desk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.access.invitations import InvitationService
from frontdesk.charts.lookup import Owner, chart_by_number, owner_of, owner_row
from frontdesk.charts.records import ChartInput, ChartRecords, ContactInput, checked_contact
from frontdesk.core.clock import Clock
from frontdesk.core.emails import InvalidEmail, likely_typo, normalize_email
from frontdesk.core.errors import InvalidInput, NotFound
from frontdesk.portal.forms import FormLibrary, package_row
from frontdesk.portal.task_views import Assignment
from frontdesk.portal.tasks import TaskService
from store.db import Database
from store.models import Chart, ChartOwner, RelatedContact

# ContactInput's fields as the new-chart form names them (errors at the field).
OWNER_FIELDS = {
    "name": "owner_name",
    "relationship": "owner_relationship",
    "email": "owner_email",
    "phone": "owner_phone",
}


class EmailWarningKind(StrEnum):
    PROBABLE_TYPO = "probable_typo"  # `suggestion` is the likely intended address
    ON_OTHER_CHART = "on_other_chart"  # `chart_numbers` already use it: a guardian?


@dataclass(frozen=True)
class EmailWarning:
    kind: EmailWarningKind
    email: str
    suggestion: str | None = None
    chart_numbers: tuple[str, ...] = ()
    # ON_OTHER_CHART: a family often shares one address; suggest making the person who
    # reads it (a parent or guardian) the Chart Owner as a related contact instead.
    suggest_guardian: bool = False


@dataclass(frozen=True)
class NewChart:
    """What the New chart form gives: the chart, optionally a related contact who owns its
    portal access, whether to invite the owner now, and a package of forms to assign."""

    chart: ChartInput
    owner: ContactInput | None = None
    invite: bool = False
    package_key: str | None = None
    due: date | str | None = None


@dataclass(frozen=True)
class NewChartResult:
    chart_number: str
    owner: Owner
    invitation_outbox_id: int | None  # the one email (it says forms are waiting)
    assignment: Assignment | None
    warnings: tuple[EmailWarning, ...]


class NewChartService:
    """Creates a chart with its owner, invitation and forms, acting as one staff member."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        actor: str,
        charts: ChartRecords,
        invitations: InvitationService,
        tasks: TaskService,
        library: FormLibrary,
    ) -> None:
        self.db = db
        self.clock = clock
        self.actor = actor
        self.charts = charts
        self.invitations = invitations
        self.tasks = tasks
        self.library = library

    def check_email(self, email: str, *, chart_number: str | None = None) -> list[EmailWarning]:
        """What to point out about `email` before it is saved (nothing for a blank or an
        invalid one: the field's own check says that)."""
        if not email or not email.strip():
            return []
        try:
            normal = normalize_email(email)
        except InvalidEmail:
            return []
        warnings = []
        suggestion = likely_typo(normal)
        if suggestion:
            warnings.append(EmailWarning(EmailWarningKind.PROBABLE_TYPO, normal, suggestion))
        with self.db.read() as session:
            numbers = charts_using(session, normal, exclude=chart_number)
        if numbers:
            warnings.append(
                EmailWarning(
                    EmailWarningKind.ON_OTHER_CHART,
                    normal,
                    chart_numbers=tuple(numbers),
                    suggest_guardian=True,
                )
            )
        return warnings

    def create(self, new: NewChart) -> NewChartResult:
        """Add the chart, its owner, the invitation and the package's tasks together."""
        self.charts.validate_chart(new.chart)  # field errors before anything is written
        if new.owner is not None:
            try:
                checked_contact(new.owner)
            except InvalidInput as exc:
                raise InvalidInput(str(exc), OWNER_FIELDS.get(exc.field or "", exc.field)) from None
        owner_email = new.owner.email if new.owner is not None else new.chart.email
        if new.invite and not (owner_email or "").strip():
            field = "owner_email" if new.owner is not None else "email"
            raise InvalidInput("An email address is needed to send the invitation.", field)
        if new.package_key:
            self.library.ensure_builtins()
            with self.db.read() as session:
                try:
                    package_row(session, new.package_key)
                except NotFound as exc:
                    raise InvalidInput(str(exc), "package") from None
        warnings = tuple(self.check_email(new.chart.email or ""))
        if new.owner is not None and new.owner.email:
            warnings += tuple(self.check_email(new.owner.email))

        def work(session: Session) -> NewChartResult:
            number = self.charts.add_chart(new.chart, session=session)
            chart = chart_by_number(session, number, lock=True)
            if new.owner is not None:
                self._owner_contact(session, chart, new.owner)
            outbox_id = None
            if new.invite:
                outbox_id = self.invitations.issue_invitation(
                    session, chart, kind="invitation", forms_waiting=bool(new.package_key)
                )
            assignment = None
            if new.package_key:
                keys = self.tasks.package_forms(session, new.package_key)
                due = self.tasks.due_date(session, new.due)
                assignment = self.tasks.assign_in(
                    session, chart, keys, package_key=new.package_key, due=due, notify=False
                )
            owner = owner_of(session, chart, self._owner_row(session, chart))
            return NewChartResult(number, owner, outbox_id, assignment, warnings)

        return self.db.transact(work)

    def _owner_contact(self, session: Session, chart: Chart, contact: ContactInput) -> None:
        try:
            row = self.charts.new_contact(session, chart, contact)
        except InvalidInput as exc:
            raise InvalidInput(str(exc), OWNER_FIELDS.get(exc.field or "", exc.field)) from None
        owner = self._owner_row(session, chart)
        owner.related_contact_id = row.id
        owner.version += 1
        owner.updated_at = self.clock.now()
        owner.updated_by = self.actor
        session.add(owner)
        session.flush()
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action="owner changed",
            chart=chart,
            detail=f"to {row.name} ({row.relationship})",
            source=f"os:{self.actor}",
        )

    def _owner_row(self, session: Session, chart: Chart) -> ChartOwner:
        return owner_row(session, chart, now=self.clock.now(), actor=self.actor)


def charts_using(session: Session, email: str, *, exclude: str | None = None) -> list[str]:
    """Chart numbers whose client or a (present) related contact has `email`."""
    key = email.strip().lower()
    numbers = set(
        session.exec(select(Chart.chart_number).where(Chart.email_key == key).limit(20)).all()
    )
    contact_charts = session.exec(
        select(Chart.chart_number)
        .join(RelatedContact, col(RelatedContact.chart_id) == col(Chart.id))
        .where(
            col(RelatedContact.email).is_not(None),
            sa.func.lower(RelatedContact.email) == key,
            col(RelatedContact.removed_at).is_(None),
        )
        .limit(20)
    ).all()
    numbers.update(contact_charts)
    numbers.discard(exclude or "")
    return sorted(numbers)
