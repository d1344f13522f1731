"""`frontdesk charts edit` (issue 11; SECURITY.md T6, R4) and what `charts show` lists since:
contacts with their phone and the Chart Owner marked, and the history the desk reads. The
end-to-end rules run on SQLite and PostgreSQL (`cli` with `services` on the same store)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from frontdesk.access.outcomes import LinkState
from frontdesk.charts.records import ContactInput
from frontdesk.services import Services
from store.models import OUTBOX_CANCELLED, OUTBOX_PENDING
from tests.factories import (
    ANA_OBRIEN,
    DEMO_PASSWORD,
    latest_token,
    outbox_rows,
    register_chart,
    set_up_practice,
)

from .conftest import SENDS_IT, SENDS_THEM, Cli, add_chart
from .conftest import set_up_practice as set_up_practice_by_cli

ANA = ANA_OBRIEN.chart_number  # C-1001, Ana O'Brien (Annie), 1985-03-04, ana@example.com
REFUSAL = "frontdesk: error: refusing to act without confirmation: no terminal; pass --yes"


@pytest.fixture
def invited(cli: Cli, services: Services) -> Services:
    """Ana's chart, invited at T0 (Thu Nov 26, 10:00 AM in New York)."""
    set_up_practice(services)
    services.charts.add_chart(ANA_OBRIEN)
    services.invitations.send_invitation(ANA)
    return services


@pytest.fixture
def active(invited: Services) -> Services:
    """Ana registered from her invitation: Active, signing in with ana@example.com."""
    assert register_chart(invited, ANA).state == "registered"
    return invited


def _mail(services: Services) -> list[tuple[str, str, str]]:
    return [(row.to_address, row.kind, row.state) for row in outbox_rows(services)]


def _chart(cli: Cli, number: str = ANA) -> dict[str, Any]:
    data: dict[str, Any] = cli("charts", "show", number, "--json").json()
    return data


# ---------------------------------------------------------------- the live-link rule, end to end


def test_a_new_email_on_an_invited_chart_replaces_the_link(cli: Cli, invited: Services) -> None:
    old_link = latest_token(invited, ANA)
    cli.clock.advance(3600)
    done = cli.ok("charts", "edit", ANA, "--email", "ana.obrien@example.com", "--yes")
    assert done.out == (
        f"Chart {ANA} saved (email). The old link no longer works; a new invitation went to "
        f"ana.obrien@example.com. The email is queued; {SENDS_IT}\n"
    )
    # The old link shows the "replaced" page; the new one works and went to the new address.
    assert invited.registration.inspect_token(old_link).state is LinkState.REPLACED
    new_link = latest_token(invited, ANA)
    assert new_link != old_link
    assert invited.registration.inspect_token(new_link).state is LinkState.VALID
    assert _mail(invited) == [
        ("ana@example.com", "invitation", OUTBOX_CANCELLED),
        ("ana.obrien@example.com", "resend", OUTBOX_PENDING),
    ]
    chart = _chart(cli)
    assert chart["email"] == "ana.obrien@example.com" and chart["status"] == "invited"
    assert chart["invitation"]["expires_at"] == "2026-12-03T16:00:00+00:00"
    assert chart["history"][0]["action"] == "chart edited"


def test_no_invite_only_ends_the_old_link(cli: Cli, invited: Services) -> None:
    old_link = latest_token(invited, ANA)
    done = cli.ok("charts", "edit", ANA, "--email", "ana.obrien@example.com", "--no-invite", "-y")
    assert done.out == (
        f"Chart {ANA} saved (email). The old link no longer works; no new invitation was sent.\n"
    )
    assert invited.registration.inspect_token(old_link).state is LinkState.REPLACED
    assert _mail(invited) == [("ana@example.com", "invitation", OUTBOX_CANCELLED)]
    chart = _chart(cli)
    assert chart["status"] == "no_portal_access" and chart["invitation"] is None


def test_a_new_last_name_or_date_of_birth_ends_the_link_too(cli: Cli, invited: Services) -> None:
    done = cli.ok("charts", "edit", ANA, "--last", "O'Brien-Lee", "--dob", "1985-04-03", "--yes")
    assert done.out.startswith(
        f"Chart {ANA} saved (last name, date of birth). The old link no longer works; a new "
        "invitation went to ana@example.com."
    )
    assert [kind for _, kind, _ in _mail(invited)] == ["invitation", "resend"]
    chart = _chart(cli)
    assert (chart["last_name"], chart["date_of_birth"]) == ("O'Brien-Lee", "1985-04-03")


