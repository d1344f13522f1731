"""The words the inbox and thread screens put on stored values: audiences, kinds, thread
states, and how long something has waited ("5m", "3h", "2d")."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from frontdesk.core.clock import as_utc

if TYPE_CHECKING:
    from frontdesk.portal.message_results import ThreadSummary

AUDIENCE_LABELS = {"front_desk": "Front desk", "billing": "Billing", "clinical": "Clinical"}
KIND_LABELS = {"message": "Message", "task": "Task"}
THREAD_STATE_LABELS = {
    "waiting": "Waiting for us",
    "answered": "Answered",
    "closed": "Closed",
}
# A thread the practice began that the client has not written in (stored as answered, but
# nobody asked): the CLI's "Sent by the practice", in the TUI's own voice ("Waiting for us").
SENT_BY_US = "Sent by us"
ITEM_STATE_LABELS = {"open": "Open", "done": "Done"}
# A thread whose client withdrew everything they wrote keeps no subject.
WITHDRAWN = "(withdrawn)"

# The inbox's filter choices: (value passed to the service, label); "" means any.
KIND_CHOICES = (("", "All kinds"), ("message", "Messages"), ("task", "Forms"))
AUDIENCE_CHOICES = (("", "All audiences"), *tuple(AUDIENCE_LABELS.items()))
STATE_CHOICES = (("open", "Open"), ("done", "Done"), ("", "Open and done"))


def audience_label(value: object) -> str:
    return AUDIENCE_LABELS.get(str(value or ""), "—")


def kind_label(value: object) -> str:
    return KIND_LABELS.get(str(value), str(value).replace("_", " ").capitalize())


def thread_state_label(thread: ThreadSummary) -> str:
    """ "Sent by us" for a thread the practice began while the client has not written in it
    (stored as answered, but nobody asked); else the state's label."""
    if thread.sent_unasked:
        return SENT_BY_US
    return THREAD_STATE_LABELS.get(str(thread.state), str(thread.state))


def elapsed(since: datetime, now: datetime) -> str:
    """How long ago, in the largest whole unit: "now", "42m", "5h", "3d", "7w"."""
    seconds = max(0, int((as_utc(now) - as_utc(since)).total_seconds()))
    if seconds < 60:
        return "now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 28:
        return f"{days}d"
    return f"{days // 7}w"
