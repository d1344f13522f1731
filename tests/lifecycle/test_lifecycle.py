"""Every lifecycle transition, on SQLite and on PostgreSQL, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.access.status import PortalStatus
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.errors import (
    ConcurrentChange,
    CooldownActive,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from frontdesk.core.tokens import digest
from frontdesk.desk.actions import ActionResult
from frontdesk.desk.search import ChartSearch
from frontdesk.mail.templates import TemplateService
from frontdesk.services import Services
from store.models import (
    AuditEvent,
    Chart,
    Invitation,
    OutboxEmail,
    PortalAccount,
    PortalSession,
)
from tests.factories import latest_token, register_token

PASSWORD = "correct horse battery staple"
WEEK = 7 * 86400


def register(services: Services, token: str, *, last: str = "O'Brien", dob: str = "1985-03-04"):
    return register_token(services, token, last_name=last, date_of_birth=dob, password=PASSWORD)


def actions(services: Services, chart: str) -> list[str]:
    return [row.action for row in reversed(services.audit.history(chart))]


def test_send_invitation_queues_email_and_audits(practice_ready: Services, chart: str) -> None:
    result = ActionResult.after(
        practice_ready.views, practice_ready.invitations.send_invitation(chart)
    )
    assert result.chart.status.status is PortalStatus.INVITED
    assert result.chart.expires_at == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    assert result.message == "Invitation sent to ana@example.com."  # staff see it whole
    with practice_ready.db.read() as session:
        email = session.get(OutboxEmail, result.outbox_id)
        assert email is not None and email.state == "pending"
        assert email.to_address == "ana@example.com"
        assert "Annie" in email.body_text  # greeting by preferred name
    token = latest_token(practice_ready)
    assert practice_ready.registration.inspect_token(token).state == "valid"
    assert actions(practice_ready, chart)[-1] == "invitation sent"
    audit = practice_ready.audit.history(chart)[0]
    assert audit.actor == "alice" and audit.outcome == "ok"


def test_expiry_boundary(practice_ready: Services, chart: str, clock: FrozenClock) -> None:
    practice_ready.invitations.send_invitation(chart)
    token = latest_token(practice_ready)
    clock.advance(WEEK - 1)
    assert practice_ready.views.chart(chart).status.status is PortalStatus.INVITED
    assert practice_ready.registration.inspect_token(token).state == "valid"
    clock.advance(2)
    assert practice_ready.views.chart(chart).status.status is PortalStatus.EXPIRED
    assert practice_ready.registration.inspect_token(token).state == "expired"
    assert register(practice_ready, token).state == "expired"


def test_expiring_soon_under_48_hours(practice_ready: Services, chart: str, clock: FrozenClock):
    practice_ready.invitations.send_invitation(chart)
    clock.advance(WEEK - 48 * 3600 - 1)
    assert not practice_ready.views.chart(chart).status.expiring_soon
    clock.advance(2)
    status = practice_ready.views.chart(chart).status
    assert status.expiring_soon and status.status is PortalStatus.INVITED
    assert [
        c.chart_number for c in practice_ready.search.search_charts(status="expiring_soon")
    ] == [chart]


def test_expiry_is_exact_across_a_dst_change(practice_ready: Services, chart: str, clock):
    # New York leaves DST on 2026-11-01: 7 days are still 604,800 s.
    clock.set(datetime(2026, 10, 29, 12, 0, tzinfo=UTC))
    practice_ready.invitations.send_invitation(chart)
    expires = practice_ready.views.chart(chart).expires_at
    assert expires is not None
    assert (expires - datetime(2026, 10, 29, 12, 0, tzinfo=UTC)).total_seconds() == WEEK


def test_resend_during_cooldown_is_refused_then_allowed(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    practice_ready.invitations.send_invitation(chart)
    clock.advance(30)
    with pytest.raises(CooldownActive) as refused:
        practice_ready.invitations.resend_invitation(chart)
    assert "wait 31 s" in str(refused.value)
    assert "alice" in str(refused.value)
    clock.advance(30)
    result = ActionResult.after(
        practice_ready.views, practice_ready.invitations.resend_invitation(chart)
    )
    assert result.chart.status.status is PortalStatus.INVITED
    assert "resend refused" in actions(practice_ready, chart)


def test_resend_rotates_the_token_every_time(practice_ready: Services, chart: str, clock):
    practice_ready.invitations.send_invitation(chart)
    tokens = [latest_token(practice_ready)]
    for _ in range(5):
        clock.advance(61)
        practice_ready.invitations.resend_invitation(chart)
        tokens.append(latest_token(practice_ready))
    assert len(set(tokens)) == 6
    states = [practice_ready.registration.inspect_token(t).state for t in tokens]
    assert states == ["replaced"] * 5 + ["valid"]
    assert register(practice_ready, tokens[0]).state == "replaced"
    # the unsent emails of superseded invitations are cancelled and hold no link any more
    with practice_ready.db.read() as session:
        rows = session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id))).all()
    assert [r.state for r in rows] == ["cancelled"] * 5 + ["pending"]
    assert all("/register/" not in r.body_text for r in rows[:5])


def test_resend_of_an_expired_invitation_gives_a_fresh_week(practice_ready, chart, clock):
    practice_ready.invitations.send_invitation(chart)
    clock.advance(8 * 86400)
    assert practice_ready.views.chart(chart).status.status is PortalStatus.EXPIRED
    result = ActionResult.after(
        practice_ready.views, practice_ready.invitations.resend_invitation(chart)
    )
    assert result.chart.status.status is PortalStatus.INVITED
    assert result.chart.expires_at == clock.now() + timedelta(days=7)
    assert result.message == "New invitation sent to ana@example.com."


def test_resend_reports_a_resend_made_elsewhere(practice_ready, chart, clock, settings):
    practice_ready.invitations.send_invitation(chart)
    clock.advance(8 * 86400)
    seen = practice_ready.views.chart(chart).invitation_id
    from frontdesk.services import build_services

    other_desk = build_services(settings, clock=clock, actor="bob")
    other_desk.invitations.resend_invitation(chart)
    clock.advance(120)  # past the cooldown: only the version check stops the repeat
    with pytest.raises(ConcurrentChange, match="bob just changed"):
        practice_ready.invitations.resend_invitation(chart, seen_invitation_id=seen)
    other_desk.close()
    with practice_ready.db.read() as session:
        assert session.exec(select(sa.func.count()).select_from(Invitation)).one() == 2


def test_resend_needs_an_invitation(practice_ready: Services, chart: str) -> None:
    with pytest.raises(NotAllowed, match="No invitation to resend"):
        practice_ready.invitations.resend_invitation(chart)


def test_identity_failures_lock_after_five(practice_ready: Services, chart: str, clock) -> None:
    practice_ready.invitations.send_invitation(chart)
    token = latest_token(practice_ready)
    lefts = [register(practice_ready, token, dob="1985-03-05").attempts_left for _ in range(4)]
    assert lefts == [4, 3, 2, 1]
    assert register(practice_ready, token, last="Smith").state == "locked"
    assert register(practice_ready, token).state == "locked"  # right details, still locked
    assert practice_ready.views.chart(chart).status.status is PortalStatus.LOCKED
    assert "identity check lockout" in actions(practice_ready, chart)
    clock.advance(61)
    practice_ready.invitations.resend_invitation(chart)  # a resend starts fresh
    fresh = latest_token(practice_ready)
    assert register(practice_ready, fresh).state == "registered"


@pytest.mark.parametrize(
    ("typed", "ok"),
    [
        ("O'Brien", True),
        ("O’Brien", True),
        ("  o'brien  ", True),
        ("O'BRIEN", True),
        ("OBrien", False),
        ("O'Brian", False),
    ],
)
def test_identity_normalisation(practice_ready, chart, typed: str, ok: bool) -> None:
    practice_ready.invitations.send_invitation(chart)
    token = latest_token(practice_ready)
    assert register(practice_ready, token, last=typed).state == (
        "registered" if ok else "wrong_details"
    )


def test_register_creates_account_and_uses_up_the_invitation(practice_ready, chart) -> None:
    practice_ready.invitations.send_invitation(chart)
    token = latest_token(practice_ready)
    result = register(practice_ready, token)
    assert result.state == "registered" and result.account_email == "ana@example.com"
    assert practice_ready.views.chart(chart).status.status is PortalStatus.ACTIVE
    assert practice_ready.registration.inspect_token(token).state == "used"
    assert register(practice_ready, token).state == "used"
    with practice_ready.db.read() as session:
        account = session.exec(select(PortalAccount)).one()
        assert account.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4")
        kinds = session.exec(select(OutboxEmail.kind).order_by(col(OutboxEmail.id))).all()
    assert kinds == ["invitation", "registration_complete"]
    assert actions(practice_ready, chart)[-1] == "registered"


def test_weak_password_is_refused_with_the_reason_and_keeps_the_link(practice_ready, chart):
    practice_ready.invitations.send_invitation(chart)
    token = latest_token(practice_ready)
    short = practice_ready.registration.register(
        token,
        last_name="O'Brien",
        date_of_birth="1985-03-04",
        password="short",
        password_confirm="short",
    )
    assert short.state == "password" and "at least 15" in short.message
    own = "OBrien19850304Annie"
    built = practice_ready.registration.register(
        token, last_name="O'Brien", date_of_birth="1985-03-04", password=own, password_confirm=own
    )
    assert built.state == "password" and "name" in built.message
    assert practice_ready.registration.inspect_token(token).state == "valid"


def test_password_built_from_the_owners_name_or_email_is_refused(practice_ready, chart):
    """The guardian who owns the portal, and the address the link went to, are context too."""
    practice_ready.invitations.change_owner(
        chart,
        new_contact=ContactInput("Marisol Quintanilla", "Mother", "zephyrine.wolfhart@example.com"),
        invite=True,
    )
    token = latest_token(practice_ready)
    for built in ("MarisolQuintanilla2024!", "zephyrine.wolfhart.2024"):
        result = practice_ready.registration.register(
            token,
            last_name="O'Brien",
            date_of_birth="1985-03-04",
            password=built,
            password_confirm=built,
        )
        assert result.state == "password", built
        assert "name" in result.message
    assert practice_ready.registration.inspect_token(token).state == "valid"


def test_guardian_invitation_template_names_the_guardian(practice_ready, chart) -> None:
    """{client_first_name} in a practice template is the portal owner's first name."""
    templates = TemplateService(
        practice_ready.db, practice_ready.clock, practice_ready.settings, "alice"
    )
    templates.save(
        subject="Your portal at {practice_name}", body="Dear {client_first_name},\n\n{link}"
    )
    templates.set_enabled(True)
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Maria O'Brien", "Mother", "maria@example.com"), invite=True
    )
    with practice_ready.db.read() as session:
        email = session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id).desc())).first()
    assert email is not None and "Dear Maria," in email.body_text


