"""The steps of the messages service that take a `Session`: finding the signed-in account's
own thread (anything else is NotFound), building summaries, pages and views, and recounting
a thread after a withdrawal. `close_thread` is the step the desk's inbox calls on "done"."""

from __future__ import annotations

import math
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk.core.clock import as_utc
from frontdesk.core.errors import NotFound
from frontdesk.portal import inbox_items
from frontdesk.portal.message_notices import NOTICE_DELAY
from frontdesk.portal.message_results import (
    MessageRefused,
    MessageSent,
    MessageView,
    NoSuchPage,
    Refusal,
    ThreadPage,
    ThreadSummary,
    ThreadView,
)
from frontdesk.practice import MessagingSettings, practice_row
from store.models import (
    Chart,
    InboxKind,
    MessageAudience,
    MessageAuthor,
    MessageThread,
    MessagingMode,
    PortalAccount,
    PortalMessage,
    ThreadState,
)

MAX_ROW_ID = 2**31 - 1  # an INTEGER key on PostgreSQL
MAX_PER_PAGE = 1_000  # threads or messages in one page, whatever a caller asks


def is_row_id(value: int) -> bool:
    """Whether `value` can be a row's id at all (a guessed 99999999999 is simply not found,
    never a database error)."""
    return 0 < value <= MAX_ROW_ID


def enabled(account: PortalAccount | None) -> bool:
    return account is not None and account.disabled_at is None


