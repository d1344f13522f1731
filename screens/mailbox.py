"""The Demo mailbox (only in `frontdesk demo`): the emails the demo's mail server captured, newest
first, and one email with its link — so a newcomer can resend an expired invitation, read the
email, open the link in a browser and register.

Every value shown comes from an email and is displayed literally (names with brackets included).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import getaddresses
from typing import TYPE_CHECKING, ClassVar, Protocol
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, TextArea

from frontdesk.core.clock import zone_named
from screens.errors import toast
from screens.pause_banner import PauseBanner
from screens.safe_text import cell, template
from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.demo.stack import CapturedMail


class MailSource(Protocol):
    """What the mailbox reads: the captured emails and where the demo's web endpoint is."""

    @property
    def web_url(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def timezone(self) -> str: ...

    def messages(self) -> Sequence[CapturedMail]: ...


def mail_time(value: datetime, zone: ZoneInfo) -> str:
    """ "Nov 26 10:00 AM" in the practice's time zone."""
    local = value.astimezone(zone)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{local:%b} {local.day} {hour}:{local:%M} {local:%p}"


def recipient(to_header: str) -> str:
    """The address an email went to ("" when there is none)."""
    found = [address for _, address in getaddresses([to_header]) if address]
    return ", ".join(found) if found else to_header


class MailboxScreen(Screen[None]):
    """The captured emails, newest first; Enter reads one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="mailbox.back"),
        Binding("enter", "read", "Read email", priority=True, id="mailbox.read"),
        Binding("f5", "refresh", "Refresh", show=False),
    ]

    def __init__(self, source: MailSource, *, refresh_interval: float = 1.0) -> None:
        super().__init__()
        self.source = source
        self.refresh_interval = refresh_interval
        self.zone = zone_named(source.timezone)
        self.shown: list[CapturedMail] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield PauseBanner()
        with Vertical(id="mailbox"):
            yield DataStatic(
                template(
                    "Every email the demo sent (none left this machine). Links open the demo's "
                    "web endpoint at [b]$url[/b]. Clients registered in the demo data sign in "
                    "with the password [b]$password[/b].",
                    url=self.source.web_url,
                    password=self.source.password,
                ),
                id="mailbox-intro",
            )
            yield DataTable(id="mail-list", cursor_type="row", zebra_stripes=True)
            yield DataStatic(
                "No email yet. Send one: open a chart whose status is Expired, press . "
                "(the ⋮ menu), then r (Resend Invite), then y.",
                id="mailbox-empty",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Demo mailbox"
        self.sub_title = ""
        table = self.query_one("#mail-list", DataTable)
        table.add_column("Sent", width=15, key="sent")
        table.add_column("To", width=23, key="to")
        table.add_column("Subject", key="subject")
        self.action_refresh()
        table.focus()
        self.set_interval(self.refresh_interval, self.action_refresh, name="mailbox refresh")

    def action_refresh(self) -> None:
        """Show what arrived since (in memory: cheap). The cursor stays on its email."""
        messages = list(self.source.messages())
        if [m.number for m in messages] == [m.number for m in self.shown]:
            return
        table = self.query_one("#mail-list", DataTable)
        current = self.current()
        self.shown = messages
        table.clear()
        for mail in messages:
            table.add_row(
                cell(mail_time(mail.sent_at, self.zone)),
                cell(recipient(mail.to)),
                cell(mail.subject),
                key=str(mail.number),
            )
        self.set_class(not messages, "-empty")
        if current is not None and current in messages:
            table.move_cursor(row=messages.index(current))

    def current(self) -> CapturedMail | None:
        table = self.query_one("#mail-list", DataTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row]

    def action_read(self) -> None:
        mail = self.current()
        if mail is not None:
            self.app.push_screen(MailView(mail, self.source))

    @on(DataTable.RowSelected, "#mail-list")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_read()

    def action_back(self) -> None:
        self.dismiss()


class MailView(Screen[None]):
    """One email: who, when, the subject, the link on its own line, the plain-text body."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="mail.back"),
        Binding("c", "copy_link", "Copy link", id="mail.copy"),
        Binding("o", "open_link", "Open in browser", id="mail.open"),
    ]

    def __init__(self, mail: CapturedMail, source: MailSource) -> None:
        super().__init__()
        self.mail = mail
        self.source = source

    def compose(self) -> ComposeResult:
        mail = self.mail
        zone = zone_named(self.source.timezone)
        yield Header(show_clock=False)
        yield PauseBanner()
        with Vertical(id="mail"):
            yield DataStatic(
                template(
                    "[b]From[/b]     $sender\n[b]To[/b]       $to\n[b]Sent[/b]     $sent\n"
                    "[b]Subject[/b]  $subject",
                    sender=mail.sender,
                    to=mail.to,
                    sent=mail_time(mail.sent_at, zone),
                    subject=mail.subject,
                ),
                id="mail-headers",
            )
            yield DataStatic(
                template(
                    "[b]Link[/b]  (c copies it; o opens it in your web browser)\n$link",
                    link=mail.link,
                )
                if mail.link
                else "This email holds no link.",
                id="mail-link",
            )
            yield TextArea(
                _plain(mail.text),
                read_only=True,
                soft_wrap=True,
                show_line_numbers=False,
                id="mail-body",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Demo mailbox"
        self.sub_title = self.mail.subject
        body = self.query_one("#mail-body", TextArea)
        body.cursor_blink = False  # reading, not typing
        body.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("copy_link", "open_link") and not self.mail.link:
            return None  # shown disabled: this email has no link
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_copy_link(self) -> None:
        if self.mail.link:
            self.app.copy_to_clipboard(self.mail.link)
            toast(
                self,
                "Link copied (where the terminal allows it; you can also select it with the "
                "mouse).",
            )

    def action_open_link(self) -> None:
        if self.mail.link:
            self._open(self.mail.link)

    @work(thread=True, exit_on_error=False, group="open-link")
    def _open(self, link: str) -> None:
        message, severity = open_in_browser(link)
        self.app.call_from_thread(toast, self, message, severity=severity)


def _plain(text: str) -> str:
    """The body for display: printable text and line breaks only (no terminal controls)."""
    return "".join(
        ch if ch in "\n\t" or (ch.isprintable() and not 0x80 <= ord(ch) < 0xA0) else " "
        for ch in text.replace("\r\n", "\n")
    )


def open_in_browser(link: str) -> tuple[str, str]:
    """Ask the desktop's web browser to open `link`; never start a browser inside this terminal
    (it would take the screen over). Returns the toast text and its severity."""
    import webbrowser

    try:
        browser = webbrowser.get()
    except webbrowser.Error:
        browser = None
    if browser is None or type(browser) is webbrowser.GenericBrowser:
        return (
            "No desktop web browser here (over SSH?): copy the link (c) into a browser.",
            "warning",
        )
    try:
        opened = browser.open(link, new=2)
    except OSError:
        opened = False
    if not opened:
        return "The web browser did not open: copy the link (c) into a browser.", "warning"
    return "Opened the link in your web browser.", "information"
