"""`frontdesk doctor`: check an installation the way support would over SSH, one line per check.

Each check gives a status (pass, warn, fail, or skip when a prerequisite failed or it does not
apply), a one-line detail, and a one-line fix. Checks only read: the database is opened without
migrating it, the mail server sees EHLO, STARTTLS and AUTH but never MAIL, RCPT or DATA, and the
keyring is asked in a time-boxed call. Nothing printed holds a password, a secret, an email
address of a client or other PHI (outbox failures are summarised by their error class).

The SQLite location check is a pure function of a path and the text of /proc/self/mountinfo
(`check_sqlite_location`), so it can be tested with sample mount tables.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import keyring
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlmodel import col, select

from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import SMTP_SECURITY_CHOICES, Settings, is_loopback_host
from frontdesk.core.text import single_line
from frontdesk.mail.secrets import KeyringTimeout, SecretError, get_smtp_password
from frontdesk.mail.sender import SendError, describe_smtp_error, server_reply, tls_context
from store.db import Database, StoreError, describe_error, open_database
from store.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_RETRYING,
    OUTBOX_SENDING,
    OutboxEmail,
    Practice,
)

NETWORK_TIMEOUT = 5.0  # seconds, for each SMTP step
KEYRING_TIMEOUT = 3.0  # seconds: a locked keyring over SSH must not hang the doctor
OVERDUE = timedelta(minutes=15)  # a due email waiting longer than this: is delivery running?
FAILURE_WINDOW = timedelta(days=7)  # failures older than an invitation's life are history
DEFAULT_PUBLIC_URL = Settings().public_url

UPGRADE_FIX = "run `frontdesk db upgrade`"


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 (a status, not a password)
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class CheckResult:
    """One check: `id` is stable for scripts, `name` is for people."""

    id: str
    name: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "detail": self.detail,
            "fix": self.fix,
            **({"data": self.data} if self.data else {}),
        }


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[CheckResult, ...]

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is Status.FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status is status)

    def by_id(self, check_id: str) -> CheckResult:
        return next(c for c in self.checks if c.id == check_id)


NAMES = {
    "settings": "Settings readable",
    "database": "Database reachable",
    "migrations": "Migrations current",
    "sqlite_local_disk": "SQLite file on a local disk",
    "portal": "Practice portal active",
    "outbox_backlog": "Outbox backlog",
    "outbox_failures": "Oldest delivery failure",
    "public_url": "Public URL",
    "mail_from": "Sender address set",
    "smtp_password": "Keyring / SMTP password",
    "smtp_reachable": "SMTP reachable",
    "smtp_tls": "TLS verified",
    "smtp_login": "Login accepted",
}


def _result(
    check_id: str, status: Status, detail: str, fix: str | None = None, **data: Any
) -> CheckResult:
    return CheckResult(
        check_id,
        NAMES[check_id],
        status,
        single_line(detail),
        single_line(fix) if fix else None,
        data,
    )


def _skip(check_id: str, why: str) -> CheckResult:
    return _result(check_id, Status.SKIP, why)


# ============================================================================================
# The SQLite location: pure functions over /proc/self/mountinfo text
# ============================================================================================

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "coda",
        "9p",
        "ceph",
        "glusterfs",
        "gfs2",
        "ocfs2",
        "lustre",
        "gpfs",
        "beegfs",
        "davfs",
        "sshfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.ceph-fuse",
        "fuse.s3fs",
        "fuse.rclone",
        "fuse.gcsfuse",
        "fuse.davfs",
        "fuse.smbnetfs",
        "fuse.curlftpfs",
        "fuse.juicefs",
        "fuse.gvfsd-fuse",
    }
)
LOCAL_FUSE = frozenset({"fuseblk"})  # ntfs-3g, exfat: a local block device behind FUSE


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fstype: str
    source: str


def _unescape(field_text: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 ...)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field_text)


def parse_mountinfo(text: str) -> list[Mount]:
    """The mounts listed in /proc/self/mountinfo text, in order (malformed lines skipped)."""
    mounts = []
    for line in text.splitlines():
        parts = line.split(" ")
        if "-" not in parts[6:]:
            continue
        separator = parts.index("-", 6)
        if len(parts) < separator + 3 or len(parts) < 5:
            continue
        mounts.append(
            Mount(_unescape(parts[4]), parts[separator + 1], _unescape(parts[separator + 2]))
        )
    return mounts


def mount_for(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount holding the absolute `path`: the longest mount point that contains it (the
    later entry wins when one is mounted over another)."""
    best: tuple[int, int, Mount] | None = None
    for index, mount in enumerate(mounts):
        point = mount.mount_point.rstrip("/") or "/"
        inside = point == "/" or path == point or path.startswith(point + "/")
        if inside and (best is None or (len(point), index) >= best[:2]):
            best = (len(point), index, mount)
    return best[2] if best else None


