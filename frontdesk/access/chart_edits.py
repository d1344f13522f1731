"""Correcting a chart and its related contacts, with what a correction does to portal access.

The rules (SECURITY.md T6, R4): changing the portal owner's email, or the client's last name or
date of birth, while an invitation is live ends that link at once (its holder sees the
"replaced" page) and, when asked, sends a new one to the (new) address in the same
transaction. Changing the email of an Active owner changes the account's sign-in email, ends
its sessions and sends a short notice with no content to the old and the new address. Every
change is audited with who and which fields changed, never the values of PHI fields. A chart's
current owner cannot be removed from its contacts; a removed contact stays in the store
(invitations, accounts and the audit trail may name it) but no longer shows."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.access.invitations import InvitationService
from frontdesk.access.outcomes import EditEffect, EditOutcome
from frontdesk.access.signin import end_account_sessions
from frontdesk.charts.lookup import Owner, chart_by_number, greeting_name, owner_of, owner_row
from frontdesk.charts.records import ChartChanges as ChartChanges  # the fields to change
from frontdesk.charts.records import ChartInput, ChartRecords, ContactInput, ContactView
from frontdesk.charts.records import ContactChanges as ContactChanges
from frontdesk.core import fields, links
from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.core.emails import mask_email
from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.mail import compose
from frontdesk.practice import practice_row, practice_zone
from store.db import Database
from store.models import (
    INVITATION_LIVE,
    INVITATION_SUPERSEDED,
    Chart,
    Invitation,
    PortalAccount,
    RelatedContact,
)

# Field names in form order, with the words the audit row uses for them.
CHART_FIELDS = {
    "first_name": "first name",
    "last_name": "last name",
    "preferred_name": "preferred name",
    "date_of_birth": "date of birth",
    "email": "email",
    "phone": "phone",
}
CONTACT_FIELDS = {
    "name": "name",
    "relationship": "relationship",
    "email": "email",
    "phone": "phone",
}


@dataclass(frozen=True)
class EditPlan:
    """What an edit would do, for the confirmation ("the link sent Nov 19 stops working; send a
    new one to …?"). Computed from the stored chart; the edit itself decides again."""

    changed: tuple[str, ...]
    ends_link: bool  # a live invitation would stop working
    changes_sign_in_email: bool  # an Active owner's sign-in email would change
    new_owner_email: str | None  # where a new invitation would go (None: no address)


class ChartEditService:
    """Edits of charts and related contacts, acting as one staff member."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: Settings,
        actor: str,
        charts: ChartRecords,
        invitations: InvitationService,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor
        self.charts = charts
        self.invitations = invitations

    # ---------------------------------------------------------------- charts

    def plan_chart_edit(self, chart_number: str, changes: ChartChanges) -> EditPlan:
        """What `edit_chart` would change and end (checks the fields; writes nothing)."""
        with self.db.read() as session:
            chart = chart_by_number(session, chart_number)
            fresh = self._checked(session, chart, changes)
            changed = _changed(chart, fresh, CHART_FIELDS)
            return self._plan(session, chart, changed, fresh.email, contact_id=None)

    def edit_chart(
        self,
        chart_number: str,
        changes: ChartChanges,
        *,
        invite: bool = True,
        session: Session | None = None,
    ) -> EditOutcome:
        """Correct the chart's fields. A change that ends the live link sends a new one to the
        owner's address when `invite` (and the owner has one). With `session`, inside the
        caller's transaction (the CSV import's `--update`)."""

        def work(session: Session) -> EditOutcome:
            chart = chart_by_number(session, chart_number, lock=True)
            fresh = self._checked(session, chart, changes)
            changed = _changed(chart, fresh, CHART_FIELDS)
            if not changed:
                return EditOutcome(chart.chart_number, (), ())
            plan = self._plan(session, chart, changed, fresh.email, contact_id=None)
            old_email = chart.email
            for name in changed:
                setattr(chart, name, getattr(fresh, name))
            for key in ("last_key", "first_key", "email_key", "search_text"):
                setattr(chart, key, getattr(fresh, key))
            chart.updated_at = self.clock.now()
            session.add(chart)
            session.flush()
            effects, outbox = self._apply(session, chart, plan, old_email, invite=invite)
            self._audit(
                session,
                "chart edited",
                chart,
                changed,
                CHART_FIELDS,
                (old_email, chart.email),
                effects,
            )
            return EditOutcome(chart.chart_number, changed, effects, outbox)

        if session is not None:
            return work(session)
        return self.db.transact(work)

    # ---------------------------------------------------------------- contacts

    def contacts(self, chart_number: str) -> list[ContactView]:
        """The chart's related contacts (removed ones left out), the owner marked."""
        with self.db.read() as session:
            chart = chart_by_number(session, chart_number)
            owner = owner_row(session, chart, now=self.clock.now(), actor=self.actor)
            rows = session.exec(
                select(RelatedContact)
                .where(
                    RelatedContact.chart_id == chart.id, col(RelatedContact.removed_at).is_(None)
                )
                .order_by(col(RelatedContact.id))
            ).all()
            return [_contact_view(row, row.id == owner.related_contact_id) for row in rows]

    def contact(self, contact_id: int) -> tuple[str, ContactView]:
        """One contact and the number of its chart; NotFound for an unknown or removed one."""
        with self.db.read() as session:
            row, chart = self._contact(session, contact_id)
            owner = owner_row(session, chart, now=self.clock.now(), actor=self.actor)
            return chart.chart_number, _contact_view(row, row.id == owner.related_contact_id)

    def plan_contact_edit(self, contact_id: int, changes: ContactChanges) -> EditPlan:
        with self.db.read() as session:
            row, chart = self._contact(session, contact_id)
            fresh = _checked_contact(row, changes)
            changed = _changed(row, fresh, CONTACT_FIELDS)
            return self._plan(session, chart, changed, fresh.email, contact_id=row.id)

    def edit_contact(
        self,
        contact_id: int,
        changes: ContactChanges,
        *,
        invite: bool = True,
        session: Session | None = None,
    ) -> EditOutcome:
        """Correct a related contact. When the contact owns the chart's portal access, a new
        email ends the live link (and, with `invite`, sends a new one) or, for an Active
        owner, changes the sign-in email. With `session`, inside the caller's transaction."""

        def work(session: Session) -> EditOutcome:
            row, chart = self._contact(session, contact_id, lock=True)
            fresh = _checked_contact(row, changes)
            changed = _changed(row, fresh, CONTACT_FIELDS)
            if not changed:
                return EditOutcome(chart.chart_number, (), ())
            plan = self._plan(session, chart, changed, fresh.email, contact_id=row.id)
            old_email = row.email
            for name in changed:
                setattr(row, name, getattr(fresh, name))
            session.add(row)
            session.flush()
            effects, outbox = self._apply(session, chart, plan, old_email, invite=invite)
            if "name" in changed and plan.is_owner:
                self._rename_account(session, chart, row)
            self._audit(
                session,
                "contact edited",
                chart,
                changed,
                CONTACT_FIELDS,
                (old_email, row.email),
                effects,
                who=f"{row.name} ({row.relationship})",
            )
            return EditOutcome(chart.chart_number, changed, effects, outbox)

        if session is not None:
            return work(session)
        return self.db.transact(work)

    def add_contact(self, chart_number: str, contact: ContactInput) -> ContactView:
        added = self.charts.add_contact(chart_number, contact)
        return ContactView(added.id, added.name, added.relationship, added.email, added.phone)

    def check_contact(self, contact: ContactInput) -> None:
        """Check a new contact's fields by the rules of `add_contact` without adding it
        (reads and writes nothing), so a form can show each refusal at its field."""
        _checked_contact(
            _ContactFields("", "", None, None),
            ContactChanges(
                contact.name, contact.relationship, contact.email or "", contact.phone or ""
            ),
        )

    def remove_contact(self, contact_id: int) -> tuple[str, ContactView]:
        """Remove a related contact from its chart (refused for the current Chart Owner)."""

        def work(session: Session) -> tuple[str, ContactView]:
            row, chart = self._contact(session, contact_id, lock=True)
            owner = owner_row(session, chart, now=self.clock.now(), actor=self.actor)
            if owner.related_contact_id == row.id:
                raise NotAllowed(
                    f"{row.name} is the Chart Owner; change the owner first, then remove them."
                )
            row.removed_at = self.clock.now()
            session.add(row)
            audit.record(
                session,
                at=self.clock.now(),
                actor=self.actor,
                action="contact removed",
                chart=chart,
                detail=f"{row.name} ({row.relationship})",
                source=f"os:{self.actor}",
            )
            return chart.chart_number, _contact_view(row, False)

        return self.db.transact(work)

    # ---------------------------------------------------------------- steps

    def _checked(self, session: Session, chart: Chart, changes: ChartChanges) -> Chart:
        """The chart as it would be, checked by the rules of `charts add`."""
        today = self.clock.now().astimezone(practice_zone(practice_row(session))).date()

        def pick(value: object, current: object) -> object:
            return current if value is None else value

        data = ChartInput(
            chart_number=chart.chart_number,
            first_name=str(pick(changes.first_name, chart.first_name)),
            last_name=str(pick(changes.last_name, chart.last_name)),
            date_of_birth=pick(changes.date_of_birth, chart.date_of_birth),  # type: ignore[arg-type]
            email=str(pick(changes.email, chart.email or "")),
            preferred_name=str(pick(changes.preferred_name, chart.preferred_name or "")),
            phone=str(pick(changes.phone, chart.phone or "")),
        )
        return self.charts.validate_chart(data, today=today)

    def _contact(
        self, session: Session, contact_id: int, *, lock: bool = False
    ) -> tuple[RelatedContact, Chart]:
        row = session.get(RelatedContact, contact_id, with_for_update=lock and _postgres(session))
        if row is None or row.removed_at is not None:
            raise NotFound(f"No related contact with id {contact_id}.")
        chart = session.get(Chart, row.chart_id)
        assert chart is not None
        return row, chart

    def _plan(
        self,
        session: Session,
        chart: Chart,
        changed: tuple[str, ...],
        new_email: str | None,
        *,
        contact_id: int | None,
    ) -> _Plan:
        """What `changed` does to portal access. `contact_id`: the edited contact (None: the
        chart itself)."""
        row = owner_row(session, chart, now=self.clock.now(), actor=self.actor)
        is_owner = row.related_contact_id == contact_id
        owner_email_changes = is_owner and "email" in changed
        identity_changes = contact_id is None and bool(
            {"last_name", "date_of_birth"} & set(changed)
        )
        live = session.exec(
            select(Invitation.id).where(
                Invitation.chart_id == chart.id, Invitation.state == INVITATION_LIVE
            )
        ).first()
        account = self._owner_account(session, chart, row.related_contact_id)
        if owner_email_changes and account is not None and not new_email:
            raise InvalidInput(
                "The portal owner signs in with this email address; it cannot be removed "
                "while they have portal access (revoke access first).",
                "email",
            )
        return _Plan(
            changed=changed,
            ends_link=live is not None and (owner_email_changes or identity_changes),
            changes_sign_in_email=owner_email_changes and account is not None,
            new_owner_email=(new_email or None)
            if is_owner
            else owner_of(session, chart, row).email,
            is_owner=is_owner,
        )

    def _apply(
        self, session: Session, chart: Chart, plan: _Plan, old_email: str | None, *, invite: bool
    ) -> tuple[tuple[EditEffect, ...], tuple[int, ...]]:
        effects: list[EditEffect] = []
        outbox: list[int] = []
        if plan.ends_link:
            self.invitations.supersede_live(session, chart, INVITATION_SUPERSEDED)
            effects.append(EditEffect.LINK_ENDED)
            if invite and plan.new_owner_email:
                outbox.append(self.invitations.issue_invitation(session, chart, kind="resend"))
                effects.append(EditEffect.INVITED)
        if plan.changes_sign_in_email and old_email:
            row = owner_row(session, chart, now=self.clock.now(), actor=self.actor)
            account = self._owner_account(session, chart, row.related_contact_id)
            assert account is not None and account.id is not None and plan.new_owner_email
            account.email = plan.new_owner_email
            session.add(account)
            end_account_sessions(session, account.id, self.clock.now())
            owner = owner_of(session, chart, row)
            for address in dict.fromkeys([old_email, plan.new_owner_email]):
                outbox.append(self._notify_email_changed(session, chart, owner, address))
            effects.append(EditEffect.SIGN_IN_EMAIL_CHANGED)
        return tuple(effects), tuple(outbox)

    def _notify_email_changed(
        self, session: Session, chart: Chart, owner: Owner, address: str
    ) -> int:
        message = compose.sign_in_email_changed_email(
            practice_row(session),
            greeting_name=greeting_name(chart, owner),
            link=links.login_link(self.settings.public_base),
        )
        return self.invitations.queue(
            session, chart, None, owner, message, "sign_in_email_changed", to=address
        )

    @staticmethod
    def _owner_account(
        session: Session, chart: Chart, contact_id: int | None
    ) -> PortalAccount | None:
        return session.exec(
            select(PortalAccount).where(
                PortalAccount.chart_id == chart.id,
                PortalAccount.related_contact_id == contact_id,
                col(PortalAccount.disabled_at).is_(None),
            )
        ).first()

    def _rename_account(self, session: Session, chart: Chart, row: RelatedContact) -> None:
        account = self._owner_account(session, chart, row.id)
        if account is not None:
            account.owner_name = row.name
            session.add(account)

    def _audit(
        self,
        session: Session,
        action: str,
        chart: Chart,
        changed: tuple[str, ...],
        words: dict[str, str],
        emails: tuple[str | None, str | None],
        effects: tuple[EditEffect, ...],
        *,
        who: str = "",
    ) -> None:
        """One row: which fields changed (never the values of PHI fields; addresses masked)."""
        parts = [words[name] for name in changed]
        if "email" in changed:
            old, new = (mask_email(e) if e else "(none)" for e in emails)
            parts[changed.index("email")] = f"email {old} → {new}"
        detail = (f"{who}: " if who else "") + ", ".join(parts) + " changed"
        effect_words = {
            EditEffect.LINK_ENDED: "the live invitation link ended",
            EditEffect.INVITED: "a new invitation sent",
            EditEffect.SIGN_IN_EMAIL_CHANGED: "the sign-in email changed, sessions ended",
        }
        if effects:
            detail += "; " + "; ".join(effect_words[e] for e in effects)
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action=action,
            chart=chart,
            detail=detail,
            source=f"os:{self.actor}",
        )


