"""`frontdesk contacts list|add|edit|remove` and `frontdesk owner set CHART --contact ID`
(issue 11): a chart's related contacts from the command line, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from frontdesk.access.outcomes import LinkState
from frontdesk.charts.records import ContactInput
from frontdesk.services import Services
from store.models import OUTBOX_CANCELLED, OUTBOX_PENDING
from tests.factories import ANA_OBRIEN, latest_token, outbox_rows, set_up_practice

from .conftest import SENDS_IT, Cli, add_chart

ANA = ANA_OBRIEN.chart_number
CONTACT_KEYS = {"id", "name", "relationship", "email", "phone", "is_owner"}
REFUSAL = "frontdesk: error: refusing to act without confirmation: no terminal; pass --yes"


@pytest.fixture
def family(cli: Cli, services: Services) -> tuple[Services, int, int]:
    """Ana's chart with her mother Mina (the Chart Owner, invited at T0) and her father Jun."""
    set_up_practice(services)
    services.charts.add_chart(ANA_OBRIEN)
    mina = services.charts.add_contact(
        ANA, ContactInput("Mina O'Brien", "Mother", "mina@example.com", "555-0102")
    )
    jun = services.charts.add_contact(ANA, ContactInput("Jun O'Brien", "Father"))
    services.invitations.change_owner(ANA, contact_id=mina.id, invite=True)
    return services, mina.id, jun.id


def _contacts(cli: Cli, number: str = ANA) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = cli("contacts", "list", number, "--json").json()
    return rows


# ---------------------------------------------------------------- list


def test_list_as_json_and_as_a_table(cli: Cli, family: tuple[Services, int, int]) -> None:
    _, mina, jun = family
    rows = _contacts(cli)
    assert all(set(row) == CONTACT_KEYS for row in rows)
    assert rows == [
        {"id": mina, "name": "Mina O'Brien", "relationship": "Mother",
         "email": "mina@example.com", "phone": "555-0102", "is_owner": True},
        {"id": jun, "name": "Jun O'Brien", "relationship": "Father", "email": None,
         "phone": None, "is_owner": False},
    ]  # fmt: skip
    table = [line.split() for line in cli.ok("contacts", "list", ANA).out.splitlines()]
    assert table == [
        ["ID", "Name", "Relationship", "Email", "Phone", "Owner"],
        [str(mina), "Mina", "O'Brien", "Mother", "mina@example.com", "555-0102", "Chart", "Owner"],
        [str(jun), "Jun", "O'Brien", "Father", "—", "—"],
    ]


def test_a_chart_without_contacts(lite: Cli) -> None:
    add_chart(lite, "C-1")
    assert lite("contacts", "list", "C-1", "--json").json() == []
    assert lite.ok("contacts", "list", "C-1").out == (
        "Chart C-1 has no related contacts "
        "(frontdesk contacts add C-1 --name N --relationship R adds one).\n"
    )


# ---------------------------------------------------------------- add


def test_add_a_contact(cli: Cli) -> None:
    add_chart(cli, "C-1")
    done = cli.ok("contacts", "add", "C-1", "--name", "Mina Park", "--relationship", "Mother",
                  "--email", "mina@example.com", "--phone", "555-0102")  # fmt: skip
    [row] = _contacts(cli, "C-1")
    assert done.out == (
        f"Mina Park (Mother) added to the related contacts of chart C-1. Its contact id is "
        f"{row['id']}.\n"
    )
    assert row == {"id": row["id"], "name": "Mina Park", "relationship": "Mother",
                   "email": "mina@example.com", "phone": "555-0102", "is_owner": False}  # fmt: skip
    bare = cli.ok("contacts", "add", "C-1", "--name", "Jun Park", "--relationship", "Father")
    assert bare.out.startswith("Jun Park (Father) added to the related contacts of chart C-1.")
    assert cli("audit", "--chart", "C-1", "--json").json()[0]["action"] == "contact added"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["NOPE", "--name", "A", "--relationship", "B"], "No chart with number 'NOPE'."),
        (["C-1", "--name", "A", "--relationship", "B", "--email", "a@"],
         "--email: Not a valid email address"),
        (["C-1", "--name", " ", "--relationship", "B"], "--name: Name is required."),
        (["C-1", "--name", "A", "--relationship", "B" * 61], "--relationship: "),
        (["C-1", "--name", "A\x1b]0;x\x07", "--relationship", "B"],
         "--name: Name contains a control character."),
    ],
)  # fmt: skip
def test_add_refuses_bad_fields(lite: Cli, argv: list[str], message: str) -> None:
    add_chart(lite, "C-1")
    assert lite.fails("contacts", "add", *argv).startswith(f"frontdesk: error: {message}")
    assert lite("contacts", "list", "C-1", "--json").json() == []