def test_the_question_names_each_change_and_the_new_link(cli: Cli, invited: Services) -> None:
    cli.clock.advance(timedelta(days=1).total_seconds())
    asked = cli(
        "charts", "edit", ANA, "--email", "ana.obrien@example.com", "--preferred", "",
        tty=True, answer="n",
    )  # fmt: skip
    assert asked.code == 1
    assert asked.err == (
        f"Save chart {ANA} (O'Brien, Ana): preferred name Annie → (none), email ana@example.com "
        "→ ana.obrien@example.com? The invitation link sent on Nov 26 stops working; a new one "
        "goes to ana.obrien@example.com (it expires Dec 4). [y/N] "
        "frontdesk: error: cancelled; nothing was changed\n"
    )
    assert _chart(cli)["email"] == "ana@example.com"
    assert _mail(invited) == [("ana@example.com", "invitation", OUTBOX_PENDING)]

    no_invite = cli("charts", "edit", ANA, "--dob", "1985-03-05", "--no-invite", tty=True,
                    answer="n")  # fmt: skip
    assert (
        "date of birth 1985-03-04 → 1985-03-05? The invitation link sent on Nov 26 stops "
        "working; no new one is sent (--no-invite)." in no_invite.err
    )


def test_an_active_owners_new_email_changes_the_sign_in(cli: Cli, active: Services) -> None:
    signed_in = active.signin.sign_in("ana@example.com", DEMO_PASSWORD, client_address="10.0.0.9")
    assert signed_in.session_id is not None
    asked = cli("charts", "edit", ANA, "--email", "ana.new@example.com", tty=True, answer="y")
    assert asked.code == 0, asked.err
    assert asked.err == (
        f"Save chart {ANA} (O'Brien, Ana): email ana@example.com → ana.new@example.com? The "
        "portal sign-in email changes from ana@example.com to ana.new@example.com: open portal "
        "sessions end, and both addresses get a short notice. [y/N] "
    )
    assert asked.out == (
        f"Chart {ANA} saved (email). The portal sign-in email is now ana.new@example.com; both "
        f"addresses were told, and open portal sessions ended. The 2 emails are queued; "
        f"{SENDS_THEM}\n"
    )
    assert active.signin.session(signed_in.session_id) is None
    assert _mail(active)[-2:] == [
        ("ana@example.com", "sign_in_email_changed", OUTBOX_PENDING),
        ("ana.new@example.com", "sign_in_email_changed", OUTBOX_PENDING),
    ]
    assert _chart(cli)["account_email"] == "ana.new@example.com"
    # The sign-in address cannot be removed while the owner has access.
    line = cli.fails("charts", "edit", ANA, "--email", "", "--yes")
    assert line.startswith("frontdesk: error: --email: The portal owner signs in with this email")


# ---------------------------------------------------------------- fields, clearing, no change


def test_empty_clears_an_optional_field_and_same_values_change_nothing(lite: Cli) -> None:
    set_up_practice_by_cli(lite)
    add_chart(lite, "C-1", preferred="Annie", phone="555-0101")
    done = lite.ok("charts", "edit", "C-1", "--preferred", "", "--phone", "", "--first", "Anna",
                   "--yes")  # fmt: skip
    assert done.out == "Chart C-1 saved (first name, preferred name, phone).\n"
    chart = _chart(lite, "C-1")
    assert (chart["first_name"], chart["preferred_name"], chart["phone"]) == ("Anna", None, None)
    audit = lite("audit", "--json").json()
    same = lite.ok("charts", "edit", "C-1", "--first", "Anna", "--email", "ana@example.com")
    # (asks nothing: there is nothing to confirm)
    assert same.out == "Chart C-1: nothing to change; it already has these values.\n"
    assert lite("audit", "--json").json() == audit
    # a field change that touches no link asks nothing about links
    asked = lite("charts", "edit", "C-1", "--phone", "555-0199", tty=True, answer="y")
    assert asked.err == "Save chart C-1 (O'Brien, Anna): phone (none) → 555-0199? [y/N] "


