"""SQLModel tables, one module per area. Times are stored in UTC; the store never computes
business rules.

Importing this package registers every table on `SQLModel.metadata` (migrations/env.py relies
on it); every table and state constant is importable from here.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from store.models.access import (
    Invitation,
    LoginThrottle,
    PasswordReset,
    PortalAccount,
    PortalSession,
    ServerSecret,
)
from store.models.audit import AuditEvent
from store.models.charts import Chart, ChartOwner, RelatedContact
from store.models.columns import utc_datetime
from store.models.forms import FormPackage, FormVersion, Task
from store.models.inbox import InboxItem
from store.models.mail import BounceNotice, MailPause, OutboxEmail
from store.models.portal import MessageThread, PortalMessage
from store.models.practice import Practice
from store.states import (
    FormKind,
    InboxCloseReason,
    InboxKind,
    InboxState,
    InvitationKind,
    InvitationState,
    MessageAudience,
    MessageAuthor,
    MessagingMode,
    OutboxState,
    ResetOrigin,
    ResetState,
    TaskState,
    ThreadState,
)

# The state vocabularies under their historical names (see store.states). Typed as str: they are
# compared with, and used as keys for, the plain strings read back from the state columns.
INVITATION_LIVE: str = InvitationState.LIVE
INVITATION_SUPERSEDED: str = InvitationState.SUPERSEDED
INVITATION_REVOKED: str = InvitationState.REVOKED
INVITATION_USED: str = InvitationState.USED

OUTBOX_PENDING: str = OutboxState.PENDING
OUTBOX_SENDING: str = OutboxState.SENDING
OUTBOX_SENT: str = OutboxState.SENT
OUTBOX_RETRYING: str = OutboxState.RETRYING
OUTBOX_FAILED: str = OutboxState.FAILED
OUTBOX_CANCELLED: str = OutboxState.CANCELLED
OUTBOX_BOUNCED: str = OutboxState.BOUNCED

__all__ = [
    "INVITATION_LIVE",
    "INVITATION_REVOKED",
    "INVITATION_SUPERSEDED",
    "INVITATION_USED",
    "OUTBOX_BOUNCED",
    "OUTBOX_CANCELLED",
    "OUTBOX_FAILED",
    "OUTBOX_PENDING",
    "OUTBOX_RETRYING",
    "OUTBOX_SENDING",
    "OUTBOX_SENT",
    "AuditEvent",
    "BounceNotice",
    "Chart",
    "ChartOwner",
    "FormKind",
    "FormPackage",
    "FormVersion",
    "InboxCloseReason",
    "InboxItem",
    "InboxKind",
    "InboxState",
    "Invitation",
    "InvitationKind",
    "InvitationState",
    "LoginThrottle",
    "MailPause",
    "MessageAudience",
    "MessageAuthor",
    "MessageThread",
    "MessagingMode",
    "OutboxEmail",
    "OutboxState",
    "PasswordReset",
    "PortalAccount",
    "PortalMessage",
    "PortalSession",
    "Practice",
    "RelatedContact",
    "ResetOrigin",
    "ResetState",
    "SQLModel",
    "ServerSecret",
    "Task",
    "TaskState",
    "ThreadState",
    "utc_datetime",
]
