"""`frontdesk doctor`: check an installation the way support would over SSH, one line per check.

Each check gives a status (pass, warn, fail, or skip when a prerequisite failed or it does not
apply), a one-line detail, and a one-line fix. Checks only read: the database is opened without
migrating it, the mail server sees EHLO, STARTTLS and AUTH but never MAIL, RCPT or DATA, and the
keyring is asked in a time-boxed call. Nothing printed holds a password, a secret, an email
address of a client or other PHI (outbox failures are summarised by their error class).

One module per kind of check: `database` (reachable, migrated, portal active), `sqlite_disk`,
`outbox`, `addresses` (public URL, sender), `smtp_password` (keyring), `smtp` (reachable, TLS,
login); `results` holds the types and `runner` runs them in order.
"""

from frontdesk.doctor.addresses import DEFAULT_PUBLIC_URL
from frontdesk.doctor.database import UPGRADE_FIX
from frontdesk.doctor.outbox import FAILURE_WINDOW, OVERDUE, error_class
from frontdesk.doctor.results import NAMES, CheckResult, DoctorReport, Status
from frontdesk.doctor.runner import (
    KEYRING_TIMEOUT,
    NETWORK_TIMEOUT,
    Doctor,
    run_doctor,
    settings_problem,
)
from frontdesk.doctor.sqlite_disk import (
    LOCAL_FUSE,
    NETWORK_FILESYSTEMS,
    Mount,
    check_sqlite_location,
    filesystem_kind,
    mount_for,
    parse_mountinfo,
    read_mountinfo,
)

__all__ = [
    "DEFAULT_PUBLIC_URL",
    "FAILURE_WINDOW",
    "KEYRING_TIMEOUT",
    "LOCAL_FUSE",
    "NAMES",
    "NETWORK_FILESYSTEMS",
    "NETWORK_TIMEOUT",
    "OVERDUE",
    "UPGRADE_FIX",
    "CheckResult",
    "Doctor",
    "DoctorReport",
    "Mount",
    "Status",
    "check_sqlite_location",
    "error_class",
    "filesystem_kind",
    "mount_for",
    "parse_mountinfo",
    "read_mountinfo",
    "run_doctor",
    "settings_problem",
]