def test_revoke_kills_link_account_and_sessions(practice_ready, chart, clock) -> None:
    practice_ready.invitations.send_invitation(chart)
    register(practice_ready, latest_token(practice_ready))
    with practice_ready.db.read() as session:
        account = session.exec(select(PortalAccount)).one()
    practice_ready.db.transact(
        lambda s: s.add(
            PortalSession(
                id_digest=digest("session"),
                account_id=account.id,
                csrf_token="x",
                created_at=clock.now(),
                last_seen_at=clock.now(),
            )
        )
    )
    result = ActionResult.after(
        practice_ready.views, practice_ready.invitations.revoke_access(chart)
    )
    assert result.chart.status.status is PortalStatus.NO_PORTAL_ACCESS
    with practice_ready.db.read() as session:
        assert session.exec(select(PortalSession)).one().ended_at is not None
        assert session.exec(select(PortalAccount)).one().disabled_at is not None
    assert actions(practice_ready, chart)[-1] == "access revoked"
    with pytest.raises(NotAllowed, match="no portal access to revoke"):
        practice_ready.invitations.revoke_access(chart)


def test_revoke_of_a_pending_invitation(practice_ready, chart) -> None:
    practice_ready.invitations.send_invitation(chart)
    token = latest_token(practice_ready)
    practice_ready.invitations.revoke_access(chart)
    assert practice_ready.registration.inspect_token(token).state == "revoked"
    assert register(practice_ready, token).state == "revoked"


