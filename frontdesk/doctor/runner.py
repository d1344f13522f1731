"""Runs every check once, in report order; a step that fails unforeseen fails its own checks
and the others still run. Also the report when the settings cannot be read."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from frontdesk.core.clock import Clock
from frontdesk.core.config import Settings
from frontdesk.core.text import single_line
from frontdesk.doctor import (
    addresses,
    database,
    mail_pause,
    outbox,
    smtp,
    smtp_password,
    sqlite_disk,
)
from frontdesk.doctor.results import NAMES, CheckResult, DoctorReport, Status, result, skip
from frontdesk.doctor.sqlite_disk import read_mountinfo
from store.db import Database

NETWORK_TIMEOUT = 5.0  # seconds, for each SMTP step
KEYRING_TIMEOUT = 3.0  # seconds: a locked keyring over SSH must not hang the doctor


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
            (("outbox_paused",), self.check_paused),
            (("public_url",), self.check_public_url),
            (("mail_from",), self.check_mail_from),
            (("smtp_password",), self.check_smtp_password),
            (("smtp_reachable", "smtp_tls", "smtp_login", "smtp_sender"), self.check_smtp),
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
                result(
                    check_id,
                    Status.FAIL,
                    f"unexpected {type(exc).__name__}: {reason}",
                    "run with FRONTDESK_DEBUG=1 for details and report it",
                )
                for check_id in ids
            ]

    # Each step hands the state the later steps need (the open database, whether its schema
    # is current, the SMTP password) back to the doctor.

    def check_database(self) -> CheckResult:
        found, self.db = database.check_database(self.settings.database_url)
        return found

    def check_migrations(self) -> CheckResult:
        found = database.check_migrations(self.db)
        self.schema_current = found.status is Status.PASS
        return found

    def check_sqlite_local_disk(self) -> CheckResult:
        return sqlite_disk.check_sqlite_local_disk(self.settings.database_url, self.mountinfo)

    def check_portal(self) -> CheckResult:
        return database.check_portal(self.db, self.schema_current)

    def check_outbox(self) -> Iterator[CheckResult]:
        return outbox.check_outbox(self.db, self.schema_current, self.clock)

    def check_paused(self) -> CheckResult:
        return mail_pause.check_paused(self.db, self.schema_current, self.clock)

    def check_public_url(self) -> CheckResult:
        return addresses.check_public_url(self.settings)

    def check_mail_from(self) -> CheckResult:
        return addresses.check_mail_from(self.settings)

    def check_smtp_password(self) -> CheckResult:
        found = smtp_password.check_smtp_password(self.settings, self.keyring_timeout)
        self.password, self.login_blocker = found.password, found.login_blocker
        return found.check

    def check_smtp(self) -> Iterator[CheckResult]:
        return smtp.check_smtp(
            self.settings,
            network_timeout=self.network_timeout,
            password=self.password,
            login_blocker=self.login_blocker,
        )


def settings_problem(message: str) -> list[CheckResult]:
    """The whole report when the settings cannot even be read: that line, the rest skipped."""
    results = [
        result(
            "settings",
            Status.FAIL,
            message,
            "correct the config file (FRONTDESK_CONFIG / --config) or the FRONTDESK_* variable",
        )
    ]
    results += [
        skip(check_id, "skipped: no settings") for check_id in NAMES if check_id != "settings"
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
    first = result("settings", Status.PASS, settings_source or "defaults and environment")
    doctor = Doctor(
        settings,
        clock,
        mountinfo=mountinfo,
        network_timeout=network_timeout,
        keyring_timeout=keyring_timeout,
    )
    return DoctorReport((first, *doctor.run()))