def client_account(
    session: Session, account_id: int, chart_id: int, *, lock: bool = False
) -> PortalAccount:
    """The signed-in account, checked against the session's chart; NotAllowed when its
    access has ended (the session guard normally stops that first)."""
    query = select(PortalAccount).where(PortalAccount.id == account_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    account = session.exec(query).first()
    if account is None or account.chart_id != chart_id:
        raise NotFound("No such portal account.")
    if account.disabled_at is not None:
        raise MessageRefused(Refusal.ACCESS_ENDED)
    return account


def client_thread(
    session: Session, account: PortalAccount, thread_id: int, *, lock: bool = False
) -> MessageThread:
    """The account's own thread; any other (another chart's, another owner's, none) is
    NotFound, the same answer whatever the reason."""
    if not is_row_id(thread_id):
        raise NotFound("No such message thread.")
    query = select(MessageThread).where(
        MessageThread.id == thread_id,
        MessageThread.account_id == account.id,
        MessageThread.chart_id == account.chart_id,
    )
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    thread = session.exec(query).first()
    if thread is None:
        raise NotFound("No such message thread.")
    return thread


def staff_thread(session: Session, thread_id: int, *, lock: bool = False) -> MessageThread:
    if not is_row_id(thread_id):
        raise NotFound(f"No message thread {thread_id}.")
    query = select(MessageThread).where(MessageThread.id == thread_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    thread = session.exec(query).first()
    if thread is None:
        raise NotFound(f"No message thread {thread_id}.")
    return thread


def refuse_unless_enabled(rules: MessagingSettings) -> None:
    if not rules.enabled:
        raise MessageRefused(Refusal.MESSAGING_OFF)


def client_may_reply(rules: MessagingSettings, thread: MessageThread) -> bool:
    if rules.mode is MessagingMode.ON:
        return True
    return rules.mode is MessagingMode.REPLY_ONLY and thread.created_by == MessageAuthor.STAFF


def practice_name(session: Session) -> str:
    return practice_row(session).name or "The practice"


def chart_number_of(session: Session, chart_id: int) -> str:
    number = session.exec(select(Chart.chart_number).where(Chart.id == chart_id)).first()
    return number or ""


def after(a: datetime | None, b: datetime | None) -> bool:
    """Whether `a` is later than `b` (None is never later; anything is later than None)."""
    if a is None:
        return False
    return b is None or as_utc(a) > as_utc(b)


def summary(thread: MessageThread, chart_number: str) -> ThreadSummary:
    assert thread.id is not None
    return ThreadSummary(
        id=thread.id,
        chart_id=thread.chart_id,
        chart_number=chart_number,
        audience=MessageAudience(thread.audience),
        subject=thread.subject,
        state=ThreadState(thread.state),
        created_by=MessageAuthor(thread.created_by),
        created_at=as_utc(thread.created_at),
        last_activity_at=as_utc(thread.last_activity_at),
        messages=thread.message_count,
        unread_by_client=after(thread.last_practice_message_at, thread.client_last_read_at),
        unread_by_practice=after(thread.last_client_message_at, thread.practice_last_read_at),
        client_wrote=thread.last_client_message_at is not None,
    )


def unread_condition(for_client: bool) -> sa.ColumnElement[bool]:
    if for_client:
        newest, read = MessageThread.last_practice_message_at, MessageThread.client_last_read_at
    else:
        newest, read = MessageThread.last_client_message_at, MessageThread.practice_last_read_at
    return sa.and_(col(newest).is_not(None), sa.or_(col(read).is_(None), col(newest) > col(read)))


def thread_counts(
    session: Session, account_id: int | None, chart_id: int, *, for_client: bool
) -> tuple[int, int]:
    """(threads, unread by the viewer) of a chart (and account, for the client)."""
    unread = sa.func.sum(sa.case((unread_condition(for_client), 1), else_=0))
    query = select(sa.func.count(), unread).where(MessageThread.chart_id == chart_id)
    if account_id is not None:
        query = query.where(MessageThread.account_id == account_id)
    row = session.exec(query).one()
    return int(row[0] or 0), int(row[1] or 0)


def thread_page(
    session: Session,
    where: tuple[sa.ColumnElement[bool], ...],
    total: int,
    unread: int,
    page: int,
    per_page: int,
) -> ThreadPage:
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    rows = session.exec(
        select(MessageThread, Chart.chart_number)
        .join(Chart, col(Chart.id) == MessageThread.chart_id)
        .where(*where)
        .order_by(col(MessageThread.last_activity_at).desc(), col(MessageThread.id).desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    threads = tuple(summary(thread, number) for thread, number in rows)
    return ThreadPage(threads, page, pages, total, unread)


def message_pages(session: Session, thread: MessageThread, per_page: int) -> tuple[int, int]:
    """(messages, pages) of a thread, withdrawn ones counted (they keep their place); at
    least one page."""
    total = int(
        session.exec(select(sa.func.count()).where(PortalMessage.thread_id == thread.id)).one()
    )
    return total, max(1, math.ceil(total / min(max(1, per_page), MAX_PER_PAGE)))


def refuse_missing_page(
    session: Session, thread: MessageThread, page: int | None, per_page: int
) -> None:
    """NoSuchPage unless `page` is None (the newest) or one of the thread's pages."""
    if page is None:
        return
    _, pages = message_pages(session, thread, per_page)
    if not 1 <= page <= pages:
        raise NoSuchPage(page, pages)


def thread_view(
    session: Session,
    thread: MessageThread,
    page: int | None,
    per_page: int,
    *,
    staff: bool,
    practice_name: str,
    can_reply: bool,
    withdrawable: int | None,
) -> ThreadView:
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    total, pages = message_pages(session, thread, per_page)
    page = pages if page is None else min(max(1, page), pages)
    rows = session.exec(
        select(PortalMessage, PortalAccount.owner_name)
        .outerjoin(PortalAccount, col(PortalAccount.id) == PortalMessage.author_account_id)
        .where(PortalMessage.thread_id == thread.id)
        .order_by(col(PortalMessage.created_at), col(PortalMessage.id))
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    messages = []
    for message, owner_name in rows:
        assert message.id is not None
        author = MessageAuthor(message.author)
        if author is MessageAuthor.CLIENT:
            name = owner_name or "Client"
        else:
            name = (message.author_staff or "staff") if staff else practice_name
        messages.append(
            MessageView(
                id=message.id,
                author=author,
                author_name=name,
                staff_login=message.author_staff if staff else None,
                body=message.body,
                created_at=as_utc(message.created_at),
                withdrawn_at=as_utc(message.withdrawn_at) if message.withdrawn_at else None,
            )
        )
    read_at = thread.practice_last_read_at
    return ThreadView(
        thread=summary(thread, chart_number_of(session, thread.chart_id)),
        messages=tuple(messages),
        page=page,
        pages=pages,
        total=total,
        withdrawable_id=withdrawable,
        can_reply=can_reply,
        client_read_at=as_utc(thread.client_last_read_at) if thread.client_last_read_at else None,
        practice_read_at=as_utc(read_at) if read_at else None,
        practice_read_by=thread.practice_last_read_by if staff else None,
    )


def last_live(
    session: Session, thread_id: int, *, author: MessageAuthor | None = None
) -> PortalMessage | None:
    """The thread's newest message not withdrawn (by `author`, when given)."""
    query = select(PortalMessage).where(
        PortalMessage.thread_id == thread_id, col(PortalMessage.withdrawn_at).is_(None)
    )
    if author is not None:
        query = query.where(PortalMessage.author == author)
    return session.exec(
        query.order_by(col(PortalMessage.created_at).desc(), col(PortalMessage.id).desc())
    ).first()


def read_by_practice(thread: MessageThread, message: PortalMessage) -> bool:
    read = thread.practice_last_read_at
    return read is not None and as_utc(read) >= as_utc(message.created_at)


def withdrawable(session: Session, thread: MessageThread, account_id: int | None) -> int | None:
    """The message the client may withdraw now: their newest, unread by the practice."""
    assert thread.id is not None
    last = last_live(session, thread.id, author=MessageAuthor.CLIENT)
    if last is None or last.author_account_id != account_id or read_by_practice(thread, last):
        return None
    return last.id


def recount(session: Session, thread: MessageThread) -> None:
    """After a withdrawal: the live count, the newest client message and the state again
    from what is left (nothing left: closed)."""
    assert thread.id is not None
    thread.message_count = int(
        session.exec(
            select(sa.func.count()).where(
                PortalMessage.thread_id == thread.id, col(PortalMessage.withdrawn_at).is_(None)
            )
        ).one()
    )
    last_client = last_live(session, thread.id, author=MessageAuthor.CLIENT)
    thread.last_client_message_at = last_client.created_at if last_client else None
    newest = last_live(session, thread.id)
    if newest is None:
        thread.state = ThreadState.CLOSED
    elif newest.author == MessageAuthor.CLIENT:
        thread.state = ThreadState.WAITING
    else:
        thread.state = ThreadState.ANSWERED


def sent(thread: MessageThread, message: PortalMessage, *, started: bool) -> MessageSent:
    assert thread.id is not None and message.id is not None
    return MessageSent(
        thread.id, message.id, as_utc(message.created_at), ThreadState(thread.state), started
    )


def close_thread(session: Session, thread_id: int, *, now: datetime) -> None:
    """Step (the desk marked the thread's inbox item done): the thread is closed until the
    client writes again."""
    session.execute(
        sa.update(MessageThread)
        .where(col(MessageThread.id) == thread_id)
        .values(state=ThreadState.CLOSED, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def add_client_message(
    session: Session,
    thread: MessageThread,
    account: PortalAccount,
    body: str,
    now: datetime,
) -> PortalMessage:
    """Step: a client message in the thread; the thread's inbox item opens, or is
    refreshed as unread."""
    assert thread.id is not None
    message = PortalMessage(
        thread_id=thread.id,
        author=MessageAuthor.CLIENT,
        author_account_id=account.id,
        body=body,
        created_at=now,
    )
    session.add(message)
    thread.message_count += 1
    thread.last_client_message_at = now
    thread.last_activity_at = now
    thread.updated_at = now
    session.add(thread)
    session.flush()
    # A new item waits from now (a thread that waited already has its open item, which
    # keeps the time it has waited since).
    inbox_items.open_item(
        session, kind=InboxKind.MESSAGE, source_id=thread.id, chart_id=thread.chart_id,
        subject=thread.subject, audience=thread.audience, waiting_since=now, now=now,
    )  # fmt: skip
    return message


def add_staff_message(
    session: Session,
    thread: MessageThread,
    account: PortalAccount,
    body: str,
    now: datetime,
    actor: str,
) -> PortalMessage:
    """Step: a staff message in the thread, now answered and read by the practice; the
    client's content-free email falls due in 10 minutes (if they take them)."""
    assert thread.id is not None
    message = PortalMessage(
        thread_id=thread.id,
        author=MessageAuthor.STAFF,
        author_staff=actor[:100],
        body=body,
        created_at=now,
    )
    session.add(message)
    thread.state = ThreadState.ANSWERED
    thread.message_count += 1
    thread.last_practice_message_at = now
    thread.last_activity_at = now
    thread.updated_at = now
    thread.practice_last_read_at = now  # writing in it, the practice has read it
    thread.practice_last_read_by = actor[:100]
    if account.message_notices and thread.client_notice_due_at is None:
        thread.client_notice_due_at = now + NOTICE_DELAY
    session.add(thread)
    session.flush()
    return message
