"""`frontdesk demo`: the seeded practice, the stack (SMTP capture, web endpoint, delivery) starting
and stopping cleanly, the whole newcomer flow in the TUI at 80×24 (resend an expired invitation,
read the email in the Demo mailbox, register through the real web endpoint, see Active), and the
command line (`--charts N`, `--keep`, bad input)."""

from __future__ import annotations

import io
import re
import shutil
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from frontdesk.access.status import PortalStatus
from frontdesk.app import FrontDeskApp
from frontdesk.cli import demo as demo_cli
from frontdesk.cli import main
from frontdesk.cli.context import CliContext
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.demo.data import DEMO_PASSWORD
from frontdesk.demo.stack import DEMO_DATABASE, DemoStack, demo_info, kept_directory
from frontdesk.services import build_services
from screens.action_menu import ActionMenu
from screens.chart_screen import ChartScreen
from screens.confirm_dialog import ConfirmDialog
from screens.mailbox import MailboxScreen, MailView
from tests.demo.conftest import Seeded
from tests.factories import T0
from tests.tui.conftest import open_chart, settle
from tests.tui.screen_text import screen_text

SIZE = (80, 24)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EXPIRED_CHART = "C-1008"  # Rosa D'Angelo: an apostrophe in the last name
NEW_PASSWORD = "quiet harbor lantern seventeen"


