"""Client text in the inbox, the thread and the chart's message list is shown literally
(SECURITY U1–U4): markup stays text, a markup action never runs, escape sequences and bidi
overrides never reach the terminal. The service refuses control characters at input, so the
hostile text is written straight into the tables, as old or imported data could be; the
markup-only text goes through the service as a client would send it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rich.text import Text
from textual.content import Content

from frontdesk.app import FrontDeskApp
from frontdesk.core.text import single_line
from screens.chart.messages_panel import ThreadList
from screens.inbox.inbox_screen import InboxScreen, InboxTable
from screens.inbox.thread_screen import ThreadScreen
from store.models import Chart, InboxItem, MessageThread, PortalMessage
from tests.factories import ACTIVE
from tests.tui.conftest import AppFactory, settle
from tests.tui.messages.conftest import client_writes
from tests.tui.screen_text import screen_text
from tests.tui.test_hostile import no_actions

ESC = "Pay\x1b[31m now\x1b]52;c;RVZJTA==\x07"
C1 = "Vu\u009b31mlnerable"
BIDI = "Ev\u202eil\u2066x"
SUBJECT = "[@click=app.quit]Click[/] " + ESC
FIRST_NAME = "[b]Liam[/b]"
BODY_LINES = ("[b]x[/b] and [@click=app.quit]x[/]", ESC, BIDI + " " + C1, "$name [/]")


def make_hostile_thread(app: FrontDeskApp) -> int:
    """A thread by the Active client whose subject, body and name carry hostile text."""
    sent = client_writes(app.services, "placeholder", "placeholder", minutes_ago=20)

    def work(session: Any) -> None:
        session.execute(
            sa.update(MessageThread)
            .where(MessageThread.id == sent.thread_id)  # type: ignore[arg-type]
            .values(subject=SUBJECT)
        )
        session.execute(
            sa.update(PortalMessage)
            .where(PortalMessage.id == sent.message_id)  # type: ignore[arg-type]
            .values(body="\n".join(BODY_LINES))
        )
        session.execute(
            sa.update(InboxItem)
            .where(InboxItem.source_id == sent.thread_id)  # type: ignore[arg-type]
            .values(subject=SUBJECT)
        )
        session.execute(
            sa.update(Chart)
            .where(Chart.chart_number == ACTIVE)  # type: ignore[arg-type]
            .values(first_name=FIRST_NAME)
        )

    app.services.db.transact(work)
    return sent.thread_id


def assert_literal(app: FrontDeskApp, *expected: str) -> None:
    shown = screen_text(app)
    assert "\x1b" not in app.export_screenshot() and "\u202e" not in shown
    for text in expected:
        assert text in shown, text
    assert app.is_running, "no markup action ran (app.quit would have ended the app)"


async def test_hostile_text_is_literal_in_the_inbox_thread_and_chart_list(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    make_hostile_thread(app)
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        table = app.screen.query_one(InboxTable)
        row = table.row_cells(0)
        assert all(isinstance(value, Text) and no_actions(value.spans) for value in row)
        assert row[1].plain == single_line(f"{FIRST_NAME} Smith [/]")
        assert row[2].plain.startswith("[@click=app.quit]Click[/] Pay[31m now]52;c;")
        assert_literal(app, "[b]Liam[/b] Smith [/]", "[@click=app.quit]Click[/]")

        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ThreadScreen)
        title = app.screen.query_one("#thread-title").visual
        assert isinstance(title, Content) and title.plain == single_line(SUBJECT)
        assert no_actions(title.spans)
        (block,) = app.screen.query(".thread-message")
        body = block.visual
        assert isinstance(body, Content) and no_actions(body.spans)
        assert body.plain.split("\n")[1:] == [single_line(line) for line in BODY_LINES]
        assert_literal(
            app,
            "[b]x[/b] and [@click=app.quit]x[/]",
            "Pay[31m now]52;c;RVZJTA==",
            "Evilx Vu31mlnerable",
            "$name [/]",
            "[b]Liam[/b] Smith [/]",
        )

        await pilot.press("o")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        threads = app.screen.query_one(ThreadList)
        cells = threads.get_row_at(0)
        assert all(isinstance(value, Text) and no_actions(value.spans) for value in cells)
        assert cells[1].plain.startswith("[@click=app.quit]Click[/] Pay")
        assert_literal(app, "[@click=app.quit]Click[/] Pay[31m now")


async def test_markup_typed_by_a_client_is_stored_and_shown_as_typed(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    client_writes(app.services, "[red]Urgent[/red]", "[@click=app.quit]Quit[/]\n[link=x]y[/link]")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert_literal(app, "[red]Urgent[/red]")
        await pilot.press("enter")
        await settle(pilot)
        assert_literal(app, "[@click=app.quit]Quit[/]", "[link=x]y[/link]")
        await pilot.click("#thread-messages")  # a click on the text runs nothing
        await settle(pilot)
        assert app.is_running