def test_activate_restores_an_existing_account(practice_ready, chart) -> None:
    practice_ready.invitations.send_invitation(chart)
    register(practice_ready, latest_token(practice_ready))
    practice_ready.invitations.revoke_access(chart)
    result = ActionResult.after(
        practice_ready.views, practice_ready.invitations.activate_access(chart)
    )
    assert result.chart.status.status is PortalStatus.ACTIVE
    assert result.message.startswith("Portal access restored")
    with practice_ready.db.read() as session:
        kinds = session.exec(select(OutboxEmail.kind).order_by(col(OutboxEmail.id))).all()
        assert session.exec(select(sa.func.count()).select_from(PortalAccount)).one() == 1
    assert kinds[-1] == "access_restored"
    assert actions(practice_ready, chart)[-1] == "access restored"


def test_activate_without_account_sends_a_new_invitation(practice_ready, chart) -> None:
    practice_ready.invitations.send_invitation(chart)
    old = latest_token(practice_ready)
    practice_ready.invitations.revoke_access(chart)
    result = ActionResult.after(
        practice_ready.views, practice_ready.invitations.activate_access(chart)
    )
    assert result.chart.status.status is PortalStatus.INVITED
    assert practice_ready.registration.inspect_token(old).state == "revoked"
    assert practice_ready.registration.inspect_token(latest_token(practice_ready)).state == "valid"