def refused(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port any more."""
    with socket.socket() as probe:
        probe.settimeout(5)
        try:
            probe.connect(("127.0.0.1", port))
        except OSError:
            return True
    return False


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


# ------------------------------------------------------------------------------ the seeded data


def test_the_seeded_practice_has_charts_in_every_status(seeded_demo: Seeded, tmp_path: Path):
    copy = tmp_path / DEMO_DATABASE
    shutil.copyfile(seeded_demo.path, copy)
    services = build_services(Settings(database_url=f"sqlite:///{copy}"), clock=FrozenClock(T0))
    try:
        assert (
            services.practice.practice().name == "Cedar Counseling"
            and services.practice.practice().portal_active
        )
        count = {
            status: services.search.count_charts(status=status)
            for status in ("invited", "expiring_soon", "expired", "locked", "active")
        }
        count["no_portal_access"] = services.search.count_charts(status="no_portal_access")
        assert services.search.count_charts() == 40
        assert count["expired"] >= 3, count
        assert count["expiring_soon"] == 1 and count["locked"] == 1, count
        assert count["active"] >= 3 and count["invited"] >= 3, count
        assert count["no_portal_access"] >= 3, count
        charts = services.search.search_charts("", limit=100)
        guardians = [c for c in charts if not c.owner.is_client]
        assert len(guardians) >= 3
        assert {c.status.status for c in guardians} >= {PortalStatus.INVITED, PortalStatus.EXPIRED}
        names = [f"{c.first_name} {c.last_name}" for c in charts]
        names += [c.owner.name or "" for c in guardians]
        assert any("'" in name for name in names)
        assert any(not name.isascii() for name in names)
        assert any("[" in name and "]" in name for name in names)
        revoked = [r for r in services.audit.audit(limit=500) if r.action == "access revoked"]
        assert revoked, "a registered account whose access was revoked"
    finally:
        services.close()
    # The history was delivered through the capture server at the moments it happened.
    subjects = {mail.subject for mail in seeded_demo.history}
    assert "Your Client Portal invitation" in subjects
    assert "Your Client Portal account is ready" in subjects
    assert min(mail.sent_at for mail in seeded_demo.history) < T0.replace(day=1)
    assert all(
        mail.link and mail.link.startswith("http://127.0.0.1:") for mail in seeded_demo.history
    )


def test_the_demo_has_portal_activity_for_the_desk(seeded_demo: Seeded, tmp_path: Path) -> None:
    """The Portal inbox opens on something to do: an urgent PHQ-9 on top, a question waiting;
    an answered thread, a practice message the client has not read, forms scored."""
    copy = tmp_path / DEMO_DATABASE
    shutil.copyfile(seeded_demo.path, copy)
    services = build_services(Settings(database_url=f"sqlite:///{copy}"), clock=FrozenClock(T0))
    try:
        items = services.inbox.items().items
        assert [(i.kind, i.urgent) for i in items][:1] == [("task", True)]
        assert {i.subject for i in items} >= {
            "Moving my Thursday appointment",
            "Patient Health Questionnaire (PHQ-9)",
            "Generalized Anxiety Disorder (GAD-7)",
        }
        forms_chart = items[0].chart_number
        scored = {t.form_key: t for t in services.tasks.chart_tasks(forms_chart)}
        assert (scored["phq-9"].score, scored["phq-9"].severity) == (12, "moderate")
        assert (scored["gad-7"].score, scored["gad-7"].severity) == (8, "mild")
        threads = [
            thread
            for chart in services.search.search_charts("", status="active", limit=100)
            for thread in services.messages.chart_threads(chart.chart_number).threads
        ]
        assert {t.state for t in threads} == {"waiting", "answered"}
        assert any(t.subject == "Before your first visit" for t in threads)
    finally:
        services.close()
    subjects = {mail.subject for mail in seeded_demo.history}
    assert any("forms" in subject.lower() for subject in subjects), subjects


# ------------------------------------------------------------------------------ the stack


def test_the_stack_starts_and_stops_cleanly(stack: DemoStack) -> None:
    web_port = int(stack.web_url.rsplit(":", 1)[1])
    smtp_port = stack.smtp_port
    threads = stack.threads
    assert len(threads) == 3 and all(thread.is_alive() for thread in threads)
    assert stack.settings.database_url.endswith(DEMO_DATABASE)  # never the user's database
    assert stack.settings.public_url == stack.web_url  # emailed links point at the demo
    with httpx.Client(base_url=stack.web_url, timeout=30, follow_redirects=True) as client:
        assert client.get("/healthz").text == "ok\n"
        # A registered demo client signs in with the published password.
        active = stack.services.search.search_charts("", status="active", limit=1)[0]
        page = client.get("/login")
        signed_in = client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text),
                "email": active.owner.email,
                "password": DEMO_PASSWORD,
            },
        )
        assert signed_in.status_code == 200 and "Welcome" in signed_in.text
    assert not refused(smtp_port)

    stack.stop()
    assert not any(thread.is_alive() for thread in threads)
    assert refused(web_port) and refused(smtp_port)
    names = {thread.name for thread in threading.enumerate()}
    assert not names & {"demo-web", "outbox-delivery"}
    stack.stop()  # twice is harmless


def test_a_start_that_fails_stops_what_it_had_started(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-file"
    blocked.mkdir()  # a folder where the database file should be
    before = set(threading.enumerate())
    stack = DemoStack(blocked, reuse=True, clock=FrozenClock(T0))
    with pytest.raises(Exception):  # noqa: B017 - the store's own error; any is fine here
        stack.start()
    assert stack.smtp_port and refused(stack.smtp_port)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


# ------------------------------------------------------------------------------ the newcomer flow


def owner_status(app: FrontDeskApp) -> str:
    return str(app.screen.query_one("#owner-status").visual).strip()


async def test_resend_read_the_email_register_and_see_active(stack: DemoStack) -> None:
    app = FrontDeskApp(services=stack.services, delivery=stack.deliver, demo=demo_info(stack))
    app.animation_level = "none"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert "^o Demo mailbox" in screen_text(app)  # the footer shows the key in demo mode
        app.clear_notifications()
        await open_chart(pilot, EXPIRED_CHART)
        footer = screen_text(app).splitlines()[-1]
        assert "^o Demo mailbox" in footer, "the chart screen's 80-column footer has room for it"
        await pilot.press("c")
        await settle(pilot)
        assert owner_status(app) == "Expired"

        await pilot.press("full_stop")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        assert owner_status(app) == "Invited"

        await pilot.press("ctrl+o")
        await settle(pilot)
        assert isinstance(app.screen, MailboxScreen)
        shown = screen_text(app)
        assert "rosa.8@example.com" in shown and "Your new Client Portal link" in shown
        assert stack.web_url in shown
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MailView)
        link = app.screen.mail.link
        assert link is not None and link.startswith(f"{stack.web_url}/register/")
        assert link in str(app.screen.query_one("#mail-link").visual)  # on screen, whole
        assert "Hello Rosa" in app.screen.mail.text

        # The newcomer opens the link and registers on the real web endpoint.
        chart = stack.services.views.chart(EXPIRED_CHART)
        with httpx.Client(timeout=30, follow_redirects=True) as browser:
            page = browser.get(link)
            assert page.status_code == 200 and "Cedar Counseling" in page.text
            done = browser.post(
                link,
                data={
                    "csrf_token": csrf_of(page.text),
                    "last_name": "d’angelo",  # typed differently; the same name
                    "date_of_birth": chart.date_of_birth.isoformat(),
                    "password": NEW_PASSWORD,
                    "password_confirm": NEW_PASSWORD,
                },
            )
            assert done.status_code == 200, done.text
            assert "Sign in" in done.text

        await pilot.press("ctrl+o")  # back from the mailbox to the chart
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        await pilot.press("f5")
        await settle(pilot)
        assert owner_status(app) == "Active"
    assert stack.services.views.chart(EXPIRED_CHART).status.status is PortalStatus.ACTIVE
    # T10/L2: the registration link's token never reaches the demo's log (uvicorn + FrontDesk).
    token = link.rsplit("/", 1)[1]
    log = stack.log_path.read_text() if stack.log_path and stack.log_path.exists() else ""
    assert "outbox delivery" in log  # the log is where the demo's lines go
    assert token[:8] not in log and NEW_PASSWORD not in log


async def test_the_mailbox_shows_hostile_email_text_literally(stack: DemoStack) -> None:
    """U1/U3/U4: names, subjects and bodies from an email are shown as text: no markup, no
    action, no escape sequence reaches the terminal."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Cedar Counseling <portal@cedar-counseling.example>"
    message["To"] = '"[@click=app.quit]x [b]Doe[/b]" <h1@example.com>'
    message["Subject"] = "[@click=app.quit]Smith [/] \\x1b]52;c;RVZJTA==\\x1b\\"
    message.set_content("Hello [@click=app.quit]x,\n\x1b]52;c;RVZJTA==\x07 \u009b31m done\n")
    stack.mailbox.add(message.as_bytes())
    app = FrontDeskApp(services=stack.services, delivery=stack.deliver, demo=demo_info(stack))
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        shown = screen_text(app)
        assert "[@click=app.quit]Smith [/]" in shown
        await pilot.press("enter")
        await settle(pilot)
        shown = screen_text(app)
        assert '"[@click=app.quit]x [b]Doe[/b]" <h1@example.com>' in shown
        assert "Hello [@click=app.quit]x," in shown
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot and "\u009b" not in screenshot
        assert app.is_running


# ------------------------------------------------------------------------------ the command line


class Ran:
    """Stands in for the terminal UI: records what it was given and returns at once."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, app: FrontDeskApp, *args: Any, **kwargs: Any) -> None:
        services = app.services
        assert app.demo is not None
        self.calls.append(
            {
                "charts": services.search.count_charts(),
                "database": services.settings.database_url,
                "web_url": app.demo.web_url,
                "healthz": httpx.get(f"{app.demo.web_url}/healthz", timeout=30).status_code,
            }
        )


def run_cli(argv: list[str], *, terminal: bool = True) -> tuple[int, str]:
    err = io.StringIO()
    ctx = CliContext(
        stdout=Console(file=io.StringIO(), width=200),
        stderr=Console(file=err, width=200),
        stdin_is_tty=lambda: terminal,
    )
    return main(argv, ctx), err.getvalue()


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch) -> Ran:
    recorder = Ran()
    monkeypatch.setattr(FrontDeskApp, "run", lambda app, *a, **k: recorder(app))
    return recorder


def test_demo_charts_n_seeds_n_and_keep_continues_with_it(
    ran: Ran, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--charts 120` seeds 120 (50 through the service, the rest in bulk); `--keep` keeps the
    database and the next `--keep` continues with it; the configured (real) database is never
    opened. (The pseudo-terminal test checks that a demo without `--keep` leaves nothing.)"""
    real = tmp_path / "real.db"
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{real}")
    code, err = run_cli(["demo", "--keep", "--charts", "120"])
    assert code == 0, err
    [call] = ran.calls
    assert call["healthz"] == 200
    assert f"Web endpoint (emailed links point here): {call['web_url']}" in err
    assert f"password: {DEMO_PASSWORD}" in err
    assert "The demo has stopped" in err
    assert refused(int(call["web_url"].rsplit(":", 1)[1]))
    kept = kept_directory() / DEMO_DATABASE
    assert kept.is_file() and f"kept at {kept}" in err
    assert not str(kept).endswith("frontdesk/frontdesk.db")  # beside the real one, not it
    code, err = run_cli(["demo", "--keep", "--charts", "60"])
    assert code == 0, err
    assert "--charts is ignored: continuing with the kept demo database" in err
    assert [call["charts"] for call in ran.calls] == [120, 120]
    assert ran.calls[0]["database"] == ran.calls[1]["database"] == f"sqlite:///{kept}"
    assert not real.exists()


def test_demo_without_a_terminal_says_so_and_starts_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_cli.tempfile, "tempdir", str(tmp_path))
    code, err = run_cli(["demo"], terminal=False)
    assert code == 1
    assert err == "frontdesk: error: `frontdesk demo` opens the terminal UI: run it in a terminal\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", ["0", "-3", "many", "1000001"])
def test_demo_refuses_a_bad_chart_count(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--charts", value]) == 2
    err = capsys.readouterr().err
    assert "--charts" in err and "Traceback" not in err
