"""Secure messages between a chart's portal account and the practice.

Client side (the web): every method takes the signed-in session's `account_id` and
`chart_id` as the guard gives them, never an id of the request's choosing for the chart; a
thread of another chart or account is `NotFound`, exactly as one that does not exist.
Staff side (the TUI, the CLI): threads by id, charts by number, acting as the staff login.

Rules: the practice's messaging mode (off / reply-only / on) and audiences; subject ≤ 120 and
body ≤ 5,000 characters of plain text (`message_rules`); nothing is stored on any error.
A client message opens (or refreshes) the thread's Portal inbox item and a staff reply
closes it, in the same transaction (`inbox_items`). A client may withdraw their own last
message while no one at the practice has read it. Every view, send, reply and withdrawal
writes an audit row — never the message text."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk import audit
from frontdesk.charts.lookup import chart_by_number
from frontdesk.core.clock import Clock, as_utc
from frontdesk.core.config import Settings
from frontdesk.portal import inbox_items
from frontdesk.portal.message_notices import queue_practice_notice
from frontdesk.portal.message_results import (
    ClientMessaging,
    MessageRefused,
    MessageSent,
    MessageWithdrawn,
    Refusal,
    ThreadPage,
    ThreadSummary,
    ThreadView,
)
from frontdesk.portal.message_rules import checked_body, checked_new_thread
from frontdesk.portal.message_steps import (
    add_client_message,
    add_staff_message,
    chart_number_of,
    client_account,
    client_may_reply,
    client_thread,
    enabled,
    last_live,
    practice_name,
    read_by_practice,
    recount,
    refuse_missing_page,
    refuse_unless_enabled,
    sent,
    staff_thread,
    summary,
    thread_counts,
    thread_page,
    thread_view,
    withdrawable,
)
from frontdesk.practice import messaging_settings, practice_row
from store.db import Database
from store.models import (
    Chart,
    InboxCloseReason,
    InboxKind,
    MessageAudience,
    MessageAuthor,
    MessageThread,
    PortalAccount,
    ThreadState,
)

THREADS_PER_PAGE = 20
MESSAGES_PER_PAGE = 50


class MessageService:
    """Portal messages of one database, for clients (by session) and staff (as `actor`)."""

    def __init__(self, db: Database, clock: Clock, settings: Settings, actor: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.actor = actor

    # ================================================================ client side

    def client_overview(self, account_id: int, chart_id: int) -> ClientMessaging:
        """What the portal home and the compose page show about messaging."""
        with self.db.read() as session:
            account = client_account(session, account_id, chart_id)
            rules = messaging_settings(practice_row(session))
            threads, unread = thread_counts(session, account_id, chart_id, for_client=True)
            return ClientMessaging(
                mode=rules.mode,
                promise=rules.promise,
                audiences=rules.audiences,
                can_start=rules.clients_may_start,
                unread_threads=unread,
                threads=threads,
                notices_enabled=account.message_notices,
            )

    def client_threads(
        self, account_id: int, chart_id: int, *, page: int = 1, per_page: int = THREADS_PER_PAGE
    ) -> ThreadPage:
        """The account's threads, newest activity first, a page at a time."""
        with self.db.read() as session:
            client_account(session, account_id, chart_id)
            where = (
                col(MessageThread.account_id) == account_id,
                col(MessageThread.chart_id) == chart_id,
            )
            total, unread = thread_counts(session, account_id, chart_id, for_client=True)
            return thread_page(session, where, total, unread, page, per_page)

    def client_thread(
        self,
        account_id: int,
        chart_id: int,
        thread_id: int,
        *,
        page: int | None = None,
        per_page: int = MESSAGES_PER_PAGE,
        client_address: str = "",
    ) -> ThreadView:
        """Open one of the account's threads: marked read by the client (no "new message"
        email will follow for what they have seen), audited."""

        def work(session: Session) -> ThreadView:
            now = self.clock.now()
            account = client_account(session, account_id, chart_id)
            thread = client_thread(session, account, thread_id, lock=True)
            rules = messaging_settings(practice_row(session))
            thread.client_last_read_at = now
            thread.client_notice_due_at = None
            thread.updated_at = now
            session.add(thread)
            self._audit_client(session, account, thread, "message thread viewed", client_address)
            session.flush()
            return thread_view(
                session, thread, page, per_page, staff=False, practice_name=practice_name(session),
                can_reply=client_may_reply(rules, thread),
                withdrawable=withdrawable(session, thread, account.id),
            )  # fmt: skip

        return self.db.transact(work)

    def client_start(
        self,
        account_id: int,
        chart_id: int,
        *,
        audience: str | MessageAudience | None,
        subject: str | None,
        body: str | None,
        client_address: str = "",
    ) -> MessageSent:
        """A client starts a thread (messaging `on` only). MessageInvalid names each refused
        field; MessageRefused when the practice's mode does not allow it."""

        def work(session: Session) -> MessageSent:
            now = self.clock.now()
            account = client_account(session, account_id, chart_id, lock=True)
            practice = practice_row(session)
            rules = messaging_settings(practice)
            refuse_unless_enabled(rules)
            if not rules.clients_may_start:
                raise MessageRefused(Refusal.REPLY_ONLY)
            chosen, subject_text, body_text = checked_new_thread(
                audience=audience, subject=subject, body=body, offered=rules.audiences
            )
            thread = MessageThread(
                chart_id=chart_id,
                account_id=account_id,
                audience=chosen,
                subject=subject_text,
                created_by=MessageAuthor.CLIENT,
                created_at=now,
                last_activity_at=now,
                updated_at=now,
                state=ThreadState.WAITING,
                client_last_read_at=now,
            )
            session.add(thread)
            session.flush()
            message = add_client_message(session, thread, account, body_text, now)
            queue_practice_notice(session, self.settings, practice, thread, now)
            self._audit_client(
                session, account, thread, "message thread started", client_address,
                extra=f"audience {thread.audience}",
            )  # fmt: skip
            return sent(thread, message, started=True)

        return self.db.transact(work)

    def client_reply(
        self,
        account_id: int,
        chart_id: int,
        thread_id: int,
        *,
        body: str | None,
        client_address: str = "",
    ) -> MessageSent:
        """A client replies in one of their threads (reply-only mode: only in a thread the
        practice started). The thread's inbox item opens, or is refreshed as unread."""

        def work(session: Session) -> MessageSent:
            now = self.clock.now()
            account = client_account(session, account_id, chart_id)
            thread = client_thread(session, account, thread_id, lock=True)
            practice = practice_row(session)
            rules = messaging_settings(practice)
            refuse_unless_enabled(rules)
            if not client_may_reply(rules, thread):
                raise MessageRefused(Refusal.REPLY_ONLY)
            text = checked_body(body)
            thread.state = ThreadState.WAITING
            thread.client_last_read_at = now
            thread.client_notice_due_at = None  # writing in it, the client has seen it
            message = add_client_message(session, thread, account, text, now)
            queue_practice_notice(session, self.settings, practice, thread, now)
            self._audit_client(session, account, thread, "message sent", client_address)
            return sent(thread, message, started=False)

        return self.db.transact(work)

    def client_withdraw(
        self,
        account_id: int,
        chart_id: int,
        thread_id: int,
        *,
        message_id: int | None = None,
        client_address: str = "",
    ) -> MessageWithdrawn:
        """Withdraw the client's own last message of the thread (`message_id`, when given,
        must be it), while no one at the practice has read it. Its text is erased; when it was
        the only message waiting for the practice, the thread's inbox item closes; when it was
        the only message of a thread the client began, the subject is erased too (the thread
        shows as withdrawn: `ThreadSummary.withdrawn`)."""

        def work(session: Session) -> MessageWithdrawn:
            now = self.clock.now()
            account = client_account(session, account_id, chart_id)
            thread = client_thread(session, account, thread_id, lock=True)
            assert thread.id is not None
            last = last_live(session, thread.id, author=MessageAuthor.CLIENT)
            if last is None or last.author_account_id != account.id:
                raise MessageRefused(Refusal.NOTHING_TO_WITHDRAW)
            if message_id is not None and last.id != message_id:
                raise MessageRefused(Refusal.NOT_LAST)
            if read_by_practice(thread, last):
                raise MessageRefused(Refusal.ALREADY_READ)
            assert last.id is not None
            last.body = ""
            last.withdrawn_at = now
            session.add(last)
            session.flush()
            recount(session, thread)
            closed = 0
            if thread.state != ThreadState.WAITING:
                closed = inbox_items.close_items(
                    session, kind=InboxKind.MESSAGE, source_id=thread.id,
                    reason=InboxCloseReason.WITHDRAWN, by=f"client:{account.id}", now=now,
                )  # fmt: skip
            elif not summary(thread, "").unread_by_practice:
                # What still waits was read at the desk before the withdrawn message came.
                inbox_items.mark_seen(session, kind=InboxKind.MESSAGE, source_id=thread.id, now=now)
            if thread.message_count == 0 and thread.created_by == MessageAuthor.CLIENT:
                # Nothing of the thread the client began is left: its subject goes too.
                thread.subject = ""
                inbox_items.retitle_items(
                    session, kind=InboxKind.MESSAGE, source_id=thread.id, subject="", now=now
                )
            thread.updated_at = now
            session.add(thread)
            self._audit_client(
                session, account, thread, "message withdrawn", client_address,
                extra=f"message {last.id}",
            )  # fmt: skip
            return MessageWithdrawn(
                thread.id, last.id, now, ThreadState(thread.state), inbox_closed=closed > 0
            )

        return self.db.transact(work)

    def set_notices(
        self, account_id: int, chart_id: int, *, enabled: bool, client_address: str = ""
    ) -> bool:
        """Turn the client's "you have a new message" emails on or off; the new setting.
        Turning them off also drops any notice already due."""

        def work(session: Session) -> bool:
            now = self.clock.now()
            account = client_account(session, account_id, chart_id, lock=True)
            if account.message_notices != enabled:
                account.message_notices = enabled
                session.add(account)
                if not enabled:
                    session.execute(
                        sa.update(MessageThread)
                        .where(
                            col(MessageThread.account_id) == account.id,
                            col(MessageThread.client_notice_due_at).is_not(None),
                        )
                        .values(client_notice_due_at=None)
                        .execution_options(synchronize_session=False)
                    )
                audit.record(
                    session,
                    at=now,
                    actor=f"client:{account.id}",
                    action="message emails turned " + ("on" if enabled else "off"),
                    chart=session.get(Chart, account.chart_id),
                    source=f"web:{client_address}" if client_address else "web",
                )
            return enabled

        return self.db.transact(work)

    # ================================================================ staff side

    def chart_threads(
        self, chart_number: str, *, page: int = 1, per_page: int = THREADS_PER_PAGE
    ) -> ThreadPage:
        """Every thread of the chart (whichever account it was with), newest activity
        first; `unread` counts those unread by the practice."""
        with self.db.read() as session:
            chart = chart_by_number(session, chart_number)
            assert chart.id is not None
            where = (col(MessageThread.chart_id) == chart.id,)
            total, unread = thread_counts(session, None, chart.id, for_client=False)
            return thread_page(session, where, total, unread, page, per_page)

    def thread_summary(self, thread_id: int) -> ThreadSummary:
        """One thread's summary without opening it (no read mark, no audit row)."""
        with self.db.read() as session:
            thread = staff_thread(session, thread_id)
            return summary(thread, chart_number_of(session, thread.chart_id))

    def staff_thread(
        self, thread_id: int, *, page: int | None = None, per_page: int = MESSAGES_PER_PAGE
    ) -> ThreadView:
        """Open a thread at the desk (the TUI, `messages show`): it counts as read by the
        practice (the client can no longer withdraw what was there), its inbox item is no
        longer unread, and the view is audited. A `page` the thread does not have is refused
        (NoSuchPage) before anything is marked."""

        def work(session: Session) -> ThreadView:
            now = self.clock.now()
            thread = staff_thread(session, thread_id, lock=True)
            assert thread.id is not None
            refuse_missing_page(session, thread, page, per_page)
            thread.practice_last_read_at = now
            thread.practice_last_read_by = self.actor[:100]
            thread.updated_at = now
            session.add(thread)
            inbox_items.mark_seen(session, kind=InboxKind.MESSAGE, source_id=thread.id, now=now)
            self._audit_staff(session, thread, "message thread viewed")
            session.flush()
            rules = messaging_settings(practice_row(session))
            account = session.get(PortalAccount, thread.account_id)
            return thread_view(
                session, thread, page, per_page, staff=True, practice_name="",
                can_reply=rules.enabled and enabled(account), withdrawable=None,
            )  # fmt: skip

        return self.db.transact(work)

    def staff_reply(self, thread_id: int, *, body: str | None) -> MessageSent:
        """Reply from the desk: the thread is answered, its inbox item closes ("answered"),
        and the client gets one content-free email if they have not read it 10 minutes on."""

        def work(session: Session) -> MessageSent:
            now = self.clock.now()
            thread = staff_thread(session, thread_id, lock=True)
            assert thread.id is not None
            rules = messaging_settings(practice_row(session))
            refuse_unless_enabled(rules)
            account = session.get(PortalAccount, thread.account_id)
            if account is None or not enabled(account):
                raise MessageRefused(Refusal.ACCESS_ENDED)
            text = checked_body(body)
            message = add_staff_message(session, thread, account, text, now, self.actor)
            inbox_items.close_items(
                session, kind=InboxKind.MESSAGE, source_id=thread.id,
                reason=InboxCloseReason.ANSWERED, by=self.actor, now=now,
            )  # fmt: skip
            self._audit_staff(session, thread, "message reply sent")
            return sent(thread, message, started=False)

        return self.db.transact(work)

    def staff_start(
        self,
        chart_number: str,
        *,
        subject: str | None,
        body: str | None,
        audience: str | MessageAudience | None = None,
    ) -> MessageSent:
        """Start a thread to the chart's Active portal account (any audience; front desk by
        default). Allowed in `on` and `reply-only` modes."""

        def work(session: Session) -> MessageSent:
            now = self.clock.now()
            chart = chart_by_number(session, chart_number, lock=True)
            rules = messaging_settings(practice_row(session))
            refuse_unless_enabled(rules)
            chosen, subject_text, body_text = checked_new_thread(
                audience=audience or MessageAudience.FRONT_DESK, subject=subject, body=body,
                offered=tuple(MessageAudience),
            )  # fmt: skip
            account = session.exec(
                select(PortalAccount).where(
                    PortalAccount.chart_id == chart.id, col(PortalAccount.disabled_at).is_(None)
                )
            ).first()
            if account is None:
                raise MessageRefused(Refusal.NO_ACCOUNT)
            assert chart.id is not None and account.id is not None
            thread = MessageThread(
                chart_id=chart.id,
                account_id=account.id,
                audience=chosen,
                subject=subject_text,
                created_by=MessageAuthor.STAFF,
                created_by_staff=self.actor[:100],
                created_at=now,
                last_activity_at=now,
                updated_at=now,
                state=ThreadState.ANSWERED,
            )
            session.add(thread)
            session.flush()
            message = add_staff_message(session, thread, account, body_text, now, self.actor)
            self._audit_staff(session, thread, "message thread started", f"audience {chosen}")
            return sent(thread, message, started=True)

        return self.db.transact(work)

    def chart_stamp(self, chart_number: str) -> tuple[int, datetime | None]:
        """A cheap token that changes whenever one of the chart's threads changes (a new
        message, a read, a withdrawal): (threads, newest change). For a panel that refreshes
        itself when something arrives."""
        with self.db.read() as session:
            chart = chart_by_number(session, chart_number)
            row = session.exec(
                select(sa.func.count(), sa.func.max(MessageThread.updated_at)).where(
                    MessageThread.chart_id == chart.id
                )
            ).one()
            newest = row[1]
            return int(row[0]), as_utc(newest) if newest is not None else None

    # ================================================================ steps

    def _audit_client(
        self,
        session: Session,
        account: PortalAccount,
        thread: MessageThread,
        action: str,
        client_address: str,
        *,
        extra: str = "",
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=f"client:{account.id}",
            action=action,
            chart=session.get(Chart, thread.chart_id),
            detail=f"thread {thread.id}" + (f", {extra}" if extra else ""),
            source=f"web:{client_address}" if client_address else "web",
        )

    def _audit_staff(
        self, session: Session, thread: MessageThread, action: str, extra: str = ""
    ) -> None:
        audit.record(
            session,
            at=self.clock.now(),
            actor=self.actor,
            action=action,
            chart=session.get(Chart, thread.chart_id),
            detail=f"thread {thread.id}" + (f", {extra}" if extra else ""),
            source=f"os:{self.actor}",
        )
