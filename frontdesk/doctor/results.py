"""The doctor's vocabulary: a check's status, its result, the report, and every check's name in
report order."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from frontdesk.core.text import single_line


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
    "outbox_paused": "Email not paused",
    "public_url": "Public URL",
    "mail_from": "Sender address set",
    "smtp_password": "Keyring / SMTP password",
    "smtp_reachable": "SMTP reachable",
    "smtp_tls": "TLS verified",
    "smtp_login": "Login accepted",
    "smtp_sender": "Sender accepted",
}


def result(
    check_id: str, status: Status, detail: str, fix: str | None = None, **data: Any
) -> CheckResult:
    """The result of a check by its id; detail and fix are kept to one line."""
    return CheckResult(
        check_id,
        NAMES[check_id],
        status,
        single_line(detail),
        single_line(fix) if fix else None,
        data,
    )


def skip(check_id: str, why: str) -> CheckResult:
    return result(check_id, Status.SKIP, why)
