"""The words the staff surfaces (the TUI's toasts, the CLI's lines) use for what an action
did. The services return data (`ActionOutcome`); the sentence is written here, once."""

from __future__ import annotations

from frontdesk.access.outcomes import ActionDone, ActionOutcome
from frontdesk.core.emails import mask_email

_TO_OWNER_EMAIL = {
    ActionDone.INVITED: "Invitation sent to",
    ActionDone.RESENT: "New invitation sent to",
    ActionDone.RESTORED: "Portal access restored for",
    ActionDone.OWNER_CHANGED_INVITED: "Owner changed; invitation sent to",
}


def action_sentence(outcome: ActionOutcome) -> str:
    """One sentence for staff: "New invitation sent to a…@example.com." (addresses masked:
    the sentence may reach a log or a shared screen)."""
    if outcome.done is ActionDone.REVOKED:
        return f"Portal access revoked for {outcome.client_name}."
    if outcome.done is ActionDone.OWNER_CHANGED:
        return f"Portal owner is now {outcome.owner_name} ({outcome.owner_relationship})."
    return f"{_TO_OWNER_EMAIL[outcome.done]} {mask_email(outcome.owner_email or '')}."


def emails_noun(outcome: ActionOutcome) -> str:
    """What the action's email is called in a delivery notice: "invitation" or "email"."""
    return "email" if outcome.done is ActionDone.RESTORED else "invitation"
