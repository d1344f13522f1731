"""Client-entered text is shown literally (SECURITY U1–U4): never markup, never an action, never
a terminal control. The hostile names enter the store the way old or imported data would
(directly, not through the service, which refuses control characters at input)."""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.style import Style as RichStyle
from rich.text import Text
from textual.content import Content

from frontdesk.app import FrontDeskApp, stylesheet_path
from frontdesk.core.text import single_line
from screens.chart_table import ChartTable
from screens.safe_text import cell, content, lines, template
from store.models import Chart, ChartOwner, RelatedContact
from tests.factories import T0, set_up_practice
from tests.tui.conftest import AppFactory, open_chart, settle
from tests.tui.screen_text import screen_text

ROOT = Path(__file__).resolve().parents[2]
OSC52 = "Doe\x1b]52;c;RVZJTA==\x1b\\"
C1_CSI = "Vu\u009b31mlnerable"
BIDI = "Ev\u202eil"
# (chart number, first name, last name, owner name or None for the client)
HOSTILE = (
    ("H-1", "Ann", "O'Brien [guardian]", None),
    ("H-2", "Bo", "Smith [/]", None),
    ("H-3", "Cy", "[@click=app.quit]x", "[@click=app.quit]Mum[/]"),
    ("H-4", "Di", OSC52, f"Dad {OSC52}"),
    ("H-5", "Ed", C1_CSI, None),
    ("H-6", "Flo", BIDI, "[b]Not bold[/b] $name"),
)


def insert_hostile_charts(app: FrontDeskApp) -> None:
    """Write the charts straight into the tables (as a migration or an import could)."""
    now = T0

    def work(session: Any) -> None:
        for number, first, last, owner in HOSTILE:
            chart = Chart(
                chart_number=number,
                first_name=first,
                last_name=last,
                date_of_birth=date(1980, 1, 2),
                email=f"{number.lower()}@example.com",
                last_key=last.casefold(),
                first_key=first.casefold(),
                email_key=f"{number.lower()}@example.com",
                search_text=f"{last} {first} {number}".casefold(),
                created_at=now,
                updated_at=now,
            )
            session.add(chart)
            session.flush()
            contact_id = None
            if owner is not None:
                contact = RelatedContact(
                    chart_id=chart.id,
                    name=owner,
                    relationship="[red]Guardian[/red]",
                    email=f"owner.{number.lower()}@example.com",
                    created_at=now,
                )
                session.add(contact)
                session.flush()
                contact_id = contact.id
            session.add(
                ChartOwner(
                    chart_id=chart.id,
                    related_contact_id=contact_id,
                    updated_at=now,
                    updated_by="import",
                )
            )

    set_up_practice(app.services)
    app.services.db.transact(work)


def no_actions(spans: Any) -> bool:
    """No span carries an action, a link or other meta."""
    for span in spans:
        style = span.style
        if isinstance(style, RichStyle) and (style.meta or style.link):
            return False
        if "@" in str(style) or "link" in str(style):
            return False
    return True


# ------------------------------------------------------------------------------ the widgets


async def test_hostile_names_in_the_browser_are_literal(
    make_app: AppFactory, sqlite_url: str
) -> None:
    app = make_app(sqlite_url)
    insert_hostile_charts(app)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.browser.query_one(ChartTable)
        assert table.row_count == len(HOSTILE)
        for number, first, last, _owner in HOSTILE:
            name = table.cells(number)["name"]
            assert isinstance(name, Text)
            assert name.plain == single_line(f"{last}, {first}")
            assert no_actions(name.spans)
        shown = screen_text(app)
        assert "\x1b" not in app.export_screenshot()
        for expected in ("O'Brien [guardian], Ann", "Smith [/], Bo", "[@click=app.quit]x, Cy"):
            assert expected in shown
        assert "Doe]52;c;RVZJTA==\\, Di" in shown
        assert "Vu31mlnerable, Ed" in shown and "Evil, Flo" in shown


async def test_hostile_names_on_the_chart_screen_are_literal(
    make_app: AppFactory, sqlite_url: str
) -> None:
    app = make_app(sqlite_url)
    insert_hostile_charts(app)
    told: list[object] = []
    async with app.run_test(size=(120, 30), notifications=True, message_hook=told.append) as pilot:
        for number, first, last, owner in HOSTILE:
            await open_chart(pilot, number, typed=False)
            await pilot.press("c")
            await settle(pilot)
            title = app.screen.query_one("#chart-title").visual
            owner_name = app.screen.query_one("#owner-name").visual
            assert isinstance(title, Content) and isinstance(owner_name, Content)
            assert f"{single_line(first)} {single_line(last)}" in title.plain
            expected_owner = (
                f"{single_line(owner)} · {single_line('[red]Guardian[/red]')}"
                if owner
                else f"{first} {single_line(last)} · Client"
            )
            assert owner_name.plain == expected_owner
            assert no_actions(title.spans) and no_actions(owner_name.spans)
            assert "\x1b" not in app.export_screenshot()
            assert app.is_running, "no markup action ran (app.quit would have ended the app)"
            await pilot.press("escape")
            await settle(pilot)

        # A toast that names the client shows it literally too.
        await open_chart(pilot, "H-3", typed=False)
        await pilot.press("full_stop", "c")  # Change Ownership → back to the client,
        await settle(pilot)
        await pilot.press("tab", "space", "tab", "enter", "y")  # without inviting now
        await settle(pilot)
        assert "Portal owner is now Cy [@click=app.quit]x (Client)." in screen_text(app)
        assert app.is_running


