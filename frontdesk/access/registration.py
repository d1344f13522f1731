"""Registration: what a link points at, and the identity check + password that turn an
invitation into a portal account.

Opening a link only reads (mail scanners open links first). The form POST checks last name and
date of birth against the chart bound to the invitation, then creates the account and uses the
invitation up atomically: one conditional UPDATE that must change exactly one row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.access.outcomes import (
    FormProblem,
    LinkState,
    RegistrationResult,
    RegistrationState,
    TokenCheck,
)
from frontdesk.access.passwords import account_words, hash_password, password_problem
from frontdesk.access.rules import MAX_IDENTITY_FAILURES
from frontdesk.charts.lookup import greeting_name, owner_of, owner_row
from frontdesk.core import links, tokens
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.core.identity import last_names_match, parse_date_strict
from frontdesk.mail import compose
from frontdesk.mail.queue import queue_email
from frontdesk.practice import practice_row
from store.db import Database
from store.models import (
    INVITATION_LIVE,
    INVITATION_REVOKED,
    INVITATION_SUPERSEDED,
    INVITATION_USED,
    Chart,
    ChartOwner,
    Invitation,
    PortalAccount,
)

# What a link page needs, in one statement: the practice and (if the digest is known) the
# invitation's state columns. An empty digest matches nothing.
_LINK_SQL = (
    "SELECT p.name, p.phone, i.state, i.failed_attempts, i.expires_at, i.related_contact_id "
    "FROM practice p LEFT JOIN invitation i ON i.token_digest = :digest "
    "WHERE p.id = 1"
)
_LINK_QUERY = sa.text(_LINK_SQL).columns(
    sa.column("name", sa.String),
    sa.column("phone", sa.String),
    sa.column("state", sa.String),
    sa.column("failed_attempts", sa.Integer),
    sa.column("expires_at", sa.DateTime(timezone=True)),
    sa.column("related_contact_id", sa.Integer),
)


def link_state(state: str, failed_attempts: int, expires_at: datetime, now: datetime) -> LinkState:
    """What a registration link points at, from its invitation's columns."""
    if state == INVITATION_USED:
        return LinkState.USED
    if state == INVITATION_REVOKED:
        return LinkState.REVOKED
    if state == INVITATION_SUPERSEDED:
        return LinkState.REPLACED
    if failed_attempts >= MAX_IDENTITY_FAILURES:
        return LinkState.LOCKED
    if as_utc(expires_at) <= now:
        return LinkState.EXPIRED
    return LinkState.VALID


