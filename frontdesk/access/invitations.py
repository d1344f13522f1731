"""The invitation lifecycle: send, resend, revoke, restore and change ownership.

Each entry method owns its transaction: the rules are checked, the state changes, the email is
queued and the audit row written together, or nothing is. What each status allows is the
design's table in `frontdesk.access.rules`; results are `ActionOutcome` data."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.access.bulk import BulkInvitations, CancelCheck, Progress
from frontdesk.access.bulk_rows import forms_waiting_query, invitation_first_name
from frontdesk.access.outcomes import ActionDone, ActionOutcome, BulkAction, BulkPlan, BulkResult
from frontdesk.access.reset import end_account_resets
from frontdesk.access.rules import NO_EMAIL, PORTAL_OFF, PortalAction, refusal
from frontdesk.access.signin import end_account_sessions
from frontdesk.access.status import (
    StatusInfo,
    compute_status,
)
from frontdesk.charts.lookup import Owner, chart_by_number, greeting_name, owner_of, owner_row
from frontdesk.charts.records import ChartRecords, ContactInput
from frontdesk.core import links, tokens
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.core.emails import InvalidEmail, mask_email, normalize_email
from frontdesk.core.errors import (
    ConcurrentChange,
    CooldownActive,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from frontdesk.core.text import single_line
from frontdesk.mail import compose
from frontdesk.mail.queue import queue_email
from frontdesk.practice import practice_row, practice_zone
from store.db import Database
from store.models import (
    INVITATION_LIVE,
    INVITATION_REVOKED,
    INVITATION_SUPERSEDED,
    OUTBOX_CANCELLED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    Chart,
    ChartOwner,
    Invitation,
    OutboxEmail,
    PortalAccount,
    Practice,
    RelatedContact,
)

RESEND_COOLDOWN = timedelta(seconds=60)
MAX_INVITATIONS_PER_DAY = 10


class InvitationService:
    """The invitation lifecycle of the charts in one database, acting as one staff member."""

    def __init__(
        self, db: Database, clock: Clock, settings: Settings, actor: str, charts: ChartRecords
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor
        self.charts = charts
        self._bulk = BulkInvitations(
            db, clock, settings, actor, cooldown=RESEND_COOLDOWN, daily_cap=MAX_INVITATIONS_PER_DAY
        )

    # ---------------------------------------------------------------- entry methods

    def send_invitation(self, chart_number: str) -> ActionOutcome:
        """Invite the chart's owner (the chart has no portal access yet)."""

        def work(session: Session) -> ActionOutcome:
            chart = chart_by_number(session, chart_number, lock=True)
            self._refuse_unless(PortalAction.ACTIVATE, self.state(session, chart))
            outbox_id = self.issue_invitation(session, chart, kind="invitation")
            return self._outcome(session, chart, ActionDone.INVITED, outbox_id)

        return self.db.transact(work)

    def resend_invitation(
        self, chart_number: str, *, seen_invitation_id: int | None = None
    ) -> ActionOutcome:
        """Send a new link; every earlier link of the chart stops working at once.

        `seen_invitation_id` is the invitation the caller was looking at: if another desk has
        resent since, nothing is repeated and ConcurrentChange says who did it.
        """

        def work(session: Session) -> ActionOutcome:
            chart = chart_by_number(session, chart_number, lock=True)
            live = self._live_invitation(session, chart)
            if seen_invitation_id is not None and (live is None or live.id != seen_invitation_id):
                newest = self._newest_invitation(session, chart)
                if newest is not None and newest.id != seen_invitation_id:
                    zone = practice_zone(practice_row(session))
                    when = as_utc(newest.created_at).astimezone(zone)
                    raise ConcurrentChange(
                        f"{newest.created_by} just changed this invitation "
                        f"({newest.kind} at {when:%-I:%M %p}); nothing was repeated."
                    )
            self._refuse_unless(PortalAction.RESEND, self.state(session, chart))
            self._check_cooldown(session, chart)
            outbox_id = self.issue_invitation(session, chart, kind="resend")
            return self._outcome(session, chart, ActionDone.RESENT, outbox_id)

        try:
            return self.db.transact(work)
        except (CooldownActive, ConcurrentChange) as refused:
            # The refused transaction rolled back; the refusal itself is still audited.
            outcome = "cooldown" if isinstance(refused, CooldownActive) else "conflict"
            self.db.transact(
                lambda s: self._audit(
                    s, "resend refused", chart_by_number(s, chart_number), outcome=outcome
                )
            )
            raise

    def revoke_access(self, chart_number: str) -> ActionOutcome:
        """End portal access: the live link dies, the account is disabled, sessions end."""

        def work(session: Session) -> ActionOutcome:
            chart = chart_by_number(session, chart_number, lock=True)
            self._refuse_unless(PortalAction.REVOKE, self.state(session, chart))
            ended = self.end_access(session, chart, INVITATION_REVOKED)
            self._audit(session, "access revoked", chart, detail=ended)
            return self._outcome(session, chart, ActionDone.REVOKED, None)

        return self.db.transact(work)

    def activate_access(self, chart_number: str) -> ActionOutcome:
        """Restore an existing account of the current owner, or invite when there is none."""

        def work(session: Session) -> ActionOutcome:
            chart = chart_by_number(session, chart_number, lock=True)
            self._refuse_unless(PortalAction.ACTIVATE, self.state(session, chart))
            row = self._owner_row(session, chart)
            account = session.exec(
                select(PortalAccount)
                .where(
                    PortalAccount.chart_id == chart.id,
                    PortalAccount.related_contact_id == row.related_contact_id,
                    col(PortalAccount.disabled_at).is_not(None),
                )
                .order_by(col(PortalAccount.id).desc())
            ).first()
            owner = owner_of(session, chart, row)
            if account is not None and owner.email and account.email == owner.email:
                practice = self._require_portal_active(session)
                account.disabled_at = None
                account.failed_logins = 0
                account.throttled_until = None
                session.add(account)
                message = compose.access_restored_email(
                    practice,
                    greeting_name=greeting_name(chart, owner),
                    link=links.login_link(self.settings.public_base),
                )
                outbox_id = self.queue(session, chart, None, owner, message, "access_restored")
                self._audit(session, "access restored", chart, detail=f"account {account.id}")
                return self._outcome(session, chart, ActionDone.RESTORED, outbox_id)
            outbox_id = self.issue_invitation(session, chart, kind="invitation")
            return self._outcome(session, chart, ActionDone.INVITED, outbox_id)

        return self.db.transact(work)

    def change_owner(
        self,
        chart_number: str,
        *,
        to_client: bool = False,
        contact_id: int | None = None,
        new_contact: ContactInput | None = None,
        invite: bool = False,
        seen_owner_version: int | None = None,
    ) -> ActionOutcome:
        """Give portal ownership to the client, an existing related contact, or a new one.

        The old owner's invitation is revoked and their sessions end. With `invite`, the new
        owner is invited in the same transaction.
        """
        if sum([to_client, contact_id is not None, new_contact is not None]) != 1:
            raise InvalidInput("Choose exactly one new owner: the client or a related contact.")

        def work(session: Session) -> ActionOutcome:
            chart = chart_by_number(session, chart_number, lock=True)
            row = self._owner_row(session, chart)
            if seen_owner_version is not None and row.version != seen_owner_version:
                raise ConcurrentChange(
                    f"{row.updated_by} just changed this chart's owner; review and retry."
                )
            target_id: int | None
            target = "the client"
            if to_client:
                target_id = None
            else:
                if new_contact is not None:
                    contact: RelatedContact | None = self.charts.new_contact(
                        session, chart, new_contact
                    )
                else:
                    contact = session.get(RelatedContact, contact_id)
                if contact is None or contact.chart_id != chart.id or contact.removed_at:
                    raise NotFound("That related contact does not belong to this chart.")
                target_id = contact.id
                target = f"{contact.name} ({contact.relationship})"
            if target_id == row.related_contact_id:
                raise NotAllowed("That person already owns this chart's portal access.")
            ended = self.end_access(session, chart, INVITATION_REVOKED)
            row.related_contact_id = target_id
            row.version += 1
            row.updated_at = self.clock.now()
            row.updated_by = self.actor
            session.add(row)
            session.flush()
            self._audit(
                session,
                "owner changed",
                chart,
                detail=f"to {target}" + (f"; {ended}" if ended else ""),
            )
            if invite:
                outbox_id = self.issue_invitation(session, chart, kind="invitation")
                return self._outcome(session, chart, ActionDone.OWNER_CHANGED_INVITED, outbox_id)
            return self._outcome(session, chart, ActionDone.OWNER_CHANGED, None)

        return self.db.transact(work)

    def send_all_without_access(
        self, *, progress: Progress | None = None, cancel: CancelCheck | None = None
    ) -> BulkResult:
        """Go-live: invite every chart with no portal access (those without a valid owner
        email are skipped, each with its reason)."""
        return self.run_bulk(BulkAction.INVITE_WITHOUT_ACCESS, progress=progress, cancel=cancel)

    def resend_all_expired(
        self,
        *,
        include_locked: bool = False,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> BulkResult:
        """A new link for every chart whose invitation expired (and, `include_locked`, those
        locked by wrong identity checks), in one run."""
        action = (
            BulkAction.RESEND_EXPIRED_AND_LOCKED if include_locked else BulkAction.RESEND_EXPIRED
        )
        return self.run_bulk(action, progress=progress, cancel=cancel)

    def plan_bulk(self, action: BulkAction) -> BulkPlan:
        """What `run_bulk(action)` would do if started now (who would get an email, who would
        be skipped and why), read without writing: for the confirmation."""
        return self._bulk.plan(action)

    def run_bulk(
        self,
        action: BulkAction,
        *,
        progress: Progress | None = None,
        cancel: CancelCheck | None = None,
    ) -> BulkResult:
        """Do `action` to every chart in its statuses now, each chart's result its own (see
        frontdesk.access.bulk). `progress(done, total)` is called for each chart once its batch
        has committed (outside any transaction); `cancel` (an Event or a callable) is checked
        before each chart and stops the run there: what is done stays done. Blocking: run it
        in a worker thread (the callbacks are called from it)."""
        return self._bulk.run(action, progress=progress, cancel=cancel)

    # ---------------------------------------------------------------- steps (take a Session)

    def state(self, session: Session, chart: Chart) -> StatusInfo:
        """The chart's status tag, read in `session`."""
        return compute_status(
            self._live_invitation(session, chart),
            self._enabled_account(session, chart),
            self.clock.now(),
        )

    def issue_invitation(
        self, session: Session, chart: Chart, *, kind: str, forms_waiting: bool = False
    ) -> int:
        """Supersede every earlier invitation, create a new one and queue its email; returns
        the email's outbox id. The email also says forms are waiting when `forms_waiting` or
        when the chart has a task the client still has to do (assigned before this link)."""
        practice = self._require_portal_active(session)
        row = self._owner_row(session, chart)
        owner = owner_of(session, chart, row)
        if not owner.email:
            raise NotAllowed(f"{NO_EMAIL} ({single_line(owner.name)}); add one first.")
        try:
            recipient = normalize_email(owner.email)
        except InvalidEmail as exc:
            raise NotAllowed(f"The chart owner's email address is not valid: {exc}") from None
        now = self.clock.now()
        if not forms_waiting and chart.id is not None:
            waiting = session.connection().execute(forms_waiting_query([chart.id]))
            forms_waiting = waiting.first() is not None
        self.supersede_live(session, chart, INVITATION_SUPERSEDED)
        token = tokens.new_token()
        invitation = Invitation(
            chart_id=chart.id or 0,
            token_digest=tokens.digest(token),
            related_contact_id=row.related_contact_id,
            recipient_name=owner.name,
            recipient_email=recipient,
            kind=kind,
            state=INVITATION_LIVE,
            created_at=now,
            created_by=self.actor,
            expires_at=now + timedelta(days=practice.invitation_days),
        )
        session.add(invitation)
        try:
            session.flush()
        except IntegrityError:
            raise ConcurrentChange(
                "Another desk changed this chart's invitation at the same moment; "
                "nothing was repeated."
            ) from None
        message = compose.invitation_email(
            practice,
            greeting_name=greeting_name(chart, owner),
            link=links.register_link(self.settings.public_base, token),
            expires_at=invitation.expires_at,
            resend=kind == "resend",
            first_name=invitation_first_name(chart.first_name, owner),
            forms_waiting=forms_waiting,
        )
        outbox_id = self.queue(session, chart, invitation, owner, message, kind, to=recipient)
        self._audit(
            session,
            "invitation resent" if kind == "resend" else "invitation sent",
            chart,
            detail=f"invitation {invitation.id} to {mask_email(recipient)}",
        )
        return outbox_id

    def supersede_live(self, session: Session, chart: Chart, new_state: str) -> int:
        """End the live invitation (if any) and cancel its unsent emails. Returns how many."""
        now = self.clock.now()
        live_ids = session.exec(
            select(Invitation.id).where(
                Invitation.chart_id == chart.id, Invitation.state == INVITATION_LIVE
            )
        ).all()
        if not live_ids:
            return 0
        session.execute(
            sa.update(Invitation)
            .where(col(Invitation.id).in_(live_ids))
            .values(state=new_state, ended_at=now)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            sa.update(OutboxEmail)
            .where(
                col(OutboxEmail.invitation_id).in_(live_ids),
                col(OutboxEmail.state).in_([OUTBOX_PENDING, OUTBOX_RETRYING]),
            )
            .values(state=OUTBOX_CANCELLED, lease_until=None, body_text="", body_html="")
            .execution_options(synchronize_session=False)
        )
        return len(live_ids)

    def end_access(self, session: Session, chart: Chart, invitation_state: str) -> str:
        """Kill the live invitation, disable enabled accounts and end their sessions; returns
        what was ended, for the audit row."""
        now = self.clock.now()
        killed = self.supersede_live(session, chart, invitation_state)
        accounts = session.exec(
            select(PortalAccount).where(
                PortalAccount.chart_id == chart.id, col(PortalAccount.disabled_at).is_(None)
            )
        ).all()
        ended_sessions = 0
        for account in accounts:
            account.disabled_at = now
            session.add(account)
            assert account.id is not None
            ended_sessions += end_account_sessions(session, account.id, now)
            end_account_resets(session, account.id, now)
        parts = []
        if killed:
            parts.append("invitation revoked")
        if accounts:
            parts.append(f"account disabled, {ended_sessions} session(s) ended")
        return "; ".join(parts)

    def queue(
        self,
        session: Session,
        chart: Chart,
        invitation: Invitation | None,
        owner: Owner,
        message: compose.ComposedEmail,
        kind: str,
        *,
        to: str | None = None,
    ) -> int:
        """Queue an email to the owner (or `to`) about `chart`, in this transaction."""
        return queue_email(
            session,
            self.settings,
            message,
            kind=kind,
            now=self.clock.now(),
            to_address=to or owner.email or "",
            to_name=owner.name,
            chart_id=chart.id,
            invitation_id=invitation.id if invitation else None,
        )

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _refuse_unless(action: PortalAction, state: StatusInfo) -> None:
        """Refuse `action` where the design's table says it does not apply."""
        reason = refusal(action, state.status)
        if reason is not None:
            raise NotAllowed(f"{reason}.")

    @staticmethod
    def _live_invitation(session: Session, chart: Chart) -> Invitation | None:
        return session.exec(
            select(Invitation).where(
                Invitation.chart_id == chart.id, Invitation.state == INVITATION_LIVE
            )
        ).first()

    @staticmethod
    def _newest_invitation(session: Session, chart: Chart) -> Invitation | None:
        return session.exec(
            select(Invitation)
            .where(Invitation.chart_id == chart.id)
            .order_by(col(Invitation.created_at).desc(), col(Invitation.id).desc())
        ).first()

    @staticmethod
    def _enabled_account(session: Session, chart: Chart) -> PortalAccount | None:
        return session.exec(
            select(PortalAccount).where(
                PortalAccount.chart_id == chart.id, col(PortalAccount.disabled_at).is_(None)
            )
        ).first()

    def _owner_row(self, session: Session, chart: Chart) -> ChartOwner:
        return owner_row(session, chart, now=self.clock.now(), actor=self.actor)

    def _require_portal_active(self, session: Session) -> Practice:
        practice = practice_row(session)
        if not practice.portal_active:
            raise NotAllowed(
                f"{PORTAL_OFF}; activate it first (frontdesk practice set --portal on)."
            )
        return practice

    def _check_cooldown(self, session: Session, chart: Chart) -> None:
        now = self.clock.now()
        newest = self._newest_invitation(session, chart)
        if newest is not None:
            elapsed = now - as_utc(newest.created_at)
            if elapsed < RESEND_COOLDOWN:
                wait = int((RESEND_COOLDOWN - elapsed).total_seconds()) + 1
                raise CooldownActive(
                    f"{newest.created_by} sent an invitation {int(elapsed.total_seconds())} s ago; "
                    f"wait {wait} s before resending.",
                    wait,
                )
        today = session.exec(
            select(sa.func.count())
            .select_from(Invitation)
            .where(Invitation.chart_id == chart.id, Invitation.created_at > now - timedelta(days=1))
        ).one()
        if today >= MAX_INVITATIONS_PER_DAY:
            raise NotAllowed(
                f"{MAX_INVITATIONS_PER_DAY} invitations were sent to this chart in the last "
                "24 hours; "
                "try again tomorrow."
            )

    def _outcome(
        self, session: Session, chart: Chart, done: ActionDone, outbox_id: int | None
    ) -> ActionOutcome:
        owner = owner_of(session, chart, self._owner_row(session, chart))
        return ActionOutcome(
            done=done,
            chart_number=chart.chart_number,
            client_name=f"{chart.last_name}, {chart.first_name}",
            owner_name=owner.name,
            owner_relationship=owner.relationship,
            owner_email=owner.email,
            outbox_id=outbox_id,
        )

    def _audit(
        self,
        session: Session,
        action: str,
        chart: Chart | None,
        *,
        outcome: str = "ok",
        detail: str = "",
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action=action,
            chart=chart,
            outcome=outcome,
            detail=detail,
            source=f"os:{self.actor}",
        )
