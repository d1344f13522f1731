"""Issue 2, "Done when": from the command line alone a person creates a practice, imports
charts, sends, resends and revokes invitations and reads statuses and the audit trail — on
SQLite and on PostgreSQL (the `cli` fixture runs each test on both)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from frontdesk.core.config import load_settings
from frontdesk.services import build_services
from store.migrate import head_revision
from store.models import Invitation, OutboxEmail

from .conftest import CSV_HEADER, SENDS_IT, SENDS_THEM, Cli, add_chart, set_up_practice

INVITE_KEYS = {
    "chart_number",
    "owner_name",
    "owner_email",
    "status",
    "sent_at",
    "expires_at",
    "delivery",
}
AUDIT_KEYS = {"at", "actor", "action", "chart_number", "outcome", "detail"}


def _statuses(cli: Cli) -> dict[str, str]:
    return {row["chart_number"]: row["status"] for row in cli("charts", "list", "--json").json()}


def test_a_practice_goes_live_from_the_command_line(
    cli: Cli, write_csv: Callable[..., Path]
) -> None:
    upgrade = cli.ok("db", "upgrade")
    assert "up to date" in upgrade.out or "→" in upgrade.out

    cli.ok(
        "practice", "set", "--name", "Cedar Counseling", "--phone", "(555) 010-0100",
        "--timezone", "America/Chicago", "--portal", "on",
    )  # fmt: skip
    practice = cli("practice", "show", "--json").json()
    assert practice == {
        "name": "Cedar Counseling",
        "phone": "(555) 010-0100",
        "timezone": "America/Chicago",
        "portal_active": True,
        "invitation_days": 7,
        "reply_to": None,
        "messaging": "on",
        "message_promise": None,
        "message_audiences": ["front_desk", "billing", "clinical"],
        "message_notify_email": None,
    }

    csv_file = write_csv(
        [
            CSV_HEADER,
            "C-1001,Ana,O'Brien,Annie,1985-03-04,ana@example.com,555-0101,,,",
            "C-1002,Leo,Park,,2014-06-01,,,Mina Park,Mother,mina@example.com",
            "C-1003,Rosa,García,,1970-12-24,rosa@example.com,,,,",
        ]
    )
    imported = cli.ok("charts", "import", str(csv_file))
    assert "Imported 3 chart(s) and 1 related contact(s) from 3 row(s)." in imported.out
    assert _statuses(cli) == {
        "C-1001": "no_portal_access",
        "C-1002": "no_portal_access",
        "C-1003": "no_portal_access",
    }

    # Leo is a minor without an email: the import made his mother the portal owner (issue 15),
    # so she gets the invitation.
    leo = cli("charts", "show", "C-1002", "--json").json()
    assert leo["owner"]["name"] == "Mina Park" and leo["contacts"][0]["is_owner"]

    sent = cli.ok("invites", "send", "C-1001", "--yes")
    assert sent.out == f"Invitation to ana@example.com queued; {SENDS_IT}\n"
    bulk = cli.ok("invites", "send", "--all-without-access", "--yes")
    assert f"2 invitations queued; {SENDS_THEM}" in bulk.out
    assert _statuses(cli) == {"C-1001": "invited", "C-1002": "invited", "C-1003": "invited"}

    invites = cli("invites", "list", "--json").json()
    assert [row["chart_number"] for row in invites] == ["C-1003", "C-1001", "C-1002"]
    for row in invites:
        assert set(row) == INVITE_KEYS
        assert row["status"] == "invited"
        assert row["delivery"] == "queued"
        assert row["sent_at"] == "2026-11-26T15:00:00+00:00"
        assert row["expires_at"] == "2026-12-03T15:00:00+00:00"
    assert invites[2]["owner_name"] == "Mina Park"
    assert invites[2]["owner_email"] == "mina@example.com"

    # A week and a second later every link has expired; a resend brings one back.
    cli.clock.advance(timedelta(days=7, seconds=1).total_seconds())
    assert set(_statuses(cli).values()) == {"expired"}
    resent = cli.ok("invites", "resend", "C-1001", "--yes")
    assert "New invitation to ana@example.com queued (every earlier link" in resent.out
    cli.clock.advance(1)
    bulk = cli.ok("invites", "resend", "--all-expired", "--yes")
    assert f"2 new invitations queued; {SENDS_THEM}" in bulk.out
    assert set(_statuses(cli).values()) == {"invited"}

    revoked = cli.ok("invites", "revoke", "C-1003", "--yes")
    assert "Portal access revoked for García, Rosa." in revoked.out
    assert _statuses(cli)["C-1003"] == "no_portal_access"
    assert [r["chart_number"] for r in cli("invites", "list", "--json").json()] == [
        "C-1001",
        "C-1002",
    ]

    table = cli.ok("invites", "list").out
    assert "O'Brien, Ana" in table and "Invited · expires in 7 days" in table
    assert "Thu Dec 10, 9:00 AM" in table  # expiry in the practice's zone (Chicago)

    audit = cli("audit", "--json").json()
    assert all(set(row) == AUDIT_KEYS for row in audit)
    actions = [(row["action"], row["chart_number"]) for row in audit]
    assert ("access revoked", "C-1003") in actions
    assert ("invitation resent", "C-1001") in actions
    assert ("invitation sent", "C-1002") in actions
    assert ("owner changed", "C-1002") in actions
    assert ("chart added", "C-1003") in actions
    assert audit[0] == {
        "at": "2026-12-03T15:00:02+00:00",
        "actor": "alice",
        "action": "access revoked",
        "chart_number": "C-1003",
        "outcome": "ok",
        "detail": "invitation revoked",
    }
    chart_audit = cli("audit", "--chart", "C-1001", "--json").json()
    assert {row["chart_number"] for row in chart_audit} == {"C-1001"}
    assert [row["action"] for row in chart_audit] == [
        "invitation resent",
        "invitation sent",
        "chart added",
    ]

    # The store agrees: exactly one live invitation per invited chart, one email per send.
    services = build_services(load_settings(), clock=cli.clock)
    try:
        with services.db.read() as session:
            live = session.exec(select(Invitation).where(Invitation.state == "live")).all()
            emails = session.exec(select(OutboxEmail)).all()
    finally:
        services.close()
    assert sorted(i.chart_id for i in live) == sorted({i.chart_id for i in live})
    assert len(live) == 2
    assert len(emails) == 6


def test_charts_show_json_and_table(cli: Cli) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-7", preferred="Annie", phone="555-0199")
    cli.ok("owner", "set", "C-7", "--name", "Maria O'Brien", "--relationship", "Mother",
           "--email", "maria@example.com", "--invite", "--yes")  # fmt: skip
    data = cli("charts", "show", "C-7", "--json").json()
    assert set(data) == {
        "chart_number", "first_name", "last_name", "preferred_name", "date_of_birth", "email",
        "phone", "owner", "status", "status_detail", "status_label", "invitation", "delivery",
        "account_email", "contacts", "history",
    }  # fmt: skip
    assert data["owner"] == {
        "name": "Maria O'Brien",
        "relationship": "Mother",
        "email": "maria@example.com",
        "contact_id": data["contacts"][0]["id"],
    }
    assert data["status"] == "invited" and data["status_label"] == "Invited"
    assert data["invitation"] == {
        "sent_at": "2026-11-26T15:00:00+00:00",
        "sent_by": "alice",
        "expires_at": "2026-12-03T15:00:00+00:00",
        "failed_attempts": 0,
    }
    assert data["delivery"] == {"state": "queued", "sent_at": None, "error": None}
    assert data["contacts"][0]["is_owner"] is True
    assert [h["action"] for h in data["history"]][:3] == [
        "invitation sent",
        "owner changed",
        "contact added",
    ]
    assert all(set(h) == AUDIT_KEYS for h in data["history"])

    table = cli.ok("charts", "show", "C-7").out
    for expected in (
        "O'Brien, Ana (Annie)",
        "1985-03-04",
        "Maria O'Brien (Mother) · maria@example.com",
        "Invited · expires in 7 days",
        "sent Thu Nov 26, 10:00 AM by alice",
        "Related contacts",
        "Recent history",
    ):
        assert expected in table

    # Back to the client, then activate access again after a revoke.
    cli.ok("owner", "set", "C-7", "--client", "--yes")
    assert cli("charts", "show", "C-7", "--json").json()["status"] == "no_portal_access"
    cli.ok("invites", "activate", "C-7", "--yes")
    assert cli("charts", "show", "C-7", "--json").json()["owner"]["contact_id"] is None
    assert cli("charts", "show", "C-7", "--json").json()["status"] == "invited"


def test_charts_list_filters_pages_and_json_shape(cli: Cli) -> None:
    set_up_practice(cli)
    for index in range(5):
        add_chart(cli, f"C-{index}", last=f"Last{index}", email=f"c{index}@example.com")
    cli.ok("invites", "send", "C-3", "--yes")

    rows = cli("charts", "list", "--json").json()
    assert [r["chart_number"] for r in rows] == ["C-0", "C-1", "C-2", "C-3", "C-4"]
    assert set(rows[0]) == {
        "chart_number", "first_name", "last_name", "preferred_name", "date_of_birth", "email",
        "phone", "owner", "status", "status_detail", "sent_at", "expires_at", "delivery",
    }  # fmt: skip
    assert rows[3]["status"] == "invited" and rows[3]["delivery"] == "queued"
    assert rows[0]["sent_at"] is None and rows[0]["delivery"] is None

    page = cli("charts", "list", "--limit", "2", "--offset", "1", "--json").json()
    assert [r["chart_number"] for r in page] == ["C-1", "C-2"]
    only = cli("charts", "list", "--status", "invited", "--json").json()
    assert [r["chart_number"] for r in only] == ["C-3"]
    found = cli("charts", "list", "--search", "last4", "--json").json()
    assert [r["chart_number"] for r in found] == ["C-4"]
    assert cli("charts", "list", "--status", "expiring_soon", "--json").json() == []

    table = cli.ok("charts", "list", "--limit", "2").out
    assert "Showing 1–2 of 5 chart(s)." in table
    assert "Last0, Ana" in table and "Last2" not in table
    assert "No charts match" in cli.ok("charts", "list", "--search", "zzz").out


def test_invites_list_status_filter_and_empty(cli: Cli) -> None:
    set_up_practice(cli)
    assert cli("invites", "list", "--json").json() == []
    assert "No invitations match." in cli.ok("invites", "list").out
    add_chart(cli, "C-1")
    add_chart(cli, "C-2", last="Zed", email="zed@example.com")
    cli.ok("invites", "send", "C-1", "--yes")
    cli.clock.advance(timedelta(days=6).total_seconds())
    cli.ok("invites", "send", "C-2", "--yes")
    assert [r["chart_number"] for r in cli("invites", "list", "--json").json()] == ["C-1", "C-2"]
    soon = cli("invites", "list", "--status", "expiring_soon", "--json").json()
    assert [r["chart_number"] for r in soon] == ["C-1"]
    assert soon[0]["status"] == "invited"
    none = cli("invites", "list", "--status", "no_portal_access", "--json").json()
    assert none == []


def test_bulk_summaries_name_what_was_skipped(cli: Cli) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1")
    cli.ok("charts", "add", "--number", "C-2", "--first", "No", "--last", "Mail", "--dob",
           "1990-01-01", "--email", "")  # fmt: skip
    result = cli.ok("invites", "send", "--all-without-access", "--yes")
    assert f"1 invitation queued, 1 skipped. {SENDS_IT[0].upper()}{SENDS_IT[1:]}" in result.out
    assert "has no email address" in result.out
    assert "Nothing" not in result.out
    again = cli.ok("invites", "send", "--all-without-access", "--yes")
    assert "1 invitation" not in again.out and "Nothing queued, 1 skipped." in again.out

    none = cli.ok("invites", "resend", "--all-expired", "--yes")
    assert "No chart has an expired invitation; nothing to resend." in none.out
    cli.clock.advance(timedelta(days=8).total_seconds())
    done = cli.ok("invites", "resend", "--all-expired", "--include-locked", "--yes")
    assert f"1 new invitation queued; {SENDS_IT}" in done.out


def test_db_upgrade_reports_the_revision(cli: Cli) -> None:
    first = cli.ok("db", "upgrade").out
    assert head_revision() in first
    again = cli.ok("db", "upgrade").out
    assert "is up to date (revision" in again


def test_an_active_client_and_revoking_their_access(cli: Cli) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1")
    cli.ok("invites", "send", "C-1", "--yes")
    services = build_services(load_settings(), clock=cli.clock, actor="web")
    try:
        with services.db.read() as session:
            email = session.exec(select(OutboxEmail)).one()
        match = re.search(r"/register/([A-Za-z0-9_-]{43})", email.body_text)
        assert match is not None
        registered = services.registration.register(
            match.group(1),
            last_name="o’brien",
            date_of_birth="1985-03-04",
            password="correct horse battery staple 42",
            password_confirm="correct horse battery staple 42",
        )
        assert registered.state == "registered", registered
    finally:
        services.close()

    row = cli("invites", "list", "--json").json()[0]
    assert row == {
        "chart_number": "C-1",
        "owner_name": "Ana O'Brien",
        "owner_email": "ana@example.com",
        "status": "active",
        "sent_at": None,
        "expires_at": None,
        "delivery": None,
    }
    shown = cli.ok("charts", "show", "C-1").out
    assert "Active" in shown and "Portal account  ana@example.com" in shown
    assert cli("charts", "show", "C-1", "--json").json()["account_email"] == "ana@example.com"
    assert "already registered" in cli.fails("invites", "resend", "C-1", "--yes")

    prompt = cli("invites", "revoke", "C-1", tty=True, answer="y")
    assert prompt.code == 0
    assert prompt.err == (
        "Revoke portal access for O'Brien, Ana (chart C-1)? The portal account ana@example.com "
        "is disabled and its sessions end now. [y/N] "
    )
    assert cli("charts", "show", "C-1", "--json").json()["status"] == "no_portal_access"
    activated = cli.ok("invites", "activate", "C-1", "--yes")
    assert "Portal access restored for" in activated.out
    assert cli("charts", "show", "C-1", "--json").json()["status"] == "active"
