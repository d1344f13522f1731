"""A chart the bulk path sends to gets the very rows the single-chart path writes: invitation,
outbox email (content, Message-ID rules), audit row, owner row, and the superseded invitation
and cancelled email of a resend — field by field, except ids, tokens and the chart itself
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import SQLModel, col, select

from frontdesk.access.outcomes import BulkAction
from frontdesk.charts.records import ContactInput
from frontdesk.core import tokens
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from store.models import AuditEvent, Chart, ChartOwner, Invitation, OutboxEmail
from tests.access.bulk.conftest import add_charts, set_email
from tests.factories import MAIL_FROM, REGISTER_LINK

# Columns that name the row or its chart (or hold the random token), not what it says.
IDENTITY = {
    "id",
    "chart_id",
    "chart_number",
    "invitation_id",
    "token_digest",
    "message_id",
    "bounce_tag",  # random per email, like the Message-ID
    "related_contact_id",  # each chart's own contact: checked apart
}


def _rows(services: Services, number: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of the chart (oldest first), as plain values."""
    with services.db.read() as session:
        chart_id = session.exec(select(Chart.id).where(Chart.chart_number == number)).one()
        tables: list[tuple[str, type[SQLModel], Any]] = [
            ("invitation", Invitation, col(Invitation.id)),
            ("outbox", OutboxEmail, col(OutboxEmail.id)),
            ("audit", AuditEvent, col(AuditEvent.id)),
            ("owner", ChartOwner, col(ChartOwner.chart_id)),
        ]
        found = {}
        for name, model, order in tables:
            rows = session.exec(
                select(model).where(model.chart_id == chart_id).order_by(order)  # type: ignore[attr-defined]
            ).all()
            found[name] = [row.model_dump() for row in rows]
    return found


def _comparable(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The rows without what names them; tokens and invitation ids in texts made neutral."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, values in rows.items():
        out[name] = []
        for row in values:
            kept = {key: value for key, value in row.items() if key not in IDENTITY}
            for key in ("body_text", "body_html"):
                if key in kept:
                    kept[key] = REGISTER_LINK.sub("/register/<token>", kept[key])
            if "detail" in kept:
                kept["detail"] = re.sub(r"invitation \d+", "invitation <id>", kept["detail"])
            out[name].append(kept)
    return out


def _check_links_and_ids(services: Services, number: str) -> None:
    """Each email's link is its invitation's (digest only at rest); Message-IDs as queue_email
    makes them: unique, at the sender's domain."""
    rows = _rows(services, number)
    digests = {row["id"]: row["token_digest"] for row in rows["invitation"]}
    for email in rows["outbox"]:
        assert email["message_id"].endswith(f"@{MAIL_FROM.rpartition('@')[2]}>")
        links = REGISTER_LINK.findall(email["body_text"])
        if email["state"] == "pending":
            assert links and tokens.digest(links[0]) == digests[email["invitation_id"]]
        else:
            assert links == []  # the cancelled email of a superseded link lost its body
    assert len({e["message_id"] for e in rows["outbox"]}) == len(rows["outbox"])
    assert len({e["bounce_tag"] for e in rows["outbox"] if e["bounce_tag"]}) == len(rows["outbox"])


@pytest.fixture(params=["default email", "practice template"])
def practice(request: pytest.FixtureRequest, practice_ready: Services) -> Services:
    """The practice, with its own email template enabled or not (the template uses the
    first-name rule of a related contact, its header and its subject)."""
    if request.param == "practice template":
        practice_ready.templates.save(
            from_name="Cedar Front Desk",
            header_name="Cedar",
            subject="Your portal link",
            body="Dear {client_first_name},\n\n{link}\n\nIt works until {expires_on}.",
        )
        practice_ready.templates.set_enabled(True)
    return practice_ready


def test_a_first_invitation_is_the_same_row_by_row(practice: Services) -> None:
    # Two charts alike but for their number, bulk inserted (no owner row yet).
    single, bulked = add_charts(practice, [1, 1001], numbered=False)
    set_email(practice, [single, bulked], "pat@example.com")
    practice.invitations.send_invitation(single)

    result = practice.invitations.run_bulk(BulkAction.INVITE_WITHOUT_ACCESS)

    assert result.sent == (bulked,)
    one, many = _rows(practice, single), _rows(practice, bulked)
    assert {name: len(rows) for name, rows in one.items()} == {
        "invitation": 1,
        "outbox": 1,
        "audit": 1,
        "owner": 1,
    }
    assert _comparable(one) == _comparable(many)
    for number, rows in ((single, one), (bulked, many)):
        _check_links_and_ids(practice, number)
        assert {row["related_contact_id"] for row in rows["invitation"] + rows["owner"]} == {None}


def test_a_resend_to_a_guardian_is_the_same_row_by_row(
    practice: Services, clock: FrozenClock
) -> None:
    single, bulked = add_charts(practice, [2, 1002], numbered=False)
    contacts = {}
    for number in (single, bulked):
        contact = practice.charts.add_contact(
            number, ContactInput("Maria José Lee", "Mother", "maria@example.com")
        )
        contacts[number] = contact.id
        practice.invitations.change_owner(number, contact_id=contact.id, invite=True)
    clock.advance(days=8)  # both expired; their emails were never delivered (still queued)

    practice.invitations.resend_invitation(single)
    result = practice.invitations.resend_all_expired()

    assert result.sent == (bulked,)
    one, many = _rows(practice, single), _rows(practice, bulked)
    assert [row["state"] for row in one["invitation"]] == ["superseded", "live"]
    assert [row["state"] for row in one["outbox"]] == ["cancelled", "pending"]
    assert [row["action"] for row in one["audit"]][-3:] == [
        "owner changed",
        "invitation sent",
        "invitation resent",
    ]
    assert _comparable(one) == _comparable(many)
    for number, rows in ((single, one), (bulked, many)):
        _check_links_and_ids(practice, number)
        assert {row["related_contact_id"] for row in rows["invitation"] + rows["owner"]} == {
            contacts[number]
        }