def test_change_owner_to_a_guardian(practice_ready, chart) -> None:
    practice_ready.invitations.send_invitation(chart)
    old = latest_token(practice_ready)
    result = ActionResult.after(
        practice_ready.views,
        practice_ready.invitations.change_owner(
            chart,
            new_contact=ContactInput("Maria O'Brien", "Mother", "Maria@Example.com"),
            invite=True,
        ),
    )
    assert result.chart.owner.name == "Maria O'Brien"
    assert result.chart.owner.relationship == "Mother"
    assert result.chart.owner.email == "Maria@example.com"  # domain normalised
    assert result.chart.status.status is PortalStatus.INVITED
    assert practice_ready.registration.inspect_token(old).state == "revoked"
    new = latest_token(practice_ready)
    with practice_ready.db.read() as session:
        email = session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id).desc())).first()
    assert email is not None and email.to_address == "Maria@example.com"
    assert "Hello Maria" in email.body_text
    # the guardian proves the client's identity (the chart bound to the invitation)
    assert register(practice_ready, new).state == "registered"
    assert "owner changed" in actions(practice_ready, chart)


def test_change_owner_ends_the_old_owners_access(practice_ready, chart) -> None:
    practice_ready.invitations.send_invitation(chart)
    register(practice_ready, latest_token(practice_ready))
    contact = practice_ready.charts.add_contact(
        chart, ContactInput("Luis O'Brien", "Father", "luis@example.com")
    )
    result = ActionResult.after(
        practice_ready.views,
        practice_ready.invitations.change_owner(chart, contact_id=contact.id),
    )
    assert result.chart.status.status is PortalStatus.NO_PORTAL_ACCESS
    with practice_ready.db.read() as session:
        assert session.exec(select(PortalAccount)).one().disabled_at is not None
    with pytest.raises(NotAllowed, match="already owns"):
        practice_ready.invitations.change_owner(chart, contact_id=contact.id)
    back = ActionResult.after(
        practice_ready.views, practice_ready.invitations.change_owner(chart, to_client=True)
    )
    assert back.chart.owner.is_client


