"""The bulk invitation commands (issue 12): every skipped chart is reported with its reason,
`--json` gives {sent, skipped: [{chart, reason}], failed}, a progress bar on a terminal and
plain lines otherwise."""

from __future__ import annotations

import io
import json
import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from rich.console import Console

from frontdesk.access.invitations import InvitationService
from frontdesk.access.outcomes import BulkFailure, BulkResult, FailureKind
from frontdesk.cli import bulk, main
from frontdesk.cli.context import CliContext

from .conftest import SENDS_THEM, Cli, add_chart, set_up_practice


def _practice(cli: Cli) -> None:
    """C-1, C-2 with an address; C-3 and C-5 without one; C-4 with a guardian owner."""
    set_up_practice(cli)
    add_chart(cli, "C-1", last="Abbott", email="ana@example.com")
    add_chart(cli, "C-2", last="Baker", first="Leo", email="leo@example.com")
    for number, last in (("C-3", "Cole"), ("C-5", "Evans")):
        cli.ok("charts", "add", "--number", number, "--first", "No", "--last", last, "--dob",
               "1990-01-01", "--email", "")  # fmt: skip
    add_chart(cli, "C-4", last="Drake", email="kid@example.com")
    cli.ok("owner", "set", "C-4", "--name", "Mo Drake", "--relationship", "Mother", "--email",
           "mo@example.com", "--yes")  # fmt: skip


def test_every_skipped_chart_is_listed_with_its_reason(lite: Cli) -> None:
    _practice(lite)
    out = lite.ok("invites", "send", "--all-without-access", "--yes").out
    rows = [line.rstrip().split(None, 2) for line in out.splitlines()[1:-1]]
    assert rows == [
        ["C-1", "queued"],
        ["C-2", "queued"],
        ["C-4", "queued"],
        ["C-3", "skipped", "the portal owner has no email address"],
        ["C-5", "skipped", "the portal owner has no email address"],
    ]
    assert out.splitlines()[-1] == (
        f"3 invitations queued, 2 skipped. {SENDS_THEM[0].upper()}{SENDS_THEM[1:]}"
    )

    # Eight days later all three expired; since then one was resent (not Expired any more),
    # one's address was lost and one's mistyped (straight in the store: no link ends).
    lite.clock.advance(timedelta(days=8).total_seconds())
    lite.ok("invites", "resend", "C-2", "--yes")
    _set_email("C-1", None)
    _set_email("C-4", "mo at example.com", table="related_contact")
    out = lite.ok("invites", "resend", "--all-expired", "--yes").out
    rows = [line.rstrip().split(None, 2) for line in out.splitlines()[1:-1]]
    assert rows == [
        ["C-1", "skipped", "the portal owner has no email address"],
        ["C-4", "skipped", "the portal owner's email address is not valid"],
    ]
    assert out.splitlines()[-1] == "Nothing queued, 2 skipped."


def _set_email(chart: str, email: str | None, *, table: str = "chart") -> None:
    """Change a chart's (or its contacts') email straight in the store of the CLI under test."""
    engine = sa.create_engine(os.environ["FRONTDESK_DATABASE_URL"])
    with engine.begin() as conn:
        if table == "chart":
            conn.execute(
                sa.text("UPDATE chart SET email = :email WHERE chart_number = :chart"),
                {"email": email, "chart": chart},
            )
        else:
            conn.execute(
                sa.text(
                    "UPDATE related_contact SET email = :email WHERE chart_id = "
                    "(SELECT id FROM chart WHERE chart_number = :chart)"
                ),
                {"email": email, "chart": chart},
            )
    engine.dispose()