@dataclass(frozen=True)
class _Plan(EditPlan):
    is_owner: bool = False


def _changed(old: object, new: object, names: dict[str, str]) -> tuple[str, ...]:
    return tuple(name for name in names if getattr(old, name) != getattr(new, name))


@dataclass(frozen=True)
class _ContactFields:
    name: str
    relationship: str
    email: str | None
    phone: str | None


def _checked_contact(
    row: RelatedContact | _ContactFields, changes: ContactChanges
) -> _ContactFields:
    """The contact as it would be, checked by the rules of `contacts add`."""
    name = fields.clean_text(changes.name if changes.name is not None else row.name, "name", "Name")
    relationship = fields.clean_text(
        changes.relationship if changes.relationship is not None else row.relationship,
        "relationship",
        "Relationship",
        limit=60,
    )
    email_text = changes.email if changes.email is not None else (row.email or "")
    email = fields.email_or_error(email_text) if email_text.strip() else None
    phone_text = changes.phone if changes.phone is not None else (row.phone or "")
    phone = fields.clean_text(phone_text, "phone", "Phone", required=False, limit=40) or None
    return _ContactFields(name, relationship, email, phone)


def _contact_view(row: RelatedContact, is_owner: bool) -> ContactView:
    assert row.id is not None
    return ContactView(row.id, row.name, row.relationship, row.email, row.phone, is_owner)


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