def test_add_without_name_or_relationship_is_a_usage_error(lite: Cli) -> None:
    add_chart(lite, "C-1")
    for argv in (["--name", "A"], ["--relationship", "B"], []):
        result = lite("contacts", "add", "C-1", *argv)
        assert result.code == 2 and "the following arguments are required" in result.err


# ---------------------------------------------------------------- edit


def test_the_owners_new_email_replaces_the_link(
    cli: Cli, family: tuple[Services, int, int]
) -> None:
    services, mina, _ = family
    old_link = latest_token(services, ANA)
    asked = cli("contacts", "edit", str(mina), "--email", "mina.obrien@example.com", tty=True,
                answer="y")  # fmt: skip
    assert asked.code == 0, asked.err
    assert asked.err == (
        f"Save related contact {mina}, Mina O'Brien (Mother), the Chart Owner, of chart {ANA} "
        "(O'Brien, Ana): email mina@example.com → mina.obrien@example.com? The invitation link "
        "sent on Nov 26 stops working; a new one goes to mina.obrien@example.com (it expires "
        "Dec 3). [y/N] "
    )
    assert asked.out == (
        "Mina O'Brien saved (email). The old link no longer works; a new invitation went to "
        f"mina.obrien@example.com. The email is queued; {SENDS_IT}\n"
    )
    assert services.registration.inspect_token(old_link).state is LinkState.REPLACED
    assert [(r.to_address, r.state) for r in outbox_rows(services)] == [
        ("mina@example.com", OUTBOX_CANCELLED),
        ("mina.obrien@example.com", OUTBOX_PENDING),
    ]
    assert cli("charts", "show", ANA, "--json").json()["owner"]["email"] == (
        "mina.obrien@example.com"
    )


def test_editing_another_contact_touches_no_link(
    cli: Cli, family: tuple[Services, int, int]
) -> None:
    services, _, jun = family
    link = latest_token(services, ANA)
    done = cli.ok("contacts", "edit", str(jun), "--email", "jun@example.com", "--phone",
                  "555-0103", "--relationship", "Stepfather", "--yes")  # fmt: skip
    assert done.out == "Jun O'Brien saved (relationship, email, phone).\n"
    assert services.registration.inspect_token(link).state is LinkState.VALID
    assert len(outbox_rows(services)) == 1
    row = _contacts(cli)[1]
    assert (row["relationship"], row["email"], row["phone"]) == (
        "Stepfather",
        "jun@example.com",
        "555-0103",
    )
    cleared = cli.ok("contacts", "edit", str(jun), "--email", "", "--phone", "", "--yes")
    assert cleared.out == "Jun O'Brien saved (email, phone).\n"
    assert (_contacts(cli)[1]["email"], _contacts(cli)[1]["phone"]) == (None, None)
    same = cli.ok("contacts", "edit", str(jun), "--name", "Jun O'Brien")
    assert same.out == "Jun O'Brien: nothing to change; the contact already has these values.\n"


def test_no_invite_for_the_owners_new_email(cli: Cli, family: tuple[Services, int, int]) -> None:
    services, mina, _ = family
    done = cli.ok("contacts", "edit", str(mina), "--email", "m2@example.com", "--no-invite", "-y")
    assert done.out == (
        "Mina O'Brien saved (email). The old link no longer works; no new invitation was sent.\n"
    )
    assert [r.state for r in outbox_rows(services)] == [OUTBOX_CANCELLED]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["99", "--name", "X", "--yes"], "No related contact with id 99."),
        (["1", "--email", "mo@", "--yes"], "--email: Not a valid email address"),
        (["1", "--name", "", "--yes"], "--name: Name is required."),
        (["1", "--name", "Mo"], REFUSAL.removeprefix("frontdesk: error: ")),
    ],
)
def test_bad_contact_edits(lite: Cli, argv: list[str], message: str) -> None:
    add_chart(lite, "C-1")
    lite.ok("contacts", "add", "C-1", "--name", "Mina Park", "--relationship", "Mother")
    before = lite("contacts", "list", "C-1", "--json").json()
    assert before[0]["id"] == 1
    assert lite.fails("contacts", "edit", *argv).startswith(f"frontdesk: error: {message}")
    assert lite("contacts", "list", "C-1", "--json").json() == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["edit", "1"], "nothing to change: give at least one of --name, --relationship"),
        (["edit", "x", "--name", "A"], "argument ID: not a whole number: 'x'"),
        (["edit", "0", "--name", "A"], "argument ID: must be 1 or more"),
        (["remove", "x"], "argument ID: not a whole number: 'x'"),
        (["list"], "the following arguments are required: CHART"),
    ],
)
def test_contact_usage_errors_exit_2(lite: Cli, argv: list[str], message: str) -> None:
    result = lite("contacts", *argv)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


