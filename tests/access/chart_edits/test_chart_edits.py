"""Correcting a chart and its contacts (issue 11; SECURITY.md T6, R4), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import col, select

from frontdesk.access.chart_edits import ChartChanges, ContactChanges
from frontdesk.access.outcomes import EditEffect
from frontdesk.access.status import PortalStatus
from frontdesk.charts.records import ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
from frontdesk.services import Services
from store.models import AuditEvent, OutboxEmail, PortalAccount, PortalSession
from tests.factories import latest_token, outbox_rows, register_chart


def _audit_details(services: Services, action: str) -> list[str]:
    with services.db.read() as session:
        rows = session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    return [row.detail for row in rows]


def test_fields_change_and_the_search_finds_the_new_name(practice_ready: Services, chart: str):
    done = practice_ready.chart_edits.edit_chart(
        chart, ChartChanges(first_name="Anna", phone="(555) 010-2000", preferred_name="")
    )
    assert done.changed == ("first_name", "preferred_name", "phone")
    assert done.effects == ()
    shown = practice_ready.views.chart(chart)
    assert (shown.first_name, shown.preferred_name, shown.phone) == ("Anna", None, "(555) 010-2000")
    assert [c.chart_number for c in practice_ready.search.search_charts("anna")] == [chart]
    assert practice_ready.search.search_charts("annie") == []
    # audited with the fields' names, never their values
    (detail,) = _audit_details(practice_ready, "chart edited")
    assert detail == "first name, preferred name, phone changed"


def test_nothing_changed_writes_nothing(practice_ready: Services, chart: str) -> None:
    done = practice_ready.chart_edits.edit_chart(chart, ChartChanges(first_name="Ana"))
    assert done.changed == () and done.effects == ()
    assert _audit_details(practice_ready, "chart edited") == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (ChartChanges(email="ana@@example"), "email"),
        (ChartChanges(date_of_birth="1985-02-30"), "date_of_birth"),
        (ChartChanges(date_of_birth="03/04/1985"), "date_of_birth"),
        (ChartChanges(date_of_birth="2999-01-01"), "date_of_birth"),
        (ChartChanges(last_name=""), "last_name"),
        (ChartChanges(first_name="Ana\x1b[31m"), "first_name"),
        (ChartChanges(phone="5" * 41), "phone"),
    ],
)
def test_bad_fields_are_refused_at_the_field_and_nothing_changes(
    practice_ready: Services, chart: str, changes: ChartChanges, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        practice_ready.chart_edits.edit_chart(chart, changes)
    assert refused.value.field == field
    with pytest.raises(InvalidInput):
        practice_ready.chart_edits.plan_chart_edit(chart, changes)
    shown = practice_ready.views.chart(chart)
    assert (shown.last_name, shown.email, shown.date_of_birth) == (
        "O'Brien",
        "ana@example.com",
        date(1985, 3, 4),
    )
    assert _audit_details(practice_ready, "chart edited") == []


@pytest.mark.parametrize(
    "changes",
    [
        ChartChanges(email="ana.obrien@example.com"),
        ChartChanges(last_name="OBrien-Lee"),
        ChartChanges(date_of_birth="1985-04-03"),
    ],
)
def test_a_change_the_link_depends_on_ends_it_and_a_new_one_goes_out(
    practice_ready: Services, chart: str, changes: ChartChanges
) -> None:
    practice_ready.invitations.send_invitation(chart)
    old = latest_token(practice_ready, chart)
    plan = practice_ready.chart_edits.plan_chart_edit(chart, changes)
    assert plan.ends_link and not plan.changes_sign_in_email
    done = practice_ready.chart_edits.edit_chart(chart, changes)
    assert done.effects == (EditEffect.LINK_ENDED, EditEffect.INVITED)
    assert practice_ready.registration.inspect_token(old).state == "replaced"
    new = latest_token(practice_ready, chart)
    assert new != old and practice_ready.registration.inspect_token(new).state == "valid"
    shown = practice_ready.views.chart(chart)
    assert shown.status.status is PortalStatus.INVITED
    newest = outbox_rows(practice_ready)[-1]
    assert newest.to_address == shown.owner.email
    # the new details are the ones that register
    assert register_chart(practice_ready, chart, token=new).state == "registered"


def test_no_invite_only_ends_the_link(practice_ready: Services, chart: str) -> None:
    practice_ready.invitations.send_invitation(chart)
    old = latest_token(practice_ready, chart)
    before = len(outbox_rows(practice_ready))
    done = practice_ready.chart_edits.edit_chart(
        chart, ChartChanges(email="ana.obrien@example.com"), invite=False
    )
    assert done.effects == (EditEffect.LINK_ENDED,)
    assert practice_ready.registration.inspect_token(old).state == "replaced"
    assert len(outbox_rows(practice_ready)) == before
    assert practice_ready.views.chart(chart).status.status is PortalStatus.NO_PORTAL_ACCESS


def test_a_phone_or_first_name_fix_keeps_the_link(practice_ready: Services, chart: str) -> None:
    practice_ready.invitations.send_invitation(chart)
    old = latest_token(practice_ready, chart)
    plan = practice_ready.chart_edits.plan_chart_edit(chart, ChartChanges(first_name="Anne"))
    assert not plan.ends_link
    practice_ready.chart_edits.edit_chart(chart, ChartChanges(first_name="Anne", phone="555"))
    assert practice_ready.registration.inspect_token(old).state == "valid"


def test_the_clients_email_is_not_the_links_when_a_guardian_owns(
    practice_ready: Services, chart: str
) -> None:
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Mina Park", "Mother", "mina@example.com"), invite=True
    )
    old = latest_token(practice_ready, chart)
    practice_ready.chart_edits.edit_chart(chart, ChartChanges(email="ana.new@example.com"))
    assert practice_ready.registration.inspect_token(old).state == "valid"
    # but the client's date of birth is what the guardian types: that ends it
    practice_ready.chart_edits.edit_chart(chart, ChartChanges(date_of_birth="1985-03-05"))
    assert practice_ready.registration.inspect_token(old).state == "replaced"
    assert outbox_rows(practice_ready)[-1].to_address == "mina@example.com"


def test_an_active_owners_new_email_is_the_sign_in_email(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    practice_ready.invitations.send_invitation(chart)
    register_chart(practice_ready, chart)
    signed = practice_ready.signin.sign_in(
        "ana@example.com", "cedar river morning walk", client_address="192.0.2.7"
    )
    assert signed.ok
    plan = practice_ready.chart_edits.plan_chart_edit(chart, ChartChanges(email="ana2@example.com"))
    assert plan.changes_sign_in_email and not plan.ends_link
    done = practice_ready.chart_edits.edit_chart(chart, ChartChanges(email="ana2@example.com"))
    assert done.effects == (EditEffect.SIGN_IN_EMAIL_CHANGED,)
    # the old session ended (T6); the new address signs in, the old one does not
    assert practice_ready.signin.session(signed.session_id) is None
    assert not practice_ready.signin.sign_in(
        "ana@example.com", "cedar river morning walk", client_address="192.0.2.7"
    ).ok
    clock.advance(5)
    assert practice_ready.signin.sign_in(
        "ana2@example.com", "cedar river morning walk", client_address="192.0.2.7"
    ).ok
    # both addresses get a notice with no content
    notices = [row for row in outbox_rows(practice_ready) if row.kind == "sign_in_email_changed"]
    assert sorted(row.to_address for row in notices) == ["ana2@example.com", "ana@example.com"]
    for row in notices:
        assert "ana2@example.com" not in row.body_text and "1985" not in row.body_text
        assert "sign in" in row.body_text.lower()
    assert practice_ready.views.chart(chart).status.status is PortalStatus.ACTIVE
    (detail,) = _audit_details(practice_ready, "chart edited")
    assert detail == (
        "email a…@example.com → a…@example.com changed; the sign-in email changed, sessions ended"
    )


def test_an_active_owner_keeps_an_email(practice_ready: Services, chart: str) -> None:
    practice_ready.invitations.send_invitation(chart)
    register_chart(practice_ready, chart)
    with pytest.raises(InvalidInput) as refused:
        practice_ready.chart_edits.edit_chart(chart, ChartChanges(email=""))
    assert refused.value.field == "email"
    assert practice_ready.views.chart(chart).email == "ana@example.com"


def test_contacts_are_listed_added_edited_and_removed(practice_ready: Services, chart: str):
    edits = practice_ready.chart_edits
    mina = edits.add_contact(chart, ContactInput("Mina Park", "Mother", None, "(555) 010-3000"))
    sam = edits.add_contact(chart, ContactInput("Sam Park", "Father", "sam@example.com"))
    listed = edits.contacts(chart)
    assert [(c.name, c.email, c.phone, c.is_owner) for c in listed] == [
        ("Mina Park", None, "(555) 010-3000", False),
        ("Sam Park", "sam@example.com", None, False),
    ]
    edits.edit_contact(mina.id, ContactChanges(email="Mina@Example.com", relationship="Guardian"))
    assert edits.contact(mina.id)[1].email == "Mina@example.com"
    edits.remove_contact(sam.id)
    assert [c.name for c in edits.contacts(chart)] == ["Mina Park"]
    with pytest.raises(NotFound):
        edits.edit_contact(sam.id, ContactChanges(name="Samuel"))
    # a removed contact can no longer be made the owner
    with pytest.raises(NotFound):
        practice_ready.invitations.change_owner(chart, contact_id=sam.id)
    assert _audit_details(practice_ready, "contact removed") == ["Sam Park (Father)"]


def test_the_chart_owner_cannot_be_removed(practice_ready: Services, chart: str) -> None:
    mina = practice_ready.chart_edits.add_contact(
        chart, ContactInput("Mina Park", "Mother", "mina@example.com")
    )
    practice_ready.invitations.change_owner(chart, contact_id=mina.id)
    assert [c.is_owner for c in practice_ready.chart_edits.contacts(chart)] == [True]
    with pytest.raises(NotAllowed, match="change the owner first"):
        practice_ready.chart_edits.remove_contact(mina.id)
    practice_ready.invitations.change_owner(chart, to_client=True)
    practice_ready.chart_edits.remove_contact(mina.id)
    assert practice_ready.chart_edits.contacts(chart) == []


def test_the_owning_contacts_new_email_ends_the_link(practice_ready: Services, chart: str):
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Mina Park", "Mother", "mina@example.com"), invite=True
    )
    old = latest_token(practice_ready, chart)
    (mina,) = practice_ready.chart_edits.contacts(chart)
    done = practice_ready.chart_edits.edit_contact(
        mina.id, ContactChanges(email="mina@park.example")
    )
    assert done.effects == (EditEffect.LINK_ENDED, EditEffect.INVITED)
    assert practice_ready.registration.inspect_token(old).state == "replaced"
    assert outbox_rows(practice_ready)[-1].to_address == "mina@park.example"
    (detail,) = _audit_details(practice_ready, "contact edited")
    assert detail.startswith("Mina Park (Mother): email m…@example.com → m…@park.example changed")


def test_an_active_guardians_new_email_and_name(practice_ready: Services, chart: str) -> None:
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Mina Park", "Mother", "mina@example.com"), invite=True
    )
    register_chart(practice_ready, chart)
    (mina,) = practice_ready.chart_edits.contacts(chart)
    practice_ready.chart_edits.edit_contact(
        mina.id, ContactChanges(name="Mina Park-Lee", email="mina@park.example")
    )
    with practice_ready.db.read() as session:
        account = session.exec(select(PortalAccount)).one()
    assert (account.email, account.owner_name) == ("mina@park.example", "Mina Park-Lee")


def test_change_owner_is_audited_with_names_not_ids(practice_ready: Services, chart: str):
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Mina Park", "Mother", "mina@example.com")
    )
    practice_ready.invitations.change_owner(chart, to_client=True)
    assert _audit_details(practice_ready, "owner changed") == [
        "to Mina Park (Mother)",
        "to the client",
    ]


def test_history_keeps_an_expiry_after_a_resend_and_names_the_client(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    practice_ready.invitations.send_invitation(chart)
    clock.advance(days=8)  # the link expired a day ago
    practice_ready.invitations.resend_invitation(chart)
    register_chart(practice_ready, chart)
    history = practice_ready.history.history(chart)
    actions = [row.action for row in history]
    assert actions[:4] == [
        "registered",
        "invitation resent",
        "invitation expired",
        "invitation sent",
    ]
    expired = history[actions.index("invitation expired")]
    assert expired.at == clock.now() - timedelta(days=1)
    assert history[0].actor == "client"  # not "client:<id>"


def test_sessions_of_the_account_end_on_an_email_change(practice_ready: Services, chart: str):
    practice_ready.invitations.send_invitation(chart)
    register_chart(practice_ready, chart)
    first = practice_ready.signin.sign_in(
        "ana@example.com", "cedar river morning walk", client_address="192.0.2.7"
    )
    second = practice_ready.signin.sign_in(
        "ana@example.com", "cedar river morning walk", client_address="192.0.2.7"
    )
    assert first.ok and second.ok
    practice_ready.chart_edits.edit_chart(chart, ChartChanges(email="ana2@example.com"))
    with practice_ready.db.read() as session:
        live = session.exec(select(PortalSession).where(col(PortalSession.ended_at).is_(None)))
        assert live.all() == []
        kinds = [row.kind for row in session.exec(select(OutboxEmail)).all()]
    assert kinds.count("sign_in_email_changed") == 2
