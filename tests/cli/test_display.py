"""Client data reaches the staff terminal literally: never read as markup, control characters
removed; times in the practice's time zone."""

from __future__ import annotations

import io

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col

from frontdesk.cli.context import cell
from frontdesk.core.config import load_settings
from frontdesk.core.text import single_line
from store.db import create_engine_for
from store.models import Chart

from .conftest import Cli, add_chart, set_up_practice


def test_markup_in_client_data_is_shown_literally(lite: Cli) -> None:
    set_up_practice(lite)
    add_chart(lite, "C-1", last="Smith [/]", first="[bold red]Ana[/bold red]")
    add_chart(lite, "C-2", last="O'Brien [guardian]", first="[@click=app.quit]Leo", email="l@x.org")
    lite.ok("invites", "send", "C-1", "--yes")
    for argv in (["charts", "list"], ["invites", "list"], ["charts", "show", "C-1"]):
        out = lite.ok(*argv).out
        assert "Smith [/], [bold red]Ana[/bold red]" in out
    listing = lite.ok("charts", "list").out
    assert "O'Brien [guardian], [@click=app.quit]Leo" in listing
    data = lite("charts", "show", "C-2", "--json").json()
    assert data["first_name"] == "[@click=app.quit]Leo"


def test_control_characters_never_reach_the_terminal(lite: Cli) -> None:
    """Data written by something other than the service (older tools, the database directly)."""
    set_up_practice(lite)
    add_chart(lite, "C-1", last="Lee")
    engine = create_engine_for(load_settings().database_url)
    try:
        with Session(engine) as session:
            session.execute(
                sa.update(Chart)
                .where(col(Chart.chart_number) == "C-1")
                .values(first_name="Ana\x1b[2J\x1b]0;pwned\x07", last_name="Lee\u202eevil\r\nX")
            )
            session.commit()
    finally:
        engine.dispose()
    for argv in (["charts", "list"], ["charts", "show", "C-1"], ["owner", "set", "C-1",
                 "--name", "Mo", "--relationship", "Mother", "--email", "mo@example.com",
                 "--yes"]):  # fmt: skip
        out = lite.ok(*argv).out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "Leeevil  X, Ana[2J]0;pwned" in lite.ok("charts", "list").out
    result = lite("invites", "revoke", "C-1", tty=True, answer="n")
    assert "\x1b" not in result.err and "\u202e" not in result.err
    # Scripts get the stored value, JSON-escaped.
    assert (
        lite("charts", "show", "C-1", "--json").json()["first_name"] == "Ana\x1b[2J\x1b]0;pwned\x07"
    )


def test_times_are_shown_in_the_practice_time_zone(lite: Cli) -> None:
    set_up_practice(lite)
    add_chart(lite, "C-1")
    lite.ok("invites", "send", "C-1", "--yes")
    assert "Thu Nov 26, 10:00 AM" in lite.ok("invites", "list").out  # New York, the default
    lite.ok("practice", "set", "--timezone", "America/Los_Angeles")
    listing = lite.ok("invites", "list").out
    assert "Thu Nov 26, 7:00 AM" in listing and "Thu Dec 3, 7:00 AM" in listing
    assert "Thu Nov 26, 7:00 AM  alice  invitation sent" in lite.ok("audit").out
    lite.clock.advance(86400 * 400)
    assert "Thu Nov 26 2026, 7:00 AM" in lite.ok("audit").out  # another year: with the year
    # JSON is UTC with its offset, whatever the practice's zone.
    assert lite("audit", "--json").json()[0]["at"] == "2026-11-26T15:00:00+00:00"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab[]/\\=@# 0:é\x1b\x07\u202e\x9b\n")), max_size=40))
def test_any_text_in_a_cell_renders_as_itself(value: str) -> None:
    """SECURITY U1-U4: a table cell shows the stored text (minus control characters), never
    markup, never an action, never an escape sequence."""
    text = cell(value)
    assert not text.spans and not text.style  # no markup, no @click/meta from data
    buffer = io.StringIO()
    console = Console(file=buffer, width=500, color_system=None, emoji=False, highlight=False)
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column()
    table.add_row(text)
    console.print(table)
    assert buffer.getvalue().rstrip("\n ") == single_line(value).rstrip(" ")
    assert "\x1b" not in buffer.getvalue() and "\x9b" not in buffer.getvalue()
