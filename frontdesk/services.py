"""The composition root's factory: every service and the delivery loop are built here and
nowhere else, once, for the CLI, the TUI, the web endpoint, the demo and the tests alike.
Nothing here runs at import time; nothing below this module imports `Services`."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from frontdesk.access.chart_edits import ChartEditService
from frontdesk.access.invitations import InvitationService
from frontdesk.access.registration import RegistrationService
from frontdesk.access.reset import PasswordResetService
from frontdesk.access.signin import SignInService
from frontdesk.audit import AuditLog
from frontdesk.charts.records import ChartRecords
from frontdesk.core.clock import Clock, SystemClock
from frontdesk.core.config import Settings
from frontdesk.desk.history import ChartHistory
from frontdesk.desk.inbox import PortalInbox
from frontdesk.desk.search import ChartSearch
from frontdesk.desk.views import ChartViews
from frontdesk.mail.templates import TemplateService
from frontdesk.portal.forms import FormLibrary
from frontdesk.portal.message_notices import queue_due_notices
from frontdesk.portal.messages import MessageService
from frontdesk.portal.new_chart import NewChartService
from frontdesk.portal.tasks import TaskService
from frontdesk.practice import PracticeSettings
from store.db import Database, open_database

if TYPE_CHECKING:  # the outbox and the SMTP sender load when mail is first delivered
    from frontdesk.mail.bounces import BounceReader
    from frontdesk.mail.loop import OutboxLoop
    from frontdesk.mail.outbox import OutboxDelivery
    from frontdesk.mail.pause import MailPauses
    from frontdesk.mail.retry import OutboxRetry


def staff_actor() -> str:
    """The signed-in OS login name of the person at the desk (support over SSH: their account)."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


@dataclass
class Services:
    """Every collaborator of one process, over one database, one clock and one staff actor."""

    settings: Settings
    db: Database
    clock: Clock
    actor: str
    practice: PracticeSettings
    charts: ChartRecords
    chart_edits: ChartEditService
    invitations: InvitationService
    registration: RegistrationService
    resets: PasswordResetService
    signin: SignInService
    search: ChartSearch
    views: ChartViews
    history: ChartHistory
    audit: AuditLog
    templates: TemplateService
    messages: MessageService
    inbox: PortalInbox
    forms: FormLibrary
    tasks: TaskService
    new_chart: NewChartService

    def queue_due_notices(self) -> int:
        """Queue the content-free "you have a new message" emails that are due (the delivery
        loop and `frontdesk outbox deliver` run it before they deliver); how many."""
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
    clock = clock or SystemClock()
    db = db or open_database(settings.database_url, migrate=migrate)
    actor = actor or staff_actor()
    charts = ChartRecords(db, clock, actor)
    invitations = InvitationService(db, clock, settings, actor, charts)
    audit = AuditLog(db, clock)
    forms = FormLibrary(db, clock, actor)
    tasks = TaskService(db, clock, settings, actor, forms)
    return Services(
        settings=settings,
        db=db,
        clock=clock,
        actor=actor,
        practice=PracticeSettings(db, clock, actor),
        charts=charts,
        chart_edits=ChartEditService(db, clock, settings, actor, charts, invitations),
        invitations=invitations,
        registration=RegistrationService(db, clock, settings, actor),
        resets=PasswordResetService(db, clock, settings, actor),
        signin=SignInService(db, clock),
        search=ChartSearch(db, clock),
        views=ChartViews(db, clock),
        history=ChartHistory(db, clock, audit),
        audit=audit,
        templates=TemplateService(db, clock, settings, actor),
        messages=MessageService(db, clock, settings, actor),
        inbox=PortalInbox(db, clock, actor),
        forms=forms,
        tasks=tasks,
        new_chart=NewChartService(db, clock, actor, charts, invitations, tasks, forms),
    )