def filesystem_kind(fstype: str) -> str:
    """'network', 'fuse' (cannot tell: a FUSE filesystem we do not know) or 'local'."""
    fstype = fstype.lower()
    if fstype in NETWORK_FILESYSTEMS or fstype.startswith(("nfs", "smb")):
        return "network"
    if fstype in LOCAL_FUSE:
        return "local"
    if fstype == "fuse" or fstype.startswith("fuse.") or fstype == "virtiofs":
        return "fuse"
    return "local"


def check_sqlite_location(path: str, mountinfo: str) -> CheckResult:
    """Pass, warn or fail for a SQLite file at the resolved absolute `path`, given the mount
    table text. No I/O."""
    mount = mount_for(path, parse_mountinfo(mountinfo))
    if mount is None:
        return _result(
            "sqlite_local_disk",
            Status.WARN,
            f"cannot tell which filesystem holds {path}",
            "keep the SQLite file on a local disk (WAL does not work over network filesystems)",
        )
    data = {"path": path, "mount_point": mount.mount_point, "fstype": mount.fstype}
    kind = filesystem_kind(mount.fstype)
    where = f"{path} is on {mount.fstype} (mounted at {mount.mount_point})"
    if kind == "network":
        return _result(
            "sqlite_local_disk",
            Status.FAIL,
            f"{where}, a network filesystem: SQLite's WAL mode does not work there and the "
            "database can be corrupted",
            "move the file to a local disk and point FRONTDESK_DATABASE_URL at it, or use "
            "PostgreSQL",
            **data,
        )
    if kind == "fuse":
        return _result(
            "sqlite_local_disk",
            Status.WARN,
            f"{where}, a FUSE/shared filesystem FrontDesk cannot classify",
            "make sure it is a local disk of this host; WAL does not work over network filesystems",
            **data,
        )
    return _result("sqlite_local_disk", Status.PASS, where, **data)


def read_mountinfo() -> str | None:
    """/proc/self/mountinfo, or None where there is none (not Linux)."""
    try:
        return Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


# ============================================================================================
# Outbox failures: a class of error, never the server's text (it may quote the address)
# ============================================================================================

_SMTP_CODE = re.compile(r"^(?:[a-z ]+: )?([245]\d\d)\b")


def error_class(last_error: str | None) -> str:
    """A short, address-free class for an outbox row's last error."""
    if not last_error:
        return "unknown error"
    text = last_error.strip()
    lower = text.lower()
    prefix = ""
    if lower.startswith("gave up after"):
        prefix = "gave up after 48 h: "
        text = text.split(":", 1)[1].strip() if ":" in text else ""
        lower = text.lower()
    code = _SMTP_CODE.match(lower)
    if "refused the login" in lower or "does not offer login" in lower:
        label = "login refused" + (f" (SMTP {code.group(1)})" if code else "")
    elif code:
        number = code.group(1)
        kind = "permanent" if number.startswith("5") else "temporary"
        label = f"SMTP {number} ({kind})"
    elif "certificate" in lower or "tls" in lower:
        label = "TLS failure"
    elif "not sent:" in lower:
        label = "message could not be built"
    elif any(
        word in lower
        for word in ("connect", "not found", "answer", "closed the connection", "lost")
    ):
        label = "connection failure"
    else:
        label = "other error"
    return prefix + label


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


