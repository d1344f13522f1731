"""Sign-in and sessions of the Client Portal: the rules live here; the web layer only calls them.

- Sessions are server-side. The browser's cookie holds a random 256-bit id; the database keeps
  only its SHA-256 digest. A session ends after 15 minutes without a request, 12 hours after
  sign-in, at sign-out, or when the account is disabled (Revoke Access, Change Ownership).
  Activity is recorded at most every 30 seconds, so a session idle for 15 minutes ends
  between 14 min 30 s and 15 min after the last page view.
- A failed sign-in looks the same whether or not the email exists: one message, and the same
  argon2 work (a dummy hash for unknown emails).
- Throttling (LoginThrottle rows keyed by digests, never by the email itself):
  * email + client address: a delay after every failure, from 1 s doubling to 15 minutes;
  * client address alone: after 10 failures, from 1 s doubling to 15 minutes (one address
    trying many emails);
  * email alone: after 10 failures, from 1 s doubling to 60 seconds (many addresses trying
    one email), so an attacker elsewhere can delay a client by a minute at most.
  An attempt is counted as a failure before the password is checked, and the count is undone
  on success, so parallel guesses cannot slip through before the first one is recorded.
  Counters are forgotten 24 hours after their first failure once no delay is running. Staff
  can clear an email's counters at once (`frontdesk signin unlock EMAIL`, audited) for a
  client who is waiting out a delay; the address-wide counter stays.
- Several accounts may share an email (a guardian of two children): the newest enabled account
  whose password matches is signed in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.access.passwords import MAX_LENGTH, hash_password, needs_rehash, verify_password
from frontdesk.core import tokens
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.emails import InvalidEmail, mask_email, normalize_email
from frontdesk.core.text import has_controls, single_line
from store.db import Database
from store.models import (
    Chart,
    LoginThrottle,
    PortalAccount,
    PortalSession,
    ServerSecret,
)

IDLE_TIMEOUT = timedelta(minutes=15)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
THROTTLE_MEMORY = timedelta(hours=24)
# A page view records a session's activity when the last record is at least this old.
SESSION_TOUCH_EVERY = timedelta(seconds=30)
# At most this many accounts sharing one email are tried (newest first).
MAX_ACCOUNTS_PER_EMAIL = 10


@dataclass(frozen=True)
class ThrottleRule:
    """Delay after the n-th failure: none up to `free`, then 1 s doubling up to `cap`."""

    prefix: str
    free: int
    cap: timedelta

    def delay(self, failures: int) -> timedelta:
        over = failures - self.free
        if over <= 0:
            return timedelta(0)
        seconds = min(2 ** min(over - 1, 30), int(self.cap.total_seconds()))
        return timedelta(seconds=seconds)


PAIR_RULE = ThrottleRule("pair", free=0, cap=timedelta(minutes=15))
ADDRESS_RULE = ThrottleRule("address", free=10, cap=timedelta(minutes=15))
EMAIL_RULE = ThrottleRule("email", free=10, cap=timedelta(seconds=60))


@dataclass(frozen=True)
class SignInResult:
    """Outcome of one sign-in attempt. `session_id` (the raw cookie value) only on success."""

    ok: bool
    session_id: str | None = None
    retry_after: int = 0  # seconds to wait when throttled

    @property
    def throttled(self) -> bool:
        return not self.ok and self.retry_after > 0


@dataclass(frozen=True)
class ActiveSession:
    """A live, signed-in browser, with what the portal page shows."""

    account_id: int
    chart_id: int  # the one chart this account is for: signed-in pages read only this chart
    csrf_token: str
    owner_name: str
    email: str
    client_name: str  # whose care the account is for (the chart's client)
    for_someone_else: bool  # the owner is a guardian / related contact
    practice_name: str
    practice_phone: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class SessionLookup:
    """What a session cookie points at, as read: the live session (or None) and the write the
    read calls for: "end" (it ran out), "touch" (record its activity) or None."""

    active: ActiveSession | None
    id_digest: str
    write: str | None
    now: datetime | None = None


# The session, its account and chart, and the practice: one row for every signed-in page.
_SESSION_SQL = """
SELECT s.ended_at, s.last_seen_at, s.created_at, s.csrf_token,
       a.id, a.chart_id, a.disabled_at, a.owner_name, a.email, a.related_contact_id,
       c.preferred_name, c.first_name, c.last_name, p.name, p.phone
