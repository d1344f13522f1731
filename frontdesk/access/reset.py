"""Getting back in: password-reset links, asked for on the sign-in page or sent by the desk.

- A link is 256 bits from `secrets`; only its digest, bound to the reset purpose, is stored
  (`tokens.purpose_digest`), so a reset token never works at /register/ and an invitation
  token never at /reset/ (SECURITY.md T7, CVE-2023-48220). It lives 60 minutes when the client
  asked and 24 hours when the desk sent it; a newer link kills older ones; five wrong dates of
  birth kill it; it is used up by one conditional UPDATE.
- Only an enabled, registered account gets a link: a pending invitation, a revoked account or
  an unknown email gets nothing, and the asker learns nothing (the web answers the same words
  at the same time whatever happens here).
- Throttles: at most 3 client-asked reset emails per account per hour (the desk's do not
  count) and at most 20 requests per client address per hour.
- Completing it changes the password (the policy of registration, with the account's own names
  and email as context), ends every session of the account, and emails the owner a notice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.access.outcomes import (
    FormProblem,
    ResetCheck,
    ResetDone,
    ResetLinkState,
    ResetResult,
    ResetSent,
)
from frontdesk.access.passwords import account_words, hash_password, password_problem
from frontdesk.access.rules import PortalStatus
from frontdesk.access.signin import end_account_sessions
from frontdesk.charts.lookup import chart_by_number, greeting_name, owner_of, owner_row
from frontdesk.core import links, tokens
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.core.emails import InvalidEmail, mask_email, normalize_email
from frontdesk.core.errors import NotAllowed
from frontdesk.core.identity import parse_date_strict
from frontdesk.mail import compose
from frontdesk.mail.queue import queue_email
from frontdesk.practice import practice_row
from store.db import Database
from store.models import (
    Chart,
    LoginThrottle,
    PasswordReset,
    PortalAccount,
    ResetOrigin,
    ResetState,
)

PURPOSE = "reset"
LIFETIME = {ResetOrigin.CLIENT: timedelta(minutes=60), ResetOrigin.STAFF: timedelta(hours=24)}
MAX_RESET_FAILURES = 5
CLIENT_RESETS_PER_HOUR = 3  # per account, asked for on the sign-in page
REQUESTS_PER_ADDRESS_PER_HOUR = 20  # per client address, whatever email it names
MAX_ACCOUNTS_PER_EMAIL = 10  # a guardian of several children: each account gets its link


def _address_key(address: str) -> str:
    return tokens.digest(f"forgot-address:{address}")


class PasswordResetService:
    """Reset links of the portal accounts in one database."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor

    # ---------------------------------------------------------------- asking for a link

    def request(self, email: str, *, client_address: str) -> None:
        """ "Forgot your password?": email a link to each enabled account with this address,
        within the throttles. Says nothing about what it found: the caller answers the same
        whatever happens (and should answer before calling this, so no timing tells)."""
        try:
            address_email = normalize_email(email)
        except InvalidEmail:
            address_email = None

        def work(session: Session) -> None:
            now = self.clock.now()
            count = self._count_address(session, client_address, now)
            if count > REQUESTS_PER_ADDRESS_PER_HOUR:
                if count > REQUESTS_PER_ADDRESS_PER_HOUR + 1:
                    return  # audited once per hour: a flood must not flood the audit trail
                audit.record(
                    session,
                    at=now,
                    actor="client",
                    action="password reset refused",
                    outcome="throttled",
                    detail="too many requests from this address",
                    source=f"web:{client_address}",
                )
                return
            if address_email is None:
                return
            accounts = session.exec(
                select(PortalAccount)
                .where(
                    sa.func.lower(PortalAccount.email) == address_email.lower(),
                    col(PortalAccount.disabled_at).is_(None),
                )
                .order_by(col(PortalAccount.id).desc())
                .limit(MAX_ACCOUNTS_PER_EMAIL)
            ).all()
            for account in accounts:
                if self._client_resets_last_hour(session, account, now) >= CLIENT_RESETS_PER_HOUR:
                    self._audit_account(
                        session, account, "password reset refused", outcome="throttled",
                        detail="3 reset emails in the last hour", source=client_address,
                    )  # fmt: skip
                    continue
                self._issue(session, account, ResetOrigin.CLIENT, "client", client_address)

        self.db.transact(work)

    def send_from_desk(self, chart_number: str) -> ResetSent:
        """Staff: email the chart's Active owner a reset link (lives 24 hours)."""

        def work(session: Session) -> ResetSent:
            chart = chart_by_number(session, chart_number, lock=True)
            account = session.exec(
                select(PortalAccount).where(
                    PortalAccount.chart_id == chart.id, col(PortalAccount.disabled_at).is_(None)
                )
            ).first()
            if account is None:
                raise NotAllowed(
                    f"A password reset is for an {PortalStatus.ACTIVE.label} account; this "
                    "chart's owner has not registered (send or resend the invitation instead)."
                )
            reset, outbox_id = self._issue(session, account, ResetOrigin.STAFF, self.actor, "")
            return ResetSent(
                chart.chart_number,
                account.owner_name,
                account.email,
                as_utc(reset.expires_at),
                outbox_id,
            )

        return self.db.transact(work)

    # ---------------------------------------------------------------- using it

    def inspect(self, token: str) -> ResetCheck:
        """What a link points at. Reads only: opening a link never changes anything."""
        now = self.clock.now()
        with self.db.read() as session:
            practice = practice_row(session)
            reset = self._by_token(session, token)
            if reset is None:
                return ResetCheck(ResetLinkState.UNKNOWN, practice.name, practice.phone)
            account = session.get(PortalAccount, reset.account_id)
            state = _link_state(reset, account, now)
            guardian = account is not None and account.related_contact_id is not None
            left = max(0, MAX_RESET_FAILURES - reset.failed_attempts)
            return ResetCheck(state, practice.name, practice.phone, left, guardian)

    def complete(
        self,
        token: str,
        *,
        date_of_birth: str,
        password: str,
        password_confirm: str,
        client_address: str = "",
    ) -> ResetResult:
        """Check the client's date of birth, then set the new password, end every session and
        use the link up — atomically, so one of N concurrent submissions wins."""
        problems: dict[str, FormProblem] = {}
        dob = parse_date_strict(date_of_birth)
        if dob is None:
            problems["date_of_birth"] = FormProblem.MALFORMED
        if password != password_confirm:
            problems["password_confirm"] = FormProblem.MISMATCH
        if not password:
            problems["password"] = FormProblem.MISSING
        if problems:
            return ResetResult(ResetDone.INVALID, problems=problems)

        now = self.clock.now()
        with self.db.read() as session:
            reset = self._by_token(session, token)
            if reset is None:
                return ResetResult(ResetLinkState.UNKNOWN)
            account = session.get(PortalAccount, reset.account_id)
            state = _link_state(reset, account, now)
            if state is not ResetLinkState.VALID or account is None:
                return ResetResult(state)
            chart = session.get(Chart, account.chart_id)
            assert chart is not None
            practice_name = practice_row(session).name
        if dob != chart.date_of_birth:
            return self._count_failure(token, client_address)
        problem = password_problem(
            password,
            context_words=account_words(
                practice_name=practice_name,
                first_name=chart.first_name,
                last_name=chart.last_name,
                preferred_name=chart.preferred_name,
                owner_name=account.owner_name,
                email=account.email,
            ),
            date_of_birth=chart.date_of_birth,
        )
        if problem:
            return ResetResult(ResetDone.PASSWORD, problem)
        password_hash = hash_password(password)

        def consume(session: Session) -> ResetResult:
            now = self.clock.now()
            reset = self._by_token(session, token)
            if reset is None:
                return ResetResult(ResetLinkState.UNKNOWN)
            used = session.execute(
                sa.update(PasswordReset)
                .where(*_usable(reset, now))
                .values(state=ResetState.USED, ended_at=now)
                .execution_options(synchronize_session=False)
            )
            account = session.get(PortalAccount, reset.account_id)
            if cast("sa.CursorResult[Any]", used).rowcount != 1 or account is None:
                session.expire_all()
                fresh = session.get(PasswordReset, reset.id)
                assert fresh is not None
                return ResetResult(_link_state(fresh, account, now))
            if account.disabled_at is not None:  # access ended since the read: nothing changes
                raise _Rollback(ResetResult(ResetLinkState.DEAD))
            assert account.id is not None
            account.password_hash = password_hash
            account.must_change_password = False
            account.failed_logins = 0
            account.throttled_until = None
            session.add(account)
            ended = end_account_sessions(session, account.id, now)
            chart = session.get(Chart, account.chart_id)
            assert chart is not None
            owner = owner_of(session, chart, owner_row(session, chart, now=now, actor=self.actor))
            message = compose.password_changed_email(
                practice_row(session),
                greeting_name=greeting_name(chart, owner),
                link=links.login_link(self.settings.public_base),
            )
            queue_email(
                session, self.settings, message, kind="password_changed", now=now,
                to_address=account.email, to_name=account.owner_name, chart_id=chart.id,
            )  # fmt: skip
            self._audit_account(
                session, account, "password reset", actor=f"client:{account.id}",
                detail=f"{ended} session(s) ended", source=client_address,
            )  # fmt: skip
            return ResetResult(ResetDone.CHANGED)

        try:
            return self.db.transact(consume)
        except _Rollback as refused:
            return refused.result

    # ---------------------------------------------------------------- steps

    def _issue(
        self,
        session: Session,
        account: PortalAccount,
        origin: ResetOrigin,
        requested_by: str,
        client_address: str,
    ) -> tuple[PasswordReset, int]:
        """A new live link for `account` (older ones superseded), its email queued, audited."""
        assert account.id is not None
        now = self.clock.now()
        end_account_resets(session, account.id, now, ResetState.SUPERSEDED)
        token = tokens.new_token()
        reset = PasswordReset(
            account_id=account.id,
            token_digest=tokens.purpose_digest(PURPOSE, token),
            origin=origin,
            requested_by=requested_by[:100],
            state=ResetState.LIVE,
            created_at=now,
            expires_at=now + LIFETIME[origin],
        )
        session.add(reset)
        session.flush()
        chart = session.get(Chart, account.chart_id)
        assert chart is not None
        owner = owner_of(session, chart, owner_row(session, chart, now=now, actor=self.actor))
        message = compose.password_reset_email(
            practice_row(session),
            greeting_name=greeting_name(chart, owner),
            link=links.reset_link(self.settings.public_base, token),
            expires_at=reset.expires_at,
        )
        outbox_id = queue_email(
            session, self.settings, message, kind="password_reset", now=now,
            to_address=account.email, to_name=account.owner_name, chart_id=chart.id,
        )  # fmt: skip
        self._audit_account(
            session,
            account,
            "password reset sent",
            actor="client" if origin is ResetOrigin.CLIENT else self.actor,
            detail=f"to {mask_email(account.email)}, asked by "
            + ("the client" if origin is ResetOrigin.CLIENT else "staff"),
            source=client_address,
        )
        return reset, outbox_id

    def _count_address(self, session: Session, client_address: str, now: datetime) -> int:
        """Count one request from this client address; how many it made this hour."""
        key = _address_key(client_address or "unknown")
        row = session.get(LoginThrottle, key)
        if row is None or now - as_utc(row.window_started_at) >= timedelta(hours=1):
            if row is None:
                row = LoginThrottle(key_digest=key, failures=0, window_started_at=now)
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        session.add(row)
        session.flush()
        return row.failures

    @staticmethod
    def _client_resets_last_hour(session: Session, account: PortalAccount, now: datetime) -> int:
        return int(
            session.exec(
                select(sa.func.count())
                .select_from(PasswordReset)
                .where(
                    PasswordReset.account_id == account.id,
                    PasswordReset.origin == ResetOrigin.CLIENT,
                    PasswordReset.created_at > now - timedelta(hours=1),
                )
            ).one()
        )

    @staticmethod
    def _by_token(session: Session, token: str) -> PasswordReset | None:
        if not tokens.looks_like_token(token):
            return None
        return session.exec(
            select(PasswordReset).where(
                PasswordReset.token_digest == tokens.purpose_digest(PURPOSE, token)
            )
        ).first()

    def _count_failure(self, token: str, client_address: str) -> ResetResult:
        """One wrong date of birth: a single conditional UPDATE ... RETURNING, so parallel
        guesses never pass the fifth failure; the fifth kills the link."""

        def work(session: Session) -> ResetResult:
            now = self.clock.now()
            reset = self._by_token(session, token)
            if reset is None:
                return ResetResult(ResetLinkState.UNKNOWN)
            counted = session.execute(
                sa.update(PasswordReset)
                .where(*_usable(reset, now))
                .values(failed_attempts=col(PasswordReset.failed_attempts) + 1)
                .returning(col(PasswordReset.failed_attempts))
                .execution_options(synchronize_session=False)
            ).first()
            account = session.get(PortalAccount, reset.account_id)
            if counted is None:
                session.expire_all()
                fresh = session.get(PasswordReset, reset.id)
                assert fresh is not None
                return ResetResult(_link_state(fresh, account, now))
            attempts = int(counted[0])
            dead = attempts >= MAX_RESET_FAILURES
            if dead:
                session.execute(
                    sa.update(PasswordReset)
                    .where(col(PasswordReset.id) == reset.id)
                    .values(state=ResetState.DEAD, ended_at=now)
                    .execution_options(synchronize_session=False)
                )
            if account is not None:
                self._audit_account(
                    session,
                    account,
                    "password reset lockout" if dead else "password reset check failed",
                    actor="client",
                    outcome="locked" if dead else "failed",
                    detail=f"attempt {attempts} of {MAX_RESET_FAILURES}",
                    source=client_address,
                )
            if dead:
                return ResetResult(ResetLinkState.DEAD)
            return ResetResult(ResetDone.WRONG_DETAILS, attempts_left=MAX_RESET_FAILURES - attempts)

        return self.db.transact(work)

    def _audit_account(
        self,
        session: Session,
        account: PortalAccount,
        action: str,
        *,
        actor: str = "client",
        outcome: str = "ok",
        detail: str = "",
        source: str = "",
    ) -> None:
        chart = session.get(Chart, account.chart_id)
        audit.record(
            session,
            at=self.clock.now(),
            actor=actor,
            action=action,
            chart=chart,
            outcome=outcome,
            detail=detail,
            source=f"web:{source}" if source else f"os:{self.actor}",
        )