# ============================================================================================
# The checks
# ============================================================================================


@dataclass
class _Smtp:
    """The one SMTP session the three mail checks share."""

    conn: smtplib.SMTP | None = None


class Doctor:
    """Runs every check once. Blocking (database, SMTP, keyring); every step is time-boxed."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        mountinfo: Callable[[], str | None] = read_mountinfo,
        network_timeout: float = NETWORK_TIMEOUT,
        keyring_timeout: float = KEYRING_TIMEOUT,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.mountinfo = mountinfo
        self.network_timeout = network_timeout
        self.keyring_timeout = keyring_timeout
        self.db: Database | None = None
        self.schema_current = False
        self.password: str | None = None
        self.login_blocker: str | None = None

    def run(self) -> list[CheckResult]:
        steps: list[tuple[tuple[str, ...], Callable[[], CheckResult | Iterator[CheckResult]]]] = [
            (("database",), self.check_database),
            (("migrations",), self.check_migrations),
            (("sqlite_local_disk",), self.check_sqlite_local_disk),
            (("portal",), self.check_portal),
            (("outbox_backlog", "outbox_failures"), self.check_outbox),
            (("public_url",), self.check_public_url),
            (("mail_from",), self.check_mail_from),
            (("smtp_password",), self.check_smtp_password),
            (("smtp_reachable", "smtp_tls", "smtp_login"), self.check_smtp),
        ]
        results: list[CheckResult] = []
        try:
            for ids, step in steps:
                results += self._guarded(ids, step)
        finally:
            if self.db is not None:
                self.db.dispose()
        return results

    @staticmethod
    def _guarded(
        ids: tuple[str, ...], step: Callable[[], CheckResult | Iterator[CheckResult]]
    ) -> list[CheckResult]:
        """Run one step; an error nobody foresaw fails its checks with one line (no
        traceback), and the other steps still run."""
        try:
            outcome = step()
            return [outcome] if isinstance(outcome, CheckResult) else list(outcome)
        except Exception as exc:  # reported as the check's result, never swallowed
            if os.environ.get("FRONTDESK_DEBUG"):
                raise
            reason = single_line(str(exc))[:200]
            return [
                _result(
                    check_id,
                    Status.FAIL,
                    f"unexpected {type(exc).__name__}: {reason}",
                    "run with FRONTDESK_DEBUG=1 for details and report it",
                )
                for check_id in ids
            ]

    # ------------------------------------------------------------------ database

    def _sqlite_path(self) -> Path | None:
        """The SQLite file of the configured URL (None for other databases or in-memory)."""
        try:
            url = make_url(self.settings.database_url)
        except ArgumentError:
            return None
        if url.get_backend_name() != "sqlite":
            return None
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database).expanduser()

    def check_database(self) -> CheckResult:
        url_text = self.settings.database_url
        try:
            url = make_url(url_text)
        except ArgumentError:
            return _result(
                "database",
                Status.FAIL,
                "FRONTDESK_DATABASE_URL is not a valid database URL",
                "set it to sqlite:///PATH or postgresql+psycopg://USER@HOST/DB",
            )
        shown = url.render_as_string(hide_password=True)
        is_sqlite = url.get_backend_name() == "sqlite"
        path = self._sqlite_path()
        if path is not None and not path.exists():
            return _result(
                "database",
                Status.FAIL,
                f"no database file at {path}",
                f"{UPGRADE_FIX} to create it (or correct FRONTDESK_DATABASE_URL)",
                url=shown,
            )
        fix = (
            "check FRONTDESK_DATABASE_URL and the file's permissions"
            if is_sqlite
            else "check FRONTDESK_DATABASE_URL, and that PostgreSQL is running and accepts "
            "connections from this host"
        )
        try:
            self.db = open_database(url_text, migrate=False)
        except StoreError as exc:
            return _result("database", Status.FAIL, str(exc), fix, url=shown)
        except SQLAlchemyError as exc:
            return _result(
                "database",
                Status.FAIL,
                f"cannot open the database at {shown}: {describe_error(exc)}",
                fix,
                url=shown,
            )
        except OSError as exc:
            return _result(
                "database",
                Status.FAIL,
                f"cannot open the database at {shown}: {exc.strerror or exc}",
                fix,
                url=shown,
            )
        kind = "SQLite" if self.db.is_sqlite else "PostgreSQL"
        return _result("database", Status.PASS, f"{kind} at {shown}", url=shown)

    def check_migrations(self) -> CheckResult:
        if self.db is None:
            return _skip("migrations", "skipped: the database is not reachable")
        from alembic.util import CommandError

        from store.migrate import alembic_config, current_revision, head_revision

        try:
            current = current_revision(self.db)
        except SQLAlchemyError as exc:
            return _result(
                "migrations",
                Status.FAIL,
                f"cannot read the schema revision: {describe_error(exc)}",
                UPGRADE_FIX,
            )
        head = head_revision()
        data = {"current": current, "head": head}
        if current == head:
            self.schema_current = True
            return _result(
                "migrations", Status.PASS, f"schema at {head}, the newest revision", **data
            )
        if current is None:
            return _result(
                "migrations",
                Status.FAIL,
                f"the database has no FrontDesk schema yet (the program needs {head})",
                UPGRADE_FIX,
                **data,
            )
        from alembic.script import ScriptDirectory

        try:
            ScriptDirectory.from_config(alembic_config()).get_revision(current)
        except CommandError:
            return _result(
                "migrations",
                Status.FAIL,
                f"the schema is at revision {current}, which this program does not know "
                f"(it needs {head}): a newer FrontDesk migrated it",
                "upgrade FrontDesk on this host to the version that migrated the database",
                **data,
            )
        return _result(
            "migrations",
            Status.FAIL,
            f"the schema is at {current}, the program needs {head}",
            UPGRADE_FIX,
            **data,
        )

    def check_sqlite_local_disk(self) -> CheckResult:
        path = self._sqlite_path()
        if path is None:
            try:
                backend = make_url(self.settings.database_url).get_backend_name()
            except ArgumentError:
                return _skip("sqlite_local_disk", "skipped: the database URL is not valid")
            if backend == "sqlite":
                return _skip("sqlite_local_disk", "not applicable: an in-memory SQLite database")
            return _skip("sqlite_local_disk", "not applicable: the database is not SQLite")
        absolute = path if path.is_absolute() else Path.cwd() / path
        existing = absolute
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        resolved = Path(os.path.realpath(existing)) / absolute.relative_to(existing)
        text = self.mountinfo()
        if text is None:
            return _skip(
                "sqlite_local_disk",
                "cannot tell on this system (no /proc/self/mountinfo); keep the file on a "
                "local disk",
            )
        return check_sqlite_location(str(resolved), text)

    # ------------------------------------------------------------------ practice and outbox

    def check_portal(self) -> CheckResult:
        if self.db is None or not self.schema_current:
            return _skip("portal", "skipped: the database is not reachable or not migrated")
        try:
            with self.db.read() as session:
                practice = session.get(Practice, 1)
        except (StoreError, SQLAlchemyError) as exc:
            return _result(
                "portal", Status.FAIL, f"cannot read the practice: {exc}", "see the database check"
            )
        if practice is None or not practice.name:
            return _result(
                "portal",
                Status.FAIL,
                "the practice is not set up: invitations cannot be sent",
                "frontdesk practice set --name NAME --phone PHONE --portal on",
            )
        if not practice.portal_active:
            return _result(
                "portal",
                Status.FAIL,
                f"the Client Portal of {practice.name} is not active: invitations cannot be sent",
                "frontdesk practice set --portal on",
                practice=practice.name,
            )
        return _result(
            "portal",
            Status.PASS,
            f"the Client Portal of {practice.name} is active",
            practice=practice.name,
        )

    def check_outbox(self) -> Iterator[CheckResult]:
        if self.db is None or not self.schema_current:
            why = "skipped: the database is not reachable or not migrated"
            yield _skip("outbox_backlog", why)
            yield _skip("outbox_failures", why)
            return
        try:
            backlog, failures = self._outbox_results(self.db)
        except (StoreError, SQLAlchemyError) as exc:
            reason = f"cannot read the outbox: {exc}"
            yield _result("outbox_backlog", Status.FAIL, reason, "see the database check")
            yield _skip("outbox_failures", "skipped: the outbox cannot be read")
            return
        yield backlog
        yield failures

    def _outbox_results(self, db: Database) -> tuple[CheckResult, CheckResult]:
        now = self.clock.now()
        waiting_states = [OUTBOX_PENDING, OUTBOX_RETRYING, OUTBOX_SENDING]
        with db.read() as session:
            counts = dict(
                session.exec(
                    select(OutboxEmail.state, sa.func.count())
                    .where(col(OutboxEmail.state).in_(waiting_states))
                    .group_by(OutboxEmail.state)
                ).all()
            )
            oldest_due = session.exec(
                select(sa.func.min(OutboxEmail.next_attempt_at)).where(
                    col(OutboxEmail.state).in_([OUTBOX_PENDING, OUTBOX_RETRYING]),
                    col(OutboxEmail.next_attempt_at) <= now,
                )
            ).one()
            failed_since = sa.func.coalesce(OutboxEmail.first_failure_at, OutboxEmail.created_at)
            failing = session.exec(
                select(
                    OutboxEmail.id,
                    OutboxEmail.state,
                    OutboxEmail.last_error,
                    failed_since,
                )
                .where(
                    sa.or_(
                        sa.and_(
                            col(OutboxEmail.state) == OUTBOX_FAILED,
                            failed_since >= now - FAILURE_WINDOW,
                        ),
                        sa.and_(
                            col(OutboxEmail.state) == OUTBOX_RETRYING,
                            col(OutboxEmail.last_error).is_not(None),
                        ),
                    )
                )
                .order_by(failed_since, col(OutboxEmail.id))
            ).all()
        return self._backlog(counts, oldest_due, now), self._failures(list(failing), now)

    def _backlog(
        self, counts: dict[str, int], oldest_due: datetime | None, now: datetime
    ) -> CheckResult:
        queued = int(counts.get(OUTBOX_PENDING, 0))
        retrying = int(counts.get(OUTBOX_RETRYING, 0))
        sending = int(counts.get(OUTBOX_SENDING, 0))
        waiting = queued + retrying + sending
        data: dict[str, Any] = {
            "waiting": waiting,
            "queued": queued,
            "retrying": retrying,
            "sending": sending,
            "oldest_due_at": _iso(oldest_due),
        }
        if waiting == 0:
            return _result("outbox_backlog", Status.PASS, "no email is waiting", **data)
        summary = f"{waiting} email(s) waiting ({queued} queued, {retrying} retrying, "
        summary += f"{sending} being sent)"
        if oldest_due is not None and now - as_utc(oldest_due) > OVERDUE:
            return _result(
                "outbox_backlog",
                Status.WARN,
                f"{summary}; the oldest has been due since {_age(now - as_utc(oldest_due))}",
                "is delivery running? `frontdesk serve` delivers in the background; "
                "`frontdesk outbox deliver` sends now",
                **data,
            )
        return _result("outbox_backlog", Status.PASS, summary, **data)

    def _failures(self, rows: list[Any], now: datetime) -> CheckResult:
        failed = sum(1 for row in rows if row[1] == OUTBOX_FAILED)
        retrying = len(rows) - failed
        days = FAILURE_WINDOW.days
        if not rows:
            return _result(
                "outbox_failures",
                Status.PASS,
                f"no delivery failure in the last {days} days",
                failed=0,
                retrying=0,
            )
        row_id, state, last_error, since = rows[0]
        since = as_utc(since)
        kind = error_class(last_error)
        state_word = "not delivered" if state == OUTBOX_FAILED else "retrying"
        return _result(
            "outbox_failures",
            Status.WARN,
            f"{failed} not delivered in the last {days} days, {retrying} retrying; oldest: "
            f"outbox {row_id}, {state_word}, failing since {_age(now - since)}: {kind}",
            "see `frontdesk outbox list` for the reason; correct the address and resend, or "
            "fix the mail server (see the SMTP checks)",
            failed=failed,
            retrying=retrying,
            oldest={
                "outbox_id": row_id,
                "state": state,
                "since": _iso(since),
                "error_class": kind,
            },
        )

    # ------------------------------------------------------------------ web and mail settings

    def check_public_url(self) -> CheckResult:
        url = self.settings.public_url or ""
        parts = urlsplit(url)
        fix = "set FRONTDESK_PUBLIC_URL to the https:// address clients reach the portal at"
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return _result("public_url", Status.FAIL, f"not an http(s) URL: {url!r}", fix)
        if parts.query or parts.fragment:
            return _result(
                "public_url", Status.FAIL, f"{url} must not carry a query or fragment", fix
            )
        loopback = is_loopback_host(parts.hostname)
        if parts.scheme == "http" and not loopback:
            return _result(
                "public_url",
                Status.FAIL,
                f"{url} uses http:// on a host that is not loopback: registration links and "
                "passwords would travel unencrypted",
                f"use https://{parts.netloc}{parts.path} (TLS at your reverse proxy)",
                url=url,
            )
        if loopback:
            unset = " (not set: the default)" if url == DEFAULT_PUBLIC_URL else ""
            return _result(
                "public_url",
                Status.WARN,
                f"{url}{unset} is a loopback address: emailed links work only on this machine",
                fix,
                url=url,
            )
        return _result("public_url", Status.PASS, f"{url} (https)", url=url)

    def check_mail_from(self) -> CheckResult:
        sender = self.settings.mail_from
        if not sender or "@" not in sender:
            return _result(
                "mail_from",
                Status.FAIL,
                "FRONTDESK_MAIL_FROM is not set: emails stay queued",
                "set FRONTDESK_MAIL_FROM (or mail_from in the config file) to the practice's "
                "sending address",
            )
        return _result("mail_from", Status.PASS, f"emails are sent from {sender}")

    def check_smtp_password(self) -> CheckResult:
        username = self.settings.smtp_username
        fix = (
            "run `frontdesk smtp set-password`; where no keyring works (headless, SSH) set "
            "FRONTDESK_SMTP_PASSWORD in the environment of `frontdesk serve`"
        )
        if not username:
            self.login_blocker = "no SMTP login configured"
            return _skip(
                "smtp_password", "not applicable: no SMTP login (FRONTDESK_SMTP_USERNAME unset)"
            )
        try:
            lookup = get_smtp_password(self.settings, timeout=self.keyring_timeout)
        except KeyringTimeout as exc:
            self.login_blocker = "the keyring did not answer"
            return _result(
                "smtp_password",
                Status.FAIL,
                str(exc),
                "unlock the keyring of this login session, or set FRONTDESK_SMTP_PASSWORD",
            )
        except SecretError as exc:
            self.login_blocker = "the keyring failed"
            return _result("smtp_password", Status.FAIL, str(exc), fix)
        backend = type(keyring.get_keyring())
        backend_name = f"{backend.__module__}.{backend.__name__}"
        if lookup.password is None:
            self.login_blocker = "no SMTP password"
            note = lookup.note or ""
            if not note or note.startswith("SMTP password not set"):
                detail = f"no SMTP password for {username} in the keyring ({backend_name})"
            else:  # the keyring itself does not work here
                detail = note.split("; set FRONTDESK_SMTP_PASSWORD")[0]
            return _result(
                "smtp_password",
                Status.FAIL,
                f"{detail}, and FRONTDESK_SMTP_PASSWORD is not set",
                fix,
                backend=backend_name,
            )
        self.password = lookup.password
        if lookup.source == "keyring":
            detail = f"the password for {username} is in the keyring ({backend_name})"
        else:
            detail = "FRONTDESK_SMTP_PASSWORD is set"
            if lookup.note:
                detail += f" (keyring: {lookup.note})"
            else:
                detail += f" (nothing stored in the keyring {backend_name})"
        return _result(
            "smtp_password", Status.PASS, detail, source=lookup.source, backend=backend_name
        )

    # ------------------------------------------------------------------ the mail server

    def check_smtp(self) -> Iterator[CheckResult]:
        session = _Smtp()
        try:
            reach = self._smtp_reach(session)
            yield reach
            tls = self._smtp_tls(session, reach)
            yield tls
            yield self._smtp_login(session, reach, tls)
        finally:
            conn = session.conn
            if conn is not None:
                try:
                    conn.quit()
                except (smtplib.SMTPException, OSError):
                    conn.close()

    @property
    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    @property
    def _timeout(self) -> float:
        return min(self.settings.smtp_timeout, self.network_timeout)

    def _describe(self, exc: BaseException) -> str:
        return describe_smtp_error(
            exc,
            host=self.settings.smtp_host,
            port=self.settings.smtp_port,
            timeout=self._timeout,
            server="",
        )

    def _smtp_reach(self, session: _Smtp) -> CheckResult:
        settings = self.settings
        fix = (
            "check FRONTDESK_SMTP_HOST and FRONTDESK_SMTP_PORT, that the mail server runs, and "
            "that no firewall blocks the port"
        )
        if not settings.smtp_host:
            return _result("smtp_reachable", Status.FAIL, "FRONTDESK_SMTP_HOST is not set", fix)
        if not 0 < settings.smtp_port < 65536:
            return _result(
                "smtp_reachable",
                Status.FAIL,
                f"FRONTDESK_SMTP_PORT must be 1-65535 (got {settings.smtp_port})",
                fix,
            )
        if settings.smtp_security not in SMTP_SECURITY_CHOICES:
            return _skip(
                "smtp_reachable",
                f"skipped: FRONTDESK_SMTP_SECURITY {settings.smtp_security!r} is not valid",
            )
        timeout = self._timeout
        try:
            if settings.smtp_security == "tls":
                # The greeting comes after the TLS handshake: here only the port is tried.
                with socket.create_connection(
                    (settings.smtp_host, settings.smtp_port), timeout=timeout
                ):
                    pass
                return _result(
                    "smtp_reachable",
                    Status.PASS,
                    f"{self._where} accepts connections (implicit TLS)",
                )
            # Connecting reads the greeting; anything but 220 raises SMTPConnectError.
            conn = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
            session.conn = conn
            conn.ehlo()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(session)
            return _result("smtp_reachable", Status.FAIL, self._describe(exc), fix)
        return _result("smtp_reachable", Status.PASS, f"{self._where} answered (220)")

    def _smtp_tls(self, session: _Smtp, reach: CheckResult) -> CheckResult:
        settings = self.settings
        security = settings.smtp_security
        if security not in SMTP_SECURITY_CHOICES:
            return _result(
                "smtp_tls",
                Status.FAIL,
                f"FRONTDESK_SMTP_SECURITY must be starttls, tls or none (got {security!r})",
                "set FRONTDESK_SMTP_SECURITY=starttls (port 587) or tls (port 465)",
            )
        if security == "none":
            if is_loopback_host(settings.smtp_host):
                return _skip(
                    "smtp_tls",
                    "not applicable: plain SMTP to a loopback mail server "
                    "(FRONTDESK_SMTP_SECURITY=none)",
                )
            return _result(
                "smtp_tls",
                Status.FAIL,
                f"FRONTDESK_SMTP_SECURITY=none to {settings.smtp_host}, which is not loopback: "
                "mail and the login would travel unencrypted",
                "set FRONTDESK_SMTP_SECURITY=starttls (port 587) or tls (port 465)",
            )
        if reach.status is not Status.PASS:
            return _skip("smtp_tls", "skipped: the mail server is not reachable")
        ca = f" + {settings.smtp_ca_file}" if settings.smtp_ca_file else ""
        fix = (
            "the server must present a certificate for "
            f"{settings.smtp_host} from a trusted CA; for a private CA set FRONTDESK_SMTP_CA_FILE "
            "to its PEM bundle"
        )
        try:
            context = tls_context(settings)
        except SendError as exc:
            return _result(
                "smtp_tls",
                Status.FAIL,
                str(exc),
                "point FRONTDESK_SMTP_CA_FILE at a readable PEM file of CA certificates",
            )
        timeout = self._timeout
        try:
            if security == "tls":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
                )
                session.conn = conn
                conn.ehlo()
                mode = "implicit TLS"
            else:
                conn_or_none = session.conn
                assert conn_or_none is not None
                conn = conn_or_none
                if not conn.has_extn("starttls"):
                    return _result(
                        "smtp_tls",
                        Status.FAIL,
                        f"{self._where} does not offer STARTTLS",
                        "enable STARTTLS on the server, or use FRONTDESK_SMTP_SECURITY=tls with "
                        "the implicit-TLS port (465)",
                    )
                conn.starttls(context=context)
                conn.ehlo()
                mode = "STARTTLS"
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(session)
            return _result("smtp_tls", Status.FAIL, self._describe(exc), fix)
        sock = conn.sock
        version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        return _result(
            "smtp_tls",
            Status.PASS,
            f"{mode}{f' ({version})' if version else ''}; certificate verified for "
            f"{settings.smtp_host} against the system CAs{ca}",
            tls_version=version,
        )

    def _smtp_login(self, session: _Smtp, reach: CheckResult, tls: CheckResult) -> CheckResult:
        settings = self.settings
        username = settings.smtp_username
        if not username:
            return _skip("smtp_login", "not applicable: no SMTP login configured")
        if reach.status is not Status.PASS:
            return _skip("smtp_login", "skipped: the mail server is not reachable")
        if tls.status is Status.FAIL or session.conn is None:
            return _skip("smtp_login", "skipped: no verified TLS connection to log in over")
        if self.password is None:
            return _skip("smtp_login", f"skipped: {self.login_blocker or 'no SMTP password'}")
        conn = session.conn
        fix = (
            "check FRONTDESK_SMTP_USERNAME and the password (`frontdesk smtp set-password`, or "
            "FRONTDESK_SMTP_PASSWORD)"
        )
        if not conn.has_extn("auth"):
            return _result(
                "smtp_login",
                Status.FAIL,
                f"{self._where} does not offer login (AUTH) on this connection",
                "enable AUTH on the mail server, or remove FRONTDESK_SMTP_USERNAME if it "
                "accepts mail without a login",
            )
        try:
            conn.login(username, self.password)
        except smtplib.SMTPAuthenticationError as exc:
            return _result(
                "smtp_login",
                Status.FAIL,
                f"the server refused the login of {username}: "
                f"{server_reply(exc.smtp_code, exc.smtp_error)}",
                fix,
            )
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(session)
            return _result("smtp_login", Status.FAIL, self._describe(exc), fix)
        return _result("smtp_login", Status.PASS, f"logged in as {username} (no email was sent)")

    @staticmethod
    def _drop(session: _Smtp) -> None:
        conn, session.conn = session.conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                return


def settings_problem(message: str) -> list[CheckResult]:
    """The whole report when the settings cannot even be read: that line, the rest skipped."""
    results = [
        _result(
            "settings",
            Status.FAIL,
            message,
            "correct the config file (FRONTDESK_CONFIG / --config) or the FRONTDESK_* variable",
        )
    ]
    results += [
        _skip(check_id, "skipped: no settings") for check_id in NAMES if check_id != "settings"
    ]
    return results


def run_doctor(
    settings: Settings | None,
    clock: Clock,
    *,
    settings_error: str | None = None,
    settings_source: str = "",
    mountinfo: Callable[[], str | None] = read_mountinfo,
    network_timeout: float = NETWORK_TIMEOUT,
    keyring_timeout: float = KEYRING_TIMEOUT,
) -> DoctorReport:
    """Every check, in order. `settings` is None when they could not be read (`settings_error`
    says why)."""
    if settings is None:
        return DoctorReport(tuple(settings_problem(settings_error or "cannot read the settings")))
    first = _result("settings", Status.PASS, settings_source or "defaults and environment")
    doctor = Doctor(
        settings,
        clock,
        mountinfo=mountinfo,
        network_timeout=network_timeout,
        keyring_timeout=keyring_timeout,
    )
    return DoctorReport((first, *doctor.run()))
