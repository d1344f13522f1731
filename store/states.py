"""The string vocabularies stored in state columns. Each member is its stored value."""

from __future__ import annotations

from enum import StrEnum


class InvitationState(StrEnum):
    """`invitation.state`. LIVE is a chart's one current invitation; whether it has expired or
    is locked is computed at read time from expires_at / failed_attempts."""

    LIVE = "live"
    SUPERSEDED = "superseded"
    REVOKED = "revoked"
    USED = "used"


class InvitationKind(StrEnum):
    """`invitation.kind`: a first invitation or a resend of one."""

    INVITATION = "invitation"
    RESEND = "resend"


class OutboxState(StrEnum):
    """`outbox_email.state`."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BOUNCED = "bounced"  # the relay took it, then a delivery status notification came back


class ResetState(StrEnum):
    """`password_reset.state`. LIVE is an account's one usable reset link (its expiry is
    computed at read time from expires_at)."""

    LIVE = "live"
    USED = "used"
    SUPERSEDED = "superseded"  # a newer link was sent
    DEAD = "dead"  # five wrong dates of birth, or the account was disabled


class ResetOrigin(StrEnum):
    """`password_reset.origin`: who asked for the link (it decides how long it lives)."""

    CLIENT = "client"  # "Forgot your password?" on the sign-in page: 60 minutes
    STAFF = "staff"  # the desk sent it: 24 hours


class MessageAudience(StrEnum):
    """`message_thread.audience`: who at the practice a thread is for (decides which staff
    see it). The practice offers some or all of them (`practice.message_audiences`)."""

    FRONT_DESK = "front_desk"
    BILLING = "billing"
    CLINICAL = "clinical"


class MessagingMode(StrEnum):
    """`practice.messaging`: ON = clients may start threads and reply; REPLY_ONLY = clients
    may only reply to threads the practice started; OFF = no portal messaging at all."""

    ON = "on"
    REPLY_ONLY = "reply-only"
    OFF = "off"


class MessageAuthor(StrEnum):
    """Who wrote a message or started a thread: the portal account, or staff at the desk."""

    CLIENT = "client"
    STAFF = "staff"


class ThreadState(StrEnum):
    """`message_thread.state`. WAITING: the client wrote last and the practice owes an
    answer; ANSWERED: the practice wrote last; CLOSED: marked done at the desk (or every
    message was withdrawn). A client message to an answered or closed thread makes it
    WAITING again."""

    WAITING = "waiting"
    ANSWERED = "answered"
    CLOSED = "closed"


class InboxKind(StrEnum):
    """`inbox_item.kind`: what brought an item into the desk's Portal inbox (its
    `source_id` is that thing's id)."""

    MESSAGE = "message"  # source_id: a message_thread id
    TASK = "task"  # source_id: a task id (a submitted form waiting for review)


class InboxState(StrEnum):
    """`inbox_item.state`. At most one OPEN item per (kind, source_id)."""

    OPEN = "open"
    DONE = "done"


class InboxCloseReason(StrEnum):
    """`inbox_item.close_reason`: why an item left the open list."""

    ANSWERED = "answered"  # the practice replied
    DONE = "done"  # marked done at the desk
    WITHDRAWN = "withdrawn"  # the client withdrew the only waiting message
    REVIEWED = "reviewed"  # a submitted form was reviewed
    RETURNED = "returned"  # a submitted form went back to the client


class TaskState(StrEnum):
    """`task.state`: assigned → in_progress (the client's draft) → submitted (read-only for the
    client) → reviewed (staff) or returned (back to the client, editable again); cancelled by
    staff before it is submitted."""

    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class FormKind(StrEnum):
    """`form_version.kind`: a scored measure (PHQ-9, GAD-7), a consent acknowledgement, or a
    questionnaire the practice writes (intake, ...)."""

    MEASURE = "measure"
    CONSENT = "consent"
    QUESTIONNAIRE = "questionnaire"
