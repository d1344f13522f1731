"""The words the staff surfaces (the TUI's toasts, the CLI's lines) use for what an action
did. The services return data; the sentence is written here, once.

Staff see full email addresses (they must catch a typo before a link goes out, issue 11);
only logs, the audit trail and client-facing pages mask them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from frontdesk.access.outcomes import ActionDone, ActionOutcome, EditEffect, EditOutcome, ResetSent

if TYPE_CHECKING:
    from frontdesk.portal.message_results import ThreadSummary

_TO_OWNER_EMAIL = {
    ActionDone.INVITED: "Invitation sent to",
    ActionDone.RESENT: "New invitation sent to",
    ActionDone.RESTORED: "Portal access restored for",
    ActionDone.OWNER_CHANGED_INVITED: "Owner changed; invitation sent to",
}

FIELD_WORDS = {
    "first_name": "first name",
    "last_name": "last name",
    "preferred_name": "preferred name",
    "date_of_birth": "date of birth",
    "email": "email",
    "phone": "phone",
    "name": "name",
    "relationship": "relationship",
}


def action_sentence(outcome: ActionOutcome) -> str:
    """One sentence for staff: "New invitation sent to ana@example.com."."""
    if outcome.done is ActionDone.REVOKED:
        return f"Portal access revoked for {outcome.client_name}."
    if outcome.done is ActionDone.OWNER_CHANGED:
        return f"Portal owner is now {outcome.owner_name} ({outcome.owner_relationship})."
    return f"{_TO_OWNER_EMAIL[outcome.done]} {outcome.owner_email or ''}."


def emails_noun(outcome: ActionOutcome) -> str:
    """What the action's email is called in a delivery notice: "invitation" or "email"."""
    return "email" if outcome.done is ActionDone.RESTORED else "invitation"


def edit_sentence(outcome: EditOutcome, *, what: str, owner_email: str | None) -> str:
    """A correction: "Chart C-1001 saved (email, phone). The old link no longer works; a new
    invitation went to ana@example.com." `what` names what was edited ("Chart C-1001",
    "Mina Park")."""
    if not outcome.changed:
        return f"{what}: nothing changed."
    fields = ", ".join(FIELD_WORDS.get(name, name) for name in outcome.changed)
    parts = [f"{what} saved ({fields})."]
    effects = set(outcome.effects)
    if EditEffect.LINK_ENDED in effects:
        if EditEffect.INVITED in effects:
            parts.append(f"The old link no longer works; a new invitation went to {owner_email}.")
        else:
            parts.append("The old link no longer works; no new invitation was sent.")
    if EditEffect.SIGN_IN_EMAIL_CHANGED in effects:
        parts.append(
            f"The portal sign-in email is now {owner_email}; both addresses were told, and "
            "open portal sessions ended."
        )
    return " ".join(parts)


def reset_sentence(sent: ResetSent, *, expires: str) -> str:
    """ "Password reset link sent to ana@example.com (Ana O'Brien); it works until …"."""
    return (
        f"Password reset link sent to {sent.owner_email} ({sent.owner_name}); it works once, "
        f"until {expires}."
    )


def contact_added_sentence(name: str, relationship: str, *, chart_number: str) -> str:
    """ "Mina Park (Mother) added to the related contacts of chart C-1001."."""
    return f"{name} ({relationship}) added to the related contacts of chart {chart_number}."


def contact_removed_sentence(name: str, relationship: str, *, chart_number: str) -> str:
    """ "Mina Park (Mother) removed from the related contacts of chart C-1001; …"."""
    return (
        f"{name} ({relationship}) removed from the related contacts of chart {chart_number}; "
        "the chart's history keeps them."
    )


_SKIP_WORDS = {
    "no_email": "the portal owner has no email address",
    "invalid_email": "the portal owner's email address is not valid",
    "cooldown": "an invitation went to this chart moments ago",
    "too_many_today": "10 invitations went to this chart in the last 24 hours",
    "portal_off": "the Client Portal is not active",
    "changed": "changed meanwhile (another desk, or the client)",
}


def skip_reason_words(reason: str) -> str:
    """Why a bulk action left a chart alone, for staff (`SkipReason` values)."""
    return _SKIP_WORDS.get(str(reason), str(reason).replace("_", " "))


_FAILURE_WORDS = {
    "database": "the database refused its changes (nothing of it was kept)",
    "busy": "the database stayed busy with other work; run the action again",
    "error": "an unexpected error (details are in the log; nothing of it was kept)",
}


def bulk_failure_words(kind: str) -> str:
    """Why a chart of a bulk action failed, for staff (`FailureKind` values)."""
    return _FAILURE_WORDS.get(str(kind), str(kind).replace("_", " "))


_BULK_TITLES = {
    "invite_without_access": "Invite all without access",
    "resend_expired": "Resend all expired",
    "resend_locked": "Resend all locked",
    "resend_expired_and_locked": "Resend all expired and locked",
}


def bulk_title(action: str) -> str:
    """A bulk action's name as staff see it ("Resend all expired"; `BulkAction` values)."""
    return _BULK_TITLES.get(str(action), str(action).replace("_", " ").capitalize())


# A message thread's state at the desk (`ThreadState` values). The TUI's inbox says "Answered"
# and "Closed" too; "Waiting for us" there is "Waiting for the practice" on the command line,
# where support people read it as well.
_THREAD_STATE_WORDS = {
    "waiting": "Waiting for the practice",
    "answered": "Answered",
    "closed": "Closed",
}
# A thread the practice began that the client has not answered (ThreadSummary.sent_unasked).
PRACTICE_WROTE_FIRST = "Sent by the practice"


def thread_state_words(thread: ThreadSummary) -> str:
    """A thread's state for staff: "Waiting for the practice", "Answered", "Closed", or "Sent
    by the practice" while the client has not written in a thread the practice began."""
    if thread.sent_unasked:
        return PRACTICE_WROTE_FIRST
    return _THREAD_STATE_WORDS.get(str(thread.state), str(thread.state))


def thread_state_sentence(thread: ThreadSummary) -> str:
    """The same where there is room to say what comes next ("Sent by the practice, waiting
    for the client's reply")."""
    if thread.sent_unasked:
        return f"{PRACTICE_WROTE_FIRST}, waiting for the client's reply"
    return thread_state_words(thread)


# What each kind of email is (`outbox_email.kind`), short enough for a column at 80 columns.
_EMAIL_KIND_WORDS = {
    "invitation": "Invitation",
    "resend": "Resent invite",
    "access_restored": "Reactivated",
    "registration_complete": "Registered",
    "password_reset": "Reset link",
    "password_changed": "New password",
    "sign_in_email_changed": "Email changed",
    "message_notice": "New message",  # to the client: a message from the practice waits
    "practice_message_notice": "Client wrote",  # to the practice's notification address
    "forms_waiting": "Forms waiting",
}


def email_kind_words(kind: str) -> str:
    """An outbox email's kind for staff: "Invitation", "Reset link", "Client wrote"."""
    return _EMAIL_KIND_WORDS.get(str(kind), str(kind).replace("_", " ").capitalize())