@pytest.mark.parametrize("flag", ["--all-without-access", "--all-expired"])
def test_json_gives_sent_skipped_with_reasons_and_failed(cli: Cli, flag: str) -> None:
    _practice(cli)
    command = "send" if flag == "--all-without-access" else "resend"
    if command == "resend":
        cli.ok("invites", "send", "--all-without-access", "--yes")
        cli.clock.advance(timedelta(days=8).total_seconds())
        cli.ok("practice", "set", "--portal", "off")
    result = cli.ok("invites", command, flag, "--yes", "--json").json()
    assert set(result) == {"sent", "skipped", "failed"}
    if command == "send":
        assert sorted(result["sent"]) == ["C-1", "C-2", "C-4"]
        assert result["skipped"] == [
            {"chart": "C-3", "reason": "no_email"},
            {"chart": "C-5", "reason": "no_email"},
        ]
    else:  # the portal is off: every expired chart is skipped, with that reason
        assert result["sent"] == []
        assert sorted(s["chart"] for s in result["skipped"]) == ["C-1", "C-2", "C-4"]
        assert {s["reason"] for s in result["skipped"]} == {"portal_off"}
    assert result["failed"] == []


def test_json_with_nothing_to_do_is_the_empty_result(lite: Cli) -> None:
    set_up_practice(lite)
    empty = {"sent": [], "skipped": [], "failed": []}
    assert lite.ok("invites", "resend", "--all-expired", "--json").json() == empty
    assert lite.ok("invites", "send", "--all-without-access", "--json").json() == empty
    assert lite("invites", "send", "C-1", "--json").code == 2  # --json is for the bulk form


def test_without_a_terminal_progress_is_plain_lines(
    lite: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _practice(lite)
    monkeypatch.setattr(bulk, "PLAIN_PROGRESS_SECONDS", 0.0)  # a line for every count
    result = lite("invites", "send", "--all-without-access", "--yes")
    assert result.code == 0
    assert result.err_lines == [
        f"frontdesk: invite all without access: {done} of 5 charts done" for done in (1, 2, 3, 4)
    ]  # the last count is the summary's (stdout)
    assert "\x1b" not in result.err  # no terminal controls in a log


def test_on_a_terminal_progress_is_a_bar(lite: Cli) -> None:
    _practice(lite)
    terminal = io.StringIO()
    ctx = CliContext(
        clock=lite.clock,
        stdin_is_tty=lambda: True,
        stderr=Console(file=terminal, force_terminal=True, width=100),
    )
    assert main(["invites", "send", "--all-without-access", "--yes"], ctx) == 0
    shown = terminal.getvalue()
    assert "Invite all without access: charts" in shown
    assert "5/5" in shown  # the count, drawn by rich
    assert "━" in shown  # the bar


def test_failed_charts_are_listed_and_the_exit_code_says_so(
    lite: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _practice(lite)

    def refused(self: InvitationService, action: object, **kwargs: object) -> BulkResult:
        detail = "database is locked"
        return BulkResult(
            sent=("C-1",),
            failed=(BulkFailure("C-2", FailureKind.BUSY, detail),),
            total=2,
        )

    monkeypatch.setattr(InvitationService, "run_bulk", refused)
    failed_line = (
        "frontdesk: error: 1 chart failed (listed above; nothing of them was kept): run the "
        "action again"
    )
    result = lite("invites", "send", "--all-without-access", "--yes")
    assert result.code == 1
    rows = [line.rstrip().split(None, 2) for line in result.out.splitlines()[1:-1]]
    busy = "the database stayed busy with other work; run the action again"
    assert rows == [["C-1", "queued"], ["C-2", "failed", f"{busy} (database is locked)"]]
    assert result.out.splitlines()[-1].startswith("1 invitation queued, 0 skipped, 1 failed.")
    assert result.err_lines == [failed_line]
    as_json = lite("invites", "send", "--all-without-access", "--yes", "--json")
    assert (as_json.code, as_json.err_lines) == (1, [failed_line])
    assert json.loads(as_json.out) == {
        "sent": ["C-1"],
        "skipped": [],
        "failed": [{"chart": "C-2", "error": "busy", "detail": "database is locked"}],
    }
