"""What the messages service answers: typed results and refusals, no sentences to parse.

The web pages, the TUI and the CLI write their own words from these; each error's `str()` is
still one plain line a person can read (the CLI shows it as it is)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from frontdesk.core.errors import InvalidInput, NotAllowed
from store.states import MessageAudience, MessageAuthor, MessagingMode, ThreadState

SUBJECT_LIMIT = 120  # characters
BODY_LIMIT = 5_000  # characters, line breaks counted as one


class FieldProblem(StrEnum):
    """Why a message field was refused (nothing was stored)."""

    MISSING = "missing"
    TOO_LONG = "too_long"
    CONTROL_CHARACTERS = "control_characters"  # anything but line breaks and tabs
    NOT_OFFERED = "not_offered"  # an audience the practice does not offer (or unknown)


class MessageInvalid(InvalidInput):
    """One or more fields of a message were refused; `problems` maps each refused field
    (`audience`, `subject`, `body`) to its FieldProblem. `field` is the first of them."""

    def __init__(self, problems: dict[str, FieldProblem]) -> None:
        first = next(iter(problems))
        super().__init__(problem_line(first, problems[first]), first)
        self.problems = problems


def problem_line(field: str, problem: FieldProblem) -> str:
    """A plain sentence for one refused field (surfaces may write their own)."""
    label = {"audience": "Audience", "subject": "Subject", "body": "Message"}.get(field, field)
    if problem is FieldProblem.MISSING:
        return f"{label} is required."
    if problem is FieldProblem.TOO_LONG:
        limit = SUBJECT_LIMIT if field == "subject" else BODY_LIMIT
        return f"{label} is longer than {limit:,} characters."
    if problem is FieldProblem.CONTROL_CHARACTERS:
        return f"{label} contains a control character (only plain text and line breaks)."
    return f"{label}: the practice does not take messages for that audience."


class NoSuchPage(InvalidInput):
    """A page the thread does not have (its pages are 1 to `pages`); nothing was shown, so
    nothing was marked read."""

    def __init__(self, page: int, pages: int) -> None:
        noun = "page" if pages == 1 else "pages"
        super().__init__(f"This thread has {pages} {noun}; there is no page {page}.", "page")
        self.page = page
        self.pages = pages


class Refusal(StrEnum):
    """Why the rules refused a message action in the present state."""

    MESSAGING_OFF = "messaging_off"  # the practice turned portal messaging off
    REPLY_ONLY = "reply_only"  # clients may only reply to threads the practice started
    NO_ACCOUNT = "no_account"  # staff: the chart has no Active portal account
    ACCESS_ENDED = "access_ended"  # the thread's portal account is disabled
    ALREADY_READ = "already_read"  # withdraw: someone at the practice has read it
    NOTHING_TO_WITHDRAW = "nothing_to_withdraw"  # no message of the client's to withdraw
    NOT_LAST = "not_last"  # withdraw: that message is no longer the client's last one


REFUSAL_LINES = {
    Refusal.MESSAGING_OFF: "Portal messaging is turned off for this practice.",
    Refusal.REPLY_ONLY: "The practice takes portal messages only as replies to its own.",
    Refusal.NO_ACCOUNT: "This chart has no active Client Portal account to write to.",
    Refusal.ACCESS_ENDED: "The client's Client Portal access has ended.",
    Refusal.ALREADY_READ: "The practice has already read this message, so it cannot be withdrawn.",
    Refusal.NOTHING_TO_WITHDRAW: "There is no message of yours to withdraw in this thread.",
    Refusal.NOT_LAST: "Only your last message can be withdrawn.",
}


class MessageRefused(NotAllowed):
    """The rules refuse the action; `reason` says why (a Refusal)."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(REFUSAL_LINES[reason])
        self.reason = reason


@dataclass(frozen=True)
class MessageSent:
    """A message stored: `started` when it began a new thread."""

    thread_id: int
    message_id: int
    created_at: datetime
    thread_state: ThreadState
    started: bool


@dataclass(frozen=True)
class MessageWithdrawn:
    """A client's message withdrawn (its text is gone). `inbox_closed` when the thread's
    inbox item closed with it (it was the only message waiting for the practice)."""

    thread_id: int
    message_id: int
    withdrawn_at: datetime
    thread_state: ThreadState
    inbox_closed: bool


@dataclass(frozen=True)
class ThreadSummary:
    """One thread in a list. `messages` counts those not withdrawn. `unread_by_client`: the
    practice wrote since the client last opened it; `unread_by_practice`: the client wrote
    since someone at the practice last opened it. `client_wrote`: a message of the client's
    stands in it (one not withdrawn)."""

    id: int
    chart_id: int
    chart_number: str
    audience: MessageAudience
    subject: str
    state: ThreadState
    created_by: MessageAuthor
    created_at: datetime
    last_activity_at: datetime
    messages: int
    unread_by_client: bool
    unread_by_practice: bool
    client_wrote: bool

    @property
    def practice_wrote_first(self) -> bool:
        """The practice began the thread and the client has not written in it (or withdrew
        all they wrote): nobody asked, so it is not an answer."""
        return self.created_by is MessageAuthor.STAFF and not self.client_wrote

    @property
    def sent_unasked(self) -> bool:
        """Open, the practice wrote first, and the client has not answered: stored as
        answered, but nobody asked. Staff read "Sent by the practice", the client "From the
        practice" (each surface in its own words; the rule is this one)."""
        return self.state == ThreadState.ANSWERED and self.practice_wrote_first

    @property
    def withdrawn(self) -> bool:
        """The client withdrew everything of a thread they began (its subject is empty):
        show it as "withdrawn"."""
        return self.messages == 0 and self.created_by is MessageAuthor.CLIENT


@dataclass(frozen=True)
class ThreadPage:
    """A page of threads, newest activity first. `unread` counts the threads unread by the
    viewer (the client on the portal, the practice at the desk) over all pages."""

    threads: tuple[ThreadSummary, ...]
    page: int
    pages: int
    total: int
    unread: int


@dataclass(frozen=True)
class MessageView:
    """One message as the viewer sees it. `author_name`: for the client, the practice's name
    on staff messages and the account owner's name on their own; for staff, the staff login
    or the account owner's name. `staff_login` only in the staff view. A withdrawn message
    has an empty `body`."""

    id: int
    author: MessageAuthor
    author_name: str
    staff_login: str | None
    body: str
    created_at: datetime
    withdrawn_at: datetime | None

    @property
    def withdrawn(self) -> bool:
        return self.withdrawn_at is not None


@dataclass(frozen=True)
class ThreadView:
    """A thread opened (and so marked read by its viewer): one page of its messages, oldest
    first within the page; page `pages` holds the newest. `withdrawable_id` (client view):
    the message the client may withdraw now, or None. `can_reply`: the practice's settings
    (and, for staff, the account) allow a reply now."""

    thread: ThreadSummary
    messages: tuple[MessageView, ...]
    page: int
    pages: int
    total: int
    withdrawable_id: int | None
    can_reply: bool
    client_read_at: datetime | None
    practice_read_at: datetime | None
    practice_read_by: str | None


@dataclass(frozen=True)
class ClientMessaging:
    """What the portal shows a signed-in client about messaging: the practice's mode, its
    promise ("within one business day", None when not set), the audiences offered, whether
    the client may start a thread, how many of their threads are unread, and whether they get
    "you have a new message" emails."""

    mode: MessagingMode
    promise: str | None
    audiences: tuple[MessageAudience, ...]
    can_start: bool
    unread_threads: int
    threads: int
    notices_enabled: bool
