"""What the access services report back, as data: the surfaces (TUI, CLI, web) write the words.

No database layer here, so a screen can hold these types before SQLAlchemy has loaded."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from frontdesk.access.rules import MAX_IDENTITY_FAILURES, PortalStatus


class ActionDone(enum.StrEnum):
    """What a lifecycle action did."""

    INVITED = "invited"  # a first invitation (or a new one where access was revoked)
    RESENT = "resent"  # a new link; every earlier one stopped working
    REVOKED = "revoked"  # access ended: link dead, account disabled, sessions ended
    RESTORED = "restored"  # the owner's existing account enabled again (an email says so)
    OWNER_CHANGED = "owner_changed"  # a new portal owner, not invited
    OWNER_CHANGED_INVITED = "owner_changed_invited"  # a new portal owner, invited at once


@dataclass(frozen=True)
class ActionOutcome:
    """One lifecycle action's result: what was done to which chart, the names a sentence about
    it needs, and the email it queued (None: no email)."""

    done: ActionDone
    chart_number: str
    client_name: str  # "Last, First"
    owner_name: str  # the (new) portal owner
    owner_relationship: str  # "Client", "Mother", ...
    owner_email: str | None
    outbox_id: int | None = None


class EditEffect(enum.StrEnum):
    """What a chart or contact correction did besides changing the fields."""

    LINK_ENDED = "link_ended"  # the live invitation stopped working (its holder sees "replaced")
    INVITED = "invited"  # a new invitation went to the owner's (new) address
    SIGN_IN_EMAIL_CHANGED = "sign_in_email_changed"  # an Active owner's sign-in email changed


@dataclass(frozen=True)
class EditOutcome:
    """A correction: the chart, the fields that changed (in form order; empty: nothing did),
    what else it did, and the emails it queued."""

    chart_number: str
    changed: tuple[str, ...]
    effects: tuple[EditEffect, ...]
    outbox_ids: tuple[int, ...] = ()


class BulkAction(enum.StrEnum):
    """A bulk action of the desk: which charts it takes (their status when it starts) and what
    it does to each (a first invitation, or a resend). Values are stable names for scripts."""

    INVITE_WITHOUT_ACCESS = "invite_without_access"  # go-live: `invites send --all-without-access`
    RESEND_EXPIRED = "resend_expired"  # `invites resend --all-expired`
    RESEND_LOCKED = "resend_locked"
    RESEND_EXPIRED_AND_LOCKED = "resend_expired_and_locked"  # `... --all-expired --include-locked`

    @property
    def statuses(self) -> tuple[PortalStatus, ...]:
        """The statuses whose charts the action takes (read once, when it starts)."""
        return _BULK_STATUSES[self]

    @property
    def resends(self) -> bool:
        """True: each chart gets a new link (Resend Invite); False: a first invitation."""
        return self is not BulkAction.INVITE_WITHOUT_ACCESS


_BULK_STATUSES = {
    BulkAction.INVITE_WITHOUT_ACCESS: (PortalStatus.NO_PORTAL_ACCESS,),
    BulkAction.RESEND_EXPIRED: (PortalStatus.EXPIRED,),
    BulkAction.RESEND_LOCKED: (PortalStatus.LOCKED,),
    BulkAction.RESEND_EXPIRED_AND_LOCKED: (PortalStatus.EXPIRED, PortalStatus.LOCKED),
}


class SkipReason(enum.StrEnum):
    """Why a bulk action left a chart alone (the surfaces write the words)."""

    NO_EMAIL = "no_email"  # the portal owner has no email address
    INVALID_EMAIL = "invalid_email"  # the owner's address is not a valid email address
    COOLDOWN = "cooldown"  # an invitation went to this chart moments ago (this or another desk)
    TOO_MANY_TODAY = "too_many_today"  # the daily cap of invitations to one chart is reached
    PORTAL_OFF = "portal_off"  # the practice's Client Portal is not active
    CHANGED = "changed"  # no longer in the status the action started for (someone acted on
    # it meanwhile: resent, revoked, registered, another desk at the same moment), or removed


class FailureKind(enum.StrEnum):
    """Why a chart's work failed (not a rule: the store, or a bug). Nothing of it was kept."""

    DATABASE = "database"  # the database refused or failed this chart's (or batch's) writes
    BUSY = "busy"  # the database stayed locked by other work; trying again later works
    ERROR = "error"  # anything else (see the log)


class BulkSkip(NamedTuple):
    """A chart the bulk action left alone, and why. Unpacks as (chart, reason)."""

    chart: str  # chart number
    reason: SkipReason