async def test_hostile_names_in_the_contact_list_and_the_edit_forms_are_literal(
    make_app: AppFactory, sqlite_url: str
) -> None:
    """Issue 11's widgets: the Related contacts list, Edit chart, the contact form and the
    confirmation of a correction show the names as they are stored (controls stripped)."""
    from textual.widgets import Input

    from screens.chart_overview import ContactList
    from screens.correction_confirm import ChoiceDialog
    from screens.edit_dialogs import ContactDialog, EditChartDialog

    app = make_app(sqlite_url)
    insert_hostile_charts(app)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        for number, first, last, owner in HOSTILE:
            await open_chart(pilot, number, typed=False)
            contact_list = app.screen.query_one(ContactList)
            if owner is None:
                assert contact_list.option_count == 0
            else:
                prompt = contact_list.get_option_at_index(0).prompt
                assert isinstance(prompt, Content)
                assert prompt.plain == (
                    f"{single_line(owner)} · [red]Guardian[/red]   Chart Owner \n"
                    f"  owner.{number.lower()}@example.com · no phone"
                )
                assert no_actions(prompt.spans)

            await pilot.press("e")
            await settle(pilot)
            assert isinstance(app.screen, EditChartDialog)
            assert app.screen.query_one("#field-first_name", Input).value == first
            assert app.screen.query_one("#field-last_name", Input).value == single_line(last)
            intro = app.screen.query_one(".dialog-body").visual
            assert isinstance(intro, Content) and no_actions(intro.spans)
            assert f"{first} {single_line(last)} · chart {number}" in intro.plain
            assert "\x1b" not in app.export_screenshot()
            await pilot.press("escape")
            await settle(pilot)

            if owner is not None:
                await pilot.press("tab", "enter")
                await settle(pilot)
                assert isinstance(app.screen, ContactDialog)
                assert app.screen.query_one("#field-name", Input).value == single_line(owner)
                relationship = app.screen.query_one("#field-relationship", Input).value
                assert relationship == "[red]Guardian[/red]"
                assert "\x1b" not in app.export_screenshot()
                await pilot.press("escape")
                await settle(pilot)
            assert app.is_running, "no markup action ran"
            await pilot.press("escape")
            await settle(pilot)

        # A correction's confirmation quotes old and new values literally.
        await open_chart(pilot, "H-3", typed=False)
        await pilot.press("e", "tab")
        await pilot.press("ctrl+u", *"[b]x[/b] $name")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        body = app.screen.query_one(".dialog-body").visual
        assert isinstance(body, Content) and no_actions(body.spans)
        assert "Save these changes to Cy [@click=app.quit]x's chart (H-3)?" in body.plain
        assert "[@click=app.quit]x → [b]x[/b] $name" in body.plain
        await pilot.press("n", "escape")
        await settle(pilot)
        assert app.is_running


async def test_hostile_text_never_reaches_a_real_terminal(
    seeded_url: str, tmp_path: Path, make_app: AppFactory
) -> None:
    """U4, whole process: the app runs in a pseudo-terminal; the bytes it writes carry the
    names as text, and no escape sequence from the data (OSC 52 clipboard write, C1 CSI)."""
    app = make_app(seeded_url)
    insert_hostile_charts(app)
    app.services.close()
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="30")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.tui.pty_app", seeded_url],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    output = b""
    wanted = b"Doe]52;c;RVZJTA==\\, Di"
    also_wanted = b"O'Brien [guardian], Ann"
    try:
        deadline = time.monotonic() + 30
        while not (wanted in output and also_wanted in output) and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        os.write(master, b"\x11")  # Ctrl+Q
        child.wait(timeout=15)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(master)
    assert wanted in output, output[-2000:]
    assert b"\x1b]52" not in output
    assert "\u009b".encode() not in output and b"\x9b31m" not in output
    assert "\u202e".encode() not in output
    assert also_wanted in output, output[-2000:]


def test_the_stylesheet_ships_inside_the_screens_package() -> None:
    path = stylesheet_path()
    assert path.parent.name == "screens" and path.is_file()
    assert "ChartOwnerRow" in path.read_text()
    assert path.resolve() == (ROOT / "frontdesk.tcss").resolve()  # the checkout's one file
    assert shutil.which("ln") is None or (ROOT / "screens" / "frontdesk.tcss").exists()


# ------------------------------------------------------------------------------ property (U2)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(), max_size=40))
def test_any_text_is_displayed_as_itself(value: str) -> None:
    expected = single_line(value)
    assert content(value).plain == expected
    assert cell(value).plain == expected
    assert template("[b]Client:[/b] $name", name=value).plain == f"Client: {expected}"
    assert lines([value, value]).plain == f"{expected}\n{expected}"
    for visual in (content(value), template("$name", name=value)):
        assert no_actions(visual.spans)
        assert "\x1b" not in visual.plain and "\x9b" not in visual.plain


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab[]/\\=@# 0$", max_size=30))
def test_markup_lookalikes_are_displayed_as_themselves(value: str) -> None:
    assert template("[b]$name[/b]", name=value).plain == value
    assert content(value).plain == value
    assert cell(value).plain == value
