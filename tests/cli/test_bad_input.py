"""Bad input everywhere: one clear line on stderr, exit code 1 (2 for usage), no traceback,
nothing half-written."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import CSV_HEADER, Cli, add_chart, set_up_practice


@pytest.mark.parametrize(
    "argv",
    [
        ["charts", "show", "NOPE"],
        ["charts", "show", "NOPE", "--json"],
        ["invites", "send", "NOPE", "--yes"],
        ["invites", "resend", "NOPE", "--yes"],
        ["invites", "revoke", "NOPE", "--yes"],
        ["invites", "activate", "NOPE", "--yes"],
        ["owner", "set", "NOPE", "--client", "--yes"],
        ["audit", "--chart", "NOPE"],
    ],
)
def test_unknown_chart(lite: Cli, argv: list[str]) -> None:
    set_up_practice(lite)
    assert lite.fails(*argv) == "frontdesk: error: No chart with number 'NOPE'."


def test_unknown_chart_on_postgres_too(cli: Cli) -> None:
    assert cli.fails("charts", "show", "C-404") == "frontdesk: error: No chart with number 'C-404'."


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--email", "ana@", "--email: Not a valid email address: There must be something after"),
        ("--email", "ana example.com", "--email: Not a valid email address"),
        ("--dob", "1985-02-30", "--dob: Date of birth must be a real date written YYYY-MM-DD"),
        ("--dob", "03/04/1985", "--dob: Date of birth must be a real date written YYYY-MM-DD"),
        ("--dob", "2999-01-01", "--dob: Date of birth is in the future."),
        ("--number", "C 1", "--number: Chart number must be up to 40 characters without spaces."),
        ("--first", " ", "--first: First name is required."),
        ("--last", "Ab\x1b[31mc", "--last: Last name contains a control character."),
    ],
)
def test_charts_add_rejects_bad_fields(lite: Cli, option: str, value: str, message: str) -> None:
    argv = {"--number": "C-1", "--first": "Ana", "--last": "Lee", "--dob": "1985-03-04"}
    argv["--email"] = "ana@example.com"
    argv[option] = value
    flat = [part for pair in argv.items() for part in pair]
    line = lite.fails("charts", "add", *flat)
    assert line.startswith(f"frontdesk: error: {message}")
    assert "\x1b" not in line
    assert lite("charts", "list", "--json").json() == []


def test_duplicate_chart_number(cli: Cli) -> None:
    add_chart(cli, "C-1")
    line = cli.fails(
        "charts", "add", "--number", "C-1", "--first", "B", "--last", "C", "--dob",
        "1990-01-01", "--email", "b@example.com",
    )  # fmt: skip
    assert line == "frontdesk: error: --number: Chart number C-1 already exists."
    assert len(cli("charts", "list", "--json").json()) == 1


def test_likely_typo_is_a_warning_not_an_error(lite: Cli) -> None:
    result = lite(
        "charts", "add", "--number", "C-1", "--first", "A", "--last", "B", "--dob",
        "1990-01-01", "--email", "ana@gmial.com",
    )  # fmt: skip
    assert result.code == 0
    assert result.err_lines == [
        "frontdesk: warning: the email ana@gmial.com may be a typo of ana@gmail.com"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--invitation-days", "31"], "--invitation-days: Invitation validity must be 1 to 30"),
        (["--timezone", "Mars/Olympus"], "--timezone: Unknown time zone 'Mars/Olympus'."),
        (["--portal", "on"], "--portal: Set the practice name before activating the portal."),
        (["--reply-to", "nobody@"], "--reply-to: Not a valid email address"),
    ],
)
def test_practice_set_rejects_bad_values(lite: Cli, argv: list[str], message: str) -> None:
    assert lite.fails("practice", "set", *argv).startswith(f"frontdesk: error: {message}")
    assert lite("practice", "show", "--json").json()["portal_active"] is False


def test_rules_of_the_lifecycle_come_back_as_one_line(lite: Cli) -> None:
    add_chart(lite, "C-1")
    assert "Client Portal is not active" in lite.fails("invites", "send", "C-1", "--yes")
    set_up_practice(lite)
    lite.ok("invites", "send", "C-1", "--yes")
    assert "use Resend Invite instead" in lite.fails("invites", "send", "C-1", "--yes")
    lite.clock.advance(10)
    line = lite.fails("invites", "resend", "C-1", "--yes")
    assert line == (
        "frontdesk: error: alice sent an invitation 10 s ago; wait 51 s before resending."
    )
    lite.clock.advance(60)
    lite.ok("invites", "resend", "C-1", "--yes")
    lite.ok("invites", "revoke", "C-1", "--yes")
    assert "no portal access to revoke" in lite.fails("invites", "revoke", "C-1", "--yes")
    assert "already owns" in lite.fails("owner", "set", "C-1", "--client", "--yes")
    assert "has no related contact with id 99" in lite.fails(
        "owner", "set", "C-1", "--contact", "99", "--yes"
    )
    line = lite.fails(
        "owner", "set", "C-1", "--name", "Mo", "--relationship", "Mother", "--email", "mo@", "-y"
    )
    assert line.startswith("frontdesk: error: --email: Not a valid email address")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["practice", "set"], "nothing to change"),
        (["invites", "send", "--yes"], "give a CHART (or --all-without-access)"),
        (["invites", "send", "C-1", "--all-without-access"], "give either CHART or"),
        (["invites", "resend", "C-1", "--include-locked"], "--include-locked goes with"),
        (["owner", "set", "C-1", "--name", "Mo"], "--name needs --relationship and --email"),
        (["owner", "set", "C-1", "--client", "--email", "a@b.org"], "go with --name"),
    ],
)
def test_arguments_that_do_not_fit_together_are_usage_errors(
    lite: Cli, argv: list[str], message: str
) -> None:
    add_chart(lite, "C-1")
    result = lite(*argv)
    assert result.code == 2
    assert len(result.err_lines) == 1 and message in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["charts", "list", "--status", "pending"],
        ["charts", "list", "--limit", "0"],
        ["charts", "add", "--number", "C-1"],
        ["owner", "set", "C-1", "--client", "--contact", "3"],
        ["owner", "set", "C-1"],
        ["invites"],
        ["no-such-command"],
        ["practice", "set", "--portal", "maybe"],
        ["outbox", "list", "--limit", "0"],
        ["outbox", "list", "--limit", "-1"],
        ["outbox", "deliver", "--limit", "0"],
        ["outbox", "retry", "0", "--yes"],
        ["outbox", "retry", "99999999999999999999999", "--yes"],
        ["outbox", "list", "--limit", "99999999999999999999999"],
        ["inbox", "--limit", "99999999999999999999999"],
        ["audit", "--limit", "99999999999999999999999"],
        ["tasks", "show", "99999999999999999999999"],
    ],
)
def test_argparse_usage_errors_exit_2(lite: Cli, argv: list[str]) -> None:
    result = lite(*argv)
    assert result.code == 2
    assert "usage: frontdesk" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense://", "Unsupported database 'nonsense'"),
        ("nonsense", "FRONTDESK_DATABASE_URL is not a valid database URL"),
        ("mysql://root@127.0.0.1/db", "Unsupported database 'mysql'"),
    ],
)
def test_wrong_database_url(
    lite: Cli, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", url)
    for argv in (["charts", "list"], ["db", "upgrade"], ["practice", "set", "--name", "X"]):
        assert message in lite.fails(*argv)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_postgres_that_nothing_listens_on(lite: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/frontdesk"
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", url)
    line = lite.fails("charts", "list")
    assert line.startswith("frontdesk: error: Cannot open the database at postgresql+psycopg://")
    assert "Connection refused" in line
    assert "refused" in lite.fails("db", "upgrade")


@pytest.mark.postgres
def test_postgres_database_that_does_not_exist(
    lite: Cli, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    missing = pg_url.rsplit("/", 1)[0] + "/fd_no_such_database"
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", missing)
    assert 'database "fd_no_such_database" does not exist' in lite.fails("charts", "list")


def test_sqlite_file_that_is_not_a_database(
    lite: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file at all" * 200)
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{junk}")
    assert "file is not a database" in lite.fails("charts", "list")
    monkeypatch.setenv("FRONTDESK_DATABASE_URL", f"sqlite:///{tmp_path}")
    assert "unable to open database file" in lite.fails("charts", "list")


def test_bad_configuration(lite: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRONTDESK_PUBLIC_URL", "http://portal.example.com")
    assert "must use https://" in lite.fails("charts", "list")
    monkeypatch.setenv("FRONTDESK_PUBLIC_URL", "https://portal.example.com")
    config = tmp_path / "fd.toml"
    config.write_text('smtp_port = "many"\n')
    assert "is not a valid value" in lite.fails("--config", str(config), "charts", "list")
    assert lite.fails("--config", str(tmp_path / "none.toml"), "charts", "list") == (
        f"frontdesk: error: --config: no such file: {tmp_path / 'none.toml'}"
    )
    config.write_text(f'database_url = "sqlite:///{tmp_path / "other.db"}"\n')
    monkeypatch.delenv("FRONTDESK_DATABASE_URL")  # the environment would win over the file
    lite.ok("--config", str(config), "charts", "list")
    assert (tmp_path / "other.db").exists()


def test_a_locked_database_fails_in_one_line_and_writes_nothing(
    lite: Cli,
    monkeypatch: pytest.MonkeyPatch,
    sqlite_url: str,
    write_csv: Callable[..., Path],
) -> None:
    set_up_practice(lite)
    add_chart(lite, "C-1")
    monkeypatch.setattr("store.db.BUSY_TIMEOUT_MS", 20)
    monkeypatch.setattr("store.db.time.sleep", lambda seconds: None)  # no back-off in tests
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        busy = "frontdesk: error: The database is busy — try again in a moment."
        assert lite.fails("invites", "send", "C-1", "--yes") == busy
        add = ["charts", "add", "--number", "C-2", "--first", "B", "--last", "C"]
        assert lite.fails(*add, "--dob", "1990-01-01", "--email", "b@example.com") == busy
        csv_file = write_csv([CSV_HEADER, "C-3,Kim,Lee,,1990-01-01,,,,,"])
        assert lite.fails("charts", "import", str(csv_file)) == busy
        # Reading still works while someone else writes (WAL).
        assert [r["chart_number"] for r in lite("charts", "list", "--json").json()] == ["C-1"]
    finally:
        holder.rollback()
        holder.close()
    rows = lite("charts", "list", "--json").json()
    assert [(r["chart_number"], r["status"]) for r in rows] == [("C-1", "no_portal_access")]
    assert [r["action"] for r in lite("audit", "--json").json()] == [
        "chart added",
        "portal activated",
    ]