def test_a_likely_typo_is_a_warning_before_the_question(lite: Cli) -> None:
    add_chart(lite, "C-1")
    result = lite("charts", "edit", "C-1", "--email", "ana@gmial.com", "--yes")
    assert result.code == 0
    assert result.err_lines == [
        "frontdesk: warning: the email ana@gmial.com may be a typo of ana@gmail.com"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["NOPE", "--phone", "1", "--yes"], "No chart with number 'NOPE'."),
        (["C-1", "--dob", "1985-02-30", "--yes"],
         "--dob: Date of birth must be a real date written YYYY-MM-DD"),
        (["C-1", "--dob", "03/04/1985", "--yes"],
         "--dob: Date of birth must be a real date written YYYY-MM-DD"),
        (["C-1", "--dob", "2999-01-01", "--yes"], "--dob: Date of birth is in the future."),
        (["C-1", "--email", "ana@", "--yes"], "--email: Not a valid email address"),
        (["C-1", "--first", " ", "--yes"], "--first: First name is required."),
        (["C-1", "--last", "Ab\x1b[31mc", "--yes"], "--last: Last name contains a control"),
        (["C-1", "--phone", "5" * 41, "--yes"], "--phone: "),
        (["C-1", "--email", "new@example.com"], REFUSAL.removeprefix("frontdesk: error: ")),
    ],
)  # fmt: skip
def test_bad_edits_are_one_line_and_change_nothing(
    lite: Cli, argv: list[str], message: str
) -> None:
    set_up_practice_by_cli(lite)
    add_chart(lite, "C-1")
    before, audit = _chart(lite, "C-1"), lite("audit", "--json").json()
    line = lite.fails("charts", "edit", *argv)
    assert line.startswith(f"frontdesk: error: {message}")
    assert "\x1b" not in line
    assert _chart(lite, "C-1") == before
    assert lite("audit", "--json").json() == audit


def test_an_edit_with_no_field_is_a_usage_error(lite: Cli) -> None:
    add_chart(lite, "C-1")
    result = lite("charts", "edit", "C-1", "--yes")
    assert result.code == 2
    assert result.err_lines == [
        "frontdesk: error: nothing to change: give at least one of --first, --last, "
        "--preferred, --dob, --email, --phone"
    ]
    assert lite("charts", "edit", "--email", "x@example.com").code == 2  # no CHART


# ---------------------------------------------------------------- charts show


def test_charts_show_lists_contacts_with_phone_and_the_owner(cli: Cli, invited: Services) -> None:
    mina = invited.charts.add_contact(ANA, ContactInput("Mina Park", "Mother", None, "555-0102"))
    jun = invited.charts.add_contact(ANA, ContactInput("Jun Park", "Father", "jun@example.com"))
    gone = invited.charts.add_contact(ANA, ContactInput("Old Contact", "Aunt"))
    invited.chart_edits.remove_contact(gone.id)
    cli.ok("owner", "set", ANA, "--contact", str(jun.id), "--yes")
    contacts = _chart(cli)["contacts"]
    assert contacts == [
        {"id": mina.id, "name": "Mina Park", "relationship": "Mother", "email": None,
         "phone": "555-0102", "is_owner": False},
        {"id": jun.id, "name": "Jun Park", "relationship": "Father", "email": "jun@example.com",
         "phone": None, "is_owner": True},
    ]  # fmt: skip
    shown = cli.ok("charts", "show", ANA).out
    table = shown.split("Related contacts", 1)[1].split("Recent history", 1)[0]
    assert [line.split() for line in table.strip().splitlines()] == [
        ["ID", "Name", "Relationship", "Email", "Phone", "Owner"],
        [str(mina.id), "Mina", "Park", "Mother", "—", "555-0102"],
        [str(jun.id), "Jun", "Park", "Father", "jun@example.com", "—", "Chart", "Owner"],
    ]


def test_charts_show_history_keeps_expiries_and_names_the_client(
    cli: Cli, invited: Services
) -> None:
    cli.clock.advance(timedelta(days=8).total_seconds())
    cli.ok("invites", "resend", ANA, "--yes")
    assert register_chart(invited, ANA).state == "registered"
    history = _chart(cli)["history"]
    assert [(h["actor"], h["action"]) for h in history] == [
        ("client", "registered"),
        ("alice", "invitation resent"),
        ("—", "invitation expired"),
        ("alice", "invitation sent"),
        ("alice", "chart added"),
    ]
    expired = history[2]
    assert expired["at"] == "2026-12-03T15:00:00+00:00" and expired["chart_number"] == ANA
    shown = cli.ok("charts", "show", ANA).out
    assert "invitation expired" in shown and "Thu Dec 3, 10:00 AM" in shown
    assert "client:" not in shown