class RegistrationService:
    """Registration links and the registration form, over one database and one clock."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor  # who the desk process is: the source of audit rows without one

    def inspect_token(self, token: str) -> TokenCheck:
        """What a link points at. Reads only: opening a link never changes anything.
        One query on a bare connection: this runs for every page view of a link."""
        now = self.clock.now()
        digest = tokens.digest(token) if tokens.looks_like_token(token) else ""
        found: tuple[Any, ...] | None
        if self.db.is_sqlite:  # straight through the driver: every view of a link reads this
            found = self.db.read_row_sqlite(_LINK_SQL, {"digest": digest})
            if found is not None:
                found = (*found[:4], self.db.datetime_from_sqlite(found[4]), *found[5:])
        else:
            with self.db.read_connection() as conn:
                first = conn.execute(_LINK_QUERY, {"digest": digest}).first()
            found = None if first is None else tuple(first)
        if found is None:
            return TokenCheck(LinkState.UNKNOWN, "", "", 0)
        name, phone, state, failed_attempts, expires_at, related_contact_id = found
        if state is None:
            return TokenCheck(LinkState.UNKNOWN, name or "", phone or "", 0)
        shown = link_state(state, failed_attempts, expires_at, now)
        left = max(0, MAX_IDENTITY_FAILURES - failed_attempts)
        return TokenCheck(shown, name or "", phone or "", left, related_contact_id is not None)

    def register(
        self,
        token: str,
        *,
        last_name: str,
        date_of_birth: str,
        password: str,
        password_confirm: str,
        source: str = "",
    ) -> RegistrationResult:
        """Check identity against the chart bound to the invitation, then create the account
        and use the invitation up — atomically, so one of N concurrent submissions wins."""
        problems: dict[str, FormProblem] = {}
        if not last_name.strip():
            problems["last_name"] = FormProblem.MISSING
        dob = parse_date_strict(date_of_birth)
        if dob is None:
            problems["date_of_birth"] = FormProblem.MALFORMED
        if password != password_confirm:
            problems["password_confirm"] = FormProblem.MISMATCH
        if not password:
            problems["password"] = FormProblem.MISSING
        if problems:
            return RegistrationResult(RegistrationState.INVALID, problems=problems)

        now = self.clock.now()
        with self.db.read() as session:
            invitation = _invitation_by_token(session, token)
            state = _token_state(invitation, now)
            if state is not LinkState.VALID or invitation is None:
                return RegistrationResult(state)
            chart = session.get(Chart, invitation.chart_id)
            practice = practice_row(session)
            assert chart is not None
            identity_ok = (
                last_names_match(last_name, chart.last_name) and dob == chart.date_of_birth
            )
            owner_name = owner_of(session, chart, self._owner_row(session, chart)).name
            recipient_email = invitation.recipient_email

        if not identity_ok:
            return self._count_identity_failure(token, source)

        problem = password_problem(
            password,
            context_words=account_words(
                practice_name=practice.name,
                first_name=chart.first_name,
                last_name=chart.last_name,
                preferred_name=chart.preferred_name,
                owner_name=owner_name,
                email=recipient_email,
            ),
            date_of_birth=chart.date_of_birth,
        )
        if problem:
            return RegistrationResult(RegistrationState.PASSWORD, problem)

        password_hash = hash_password(password)

        def consume(session: Session) -> RegistrationResult:
            now = self.clock.now()
            invitation = _invitation_by_token(session, token)
            if invitation is None:
                return RegistrationResult(LinkState.UNKNOWN)
            chart = session.get(Chart, invitation.chart_id)
            assert chart is not None and invitation.id is not None
            # Re-check identity and owner inside the consuming transaction (nothing from the
            # earlier read is trusted).
            row = self._owner_row(session, chart)
            if row.related_contact_id != invitation.related_contact_id:
                return RegistrationResult(LinkState.REVOKED)
            if not (last_names_match(last_name, chart.last_name) and dob == chart.date_of_birth):
                return RegistrationResult(RegistrationState.WRONG_DETAILS)
            updated = session.execute(
                sa.update(Invitation)
                .where(
                    col(Invitation.id) == invitation.id,
                    col(Invitation.state) == INVITATION_LIVE,
                    col(Invitation.failed_attempts) < MAX_IDENTITY_FAILURES,
                    col(Invitation.expires_at) > now,
                )
                .values(state=INVITATION_USED, ended_at=now)
                .execution_options(synchronize_session=False)
            )
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                session.expire_all()
                fresh = session.get(Invitation, invitation.id)
                return RegistrationResult(_token_state(fresh, now))
            owner = owner_of(session, chart, row)
            account = PortalAccount(
                chart_id=chart.id or 0,
                related_contact_id=invitation.related_contact_id,
                invitation_id=invitation.id,
                owner_name=owner.name,
                email=invitation.recipient_email,
                password_hash=password_hash,
                created_at=now,
            )
            session.add(account)
            session.flush()
            message = compose.registration_complete_email(
                practice_row(session),
                greeting_name=greeting_name(chart, owner),
                link=links.login_link(self.settings.public_base),
            )
            queue_email(
                session,
                self.settings,
                message,
                kind="registration_complete",
                now=now,
                to_address=invitation.recipient_email,
                to_name=owner.name,
                chart_id=chart.id,
            )
            self._audit(session, "registered", chart, actor=f"client:{account.id}", source=source)
            return RegistrationResult(RegistrationState.REGISTERED, account_email=account.email)

        try:
            return self.db.transact(consume)
        except IntegrityError:
            # Another submission created the account first (the unique index refused ours).
            return RegistrationResult(LinkState.USED)

    def _count_identity_failure(self, token: str, source: str) -> RegistrationResult:
        """Count one wrong answer. The increment is a single conditional UPDATE ... RETURNING,
        so parallel wrong guesses on PostgreSQL (READ COMMITTED) or SQLite can never lose a
        count and never pass the fifth failure."""

        def work(session: Session) -> RegistrationResult:
            now = self.clock.now()
            invitation = _invitation_by_token(session, token)
            if invitation is None:
                return RegistrationResult(LinkState.UNKNOWN)
            counted = session.execute(
                sa.update(Invitation)
                .where(
                    col(Invitation.id) == invitation.id,
                    col(Invitation.state) == INVITATION_LIVE,
                    col(Invitation.failed_attempts) < MAX_IDENTITY_FAILURES,
                    col(Invitation.expires_at) > now,
                )
                .values(failed_attempts=col(Invitation.failed_attempts) + 1)
                .returning(col(Invitation.failed_attempts))
                .execution_options(synchronize_session=False)
            ).first()
            if counted is None:
                session.expire_all()
                return RegistrationResult(_token_state(session.get(Invitation, invitation.id), now))
            attempts = int(counted[0])
            locked = attempts >= MAX_IDENTITY_FAILURES
            if locked:
                session.execute(
                    sa.update(Invitation)
                    .where(col(Invitation.id) == invitation.id)
                    .values(locked_at=now)
                    .execution_options(synchronize_session=False)
                )
            chart = session.get(Chart, invitation.chart_id)
            self._audit(
                session,
                "identity check lockout" if locked else "identity check failed",
                chart,
                actor="client",
                outcome="locked" if locked else "failed",
                detail=f"attempt {attempts} of {MAX_IDENTITY_FAILURES}",
                source=source,
            )
            if locked:
                return RegistrationResult(LinkState.LOCKED)
            return RegistrationResult(
                RegistrationState.WRONG_DETAILS, attempts_left=MAX_IDENTITY_FAILURES - attempts
            )

        return self.db.transact(work)

    def _owner_row(self, session: Session, chart: Chart) -> ChartOwner:
        return owner_row(session, chart, now=self.clock.now(), actor=self.actor)

    def _audit(
        self,
        session: Session,
        action: str,
        chart: Chart | None,
        *,
        actor: str,
        source: str,
        outcome: str = "ok",
        detail: str = "",
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=actor,
            action=action,
            chart=chart,
            outcome=outcome,
            detail=detail,
            source=source or f"os:{self.actor}",
        )


def _invitation_by_token(session: Session, token: str) -> Invitation | None:
    if not tokens.looks_like_token(token):
        return None
    return session.exec(
        select(Invitation).where(Invitation.token_digest == tokens.digest(token))
    ).first()


def _token_state(invitation: Invitation | None, now: datetime) -> LinkState:
    if invitation is None:
        return LinkState.UNKNOWN
    return link_state(invitation.state, invitation.failed_attempts, invitation.expires_at, now)