# ---------------------------------------------------------------- remove


def test_remove_a_contact_but_not_the_owner(cli: Cli, family: tuple[Services, int, int]) -> None:
    _, mina, jun = family
    assert cli.fails("contacts", "remove", str(jun)) == REFUSAL
    asked = cli("contacts", "remove", str(jun), tty=True, answer="y")
    assert asked.code == 0, asked.err
    assert asked.err == (
        f"Remove Jun O'Brien (Father, no email address) from chart {ANA} (O'Brien, Ana)? They "
        "no longer show on the chart; the audit trail keeps what they did. [y/N] "
    )
    assert asked.out == (
        f"Jun O'Brien (Father) removed from the related contacts of chart {ANA}; the chart's "
        "history keeps them.\n"
    )
    assert [row["id"] for row in _contacts(cli)] == [mina]
    assert cli.fails("contacts", "remove", str(jun), "--yes") == (
        f"frontdesk: error: No related contact with id {jun}."
    )
    assert cli.fails("contacts", "remove", str(mina), "--yes") == (
        f"frontdesk: error: Mina O'Brien is the Chart Owner of chart {ANA}; change the owner "
        f"first (frontdesk owner set {ANA} --client, or --contact ID), then remove them"
    )
    assert [row["id"] for row in _contacts(cli)] == [mina]
    # once the owner changes, the former owner can go
    cli.ok("owner", "set", ANA, "--client", "--yes")
    cli.ok("contacts", "remove", str(mina), "--yes")
    assert _contacts(cli) == []


# ---------------------------------------------------------------- owner set --contact


def test_owner_set_picks_an_existing_contact(cli: Cli, family: tuple[Services, int, int]) -> None:
    _, mina, jun = family
    cli.ok("contacts", "edit", str(jun), "--email", "jun@example.com", "--yes")
    asked = cli("owner", "set", ANA, "--contact", str(jun), "--invite", tty=True, answer="y")
    assert asked.code == 0, asked.err
    assert asked.err == (
        f"Make Jun O'Brien (Father, jun@example.com) the portal owner of O'Brien, Ana (chart "
        f"{ANA})? The current owner's invitation is revoked and their portal sessions end. An "
        "invitation is sent to the new owner. [y/N] "
    )
    assert asked.out == f"Owner changed; invitation to jun@example.com queued; {SENDS_IT}\n"
    owner = cli("charts", "show", ANA, "--json").json()["owner"]
    assert (owner["contact_id"], owner["email"]) == (jun, "jun@example.com")
    assert len(_contacts(cli)) == 2  # no duplicate contact was made
    # the earlier spelling still works for scripts
    cli.ok("owner", "set", ANA, "--contact-id", str(mina), "--yes")
    assert cli("charts", "show", ANA, "--json").json()["owner"]["contact_id"] == mina
    assert "--contact-id" not in cli.ok("owner", "set", "--help").out


def test_owner_set_refuses_a_contact_of_another_chart(
    cli: Cli, family: tuple[Services, int, int]
) -> None:
    _, mina, _ = family
    add_chart(cli, "C-2", last="Park", first="Leo", email="leo@example.com")
    assert cli.fails("owner", "set", "C-2", "--contact", str(mina), "--yes") == (
        f"frontdesk: error: related contact {mina} (Mina O'Brien) belongs to chart {ANA}, not "
        "C-2 (frontdesk contacts list C-2 lists this chart's)"
    )
    assert cli.fails("owner", "set", "C-2", "--contact", "999", "--yes") == (
        "frontdesk: error: chart C-2 has no related contact with id 999 "
        "(frontdesk contacts list C-2 lists them)"
    )
    assert cli("charts", "show", "C-2", "--json").json()["owner"]["contact_id"] is None
