"""The invitation lifecycle: the one module that owns the rules.

Send, resend, revoke, restore, change ownership, register, and the status tag. The TUI, the CLI
and the web endpoint call this service; none of them re-implements a rule or writes SQL.
Every state change writes an AuditEvent, and every email an OutboxEmail, in the same transaction.
"""

from __future__ import annotations

import getpass
import itertools
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from frontdesk.access.passwords import hash_password, password_problem
from frontdesk.access.rules import NO_EMAIL, PORTAL_OFF, PortalAction, refusal
from frontdesk.access.status import (
    EXPIRING_SOON,
    MAX_IDENTITY_FAILURES,
    STATUS_FILTERS,
    PortalStatus,
    StatusInfo,
    compute_status,
    status_condition,
    status_of,
)
from frontdesk.core import tokens
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.core.emails import InvalidEmail, mask_email, normalize_email
from frontdesk.core.identity import last_names_match, parse_date_strict
from frontdesk.core.text import has_controls, search_key, single_line
from frontdesk.mail import compose
from store.db import Database
from store.models import (
    INVITATION_LIVE,
    INVITATION_REVOKED,
    INVITATION_SUPERSEDED,
    INVITATION_USED,
    OUTBOX_CANCELLED,
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    AuditEvent,
    Chart,
    ChartOwner,
    Invitation,
    OutboxEmail,
    PortalAccount,
    PortalSession,
    Practice,
    RelatedContact,
)

RESEND_COOLDOWN = timedelta(seconds=60)
# Aliases for "the chart's live invitation" and "its enabled account" in chart reads.
MAX_INVITATIONS_PER_DAY = 10
PAGE_SIZE = 50


# --------------------------------------------------------------------------------------------
# Errors: each carries one line for a person.
# --------------------------------------------------------------------------------------------


class PortalError(Exception):
    """A request that the rules refuse; str(error) is one clear line."""


class NotFound(PortalError):
    pass


class NotAllowed(PortalError):
    pass