def test_change_owner_rejects_a_bad_email_at_the_field(practice_ready, chart) -> None:
    with pytest.raises(InvalidInput) as bad:
        practice_ready.invitations.change_owner(
            chart, new_contact=ContactInput("Maria", "Mother", "maria@@example")
        )
    assert bad.value.field == "email"
    assert practice_ready.views.chart(chart).contacts == ()


def test_change_owner_detects_a_change_made_elsewhere(practice_ready, chart) -> None:
    version = practice_ready.views.chart(chart).owner_version
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Maria O'Brien", "Mother", "maria@example.com")
    )
    with pytest.raises(ConcurrentChange):
        practice_ready.invitations.change_owner(chart, to_client=True, seen_owner_version=version)


def test_invitations_need_an_active_portal_and_an_email(services: Services) -> None:
    services.practice.update_practice(name="Cedar Counseling")
    services.charts.add_chart(ChartInput("C-1", "Ana", "Lopez", "1985-03-04", "ana@example.com"))
    services.charts.add_chart(ChartInput("C-2", "Bo", "Ng", "1990-01-01", None))
    with pytest.raises(NotAllowed, match="Client Portal is not active"):
        services.invitations.send_invitation("C-1")
    services.practice.update_practice(portal_active=True)
    with pytest.raises(NotAllowed, match="has no email address"):
        services.invitations.send_invitation("C-2")
    with services.db.read() as session:
        assert session.exec(select(sa.func.count()).select_from(Invitation)).one() == 0
        assert session.exec(select(sa.func.count()).select_from(OutboxEmail)).one() == 0


def test_portal_needs_a_practice_name(services: Services) -> None:
    with pytest.raises(InvalidInput, match="practice name"):
        services.practice.update_practice(portal_active=True)


def test_unknown_chart_and_bad_input(practice_ready: Services) -> None:
    with pytest.raises(NotFound, match="No chart with number 'X-9'"):
        practice_ready.invitations.send_invitation("X-9")
    bad = [
        (ChartInput("C-1", "Ana", "Lopez", "1985-02-30", "a@example.com"), "date_of_birth"),
        (ChartInput("C-1", "Ana", "Lopez", "03/04/1985", "a@example.com"), "date_of_birth"),
        (ChartInput("C-1", "Ana", "Lopez", "1985-03-04", "not-an-email"), "email"),
        (ChartInput("C-1", "Ana", "Lo\x1bpez", "1985-03-04", "a@example.com"), "last_name"),
        (ChartInput("", "Ana", "Lopez", "1985-03-04", "a@example.com"), "chart_number"),
        (ChartInput("C-1", "Ana", "Lopez", "2030-01-01", "a@example.com"), "date_of_birth"),
    ]
    for data, field in bad:
        with pytest.raises(InvalidInput) as err:
            practice_ready.charts.add_chart(data)
        assert err.value.field == field
    practice_ready.charts.add_chart(
        ChartInput("C-1", "Ana", "Lopez", "1985-03-04", "a@example.com")
    )
    with pytest.raises(InvalidInput, match="already exists"):
        practice_ready.charts.add_chart(
            ChartInput("C-1", "Bo", "Ng", "1990-01-01", "b@example.com")
        )
    assert practice_ready.search.count_charts() == 1


def test_bulk_resend_of_expired(practice_ready: Services, clock: FrozenClock) -> None:
    for i in range(5):
        practice_ready.charts.add_chart(
            ChartInput(f"C-{i}", "Ana", f"Name{i}", "1985-03-04", f"a{i}@example.com")
        )
    done = practice_ready.invitations.send_all_without_access()
    assert sorted(done.done) == [f"C-{i}" for i in range(5)]
    clock.advance(8 * 86400)
    practice_ready.invitations.resend_invitation("C-0")
    result = practice_ready.invitations.resend_all_expired()
    assert sorted(result.done) == ["C-1", "C-2", "C-3", "C-4"]
    assert practice_ready.search.count_charts(status="expired") == 0
    assert practice_ready.search.count_charts(status="invited") == 5


