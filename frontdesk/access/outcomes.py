"""What the access services report back, as data: the surfaces (TUI, CLI, web) write the words.

No database layer here, so a screen can hold these types before SQLAlchemy has loaded."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from frontdesk.access.rules import MAX_IDENTITY_FAILURES


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


@dataclass(frozen=True)
class BulkResult:
    done: tuple[str, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (chart number, the refusal's one line)


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
    """What a registration link points at, for the web page."""

    state: LinkState
    practice_name: str = ""
    practice_phone: str = ""
    attempts_left: int = MAX_IDENTITY_FAILURES


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