class InvalidInput(PortalError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CooldownActive(NotAllowed):
    def __init__(self, message: str, seconds_left: int) -> None:
        super().__init__(message)
        self.seconds_left = seconds_left


class ConcurrentChange(PortalError):
    """Someone else changed this chart's invitation since it was shown; nothing was repeated."""


# --------------------------------------------------------------------------------------------
# Views returned to callers (plain, detached data).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """Email delivery of the newest message of an invitation."""

    state: str  # queued | sending | sent | retrying | failed | cancelled
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        if self.state == "failed":
            return f"Not delivered: {self.error or 'mail server refused it'}"
        if self.state == "retrying":
            return "Delivery retrying"
        return {"queued": "Email queued", "sending": "Sending", "sent": "Email sent"}.get(
            self.state, self.state.capitalize()
        )


@dataclass(frozen=True)
class Owner:
    name: str
    relationship: str
    email: str | None
    contact_id: int | None  # None: the client owns the chart

    @property
    def is_client(self) -> bool:
        return self.contact_id is None


@dataclass(frozen=True)
class Contact:
    id: int
    name: str
    relationship: str
    email: str | None


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


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    actor: str
    action: str
    chart_number: str | None
    outcome: str
    detail: str


@dataclass(frozen=True)
class ActionResult:
    """What an action did: a sentence for the toast, and the chart as it is now."""

    message: str
    chart: ChartSummary
    outbox_id: int | None = None


@dataclass(frozen=True)
class BulkResult:
    done: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (chart number, reason)


@dataclass(frozen=True)
class ChartInput:
    chart_number: str
    first_name: str
    last_name: str
    date_of_birth: str | date
    email: str | None = None
    preferred_name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ContactInput:
    name: str
    relationship: str
    email: str


@dataclass(frozen=True)
class TokenCheck:
    """What a registration link points at, for the web page. `state` is one of: valid, expired,
    replaced, used, revoked, locked, unknown."""

    state: str
    practice_name: str = ""
    practice_phone: str = ""
    attempts_left: int = MAX_IDENTITY_FAILURES


@dataclass(frozen=True)
class RegistrationResult:
    """Outcome of a registration POST. `state` is registered, wrong_details, password, or a
    TokenCheck state (the invitation is not usable)."""

    state: str
    message: str = ""
    attempts_left: int = 0
    account_email: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------


def staff_actor() -> str:
    """The signed-in OS login name of the person at the desk (support over SSH: their account)."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _clean_name(
    value: str, field_name: str, label: str, *, required: bool = True, limit: int = 100
) -> str:
    """Trim and collapse spaces; refuse control characters and values longer than `limit`
    (the width of the column that stores them)."""
    text = " ".join(value.split()) if value else ""
    if has_controls(value or ""):
        raise InvalidInput(f"{label} contains a control character.", field_name)
    if required and not text:
        raise InvalidInput(f"{label} is required.", field_name)
    if len(text) > limit:
        raise InvalidInput(f"{label} is longer than {limit} characters.", field_name)
    return text


def _key(value: str, width: int) -> str:
    """A folded search key cut to its column's width (folding can lengthen text: "ﬃ" → "ffi";
    a prefix that long is never typed, so nothing findable is lost)."""
    return search_key(value)[:width].rstrip()


def _parse_dob(value: str | date, today: date) -> date:
    if isinstance(value, date):
        parsed: date | None = value
    else:
        parsed = parse_date_strict(value)
    if parsed is None:
        raise InvalidInput(
            f"Date of birth must be a real date written YYYY-MM-DD (got {str(value)!r}).",
            "date_of_birth",
        )
    if parsed > today:
        raise InvalidInput("Date of birth is in the future.", "date_of_birth")
    if parsed.year < 1900:
        raise InvalidInput("Date of birth is before 1900.", "date_of_birth")
    return parsed


def _email_or_error(value: str, field_name: str = "email") -> str:
    try:
        return normalize_email(value)
    except InvalidEmail as exc:
        raise InvalidInput(str(exc), field_name) from None


class PortalService:
    """The invitation lifecycle and chart reads, over one database and one clock."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor
        self._page_statements: dict[tuple[str | None, _Shape | None], sa.Select[Any]] = {}

    # ---------------------------------------------------------------- practice

    def practice(self) -> Practice:
        with self.db.read() as session:
            return self._practice(session)

    @staticmethod
    def _practice(session: Session) -> Practice:
        practice = session.get(Practice, 1)
        if practice is None:
            return Practice(id=1, name="", phone="")
        return practice

    def update_practice(
        self,
        *,
        name: str | None = None,
        phone: str | None = None,
        portal_active: bool | None = None,
        invitation_days: int | None = None,
        timezone: str | None = None,
        reply_to: str | None = None,
    ) -> Practice:
        """Create or change the practice; turning the portal on is "activate the portal"."""
        if name is not None:
            name = _clean_name(name, "name", "Practice name", limit=200)
            if len(name) > 200:
                raise InvalidInput("Practice name is longer than 200 characters.", "name")
        if phone is not None:
            phone = _clean_name(phone, "phone", "Practice phone", required=False, limit=40)
        if invitation_days is not None and not 1 <= invitation_days <= 30:
            raise InvalidInput("Invitation validity must be 1 to 30 days.", "invitation_days")
        if timezone is not None:
            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise InvalidInput(f"Unknown time zone {timezone!r}.", "timezone") from None
        if reply_to is not None and reply_to != "":
            reply_to = _email_or_error(reply_to, "reply_to")

        def work(session: Session) -> Practice:
            now = self.clock.now()
            practice = session.get(Practice, 1)
            created = practice is None
            if practice is None:
                practice = Practice(id=1)
            changes = []
            for key, value in (
                ("name", name),
                ("phone", phone),
                ("portal_active", portal_active),
                ("invitation_days", invitation_days),
                ("timezone", timezone),
                ("reply_to", reply_to if reply_to != "" else None),
            ):
                if value is not None or (key == "reply_to" and reply_to == ""):
                    if getattr(practice, key) != value:
                        changes.append(key)
                    setattr(practice, key, value)
            if portal_active and not (practice.name or "").strip():
                raise InvalidInput(
                    "Set the practice name before activating the portal.", "portal_active"
                )
            practice.updated_at = now
            session.add(practice)
            if created or changes:
                action = "practice created" if created else "practice updated"
                if "portal_active" in changes:
                    action = "portal activated" if portal_active else "portal deactivated"
                self._audit(session, action, None, detail=",".join(changes))
            return practice

        return self.db.transact(work)

    # ---------------------------------------------------------------- charts

    def add_chart(self, data: ChartInput, *, session: Session | None = None) -> str:
        """Add a chart (its client owns portal access). Returns the chart number."""
        if session is not None:
            return self._add_chart(session, data)
        return self.db.transact(lambda s: self._add_chart(s, data))

    def validate_chart(self, data: ChartInput, *, today: date | None = None) -> Chart:
        """Check a chart's fields; raise InvalidInput naming the field. `today` is the
        practice's local date (looked up when not given)."""
        now = self.clock.now()
        number = (data.chart_number or "").strip()
        if not number:
            raise InvalidInput("Chart number is required.", "chart_number")
        if has_controls(number) or len(number) > 40 or any(c.isspace() for c in number):
            raise InvalidInput(
                "Chart number must be up to 40 characters without spaces.", "chart_number"
            )
        first = _clean_name(data.first_name, "first_name", "First name")
        last = _clean_name(data.last_name, "last_name", "Last name")
        preferred = _clean_name(
            data.preferred_name or "", "preferred_name", "Preferred name", required=False
        )
        if today is None:
            today = now.astimezone(self._zone()).date()
        dob = _parse_dob(data.date_of_birth, today)
        email = _email_or_error(data.email) if data.email and data.email.strip() else None
        phone = _clean_name(data.phone or "", "phone", "Phone", required=False, limit=40) or None
        return Chart(
            chart_number=number,
            first_name=first,
            last_name=last,
            preferred_name=preferred or None,
            date_of_birth=dob,
            email=email,
            phone=phone,
            last_key=_key(last, 100),
            first_key=_key(first, 100),
            email_key=(email or "").lower(),
            search_text=_key(f"{last} {first} {preferred} {number} {email or ''}", 1000),
            created_at=now,
            updated_at=now,
        )

    def _add_chart(self, session: Session, data: ChartInput) -> str:
        today = self.clock.now().astimezone(self._zone(session)).date()
        chart = self.validate_chart(data, today=today)
        exists = session.exec(
            select(Chart.id).where(Chart.chart_number == chart.chart_number)
        ).first()
        if exists is not None:
            raise InvalidInput(f"Chart number {chart.chart_number} already exists.", "chart_number")
        session.add(chart)
        session.flush()
        assert chart.id is not None
        session.add(
            ChartOwner(chart_id=chart.id, updated_at=chart.created_at, updated_by=self.actor)
        )
        self._audit(session, "chart added", chart)
        return chart.chart_number

    def add_contact(
        self, chart_number: str, contact: ContactInput, *, session: Session | None = None
    ) -> Contact:
        """Add a related contact (guardian, parent, ...) to a chart. With `session`, inside
        the caller's transaction (the CSV import adds charts and contacts as one)."""

        def work(session: Session) -> Contact:
            chart = self._chart(session, chart_number, lock=True)
            row = self._new_contact(session, chart, contact)
            assert row.id is not None
            return Contact(row.id, row.name, row.relationship, row.email)

        if session is not None:
            return work(session)
        return self.db.transact(work)

    def _new_contact(self, session: Session, chart: Chart, contact: ContactInput) -> RelatedContact:
        name = _clean_name(contact.name, "name", "Name")
        if len(name) > 200:
            raise InvalidInput("Name is longer than 200 characters.", "name")
        relationship = _clean_name(contact.relationship, "relationship", "Relationship", limit=60)
        email = _email_or_error(contact.email)
        assert chart.id is not None
        row = RelatedContact(
            chart_id=chart.id,
            name=name,
            relationship=relationship,
            email=email,
            created_at=self.clock.now(),
        )
        session.add(row)
        session.flush()
        self._audit(session, "contact added", chart, detail=f"contact {row.id} ({relationship})")
        return row

    def _zone(self, session: Session | None = None) -> ZoneInfo:
        """The practice's time zone (read in `session` when given, else in a new read)."""
        if session is not None:
            tz = self._practice(session).timezone
        else:
            with self.db.read() as own:
                tz = self._practice(own).timezone
        try:
            return ZoneInfo(tz)
        except ZoneInfoNotFoundError:
            return ZoneInfo("UTC")

    def _chart(self, session: Session, chart_number: str, *, lock: bool = False) -> Chart:
        query = select(Chart).where(Chart.chart_number == chart_number.strip())
        if lock and self.db.is_postgres:
            query = query.with_for_update()
        chart = session.exec(query).first()
        if chart is None:
            raise NotFound(f"No chart with number {single_line(chart_number)!r}.")
        return chart

    # ---------------------------------------------------------------- reads

    # Substring matches above this many use an ordered scan instead of the trigram index:
    # a common fragment finds a page at once by walking the last-name index.
    _FTS_SCAN_THRESHOLD = 5000

    # A prefix matching more charts than this walks the name index instead of sorting them
    # (sorting reads the prefix's covering index; walking, the name index, see migration 0003).
    _SORT_LIMIT = 3000

    def prepare_search(self) -> int:
        """Build and compile every page statement a search without a status filter can use
        (a few dozen on SQLite, one on PostgreSQL), each run once with a zero limit (which
        reads nothing); returns how many. Call it on a reader thread when the browser opens, so no
        keystroke pays for building its statement (several milliseconds each)."""
        shapes: list[_Shape | None] = [None]
        if self.db.is_sqlite:
            for first, email, number in itertools.product((False, True), repeat=3):
                prefixes = (
                    _Branch("last"),
                    _Branch("first", walk=first),
                    _Branch("email", walk=email),
                    _Branch("number", walk=number),
                )
                shapes.append(prefixes)
                shapes.append((*prefixes, _Branch("trigram", walk=False)))
                shapes.append((*prefixes, _Branch("within")))
        else:  # one shape for short texts, one with the substring branch
            for text in ("pr", "prepare"):
                found = self._text_shape(None, text)
                shapes.append(found[0] if found else None)
        now = self.clock.now()
        # The same parameter names as a real search: SQLAlchemy's compiled-statement cache is
        # keyed by them too. A zero limit makes SQLite stop at once: nothing is read.
        params = _page_params(None, now, limit=0, offset=0)
        with self.db.read_connection() as conn:
            for shape in shapes:
                conn.execute(self._page_statement(None, shape), params).all()
        return len(shapes)

    def _text_shape(
        self, conn: sa.Connection | None, text: str, *, counting: bool = False
    ) -> tuple[_Shape, dict[str, Any]] | None:
        """The ways `text` can match a chart, each usable with an index: prefix of last name,
        first name, email or chart number, or (3+ characters) a substring of any of them
        (trigram index on SQLite, pg_trgm on PostgreSQL); with the parameters they bind.
        Each way is a `_Branch` naming how it reads (see `_branch_condition`). None when there
        is nothing to match. While not `counting`, one probe statement decides, per prefix,
        whether it matches so many charts that walking the name index in display order finds
        a page sooner than seeking the matches and sorting them."""
        raw = single_line(text).strip()
        key = search_key(raw)
        if not key:
            return None
        params = _text_params(raw, key)
        substring = len(key) >= 3
        if not self.db.is_sqlite:
            branches = [_Branch("last"), _Branch("first"), _Branch("email"), _Branch("number")]
            if substring:
                branches.append(_Branch("within"))
            return tuple(branches), params
        if counting:
            # A count ORs the branches: only index ranges keep that an index union.
            many = (0, 0, 0, 0)
        else:
            assert conn is not None, "SQLite probes need a connection"
            probe = _PROBE_WITH_FTS if substring else _PROBE
            found = conn.execute(
                probe,
                {
                    **params,
                    "probe_many": self._SORT_LIMIT + 1,
                    "probe_fts": self._FTS_SCAN_THRESHOLD + 1,
                },
            ).one()
            many = (found[0], found[1], found[2], found[3] if substring else 0)
        branches = [
            _Branch("last"),
            _Branch("first", walk=many[0] > self._SORT_LIMIT),
            _Branch("email", walk=many[1] > self._SORT_LIMIT),
            _Branch("number", walk=many[2] > self._SORT_LIMIT),
        ]
        if substring:
            branches.append(
                _Branch("within", walk=True)
                if many[3] > self._FTS_SCAN_THRESHOLD
                else _Branch("trigram", walk=False)
            )
        return tuple(branches), params

    def _page_statement(self, status: str | None, shape: _Shape | None) -> sa.Select[Any]:
        """The one statement that reads a page of the browser: built once per shape (status
        filter and ways of matching) and reused with new parameters, so a keystroke costs
        one probe and one query, without ORM objects."""
        cache_key = (status, shape)
        statement = self._page_statements.get(cache_key)
        if statement is None:
            statement = _build_page_statement(status, shape, sqlite=self.db.is_sqlite)
            self._page_statements[cache_key] = statement
        return statement

    @property
    def pages_read_in_place(self) -> bool:
        """Whether a page without a status filter may be read on the caller's own thread:
        on a local SQLite store it takes a few milliseconds and never waits for a writer
        (WAL), so a screen can show it in the same frame as the key that asked for it.
        On PostgreSQL a read is a network round trip: read it on a worker thread."""
        return self.db.is_sqlite

    def search_charts(
        self,
        text: str = "",
        *,
        status: str | None = None,
        limit: int = PAGE_SIZE,
        offset: int = 0,
    ) -> list[ChartSummary]:
        """One page of charts ordered by last name; never loads more than a page of rows.
        Each way of matching takes its own best index and yields at most one page (plus the
        offset) in display order; the page is cut from their merge, in the same statement."""
        now = self.clock.now()
        limit = max(1, min(limit, 500))
        offset = max(0, offset)
        status = status if status and status != "all" else None
        if status is not None and status not in STATUS_FILTERS:
            raise ValueError(f"unknown status {status!r}")
        with self.db.read_connection() as conn:
            found = self._text_shape(conn, text)
            shape, text_params = found if found is not None else (None, None)
            params = _page_params(text_params, now, limit=limit, offset=offset)
            rows = conn.execute(self._page_statement(status, shape), params).all()
        return [_summary_of_row(row, now) for row in rows]

    def count_charts(self, text: str = "", *, status: str | None = None) -> int:
        """How many charts match (for "N charts" in the browser)."""
        now = self.clock.now()
        inner = _charts_with_status(
            sa.select(_CHART.c.id), status if status and status != "all" else None
        )
        with self.db.read_connection() as conn:
            found = self._text_shape(conn, text, counting=True)
            params = _page_params(found[1] if found else None, now, limit=0, offset=0)
            if found is not None:
                sqlite = self.db.is_sqlite
                inner = inner.where(
                    sa.or_(*(_branch_condition(b, sqlite=sqlite) for b in found[0]))
                )
            counted = sa.select(sa.func.count()).select_from(inner.subquery())
            return int(conn.execute(counted, params).scalar_one())

    def chart(self, chart_number: str) -> ChartDetail:
        """Everything the chart screen shows (the same columns as a browser row, read the
        same way, plus the related contacts and the enabled account's email)."""
        now = self.clock.now()
        with self.db.read_connection() as conn:
            row = conn.execute(_ONE_CHART, {"number": chart_number.strip()}).first()
            if row is None:
                raise NotFound(f"No chart with number {single_line(chart_number)!r}.")
            contacts = conn.execute(
                sa.select(_CONTACT.c.id, _CONTACT.c.name, _CONTACT.c.relationship, _CONTACT.c.email)
                .where(_CONTACT.c.chart_id == row.chart_id)
                .order_by(_CONTACT.c.id)
            ).all()
        summary = _summary_of_row(row, now)
        return ChartDetail(
            **{f: getattr(summary, f) for f in summary.__dataclass_fields__},
            contacts=tuple(Contact(c.id, c.name, c.relationship, c.email) for c in contacts),
            account_email=row.acct_email,
        )

    def history(self, chart_number: str, *, limit: int = 200) -> list[AuditRow]:
        """The chart's audit trail, newest first."""
        return self.audit(chart_number=chart_number, limit=limit)

    def audit(self, *, chart_number: str | None = None, limit: int = 500) -> list[AuditRow]:
        with self.db.read() as session:
            query = select(AuditEvent)
            if chart_number is not None:
                chart = self._chart(session, chart_number)
                query = query.where(AuditEvent.chart_id == chart.id)
            rows = session.exec(
                query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
            ).all()
            return [
                AuditRow(as_utc(r.at), r.actor, r.action, r.chart_number, r.outcome, r.detail)
                for r in rows
            ]

    # ---------------------------------------------------------------- lifecycle

    def send_invitation(self, chart_number: str) -> ActionResult:
        """Invite the chart's owner (the chart has no portal access yet)."""

        def work(session: Session) -> int:
            chart = self._chart(session, chart_number, lock=True)
            self._refuse_unless(PortalAction.ACTIVATE, self._state(session, chart))
            return self._issue_invitation(session, chart, kind="invitation")

        outbox_id = self.db.transact(work)
        return self._result(chart_number, outbox_id, "Invitation sent to")

    def resend_invitation(
        self, chart_number: str, *, seen_invitation_id: int | None = None
    ) -> ActionResult:
        """Send a new link; every earlier link of the chart stops working at once.

        `seen_invitation_id` is the invitation the caller was looking at: if another desk has
        resent since, nothing is repeated and ConcurrentChange says who did it.
        """

        def work(session: Session) -> int:
            chart = self._chart(session, chart_number, lock=True)
            live = self._live_invitation(session, chart)
            if seen_invitation_id is not None and (live is None or live.id != seen_invitation_id):
                newest = self._newest_invitation(session, chart)
                if newest is not None and newest.id != seen_invitation_id:
                    when = self._local(newest.created_at)
                    raise ConcurrentChange(
                        f"{newest.created_by} just changed this invitation "
                        f"({newest.kind} at {when:%-I:%M %p}); nothing was repeated."
                    )
            self._refuse_unless(PortalAction.RESEND, self._state(session, chart))
            self._check_cooldown(session, chart)
            return self._issue_invitation(session, chart, kind="resend")

        try:
            outbox_id = self.db.transact(work)
        except (CooldownActive, ConcurrentChange) as refused:
            # The refused transaction rolled back; the refusal itself is still audited.
            outcome = "cooldown" if isinstance(refused, CooldownActive) else "conflict"
            self.db.transact(
                lambda s: self._audit(
                    s, "resend refused", self._chart(s, chart_number), outcome=outcome
                )
            )
            raise
        return self._result(chart_number, outbox_id, "New invitation sent to")

    def revoke_access(self, chart_number: str) -> ActionResult:
        """End portal access: the live link dies, the account is disabled, sessions end."""

        def work(session: Session) -> None:
            chart = self._chart(session, chart_number, lock=True)
            self._refuse_unless(PortalAction.REVOKE, self._state(session, chart))
            ended = self._end_access(session, chart, INVITATION_REVOKED)
            self._audit(session, "access revoked", chart, detail=ended)

        self.db.transact(work)
        return self._result(chart_number, None, "Portal access revoked for")

    def activate_access(self, chart_number: str) -> ActionResult:
        """Restore an existing account of the current owner, or invite when there is none."""

        def work(session: Session) -> tuple[int, str]:
            chart = self._chart(session, chart_number, lock=True)
            self._refuse_unless(PortalAction.ACTIVATE, self._state(session, chart))
            owner_row = self._owner_row(session, chart)
            account = session.exec(
                select(PortalAccount)
                .where(
                    PortalAccount.chart_id == chart.id,
                    PortalAccount.related_contact_id == owner_row.related_contact_id,
                    col(PortalAccount.disabled_at).is_not(None),
                )
                .order_by(col(PortalAccount.id).desc())
            ).first()
            owner = self._owner(session, chart, owner_row)
            if account is not None and owner.email and account.email == owner.email:
                self._require_portal_active(session)
                account.disabled_at = None
                account.failed_logins = 0
                account.throttled_until = None
                session.add(account)
                practice = self._practice(session)
                message = compose.access_restored_email(
                    practice,
                    greeting_name=self._greeting(chart, owner),
                    link=f"{self.settings.public_base}/login",
                )
                outbox_id = self._queue(session, chart, None, owner, message, "access_restored")
                self._audit(session, "access restored", chart, detail=f"account {account.id}")
                return outbox_id, "Portal access restored for"
            return self._issue_invitation(session, chart, kind="invitation"), "Invitation sent to"

        outbox_id, verb = self.db.transact(work)
        return self._result(chart_number, outbox_id, verb)

    def change_owner(
        self,
        chart_number: str,
        *,
        to_client: bool = False,
        contact_id: int | None = None,
        new_contact: ContactInput | None = None,
        invite: bool = False,
        seen_owner_version: int | None = None,
    ) -> ActionResult:
        """Give portal ownership to the client, an existing related contact, or a new one.

        The old owner's invitation is revoked and their sessions end. With `invite`, the new
        owner is invited in the same transaction.
        """
        if sum([to_client, contact_id is not None, new_contact is not None]) != 1:
            raise InvalidInput("Choose exactly one new owner: the client or a related contact.")

        def work(session: Session) -> int | None:
            chart = self._chart(session, chart_number, lock=True)
            owner_row = self._owner_row(session, chart)
            if seen_owner_version is not None and owner_row.version != seen_owner_version:
                raise ConcurrentChange(
                    f"{owner_row.updated_by} just changed this chart's owner; review and retry."
                )
            target_id: int | None
            if to_client:
                target_id = None
            elif new_contact is not None:
                target_id = self._new_contact(session, chart, new_contact).id
            else:
                contact = session.get(RelatedContact, contact_id)
                if contact is None or contact.chart_id != chart.id:
                    raise NotFound("That related contact does not belong to this chart.")
                target_id = contact.id
            if target_id == owner_row.related_contact_id:
                raise NotAllowed("That person already owns this chart's portal access.")
            ended = self._end_access(session, chart, INVITATION_REVOKED)
            owner_row.related_contact_id = target_id
            owner_row.version += 1
            owner_row.updated_at = self.clock.now()
            owner_row.updated_by = self.actor
            session.add(owner_row)
            session.flush()
            self._audit(
                session,
                "owner changed",
                chart,
                detail=("to client" if target_id is None else f"to contact {target_id}")
                + (f"; {ended}" if ended else ""),
            )
            if invite:
                return self._issue_invitation(session, chart, kind="invitation")
            return None

        outbox_id = self.db.transact(work)
        return self._result(
            chart_number,
            outbox_id,
            "Owner changed; invitation sent to" if invite else "Owner changed to",
        )

    def send_all_without_access(self) -> BulkResult:
        """Go-live: invite every chart with a valid owner email and no portal access."""
        return self._bulk(PortalStatus.NO_PORTAL_ACCESS.value, self.send_invitation)

    def resend_all_expired(self, *, include_locked: bool = False) -> BulkResult:
        first = self._bulk(PortalStatus.EXPIRED.value, self.resend_invitation)
        if not include_locked:
            return first
        second = self._bulk(PortalStatus.LOCKED.value, self.resend_invitation)
        return BulkResult(first.done + second.done, first.skipped + second.skipped)

    def _bulk(self, status: str, action: object) -> BulkResult:
        assert callable(action)
        done: list[str] = []
        skipped: list[tuple[str, str]] = []
        seen: set[str] = set()
        while True:
            batch = [
                c.chart_number
                for c in self.search_charts(status=status, limit=200)
                if c.chart_number not in seen
            ]
            if not batch:
                break
            for number in batch:
                seen.add(number)
                try:
                    action(number)
                    done.append(number)
                except PortalError as exc:
                    skipped.append((number, str(exc)))
        return BulkResult(tuple(done), tuple(skipped))

    # ---------------------------------------------------------------- registration

    def practice_contact(self) -> tuple[str, str]:
        """The practice's name and phone, for a page; on SQLite one row through the driver."""
        if self.db.is_sqlite:
            row = self.db.read_row_sqlite("SELECT name, phone FROM practice WHERE id = 1", {})
            return (str(row[0] or ""), str(row[1] or "")) if row is not None else ("", "")
        practice = self.practice()
        return practice.name, practice.phone

    def inspect_token(self, token: str) -> TokenCheck:
        """What a link points at. Reads only: opening a link never changes anything.
        One query on a bare connection: this runs for every page view of a link."""
        now = self.clock.now()
        digest = tokens.digest(token) if tokens.looks_like_token(token) else ""
        found: tuple[Any, ...] | None
        if self.db.is_sqlite:  # straight through the driver: every view of a link reads this
            found = self.db.read_row_sqlite(_LINK_SQL, {"digest": digest})
            if found is not None:
                found = (*found[:4], self.db.datetime_from_sqlite(found[4]))
        else:
            with self.db.read_connection() as conn:
                first = conn.execute(_LINK_QUERY, {"digest": digest}).first()
            found = None if first is None else tuple(first)
        if found is None:
            return TokenCheck("unknown", "", "", 0)
        name, phone, state, failed_attempts, expires_at = found
        if state is None:
            return TokenCheck("unknown", name or "", phone or "", 0)
        shown = _link_state(state, failed_attempts, expires_at, now)
        left = max(0, MAX_IDENTITY_FAILURES - failed_attempts)
        return TokenCheck(shown, name or "", phone or "", left)

    @staticmethod
    def _invitation_by_token(session: Session, token: str) -> Invitation | None:
        if not tokens.looks_like_token(token):
            return None
        return session.exec(
            select(Invitation).where(Invitation.token_digest == tokens.digest(token))
        ).first()

    @staticmethod
    def _token_state(invitation: Invitation | None, now: datetime) -> str:
        if invitation is None:
            return "unknown"
        return _link_state(invitation.state, invitation.failed_attempts, invitation.expires_at, now)

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
        errors: dict[str, str] = {}
        if not last_name.strip():
            errors["last_name"] = "Enter your last name."
        dob = parse_date_strict(date_of_birth)
        if dob is None:
            errors["date_of_birth"] = "Enter your date of birth as YYYY-MM-DD."
        if password != password_confirm:
            errors["password_confirm"] = "The two passwords do not match."  # noqa: S105
        if not password:
            errors["password"] = "Choose a password."  # noqa: S105
        if errors:
            return RegistrationResult(
                "invalid", "Please correct the fields marked below.", field_errors=errors
            )

        now = self.clock.now()
        with self.db.read() as session:
            invitation = self._invitation_by_token(session, token)
            state = self._token_state(invitation, now)
            if state != "valid" or invitation is None:
                return RegistrationResult(state)
            chart = session.get(Chart, invitation.chart_id)
            practice = self._practice(session)
            assert chart is not None
            identity_ok = (
                last_names_match(last_name, chart.last_name) and dob == chart.date_of_birth
            )
            owner_name = self._owner(session, chart, self._owner_row(session, chart)).name
            # "ana.obrien+portal" → "ana obrien portal": each part is checked on its own.
            email_local = " ".join(
                invitation.recipient_email.partition("@")[0].replace("+", ".").split(".")
            )

        if not identity_ok:
            return self._count_identity_failure(token, source)

        problem = password_problem(
            password,
            context_words=[
                practice.name,
                chart.first_name,
                chart.last_name,
                chart.preferred_name or "",
                owner_name,
                email_local,
                "frontdesk",
                "portal",
            ],
            date_of_birth=chart.date_of_birth,
        )
        if problem:
            return RegistrationResult("password", problem, field_errors={"password": problem})

        password_hash = hash_password(password)

        def consume(session: Session) -> RegistrationResult:
            now = self.clock.now()
            invitation = self._invitation_by_token(session, token)
            if invitation is None:
                return RegistrationResult("unknown")
            chart = session.get(Chart, invitation.chart_id)
            assert chart is not None and invitation.id is not None
            # Re-check identity and owner inside the consuming transaction (nothing from the
            # earlier read is trusted).
            owner_row = self._owner_row(session, chart)
            if owner_row.related_contact_id != invitation.related_contact_id:
                return RegistrationResult("revoked")
            if not (last_names_match(last_name, chart.last_name) and dob == chart.date_of_birth):
                return RegistrationResult("wrong_details")
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
                return RegistrationResult(self._token_state(fresh, now))
            owner = self._owner(session, chart, owner_row)
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
            practice = self._practice(session)
            message = compose.registration_complete_email(
                practice,
                greeting_name=self._greeting(chart, owner),
                link=f"{self.settings.public_base}/login",
            )
            self._queue(
                session,
                chart,
                None,
                owner,
                message,
                "registration_complete",
                to_address=invitation.recipient_email,
            )
            self._audit(session, "registered", chart, actor=f"client:{account.id}", source=source)
            return RegistrationResult("registered", account_email=account.email)

        try:
            return self.db.transact(consume)
        except IntegrityError:
            # Another submission created the account first (the unique index refused ours).
            return RegistrationResult("used")

    def _count_identity_failure(self, token: str, source: str) -> RegistrationResult:
        """Count one wrong answer. The increment is a single conditional UPDATE ... RETURNING,
        so parallel wrong guesses on PostgreSQL (READ COMMITTED) or SQLite can never lose a
        count and never pass the fifth failure."""

        def work(session: Session) -> RegistrationResult:
            now = self.clock.now()
            invitation = self._invitation_by_token(session, token)
            if invitation is None:
                return RegistrationResult("unknown")
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
                return RegistrationResult(
                    self._token_state(session.get(Invitation, invitation.id), now)
                )
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
                return RegistrationResult("locked")
            return RegistrationResult(
                "wrong_details", attempts_left=MAX_IDENTITY_FAILURES - attempts
            )

        return self.db.transact(work)

    # ---------------------------------------------------------------- internals

    @staticmethod
    def _refuse_unless(action: PortalAction, state: StatusInfo) -> None:
        """Refuse `action` where the design's table says it does not apply (the rule is in
        frontdesk.access.rules, which the TUI's menu shows too)."""
        reason = refusal(action, state.status)
        if reason is not None:
            raise NotAllowed(f"{reason}.")

    def _state(self, session: Session, chart: Chart) -> StatusInfo:
        return compute_status(
            self._live_invitation(session, chart),
            self._enabled_account(session, chart),
            self.clock.now(),
        )

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
        row = session.get(ChartOwner, chart.id)
        if row is None:
            assert chart.id is not None
            row = ChartOwner(chart_id=chart.id, updated_at=self.clock.now(), updated_by=self.actor)
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _owner(session: Session, chart: Chart, owner_row: ChartOwner) -> Owner:
        if owner_row.related_contact_id is not None:
            contact = session.get(RelatedContact, owner_row.related_contact_id)
            if contact is not None:
                return Owner(contact.name, contact.relationship, contact.email, contact.id)
        return Owner(f"{chart.first_name} {chart.last_name}", "Client", chart.email, None)

    @staticmethod
    def _greeting(chart: Chart, owner: Owner) -> str:
        if owner.is_client:
            return single_line(chart.preferred_name or chart.first_name)
        return single_line(owner.name.split()[0] if owner.name.split() else owner.name)

    def _local(self, value: datetime) -> datetime:
        return as_utc(value).astimezone(self._zone())

    def _require_portal_active(self, session: Session) -> Practice:
        practice = self._practice(session)
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

    def _issue_invitation(self, session: Session, chart: Chart, *, kind: str) -> int:
        """Supersede every earlier invitation, create a new one and queue its email."""
        practice = self._require_portal_active(session)
        owner_row = self._owner_row(session, chart)
        owner = self._owner(session, chart, owner_row)
        if not owner.email:
            raise NotAllowed(f"{NO_EMAIL} ({single_line(owner.name)}); add one first.")
        try:
            recipient = normalize_email(owner.email)
        except InvalidEmail as exc:
            raise NotAllowed(f"The chart owner's email address is not valid: {exc}") from None
        now = self.clock.now()
        self._supersede_live(session, chart, INVITATION_SUPERSEDED)
        token = tokens.new_token()
        invitation = Invitation(
            chart_id=chart.id or 0,
            token_digest=tokens.digest(token),
            related_contact_id=owner_row.related_contact_id,
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
            greeting_name=self._greeting(chart, owner),
            link=f"{self.settings.public_base}/register/{token}",
            expires_at=invitation.expires_at,
            resend=kind == "resend",
            first_name=single_line(
                chart.first_name if owner.is_client else (owner.name.split() or [owner.name])[0]
            ),
        )
        outbox_id = self._queue(
            session, chart, invitation, owner, message, kind, to_address=recipient
        )
        self._audit(
            session,
            "invitation resent" if kind == "resend" else "invitation sent",
            chart,
            detail=f"invitation {invitation.id} to {mask_email(recipient)}",
        )
        return outbox_id

    def _supersede_live(self, session: Session, chart: Chart, new_state: str) -> int:
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

    def _end_access(self, session: Session, chart: Chart, invitation_state: str) -> str:
        """Kill the live invitation, disable enabled accounts and end their sessions."""
        now = self.clock.now()
        killed = self._supersede_live(session, chart, invitation_state)
        accounts = session.exec(
            select(PortalAccount).where(
                PortalAccount.chart_id == chart.id, col(PortalAccount.disabled_at).is_(None)
            )
        ).all()
        ended_sessions = 0
        for account in accounts:
            account.disabled_at = now
            session.add(account)
            result = session.execute(
                sa.update(PortalSession)
                .where(
                    col(PortalSession.account_id) == account.id,
                    col(PortalSession.ended_at).is_(None),
                )
                .values(ended_at=now)
                .execution_options(synchronize_session=False)
            )
            ended_sessions += result.rowcount  # type: ignore[attr-defined]
        parts = []
        if killed:
            parts.append("invitation revoked")
        if accounts:
            parts.append(f"account disabled, {ended_sessions} session(s) ended")
        return "; ".join(parts)

    def _queue(
        self,
        session: Session,
        chart: Chart,
        invitation: Invitation | None,
        owner: Owner,
        message: compose.ComposedEmail,
        kind: str,
        *,
        to_address: str | None = None,
    ) -> int:
        now = self.clock.now()
        address = to_address or owner.email or ""
        domain = (self.settings.mail_from or "frontdesk.invalid").rpartition("@")[
            2
        ] or "frontdesk.invalid"
        row = OutboxEmail(
            kind=kind,
            chart_id=chart.id,
            invitation_id=invitation.id if invitation else None,
            to_address=address,
            to_name=single_line(owner.name),
            subject=message.subject,
            body_text=message.text,
            body_html=message.html,
            message_id=make_msgid(domain=domain),
            state=OUTBOX_PENDING,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id

    def _audit(
        self,
        session: Session,
        action: str,
        chart: Chart | None,
        *,
        outcome: str = "ok",
        detail: str = "",
        actor: str | None = None,
        source: str = "",
    ) -> None:
        session.add(
            AuditEvent(
                at=self.clock.now(),
                actor=actor or self.actor,
                action=action,
                chart_id=chart.id if chart else None,
                chart_number=chart.chart_number if chart else None,
                outcome=outcome,
                detail=single_line(detail)[:500],
                source=(source or f"os:{self.actor}")[:100],
            )
        )

    def _result(self, chart_number: str, outbox_id: int | None, verb: str) -> ActionResult:
        chart = self.chart(chart_number)
        if verb.startswith("Portal access revoked"):
            message = f"{verb} {chart.display_name}."
        elif verb == "Owner changed to":
            message = f"Portal owner is now {chart.owner.name} ({chart.owner.relationship})."
        else:
            message = f"{verb} {mask_email(chart.owner.email or '')}."
        return ActionResult(message=message, chart=chart, outbox_id=outbox_id)


# --------------------------------------------------------------------------------------------
# The browser's page read: one statement per keystroke (plus one probe on SQLite).
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Branch:
    """One way a search text matches a chart: `kind` is last | first | email | number (a
    prefix), trigram (a substring, by the FTS5 trigram index) or within (a substring, by
    LIKE: pg_trgm on PostgreSQL; on SQLite a fragment so common that walking the name index
    finds a page at once). `walk`: read the name index in display order and filter, rather
    than seek the matches on their own index and sort them."""

    kind: str
    walk: bool = True


_Shape = tuple[_Branch, ...]

# Per prefix, whether more than :probe_many charts match (index range counts that stop early);
# the FTS form also counts the charts the trigram phrase matches (up to :probe_fts).
_PROBE_PREFIXES = (
    "SELECT"
    " (SELECT count(*) FROM (SELECT 1 FROM chart"
    "   WHERE first_key >= :key AND first_key < :key_end LIMIT :probe_many)),"
    " (SELECT count(*) FROM (SELECT 1 FROM chart"
    "   WHERE email_key >= :key AND email_key < :key_end LIMIT :probe_many)),"
    " (SELECT count(*) FROM (SELECT 1 FROM chart"
    "   WHERE chart_number >= :raw AND chart_number < :raw_end LIMIT :probe_many))"
)
_PROBE = sa.text(_PROBE_PREFIXES)
_PROBE_WITH_FTS = sa.text(
    _PROBE_PREFIXES  # noqa: S608 - constant SQL; every value is bound
    + ", (SELECT count(*) FROM (SELECT 1 FROM chart_fts"
    "   WHERE chart_fts MATCH :phrase LIMIT :probe_fts))"
)

# A trigram phrase's matches in name order (SQLite): their name keys come from the narrow
# covering index of migration 0003, not from each chart row.
_TRIGRAM_KEYS = sa.text(
    "SELECT c.last_key AS last_key, c.first_key AS first_key, c.id AS id"
    " FROM chart_fts JOIN chart AS c INDEXED BY ix_chart_id_names ON c.id = chart_fts.rowid"
    " WHERE chart_fts MATCH :phrase ORDER BY c.last_key || '', c.first_key, c.id LIMIT :take"
).columns(
    sa.column("last_key", sa.String), sa.column("first_key", sa.String), sa.column("id", sa.Integer)
)

# The page statement is plain SQLAlchemy Core over the tables (no ORM entities): a statement
# per shape stays small to keep, quick to compile and quick to run.
_CHART = Chart.metadata.tables["chart"]
_LIVE_INV = Chart.metadata.tables["invitation"].alias("live_inv")
_ENABLED_ACCT = Chart.metadata.tables["portal_account"].alias("enabled_acct")
_OWNER = Chart.metadata.tables["chart_owner"]
_CONTACT = Chart.metadata.tables["related_contact"]
_OUTBOX = Chart.metadata.tables["outbox_email"]
_NEWEST_MAIL = _OUTBOX.alias("newest_mail")

# "The chart's live invitation" and "its enabled account", as outer-join conditions.
_LIVE_JOIN = sa.and_(_LIVE_INV.c.chart_id == _CHART.c.id, _LIVE_INV.c.state == INVITATION_LIVE)
_ACCOUNT_JOIN = sa.and_(
    _ENABLED_ACCT.c.chart_id == _CHART.c.id, _ENABLED_ACCT.c.disabled_at.is_(None)
)
_NOW = sa.bindparam("now", type_=sa.DateTime(timezone=True))
_SOON = sa.bindparam("soon", type_=sa.DateTime(timezone=True))


def _charts_with_status(query: Any, status: str | None) -> Any:
    """`query` FROM chart, keeping only the charts whose status is `status` (None: all); the
    status is the rule of frontdesk.access.status, in SQL, bound to :now and :soon."""
    query = query.select_from(_CHART)
    if status is None:
        return query
    inv, acct = _LIVE_INV.c, _ENABLED_ACCT.c
    return (
        query.outerjoin(_LIVE_INV, _LIVE_JOIN)
        .outerjoin(_ENABLED_ACCT, _ACCOUNT_JOIN)
        .where(status_condition(status, _NOW, inv, acct, soon_before=_SOON))
    )


_PREFIX_COLUMNS: dict[str, tuple[Any, str, str, str]] = {
    # kind: (column, low bound, high bound, LIKE prefix pattern) as parameter names
    "last": (_CHART.c.last_key, "key", "key_end", "key_prefix"),
    "first": (_CHART.c.first_key, "key", "key_end", "key_prefix"),
    "email": (_CHART.c.email_key, "key", "key_end", "key_prefix"),
    "number": (_CHART.c.chart_number, "raw", "raw_end", "raw_prefix"),
}


def _text_params(raw: str, key: str) -> dict[str, Any]:
    """What the ways of matching bind, for the raw text and its folded search key."""
    return {
        "key": key,
        "key_end": key + "\U0010ffff",
        "raw": raw,
        "raw_end": raw + "\U0010ffff",
        "key_prefix": _like_escape(key) + "%",
        "raw_prefix": _like_escape(raw) + "%",
        "key_within": "%" + _like_escape(key) + "%",
        "phrase": '"' + key.replace('"', '""') + '"',
    }


def _page_params(
    text_params: dict[str, Any] | None, now: datetime, *, limit: int, offset: int
) -> dict[str, Any]:
    """Every parameter of a page statement. Always the same names, with or without a text:
    SQLAlchemy caches a compiled statement under its parameter names as well, so a different
    set would compile it again (milliseconds, in the middle of a keystroke)."""
    nothing = "\U0010fffe" * 3
    return {
        **(text_params if text_params is not None else _text_params(nothing, nothing)),
        "now": now,
        "soon": now + EXPIRING_SOON,
        "limit": limit,
        "offset": offset,
        "take": offset + limit,
    }


def _like_escape(value: str) -> str:
    return value.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _branch_condition(branch: _Branch, *, sqlite: bool) -> sa.ColumnElement[bool]:
    """The WHERE condition of one way of matching, with bound parameters (see _text_shape)."""
    chart = _CHART.c
    if branch.kind in ("trigram", "within"):
        if branch.kind == "trigram":
            fts = sa.text("SELECT rowid FROM chart_fts WHERE chart_fts MATCH :phrase")
            return chart.id.in_(fts)
        return chart.search_text.like(sa.bindparam("key_within"), escape="/")
    column, low, high, prefix = _PREFIX_COLUMNS[branch.kind]
    if not sqlite:
        return cast(sa.ColumnElement[bool], column.like(sa.bindparam(prefix), escape="/"))
    # A range on the column. When walking the name index, `column || ''` keeps SQLite from
    # choosing the column's own index (the last name's range is on the name index itself).
    target = column + "" if branch.walk and branch.kind != "last" else column
    return sa.and_(target >= sa.bindparam(low), target < sa.bindparam(high))


def _build_page_statement(status: str | None, shape: _Shape | None, *, sqlite: bool) -> Any:
    chart = _CHART.c
    order = (chart.last_key, chart.first_key, chart.id)
    # The same order as an expression no index provides, so SQLite seeks the matches first
    # and sorts them instead of walking the whole name index.
    seek_order = (chart.last_key + "", chart.first_key, chart.id)

    def keys(*columns: Any) -> Any:
        return _charts_with_status(sa.select(*columns), status)

    if shape is None:
        page = keys(chart.id.label("id")).order_by(*order)
    else:
        parts = [
            _TRIGRAM_KEYS.subquery(f"way{n}")
            if branch.kind == "trigram" and status is None
            else keys(
                chart.last_key.label("last_key"),
                chart.first_key.label("first_key"),
                chart.id.label("id"),
            )
            .where(_branch_condition(branch, sqlite=sqlite))
            .order_by(*(order if branch.walk else seek_order))
            .limit(sa.bindparam("take"))
            .subquery(f"way{n}")
            for n, branch in enumerate(shape)
        ]
        merged = sa.union(
            *(sa.select(part.c.last_key, part.c.first_key, part.c.id) for part in parts)
        )
        matched = merged.subquery("matched")
        page = sa.select(matched.c.id).order_by(
            matched.c.last_key, matched.c.first_key, matched.c.id
        )
    page_ids = page.limit(sa.bindparam("limit")).offset(sa.bindparam("offset")).subquery("page")
    return _summary_select(page_ids.join(_CHART, chart.id == page_ids.c.id)).order_by(*order)


def _summary_select(charts: Any) -> Any:
    """What a browser row and the chart screen show, in columns: the chart, its live
    invitation, enabled account, owner (contact) and the newest email of the invitation.
    `charts` is the FROM that brings the `chart` table in (which charts)."""
    chart, inv, acct = _CHART.c, _LIVE_INV.c, _ENABLED_ACCT.c
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
    ).select_from(
        charts.outerjoin(_LIVE_INV, _LIVE_JOIN)
        .outerjoin(_ENABLED_ACCT, _ACCOUNT_JOIN)
        .outerjoin(_OWNER, owner.chart_id == chart.id)
        .outerjoin(_CONTACT, contact.id == owner.related_contact_id)
        .outerjoin(_NEWEST_MAIL, mail.id == newest_mail)
    )