def test_search_prefix_substring_and_status(practice_ready: Services) -> None:
    rows = [
        ("C-100", "Ana", "García", "ana@example.com"),
        ("C-101", "Bo", "Garner", "bo@example.com"),
        ("C-102", "Cy", "Smithson", "cy@sample.org"),
        ("X-200", "Di", "O'Brien", "di@example.com"),
    ]
    for number, first, last, email in rows:
        practice_ready.charts.add_chart(ChartInput(number, first, last, "1985-03-04", email))
    search = practice_ready.search.search_charts

    def numbers(text: str = "", **kw) -> list[str]:
        return [c.chart_number for c in search(text, **kw)]

    assert numbers("gar") == ["C-100", "C-101"]  # prefix, accent-insensitive, by last name
    assert numbers("garcia") == ["C-100"]
    assert numbers("thso") == ["C-102"]  # substring
    assert numbers("X-2") == ["X-200"]  # chart number prefix
    assert numbers("sample.org") == ["C-102"]  # email substring
    assert numbers("bo@") == ["C-101"]  # email prefix
    assert numbers("o'bri") == ["X-200"]
    assert numbers("obri") == ["X-200"]  # apostrophes are not needed to find a name
    assert numbers("O’Brien") == ["X-200"]  # nor must they be the same apostrophe
    assert numbers("zzz") == []
    assert numbers() == ["C-100", "C-101", "X-200", "C-102"]  # ordered by last name
    assert numbers(limit=2, offset=1) == ["C-101", "X-200"]
    practice_ready.invitations.send_invitation("C-101")
    assert numbers(status="invited") == ["C-101"]
    assert numbers(status="no_portal_access") == ["C-100", "X-200", "C-102"]
    assert practice_ready.search.count_charts("ga", status="no_portal_access") == 1


def test_audit_rows_carry_actor_and_utc_time(practice_ready: Services, chart: str) -> None:
    practice_ready.invitations.send_invitation(chart)
    with practice_ready.db.read() as session:
        rows = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [r.action for r in rows] == ["portal activated", "chart added", "invitation sent"]
    last = rows[-1]
    assert last.actor == "alice" and last.chart_number == chart
    assert "ana@example.com" not in last.detail  # addresses are masked in audit details


@pytest.mark.parametrize("sort_limit", [10, ChartSearch._SORT_LIMIT])
def test_search_with_many_matches_walks_in_order_and_counts_them_all(
    practice_ready: Services,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    sort_limit: int,
) -> None:
    """Short prefixes match more charts than are worth sorting (first name, email, chart
    number): the page still holds the first matches in name order, pages continue without
    gaps, and the count covers every match. With a limit of 10 every prefix below takes the
    walk-the-name-index plan; with the real limit the rarer ones seek and sort."""
    from frontdesk.demo.data import bulk_insert_charts

    monkeypatch.setattr(ChartSearch, "_SORT_LIMIT", sort_limit)
    bulk_insert_charts(practice_ready, 900, start=5000, now=clock.now())
    with practice_ready.db.read() as session:
        everyone = session.exec(select(Chart)).all()
    first, email = everyone[0].first_key[:1], everyone[0].email_key[:2]

    def prefix_of_any(key: str):
        return lambda c: any(
            value.startswith(key)
            for value in (c.last_key, c.first_key, c.email_key, c.chart_number)
        )

    for text, match in (
        ("C-5", lambda c: c.chart_number.startswith("C-5") or "c-5" in c.search_text),
        (first, prefix_of_any(first)),
        (email, prefix_of_any(email)),
    ):
        ordered = sorted(everyone, key=lambda c: (c.last_key, c.first_key, c.id))
        want = [c.chart_number for c in ordered if match(c)]
        assert len(want) > sort_limit or sort_limit > 10, text
        shown = [
            c.chart_number
            for offset in (0, 20, 40)
            for c in practice_ready.search.search_charts(text, limit=20, offset=offset)
        ]
        assert shown == want[:60], text
        assert practice_ready.search.count_charts(text) == len(want), text
