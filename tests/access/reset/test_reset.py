"""Password reset links (issue 11; SECURITY.md T2, T3, T7, R3, R6, P1-P5), on SQLite and
PostgreSQL: who gets a link, how long it lives, what kills it, what completing it does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from frontdesk.access.outcomes import ResetDone, ResetLinkState
from frontdesk.charts.records import ContactInput
from frontdesk.core import links, tokens
from frontdesk.core.clock import FrozenClock
from frontdesk.core.errors import NotAllowed
from frontdesk.services import Services
from store.models import AuditEvent, PasswordReset, PortalSession
from tests.factories import DEMO_PASSWORD, latest_token, outbox_rows, register_chart

NEW_PASSWORD = "juniper kettle ocean drum"
ADDRESS = "192.0.2.7"


def _registered(services: Services, chart: str) -> None:
    services.invitations.send_invitation(chart)
    assert register_chart(services, chart).state == "registered"


def _reset_token(services: Services) -> str:
    newest = [row for row in outbox_rows(services) if row.kind == "password_reset"][-1]
    token = links.find_reset_token(newest.body_text)
    assert token is not None
    return token


def _resets(services: Services) -> int:
    return len([row for row in outbox_rows(services) if row.kind == "password_reset"])


def _complete(
    services: Services, token: str, dob: str = "1985-03-04", password: str = NEW_PASSWORD
):
    return services.resets.complete(
        token, date_of_birth=dob, password=password, password_confirm=password
    )


def _sign_in(services: Services, password: str) -> bool:
    return services.signin.sign_in("ana@example.com", password, client_address=ADDRESS).ok


def test_forgot_sends_a_link_that_resets_the_password(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    _registered(practice_ready, chart)
    signed = practice_ready.signin.sign_in("ana@example.com", DEMO_PASSWORD, client_address=ADDRESS)
    practice_ready.resets.request("Ana@Example.com", client_address=ADDRESS)
    email = [row for row in outbox_rows(practice_ready) if row.kind == "password_reset"][-1]
    assert email.to_address == "ana@example.com"
    assert "1985" not in email.body_text and "C-1001" not in email.body_text  # E6
    token = _reset_token(practice_ready)
    check = practice_ready.resets.inspect(token)
    assert check.state is ResetLinkState.VALID and check.attempts_left == 5
    # opening the link changed nothing (T8); only its digest, purpose-bound, is stored (T2, T7)
    with practice_ready.db.read() as session:
        (row,) = session.exec(select(PasswordReset)).all()
    assert row.token_digest == tokens.purpose_digest("reset", token) != tokens.digest(token)
    assert row.expires_at.replace(tzinfo=None) == (clock.now() + timedelta(minutes=60)).replace(
        tzinfo=None
    )
    assert _complete(practice_ready, token).state is ResetDone.CHANGED
    # every session of the account ended; the old password fails, the new one works
    assert practice_ready.signin.session(signed.session_id) is None
    clock.advance(5)
    assert not _sign_in(practice_ready, DEMO_PASSWORD)
    clock.advance(5)
    assert _sign_in(practice_ready, NEW_PASSWORD)
    # single use, and a "your password was changed" notice (R6)
    assert practice_ready.resets.inspect(token).state is ResetLinkState.USED
    assert _complete(practice_ready, token).state is ResetLinkState.USED
    changed = [row for row in outbox_rows(practice_ready) if row.kind == "password_changed"]
    assert [row.to_address for row in changed] == ["ana@example.com"]


@pytest.mark.parametrize("case", ["unknown", "invited", "revoked", "malformed"])
def test_nobody_but_an_enabled_account_gets_a_link(
    practice_ready: Services, chart: str, case: str
) -> None:
    email = {"unknown": "nobody@example.com", "malformed": "not an address"}.get(
        case, "ana@example.com"
    )
    if case == "invited":
        practice_ready.invitations.send_invitation(chart)  # pending: never registered
    if case == "revoked":
        _registered(practice_ready, chart)
        practice_ready.invitations.revoke_access(chart)
    practice_ready.resets.request(email, client_address=ADDRESS)
    assert _resets(practice_ready) == 0
    if case == "invited":  # the pending invitation is untouched (T7, CVE-2023-48220)
        assert practice_ready.registration.inspect_token(latest_token(practice_ready)).state == (
            "valid"
        )


def test_tokens_are_bound_to_their_purpose(practice_ready: Services, chart: str) -> None:
    practice_ready.invitations.send_invitation(chart)
    invitation_token = latest_token(practice_ready, chart)
    assert practice_ready.resets.inspect(invitation_token).state is ResetLinkState.UNKNOWN
    assert _complete(practice_ready, invitation_token).state is ResetLinkState.UNKNOWN
    assert register_chart(practice_ready, chart).state == "registered"
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    reset_token = _reset_token(practice_ready)
    assert practice_ready.registration.inspect_token(reset_token).state == "unknown"


def test_a_newer_link_kills_the_older_and_staff_links_live_a_day(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    _registered(practice_ready, chart)
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    first = _reset_token(practice_ready)
    sent = practice_ready.resets.send_from_desk(chart)
    assert sent.expires_at == clock.now() + timedelta(hours=24)
    assert sent.owner_email == "ana@example.com"
    second = _reset_token(practice_ready)
    assert practice_ready.resets.inspect(first).state is ResetLinkState.REPLACED
    clock.advance(hours=23, minutes=59)
    assert practice_ready.resets.inspect(second).state is ResetLinkState.VALID
    clock.advance(minutes=2)
    assert practice_ready.resets.inspect(second).state is ResetLinkState.EXPIRED
    assert _complete(practice_ready, second).state is ResetLinkState.EXPIRED


def test_a_client_link_lives_an_hour(practice_ready: Services, chart: str, clock: FrozenClock):
    _registered(practice_ready, chart)
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    token = _reset_token(practice_ready)
    clock.advance(minutes=59)
    assert practice_ready.resets.inspect(token).state is ResetLinkState.VALID
    clock.advance(minutes=2)
    assert practice_ready.resets.inspect(token).state is ResetLinkState.EXPIRED


def test_five_wrong_dates_of_birth_kill_the_link(practice_ready: Services, chart: str) -> None:
    _registered(practice_ready, chart)
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    token = _reset_token(practice_ready)
    for left in (4, 3, 2, 1):
        result = _complete(practice_ready, token, dob="1985-03-05")
        assert (result.state, result.attempts_left) == (ResetDone.WRONG_DETAILS, left)
    assert _complete(practice_ready, token, dob="1985-03-05").state is ResetLinkState.DEAD
    assert _complete(practice_ready, token).state is ResetLinkState.DEAD  # right one: too late
    assert practice_ready.resets.inspect(token).state is ResetLinkState.DEAD
    assert not _sign_in(practice_ready, NEW_PASSWORD)
    with practice_ready.db.read() as session:
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.action).like("password reset%"))
        ).all()
    assert actions.count("password reset check failed") == 4
    assert actions.count("password reset lockout") == 1


def test_a_weak_password_uses_no_attempt(practice_ready: Services, chart: str) -> None:
    _registered(practice_ready, chart)
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    token = _reset_token(practice_ready)
    weak = _complete(practice_ready, token, password="obrien19850304")
    assert weak.state is ResetDone.PASSWORD and weak.message
    short = _complete(practice_ready, token, password="too short")
    assert short.state is ResetDone.PASSWORD and "at least 15" in short.message
    mismatch = practice_ready.resets.complete(
        token, date_of_birth="1985-03-04", password=NEW_PASSWORD, password_confirm="other"
    )
    assert mismatch.state is ResetDone.INVALID and mismatch.problems == {
        "password_confirm": "mismatch"
    }
    assert practice_ready.resets.inspect(token).attempts_left == 5


def test_at_most_three_client_emails_per_account_per_hour(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    _registered(practice_ready, chart)
    for _ in range(5):
        practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    assert _resets(practice_ready) == 3
    practice_ready.resets.send_from_desk(chart)  # the desk's do not count
    assert _resets(practice_ready) == 4
    clock.advance(hours=1, seconds=1)
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)
    assert _resets(practice_ready) == 5


def test_at_most_twenty_requests_per_client_address_per_hour(
    practice_ready: Services, chart: str, clock: FrozenClock
) -> None:
    _registered(practice_ready, chart)
    for n in range(20):
        practice_ready.resets.request(f"someone{n}@example.com", client_address=ADDRESS)
    practice_ready.resets.request("ana@example.com", client_address=ADDRESS)  # the 21st
    assert _resets(practice_ready) == 0
    practice_ready.resets.request("ana@example.com", client_address="198.51.100.9")
    assert _resets(practice_ready) == 1
    with practice_ready.db.read() as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == "password reset refused")
        ).all()
    assert [row.outcome for row in refused] == ["throttled"]


def test_revoking_access_kills_a_live_link(practice_ready: Services, chart: str) -> None:
    _registered(practice_ready, chart)
    practice_ready.resets.send_from_desk(chart)
    token = _reset_token(practice_ready)
    practice_ready.invitations.revoke_access(chart)
    assert practice_ready.resets.inspect(token).state is ResetLinkState.DEAD
    assert _complete(practice_ready, token).state is ResetLinkState.DEAD


def test_the_desk_sends_a_reset_only_to_an_active_account(
    practice_ready: Services, chart: str
) -> None:
    with pytest.raises(NotAllowed, match="Active"):
        practice_ready.resets.send_from_desk(chart)
    practice_ready.invitations.send_invitation(chart)
    with pytest.raises(NotAllowed):
        practice_ready.resets.send_from_desk(chart)
    assert _resets(practice_ready) == 0


def test_a_guardians_link_asks_for_the_clients_date_of_birth(
    practice_ready: Services, chart: str
) -> None:
    practice_ready.invitations.change_owner(
        chart, new_contact=ContactInput("Mina Park", "Mother", "mina@example.com"), invite=True
    )
    register_chart(practice_ready, chart)
    practice_ready.resets.request("mina@example.com", client_address=ADDRESS)
    token = _reset_token(practice_ready)
    assert practice_ready.resets.inspect(token).for_guardian
    assert _complete(practice_ready, token).state is ResetDone.CHANGED  # the client's DOB
    with practice_ready.db.read() as session:
        live = session.exec(select(PortalSession).where(col(PortalSession.ended_at).is_(None)))
        assert live.all() == []