FROM portal_session AS s
LEFT JOIN portal_account AS a ON a.id = s.account_id
LEFT JOIN chart AS c ON c.id = a.chart_id
LEFT JOIN practice AS p ON p.id = 1
WHERE s.id_digest = :digest
"""


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _pair_key(email_key: str, address: str) -> str:
    """The email + address counter's key: a digest of the email alone, then one of both, so
    every pair of an email can be found (and cleared by staff) without storing the email."""
    return (
        _digest(PAIR_RULE.prefix, email_key)[:24]
        + _digest(PAIR_RULE.prefix, email_key, address)[:40]
    )


def _email_key(email: str) -> str:
    """The normalised email when valid, otherwise a folded form (it still gets throttled)."""
    try:
        return normalize_email(email)
    except InvalidEmail:
        return " ".join(email.split()).casefold()


def end_account_sessions(session: Session, account_id: int, now: datetime) -> int:
    """Step: end every live session of one account (in the caller's transaction); how many."""
    result = session.execute(
        sa.update(PortalSession)
        .where(col(PortalSession.account_id) == account_id, col(PortalSession.ended_at).is_(None))
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)


class SignInService:
    """Accounts, sessions and throttling over one database and one clock."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        verify: Callable[[str | None, str], bool] = verify_password,
    ) -> None:
        self.db = db
        self.clock = clock
        self._verify = verify
        self._secrets: dict[str, bytes] = {}

    # ------------------------------------------------------------------ sign-in

    def sign_in(
        self,
        email: str,
        password: str,
        *,
        client_address: str,
        previous_session_id: str | None = None,
    ) -> SignInResult:
        """Check the email and password; on success start a new session (and end the one the
        browser held before, if any). Blocking (argon2): call it from a worker thread."""
        email_key = _email_key(email)
        address = single_line(client_address)[:64] or "unknown"
        keys = {
            PAIR_RULE: _pair_key(email_key, address),
            ADDRESS_RULE: _digest(ADDRESS_RULE.prefix, address),
            EMAIL_RULE: _digest(EMAIL_RULE.prefix, email_key),
        }
        wait = self._reserve(keys)
        if wait > 0:
            self.db.transact(
                lambda s: self._audit(
                    s,
                    "sign-in refused",
                    None,
                    actor="client",
                    outcome="throttled",
                    detail=f"email {mask_email(email_key)}",
                    source=address,
                )
            )
            return SignInResult(False, retry_after=wait)

        candidates: list[PortalAccount] = []
        usable = bool(password) and len(password) <= MAX_LENGTH and not has_controls(email)
        if usable:
            with self.db.read() as session:
                candidates = list(
                    session.exec(
                        select(PortalAccount)
                        .where(
                            PortalAccount.email == email_key,
                            col(PortalAccount.disabled_at).is_(None),
                        )
                        .order_by(
                            col(PortalAccount.created_at).desc(), col(PortalAccount.id).desc()
                        )
                        .limit(MAX_ACCOUNTS_PER_EMAIL)
                    ).all()
                )
        matched: PortalAccount | None = None
        if not candidates:
            self._verify(None, password[:MAX_LENGTH])  # the same work as a wrong password
        for account in candidates:
            if self._verify(account.password_hash, password):
                matched = account
                break

        if matched is None:
            self.db.transact(
                lambda s: self._audit(
                    s,
                    "sign-in failed",
                    None,
                    actor="client",
                    outcome="failed",
                    detail=f"email {mask_email(email_key)}",
                    source=address,
                )
            )
            return SignInResult(False)
        account_id = matched.id
        assert account_id is not None
        # Hashing parameters were raised since this hash was made: store a fresh hash.
        rehashed = hash_password(password) if needs_rehash(matched.password_hash) else None
        session_id = tokens.new_token()
        started = self.db.transact(
            lambda s: self._start_session(
                s, account_id, session_id, keys, address, previous_session_id, rehashed
            )
        )
        if not started:  # disabled between the check and now
            return SignInResult(False)
        return SignInResult(True, session_id=session_id)

    def _reserve(self, keys: dict[ThrottleRule, str]) -> int:
        for _ in range(3):
            try:
                return self.db.transact(lambda s: self._reserve_attempt(s, keys))
            except IntegrityError:  # a parallel first attempt created a row; read it again
                continue
        return self.db.transact(lambda s: self._reserve_attempt(s, keys))

    def _reserve_attempt(self, session: Session, keys: dict[ThrottleRule, str]) -> int:
        """Seconds to wait if any key is in its delay; otherwise count this attempt as a
        failure on every key (undone on success) and return 0."""
        now = self.clock.now()
        rows: dict[ThrottleRule, LoginThrottle] = {}
        wait = 0
        for rule, key in keys.items():
            query = select(LoginThrottle).where(LoginThrottle.key_digest == key)
            if self.db.is_postgres:
                query = query.with_for_update()
            row = session.exec(query).first()
            if row is None:
                row = LoginThrottle(key_digest=key, failures=0, window_started_at=now)
            blocked_until = as_utc(row.blocked_until) if row.blocked_until else None
            if blocked_until is not None and blocked_until > now:
                wait = max(wait, int((blocked_until - now).total_seconds() + 0.999))
            elif now - as_utc(row.window_started_at) > THROTTLE_MEMORY:
                row.failures = 0
                row.window_started_at = now
            rows[rule] = row
        if wait:
            return wait
        for rule, row in rows.items():
            if row.failures == 0:
                row.window_started_at = now
            row.failures += 1
            row.blocked_until = now + rule.delay(row.failures)
            session.add(row)
        session.flush()
        return 0

    def _start_session(
        self,
        session: Session,
        account_id: int,
        session_id: str,
        keys: dict[ThrottleRule, str],
        address: str,
        previous_session_id: str | None,
        rehashed: str | None,
    ) -> bool:
        now = self.clock.now()
        account = session.get(PortalAccount, account_id)
        if account is None or account.disabled_at is not None:
            return False
        if rehashed is not None:
            account.password_hash = rehashed
        # This attempt was counted as a failure up front: forget it.
        for rule, key in keys.items():
            row = session.get(LoginThrottle, key)
            if row is None:
                continue
            if rule is ADDRESS_RULE:  # kept: signing in to one account must not reset it
                row.failures = max(0, row.failures - 1)
                row.blocked_until = now
                session.add(row)
            else:
                session.delete(row)
        if previous_session_id and tokens.looks_like_token(previous_session_id):
            session.execute(
                sa.update(PortalSession)
                .where(
                    col(PortalSession.id_digest) == tokens.digest(previous_session_id),
                    col(PortalSession.ended_at).is_(None),
                )
                .values(ended_at=now)
                .execution_options(synchronize_session=False)
            )
        session.add(
            PortalSession(
                id_digest=tokens.digest(session_id),
                account_id=account_id,
                csrf_token=tokens.new_token(),
                created_at=now,
                last_seen_at=now,
                source=address,
            )
        )
        account.last_login_at = now
        account.failed_logins = 0
        session.add(account)
        chart = session.get(Chart, account.chart_id)
        self._audit(session, "signed in", chart, actor=f"client:{account_id}", source=address)
        return True

    def unlock(self, email: str, *, actor: str) -> int:
        """Forget the failed sign-ins counted for `email` (alone and from every address), so
        its owner can sign in now; audited with the staff member's name. Returns how many
        counters were cleared (0: nothing was held back)."""
        email_key = _email_key(email)
        prefix = _digest(PAIR_RULE.prefix, email_key)[:24]
        key = col(LoginThrottle.key_digest)

        def work(session: Session) -> int:
            deleted = session.execute(
                sa.delete(LoginThrottle)
                .where(
                    sa.or_(
                        key == _digest(EMAIL_RULE.prefix, email_key),
                        sa.and_(key > prefix, key < prefix + "g"),  # hex digits sort below g
                    )
                )
                .execution_options(synchronize_session=False)
            )
            cleared = int(cast("sa.CursorResult[Any]", deleted).rowcount or 0)
            audit.record(
                session,
                at=self.clock.now(),
                actor=actor,
                action="sign-in unlocked",
                outcome="ok" if cleared else "nothing held",
                detail=f"email {mask_email(email_key)}; {cleared} counter(s) cleared",
                source="cli",
            )
            return cleared

        return self.db.transact(work)

    # ------------------------------------------------------------------ sessions

    def session(self, session_id: str | None) -> ActiveSession | None:
        """The live session for a cookie value, its idle clock restarted; None when there is
        none (unknown, ended, idle for over 15 minutes, over 12 hours old, account disabled).

        A page view only reads, unless the session's recorded activity is more than
        SESSION_TOUCH_EVERY old (then one conditional UPDATE records it) or the session has
        run out (then it is ended): a client clicking around does not write on every click.
        The idle clock may so start up to that long before the last view: a session ends
        between 14 min 30 s and 15 min after it, never later."""
        return self.settle_session(self.look_up_session(session_id))

    def look_up_session(self, session_id: str | None) -> SessionLookup:
        """The reading half of `session`: one row (session, account, chart, practice). On
        SQLite it goes straight through the driver and never waits for a lock, so the web
        runs it in place; `settle_session` does the write it may ask for."""
        if not session_id or not tokens.looks_like_token(session_id):
            return SessionLookup(None, "", None)
        id_digest = tokens.digest(session_id)
        now = self.clock.now()
        row = self._session_row(id_digest)
        if row is None or row[0] is not None:  # unknown, or ended
            return SessionLookup(None, id_digest, None)
        (
            _ended, last_seen_at, created_at, csrf_token, account_id, chart_id, disabled_at,
            owner_name, email, related_contact_id, preferred, first, last, practice_name,
            practice_phone,
        ) = row  # fmt: skip
        seen, started = as_utc(last_seen_at), as_utc(created_at)
        if (
            account_id is None
            or disabled_at is not None
            or now - seen > IDLE_TIMEOUT
            or now - started > ABSOLUTE_TIMEOUT
        ):
            return SessionLookup(None, id_digest, "end", now)
        client = single_line(f"{preferred or first} {last}") if last is not None else ""
        active = ActiveSession(
            account_id=int(account_id),
            chart_id=int(chart_id),
            csrf_token=str(csrf_token),
            owner_name=single_line(owner_name or ""),
            email=str(email),
            client_name=client,
            for_someone_else=related_contact_id is not None,
            practice_name=str(practice_name or ""),
            practice_phone=str(practice_phone or ""),
            created_at=started,
            last_seen_at=seen,
        )
        touch = "touch" if now - seen >= SESSION_TOUCH_EVERY else None
        return SessionLookup(active, id_digest, touch, now)

    def settle_session(self, lookup: SessionLookup) -> ActiveSession | None:
        """The writing half of `session`: end a run-out session, or record the activity of a
        live one (None when it ended meanwhile: sign-out, Revoke Access)."""
        if lookup.write == "end" and lookup.now is not None:
            self._update_live_session(lookup.id_digest, ended_at=lookup.now)
            return None
        active = lookup.active
        if lookup.write == "touch" and active is not None and lookup.now is not None:
            if not self._update_live_session(lookup.id_digest, last_seen_at=lookup.now):
                return None
            return replace(active, last_seen_at=lookup.now)
        return active

    def _session_row(self, id_digest: str) -> tuple[Any, ...] | None:
        if self.db.is_sqlite:
            found = self.db.read_row_sqlite(_SESSION_SQL, {"digest": id_digest})
            if found is None:
                return None
            convert = self.db.datetime_from_sqlite
            return (convert(found[0]), convert(found[1]), convert(found[2]), *found[3:])
        with self.db.read_connection() as conn:
            first = conn.execute(sa.text(_SESSION_SQL), {"digest": id_digest}).first()
        return None if first is None else tuple(first)

    def _update_live_session(self, id_digest: str, **values: datetime) -> bool:
        """Set `values` on the session if it is still live (one conditional UPDATE);
        False when it has ended meanwhile (sign-out, Revoke Access)."""

        def work(session: Session) -> bool:
            updated = session.execute(
                sa.update(PortalSession)
                .where(
                    col(PortalSession.id_digest) == id_digest,
                    col(PortalSession.ended_at).is_(None),
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(cast("sa.CursorResult[Any]", updated).rowcount)

        return self.db.transact(work)

    def sign_out(self, session_id: str | None, *, client_address: str = "") -> bool:
        """End the session server-side. True when a live session was ended."""
        if not session_id or not tokens.looks_like_token(session_id):
            return False
        id_digest = tokens.digest(session_id)

        def work(session: Session) -> bool:
            now = self.clock.now()
            row = session.exec(
                select(PortalSession).where(PortalSession.id_digest == id_digest)
            ).first()
            if row is None or row.ended_at is not None:
                return False
            row.ended_at = now
            session.add(row)
            account = session.get(PortalAccount, row.account_id)
            chart = session.get(Chart, account.chart_id) if account else None
            self._audit(
                session,
                "signed out",
                chart,
                actor=f"client:{row.account_id}",
                source=single_line(client_address)[:64],
            )
            return True

        return self.db.transact(work)

    # ------------------------------------------------------------------ server secrets

    def server_secret(self, name: str) -> bytes:
        """A random 256-bit key shared by every process of this database (created on first
        use, kept in the ServerSecret table)."""
        cached = self._secrets.get(name)
        if cached is not None:
            return cached

        def work(session: Session) -> str:
            row = session.get(ServerSecret, name)
            if row is None:
                row = ServerSecret(
                    name=name, value=secrets.token_hex(32), created_at=self.clock.now()
                )
                session.add(row)
                session.flush()
            return row.value

        try:
            value = self.db.transact(work)
        except IntegrityError:  # another process created it at the same moment
            with self.db.read() as session:
                row = session.get(ServerSecret, name)
                assert row is not None
                value = row.value
        key = bytes.fromhex(value)
        self._secrets[name] = key
        return key

    # ------------------------------------------------------------------ internals

    def _audit(
        self,
        session: Session,
        action: str,
        chart: Chart | None,
        *,
        actor: str,
        outcome: str = "ok",
        detail: str = "",
        source: str = "",
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=actor,
            action=action,
            chart=chart,
            outcome=outcome,
            detail=detail,
            source=f"web:{source}" if source else "web",
        )
