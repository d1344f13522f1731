"""The composition root's factory: every service and the delivery loop are built here and
nowhere else, once, for the CLI, the TUI, the web endpoint, the demo and the tests alike.
Nothing here runs at import time; nothing below this module imports `Services`.

Each service is built (and its module imported) the first time it is asked for, once per
`Services`: the terminal's first page of charts needs the chart search only, so the rest of
the code loads behind that page instead of before it (issue 12: first page of charts)."""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from frontdesk.core.clock import Clock, SystemClock
from frontdesk.core.config import Settings
from store.db import Database, open_database

if TYPE_CHECKING:  # each loads when its service is first asked for (see `built`)
    from frontdesk.access.chart_edits import ChartEditService
    from frontdesk.access.invitations import InvitationService
    from frontdesk.access.registration import RegistrationService
    from frontdesk.access.reset import PasswordResetService
    from frontdesk.access.signin import SignInService
    from frontdesk.audit import AuditLog
    from frontdesk.charts.records import ChartRecords
    from frontdesk.desk.history import ChartHistory
    from frontdesk.desk.inbox import PortalInbox
    from frontdesk.desk.search import ChartSearch
    from frontdesk.desk.views import ChartViews
    from frontdesk.mail.bounces import BounceReader
    from frontdesk.mail.loop import OutboxLoop
    from frontdesk.mail.outbox import OutboxDelivery
    from frontdesk.mail.pause import MailPauses
    from frontdesk.mail.retry import OutboxRetry
    from frontdesk.mail.templates import TemplateService
    from frontdesk.portal.forms import FormLibrary
    from frontdesk.portal.messages import MessageService
    from frontdesk.portal.new_chart import NewChartService
    from frontdesk.portal.tasks import TaskService
    from frontdesk.practice import PracticeSettings

T = TypeVar("T")

_BUILDING = threading.RLock()  # one service built at a time (a build may ask for another)