def end_account_resets(
    session: Session, account_id: int, now: datetime, state: ResetState = ResetState.DEAD
) -> int:
    """Step: end the account's live reset link (a newer one, access ended); how many."""
    result = session.execute(
        sa.update(PasswordReset)
        .where(
            col(PasswordReset.account_id) == account_id,
            col(PasswordReset.state) == ResetState.LIVE,
        )
        .values(state=state, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)


class _Rollback(Exception):
    """Ends a transaction without its changes, carrying the answer to give."""

    def __init__(self, result: ResetResult) -> None:
        super().__init__(result.state)
        self.result = result


def _usable(reset: PasswordReset, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """The condition under which `reset` may still be used or counted against: one
    conditional UPDATE with it can change the row at most while the link works."""
    return (
        col(PasswordReset.id) == reset.id,
        col(PasswordReset.state) == ResetState.LIVE,
        col(PasswordReset.failed_attempts) < MAX_RESET_FAILURES,
        col(PasswordReset.expires_at) > now,
    )


def _link_state(
    reset: PasswordReset, account: PortalAccount | None, now: datetime
) -> ResetLinkState:
    if reset.state == ResetState.USED:
        return ResetLinkState.USED
    if reset.state == ResetState.SUPERSEDED:
        return ResetLinkState.REPLACED
    if reset.state == ResetState.DEAD or account is None or account.disabled_at is not None:
        return ResetLinkState.DEAD
    if reset.failed_attempts >= MAX_RESET_FAILURES:
        return ResetLinkState.DEAD
    if as_utc(reset.expires_at) <= now:
        return ResetLinkState.EXPIRED
    return ResetLinkState.VALID