# One chart by its number, for the chart screen (the columns of a browser row).
_ONE_CHART = _summary_select(_CHART).where(_CHART.c.chart_number == sa.bindparam("number"))


def _summary_of_row(row: Any, now: datetime) -> ChartSummary:
    """A ChartSummary from a row of the page statement."""
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
                row.mail_state, row.mail_sent_at, row.mail_next_attempt_at, row.mail_error
            )
            if has_invitation and row.mail_state is not None
            else None
        ),
        owner_version=row.owner_version or 0,
    )


# What a link page needs, in one statement: the practice and (if the digest is known) the
# invitation's state columns. An empty digest matches nothing.
_LINK_SQL = (
    "SELECT p.name, p.phone, i.state, i.failed_attempts, i.expires_at "
    "FROM practice p LEFT JOIN invitation i ON i.token_digest = :digest "
    "WHERE p.id = 1"
)
_LINK_QUERY = sa.text(_LINK_SQL).columns(
    sa.column("name", sa.String),
    sa.column("phone", sa.String),
    sa.column("state", sa.String),
    sa.column("failed_attempts", sa.Integer),
    sa.column("expires_at", sa.DateTime(timezone=True)),
)


def _link_state(state: str, failed_attempts: int, expires_at: datetime, now: datetime) -> str:
    """What a registration link points at, from its invitation's columns."""
    if state == INVITATION_USED:
        return "used"
    if state == INVITATION_REVOKED:
        return "revoked"
    if state == INVITATION_SUPERSEDED:
        return "replaced"
    if failed_attempts >= MAX_IDENTITY_FAILURES:
        return "locked"
    if as_utc(expires_at) <= now:
        return "expired"
    return "valid"


def delivery_of(row: OutboxEmail) -> Delivery:
    """Staff-facing delivery state of one outbox row."""
    return delivery_from(row.state, row.sent_at, row.next_attempt_at, row.last_error)


def delivery_from(
    state: str, sent_at: datetime | None, next_attempt_at: datetime | None, error: str | None
) -> Delivery:
    """Staff-facing delivery state from an outbox row's columns."""
    shown = {
        OUTBOX_PENDING: "queued",
        OUTBOX_SENDING: "sending",
        OUTBOX_SENT: "sent",
        OUTBOX_RETRYING: "retrying",
        OUTBOX_FAILED: "failed",
        OUTBOX_CANCELLED: "cancelled",
    }.get(state, state)
    return Delivery(
        state=shown,
        sent_at=as_utc(sent_at) if sent_at else None,
        next_attempt_at=(
            as_utc(next_attempt_at) if state == OUTBOX_RETRYING and next_attempt_at else None
        ),
        error=error,
    )