class built(Generic[T]):  # a decorator, named like functools.cached_property
    """A service built on first use, then kept on the instance (later reads are plain
    attribute reads). Unlike functools.cached_property, the first build is locked on every
    Python version, so two threads asking at once get the same object."""

    def __init__(self, build: Callable[[Any], T]) -> None:
        self.build = build
        self.name = build.__name__
        self.__doc__ = build.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> built[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> built[T] | T:
        if instance is None:
            return self
        with _BUILDING:
            found = instance.__dict__.get(self.name, _MISSING)
            if found is _MISSING:
                found = instance.__dict__[self.name] = self.build(instance)
        return found  # type: ignore[no-any-return]


_MISSING = object()


def staff_actor() -> str:
    """The signed-in OS login name of the person at the desk (support over SSH: their account)."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


class Services:
    """Every collaborator of one process, over one database, one clock and one staff actor."""

    def __init__(self, settings: Settings, db: Database, clock: Clock, actor: str) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.actor = actor

    @built
    def practice(self) -> PracticeSettings:
        from frontdesk.practice import PracticeSettings

        return PracticeSettings(self.db, self.clock, self.actor)

    @built
    def charts(self) -> ChartRecords:
        from frontdesk.charts.records import ChartRecords

        return ChartRecords(self.db, self.clock, self.actor)

    @built
    def chart_edits(self) -> ChartEditService:
        from frontdesk.access.chart_edits import ChartEditService

        return ChartEditService(
            self.db, self.clock, self.settings, self.actor, self.charts, self.invitations
        )

    @built
    def invitations(self) -> InvitationService:
        from frontdesk.access.invitations import InvitationService

        return InvitationService(self.db, self.clock, self.settings, self.actor, self.charts)

    @built
    def registration(self) -> RegistrationService:
        from frontdesk.access.registration import RegistrationService

        return RegistrationService(self.db, self.clock, self.settings, self.actor)

    @built
    def resets(self) -> PasswordResetService:
        from frontdesk.access.reset import PasswordResetService

        return PasswordResetService(self.db, self.clock, self.settings, self.actor)

    @built
    def signin(self) -> SignInService:
        from frontdesk.access.signin import SignInService

        return SignInService(self.db, self.clock)

    @built
    def search(self) -> ChartSearch:
        from frontdesk.desk.search import ChartSearch

        return ChartSearch(self.db, self.clock)

    @built
    def views(self) -> ChartViews:
        from frontdesk.desk.views import ChartViews

        return ChartViews(self.db, self.clock)

    @built
    def history(self) -> ChartHistory:
        from frontdesk.desk.history import ChartHistory

        return ChartHistory(self.db, self.clock, self.audit)

    @built
    def audit(self) -> AuditLog:
        from frontdesk.audit import AuditLog

        return AuditLog(self.db, self.clock)

    @built
    def templates(self) -> TemplateService:
        from frontdesk.mail.templates import TemplateService

        return TemplateService(self.db, self.clock, self.settings, self.actor)

    @built
    def messages(self) -> MessageService:
        from frontdesk.portal.messages import MessageService

        return MessageService(self.db, self.clock, self.settings, self.actor)

    @built
    def inbox(self) -> PortalInbox:
        from frontdesk.desk.inbox import PortalInbox

        return PortalInbox(self.db, self.clock, self.actor)

    @built
    def forms(self) -> FormLibrary:
        from frontdesk.portal.forms import FormLibrary

        return FormLibrary(self.db, self.clock, self.actor)

    @built
    def tasks(self) -> TaskService:
        from frontdesk.portal.tasks import TaskService

        return TaskService(self.db, self.clock, self.settings, self.actor, self.forms)

    @built
    def new_chart(self) -> NewChartService:
        from frontdesk.portal.new_chart import NewChartService

        return NewChartService(
            self.db, self.clock, self.actor, self.charts, self.invitations, self.tasks, self.forms
        )

    def queue_due_notices(self) -> int:
        """Queue the content-free "you have a new message" emails that are due (the delivery
        loop and `frontdesk outbox deliver` run it before they deliver); how many."""
        from frontdesk.portal.message_notices import queue_due_notices

        return queue_due_notices(self.db, self.clock, self.settings)

    def delivery(self) -> OutboxDelivery:
        """The outbox delivery: this store, clock and settings, the SMTP password looked up
        (keyring, then the environment) right before each connection."""
        from frontdesk.mail.outbox import OutboxDelivery
        from frontdesk.mail.secrets import smtp_password_provider

        return OutboxDelivery(
            self.db, self.clock, self.settings, smtp_password_provider(self.settings)
        )

    def mail_pauses(self) -> MailPauses:
        """The outbox's stored pause after a setup failure (read by every surface)."""
        from frontdesk.mail.pause import MailPauses

        return MailPauses(self.db, self.clock)

    def retries(self) -> OutboxRetry:
        """Retry now: failed or retrying emails due at once, same link (audited as staff)."""
        from frontdesk.mail.retry import OutboxRetry

        return OutboxRetry(self.db, self.clock, self.actor)

    def delivery_loop(self, *, interval: float | None = None) -> OutboxLoop:
        """The background loop that delivers due emails every few seconds (`frontdesk serve`).
        The delivery code loads here, so a broken installation fails at start, not in a
        background thread."""
        from frontdesk.mail.loop import OUTBOX_INTERVAL_SECONDS, OutboxLoop
        from frontdesk.mail.outbox import OutboxDelivery  # noqa: F401  (fails now, not later)

        def deliver_round() -> object:
            self.queue_due_notices()
            return self.delivery().deliver_due()

        return OutboxLoop(
            deliver_round,
            interval=OUTBOX_INTERVAL_SECONDS if interval is None else interval,
        )

    def bounces(self) -> BounceReader:
        """The bounce reader: the bounce mailbox over IMAP (FRONTDESK_IMAP_*), its password
        looked up (keyring, then the environment) right before each connection."""
        from frontdesk.mail.bounces import BounceReader
        from frontdesk.mail.imap import imap_password_provider

        return BounceReader(
            self.db, self.clock, self.settings, imap_password_provider(self.settings)
        )

    def bounce_loop(self, *, interval: float | None = None) -> OutboxLoop | None:
        """The background loop that reads the bounce mailbox every few minutes (`frontdesk
        serve`); None when no IMAP server is configured."""
        if not self.settings.imap_host:
            return None
        from frontdesk.mail.bounces import BOUNCE_INTERVAL_SECONDS
        from frontdesk.mail.loop import OutboxLoop

        return OutboxLoop(
            lambda: self.bounces().read(),
            interval=BOUNCE_INTERVAL_SECONDS if interval is None else interval,
        )

    def at(
        self, clock: Clock, *, settings: Settings | None = None, actor: str | None = None
    ) -> Services:
        """The same store's services with another clock (and settings or actor): the demo
        seeds a month of history this way, and tests act at a moment of their choosing."""
        return build_services(
            settings or self.settings, clock=clock, actor=actor or self.actor, db=self.db
        )

    def close(self) -> None:
        self.db.dispose()


def build_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    actor: str | None = None,
    db: Database | None = None,
    migrate: bool = True,
) -> Services:
    """One process's services (each built when first asked for)."""
    return Services(
        settings=settings,
        db=db or open_database(settings.database_url, migrate=migrate),
        clock=clock or SystemClock(),
        actor=actor or staff_actor(),
    )