class BulkFailure(NamedTuple):
    """A chart whose work failed; `detail` is one technical line (no client data)."""

    chart: str  # chart number
    error: FailureKind
    detail: str = ""


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did, chart by chart (in the order it went through them).

    Every chart in the action's statuses when it started is in exactly one of `sent`,
    `skipped`, `failed`, or counted in `not_tried` (only after a cancel). `--json` maps
    directly: {"sent": list(sent), "skipped": [s._asdict() for s in skipped],
    "failed": [f._asdict() for f in failed]}."""

    sent: tuple[str, ...] = ()  # chart numbers that got a new invitation (queued email)
    skipped: tuple[BulkSkip, ...] = ()
    failed: tuple[BulkFailure, ...] = ()
    action: BulkAction | None = None
    total: int = 0  # charts in the action's statuses when it started
    cancelled: bool = False  # stopped by the cancel check; what was done stays done
    not_tried: int = 0  # charts not reached because of the cancel

    @property
    def done(self) -> tuple[str, ...]:
        """The chart numbers sent (the name before issue 12)."""
        return self.sent


@dataclass(frozen=True)
class BulkPlanEntry:
    """One chart of a bulk action's plan: who it would reach (name and full email address),
    or why it would be skipped (`reason`)."""

    chart_number: str
    client_name: str  # "Last, First"
    owner_name: str
    owner_relationship: str  # "Client", "Mother", ...
    owner_email: str | None  # the address the email would go to (normalised), or as stored
    reason: SkipReason | None = None  # None: it would be sent


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk action would do if started now, read without writing (for the
    confirmation): the charts it would send to and those it would skip, each in name order."""

    action: BulkAction
    to_send: tuple[BulkPlanEntry, ...] = ()
    to_skip: tuple[BulkPlanEntry, ...] = ()

    @property
    def total(self) -> int:
        return len(self.to_send) + len(self.to_skip)


class LinkState(enum.StrEnum):
    """What a registration link points at."""

    VALID = "valid"
    EXPIRED = "expired"
    REPLACED = "replaced"
    USED = "used"
    REVOKED = "revoked"
    LOCKED = "locked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TokenCheck:
    """What a registration link points at, for the web page. `for_guardian`: the invitation
    went to a related contact (a parent, a guardian), so the form asks for the client's (not
    their own) last name and date of birth."""

    state: LinkState
    practice_name: str = ""
    practice_phone: str = ""
    attempts_left: int = MAX_IDENTITY_FAILURES
    for_guardian: bool = False


class RegistrationState(enum.StrEnum):
    """Outcome of a registration POST beyond the link states (LinkState values are used as
    they are when the invitation is not usable)."""

    REGISTERED = "registered"
    INVALID = "invalid"  # a required field is missing or malformed (`missing`)
    WRONG_DETAILS = "wrong_details"  # last name or date of birth does not match (one attempt)
    PASSWORD = "password"  # the password policy refused it (`message` says why)  # noqa: S105


class FormProblem(enum.StrEnum):
    """Why a registration field was refused before any check ran."""

    MISSING = "missing"
    MALFORMED = "malformed"
    MISMATCH = "mismatch"  # password_confirm differs from password


@dataclass(frozen=True)
class RegistrationResult:
    """Outcome of a registration POST. `state` is a RegistrationState or a LinkState (the
    invitation is not usable). `message` is the password policy's explanation (state
    password); `problems` names each refused field (state invalid)."""

    state: RegistrationState | LinkState
    message: str = ""
    attempts_left: int = 0
    account_email: str | None = None
    problems: dict[str, FormProblem] | None = None


class ResetLinkState(enum.StrEnum):
    """What a password-reset link points at."""

    VALID = "valid"
    EXPIRED = "expired"
    USED = "used"
    REPLACED = "replaced"  # a newer reset link was sent
    DEAD = "dead"  # five wrong dates of birth, or the account's access ended
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ResetCheck:
    """What a reset link points at, for the web page. `for_guardian`: the account's owner is
    a related contact, so the form asks for the client's (not their own) date of birth."""

    state: ResetLinkState
    practice_name: str = ""
    practice_phone: str = ""
    attempts_left: int = 0
    for_guardian: bool = False


class ResetDone(enum.StrEnum):
    """Outcome of a reset POST beyond the link states."""

    CHANGED = "changed"  # the password changed; every session ended; the link is used up
    INVALID = "invalid"  # a field is missing or malformed (`problems`)
    WRONG_DETAILS = "wrong_details"  # the date of birth does not match (one attempt)
    PASSWORD = "password"  # the password policy refused it (`message` says why)  # noqa: S105


@dataclass(frozen=True)
class ResetResult:
    state: ResetDone | ResetLinkState
    message: str = ""
    attempts_left: int = 0
    problems: dict[str, FormProblem] | None = None


@dataclass(frozen=True)
class ResetSent:
    """A reset link the desk sent: to whom, until when, and its email."""

    chart_number: str
    owner_name: str
    owner_email: str
    expires_at: datetime
    outbox_id: int
