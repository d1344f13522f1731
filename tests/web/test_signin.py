"""Sign-in, sessions and throttling, over HTTP and on the service (SQLite, frozen clock)."""

from __future__ import annotations

import hashlib
import html as htmllib
import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import col, select
from starlette.testclient import TestClient

from frontdesk.access.signin import SignInService
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from frontdesk.web.routes.signin import wait_words
from store.models import AuditEvent, PortalAccount, PortalSession
from tests.web.conftest import (
    CHART,
    EMAIL,
    PASSWORD,
    CountingHasher,
    csrf_of,
    latest_token,
    make_client,
    open_and_post,
    registration,
    sign_in,
)

GENERIC = "That email address and password don't match an account."
# Real argon2id at a low cost, for the tests that sign in dozens of times.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def cheap_argon(registered: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The account's hash and the unknown-email dummy hash use the low-cost profile (the same
    code path verifies them: argon2 reads the cost from the hash)."""
    from frontdesk.access import passwords

    monkeypatch.setattr(passwords, "_DUMMY_HASH", CHEAP.hash("dummy password"))
    registered.db.transact(
        lambda s: s.execute(sa.update(PortalAccount).values(password_hash=CHEAP.hash(PASSWORD)))
    )
    return registered


def text(response: object) -> str:
    return htmllib.unescape(response.text)  # type: ignore[attr-defined]


def session_cookie(response: object) -> str:
    header = response.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    match = re.search(r"(?:__Host-)?fd_session=([^;]*)", header)
    assert match, header
    return match.group(1)


def audit(services: Services) -> list[AuditEvent]:
    with services.db.read() as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))))


def use_cookie(client: TestClient, value: str) -> None:
    """Make the browser hold exactly this session cookie (as the server would set it)."""
    client.cookies.delete("fd_session")
    client.cookies.set("fd_session", value, domain="127.0.0.1", path="/")


def portal_status(client: TestClient) -> tuple[int, str]:
    response = client.get("/portal", follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


# ------------------------------------------------------------------------------------------
# Signing in and out
# ------------------------------------------------------------------------------------------


def test_sign_in_shows_the_portal(client: TestClient, registered: Services) -> None:
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "http://127.0.0.1:8080/portal"
    page = client.get("/portal")
    assert page.status_code == 200
    body = text(page)
    assert "Welcome, Ana" in body and "Ana O'Brien" in body and EMAIL in body
    assert "Cedar Counseling" in body and "Sign out" in body
    assert client.get("/login", follow_redirects=False).headers["location"].endswith("/portal")
    signed_in = [e for e in audit(registered) if e.action == "signed in"]
    assert len(signed_in) == 1
    assert signed_in[0].actor.startswith("client:") and signed_in[0].chart_number == CHART
    assert signed_in[0].source == "web:testclient"


def test_only_the_digest_of_the_session_id_is_stored(
    client: TestClient, registered: Services
) -> None:
    cookie = session_cookie(sign_in(client))
    assert len(cookie) == 43  # 256 bits
    with registered.db.read() as session:
        rows = list(session.exec(select(PortalSession)))
    assert len(rows) == 1
    assert rows[0].id_digest == hashlib.sha256(cookie.encode()).hexdigest()
    assert all(cookie not in str(value) for value in rows[0].model_dump().values())


def test_a_new_session_id_at_every_sign_in(client: TestClient, registered: Services) -> None:
    form_token = csrf_of(client.get("/login").text)

    def post_login() -> str:
        response = client.post(
            "/login",
            data={"csrf_token": form_token, "email": EMAIL, "password": PASSWORD},
            follow_redirects=False,
        )
        assert response.status_code == 303
        return session_cookie(response)

    planted = "planted-by-an-attacker-" + "x" * 20
    use_cookie(client, planted)
    first = post_login()
    assert first != planted
    second = post_login()  # signing in again while signed in
    assert second != first
    # The session the browser held before signing in again has ended.
    use_cookie(client, first)
    assert portal_status(client)[0] == 303
    use_cookie(client, second)
    assert portal_status(client)[0] == 200


def test_sign_out_ends_the_session_server_side(client: TestClient, registered: Services) -> None:
    cookie = session_cookie(sign_in(client))
    page = client.get("/portal")
    response = client.post(
        "/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "http://127.0.0.1:8080/login?m=signed_out"
    assert (
        'fd_session=""' in response.headers["set-cookie"]
        or "Max-Age=0" in (response.headers["set-cookie"])
    )
    assert "You have signed out." in client.get(response.headers["location"]).text
    use_cookie(client, cookie)  # replay the old cookie
    status, location = portal_status(client)
    assert status == 303 and location.endswith("/login?m=ended")
    assert [e.action for e in audit(registered)].count("signed out") == 1


def test_sign_out_needs_the_session_csrf_token(client: TestClient, registered: Services):
    anonymous_token = csrf_of(client.get("/login").text)
    sign_in(client)
    for data in ({"other": ""}, {"csrf_token": "wrong"}, {"csrf_token": anonymous_token}):
        response = client.post("/logout", data=data, follow_redirects=False)
        assert response.status_code == 403
        assert portal_status(client)[0] == 200


def test_registration_does_not_sign_in(client: TestClient, web_services: Services) -> None:
    response = open_and_post(client, latest_token(web_services), registration())
    assert (
        "set-cookie" not in response.headers or "fd_session" not in response.headers["set-cookie"]
    )
    status, location = portal_status(client)
    assert status == 303 and location == "http://127.0.0.1:8080/login"


# ------------------------------------------------------------------------------------------
# One generic failure, the same work either way
# ------------------------------------------------------------------------------------------


def test_one_generic_failure_and_the_same_work_for_unknown_emails(
    client: TestClient, registered: Services, argon_counter: CountingHasher, clock: FrozenClock
) -> None:
    pages = []
    for email, password in (
        (EMAIL, "wrong password entirely here"),
        ("nobody@example.com", "wrong password entirely here"),
        ("not an email", PASSWORD),
        (EMAIL.upper(), "wrong password entirely here"),
    ):
        before = argon_counter.verifies
        response = sign_in(client, email, password)
        assert response.status_code == 400, email
        assert GENERIC in text(response)
        assert argon_counter.verifies - before == 1, email  # one argon2 verification each
        pages.append(text(response).replace(email, "EMAIL"))
        clock.advance(3600)  # past every delay
    assert len({re.sub(r'value="[^"]*"', "", p) for p in pages}) == 1
    failures = [e for e in audit(registered) if e.action == "sign-in failed"]
    assert len(failures) == 4 and all(e.outcome == "failed" for e in failures)
    assert "ana@example.com" not in " ".join(e.detail for e in failures)  # masked


def test_email_is_matched_case_insensitively_in_the_domain(client: TestClient, registered):
    assert sign_in(client, "ana@EXAMPLE.com").status_code == 303


@pytest.mark.parametrize(
    ("field", "value", "phrase"),
    [
        ("email", "ana@example.com\r\nBcc: x@evil.example", "isn't allowed"),
        ("email", "a" * 10_240 + "@example.com", "too long"),
        ("email", "", "Enter your email address"),
        ("password", "", "Enter your password"),
    ],
)
def test_bad_sign_in_fields(
    client: TestClient, registered: Services, field: str, value: str, phrase: str
) -> None:
    page = client.get("/login")
    data = {"csrf_token": csrf_of(page.text), "email": EMAIL, "password": PASSWORD, field: value}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 400
    assert phrase in text(response)
    assert f'id="{field}-error"' in response.text
    assert "\r" not in response.text.split("<body>", 1)[1]


# ------------------------------------------------------------------------------------------
# Throttling
# ------------------------------------------------------------------------------------------


def test_delay_doubles_from_one_second_and_is_capped(
    cheap_argon: Services, clock: FrozenClock
) -> None:
    service = SignInService(cheap_argon.db, cheap_argon.clock)
    waits = []
    for _ in range(12):
        assert not service.sign_in(EMAIL, "wrong guess number one", client_address="10.0.0.9").ok
        refused = service.sign_in(EMAIL, PASSWORD, client_address="10.0.0.9")
        assert refused.throttled  # even the right password waits
        waits.append(refused.retry_after)
        clock.advance(refused.retry_after)
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    assert service.sign_in(EMAIL, PASSWORD, client_address="10.0.0.9").ok


def test_an_attacker_elsewhere_delays_the_client_a_minute_at_most(
    cheap_argon: Services, clock: FrozenClock
) -> None:
    service = SignInService(cheap_argon.db, cheap_argon.clock)
    for _ in range(17):  # the attacker waits out each of their own delays, then guesses
        clock.advance(service.sign_in(EMAIL, "x", client_address="203.0.113.7").retry_after)
        assert not service.sign_in(EMAIL, "attacker guess", client_address="203.0.113.7").ok
    client_try = service.sign_in(EMAIL, PASSWORD, client_address="198.51.100.20")
    assert client_try.throttled and client_try.retry_after == 60
    clock.advance(60)
    assert service.sign_in(EMAIL, PASSWORD, client_address="198.51.100.20").ok
    # The attacker's own address is still held back (15 minutes).
    held = service.sign_in(EMAIL, PASSWORD, client_address="203.0.113.7")
    assert held.throttled and held.retry_after > 60


def test_one_address_trying_many_emails_is_slowed(cheap_argon: Services) -> None:
    service = SignInService(cheap_argon.db, cheap_argon.clock)
    for n in range(10):
        assert not service.sign_in(
            f"user{n}@example.com", "guess", client_address="192.0.2.1"
        ).throttled
    assert not service.sign_in("user10@example.com", "guess", client_address="192.0.2.1").ok
    assert service.sign_in("user11@example.com", "guess", client_address="192.0.2.1").throttled
    assert not service.sign_in("user11@example.com", "guess", client_address="192.0.2.2").throttled


def test_staff_unlock_lets_a_held_back_client_sign_in_now(
    cheap_argon: Services, clock: FrozenClock
) -> None:
    """SECURITY.md P7: a client waiting out failed sign-ins calls the desk; staff clear the
    email's counters (audited, the address masked); an attacker's address-wide counter and
    other emails' counters stay."""
    service = SignInService(cheap_argon.db, cheap_argon.clock)
    for _ in range(9):
        clock.advance(service.sign_in(EMAIL, "x", client_address="10.0.0.9").retry_after)
        assert not service.sign_in(EMAIL, "a wrong guess", client_address="10.0.0.9").ok
    for _ in range(3):
        service.sign_in("other@example.com", "a wrong guess", client_address="10.0.0.7")
    held = service.sign_in(EMAIL, PASSWORD, client_address="10.0.0.9")
    assert held.throttled and held.retry_after == 256
    assert service.unlock(" ana@EXAMPLE.com", actor="alice") == 2  # the pair, the email alone
    assert service.sign_in(EMAIL, PASSWORD, client_address="10.0.0.9").ok
    assert service.sign_in("other@example.com", PASSWORD, client_address="10.0.0.7").throttled
    assert service.unlock(EMAIL, actor="alice") == 0
    with cheap_argon.db.read() as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.action == "sign-in unlocked")
            .order_by(col(AuditEvent.id))
        ).all()
    assert [(r.actor, r.outcome, r.source) for r in rows] == [
        ("alice", "ok", "cli"),
        ("alice", "nothing held", "cli"),
    ]
    assert EMAIL not in rows[0].detail and "a…@example.com" in rows[0].detail


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (2, "2 seconds"),
        (119, "119 seconds"),
        (120, "2 minutes"),
        (121, "3 minutes"),
    ],
)
def test_wait_words_are_singular_or_plural(seconds: int, words: str) -> None:
    assert wait_words(seconds) == words


def test_throttled_sign_in_page(client: TestClient, registered: Services, clock) -> None:
    assert sign_in(client, EMAIL, "wrong password here now").status_code == 400
    response = sign_in(client, EMAIL, PASSWORD)
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert "please wait 1 second and try again" in text(response)  # singular (issue 11)
    unknown = sign_in(client, "nobody@example.com", "wrong password here now")
    assert unknown.status_code == 400
    assert sign_in(client, "nobody@example.com", "wrong password here now").status_code == 429
    clock.advance(1)
    assert sign_in(client).status_code == 303


# ------------------------------------------------------------------------------------------
# Session lifetime
# ------------------------------------------------------------------------------------------


def test_idle_timeout_is_fifteen_minutes(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    sign_in(client)
    clock.advance(15 * 60)
    assert portal_status(client)[0] == 200  # exactly 15 minutes idle: still fine
    clock.advance(15 * 60 + 1)
    status, location = portal_status(client)
    assert status == 303 and location.endswith("/login?m=ended")
    assert "15 minutes without activity" in text(client.get(location))
    assert portal_status(client)[0] == 303


def test_page_views_record_activity_at_most_every_thirty_seconds(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    """Clicking around only reads; activity is written when the record is 30 s old. The
    session so ends between 14 min 30 s and 15 min after the last view, never later."""

    def recorded() -> object:
        with registered.db.read() as session:
            return session.exec(select(PortalSession.last_seen_at)).one()

    sign_in(client)
    signed_in_at = recorded()
    clock.advance(29)
    assert portal_status(client)[0] == 200
    assert recorded() == signed_in_at  # read only
    clock.advance(1)
    assert portal_status(client)[0] == 200
    touched = recorded()
    assert touched != signed_in_at  # 30 s old: recorded now
    clock.advance(20)
    assert portal_status(client)[0] == 200  # the last view, 20 s after the record
    assert recorded() == touched
    clock.advance(15 * 60 - 20 + 1)  # 15 min 1 s after the record, 14 min 41 s after the view
    assert portal_status(client)[0] == 303


def test_absolute_timeout_is_twelve_hours_even_with_activity(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    sign_in(client)
    for _ in range(12 * 6):
        clock.advance(10 * 60)
        assert portal_status(client)[0] == 200
    clock.advance(1)  # 12 h + 1 s after signing in, 1 s after the last request
    assert portal_status(client)[0] == 303


@pytest.mark.parametrize("action", ["revoke", "change_owner"])
def test_staff_action_ends_every_live_session(
    client: TestClient, registered: Services, action: str
) -> None:
    with make_client(registered) as second_browser:
        for browser in (client, second_browser):
            assert sign_in(browser).status_code == 303
            assert portal_status(browser)[0] == 200
        if action == "revoke":
            registered.invitations.revoke_access(CHART)
        else:
            registered.invitations.change_owner(
                CHART, new_contact=ContactInput("Maria O'Brien", "Mother", "maria@example.com")
            )
        for browser in (client, second_browser):
            status, location = portal_status(browser)
            assert status == 303 and location.endswith("/login?m=ended")
    assert sign_in(client).status_code == 400  # the disabled account cannot sign in


def test_an_account_disabled_in_another_process_cannot_keep_its_session(
    client: TestClient, registered: Services
) -> None:
    sign_in(client)
    registered.invitations.revoke_access(CHART)
    registered.invitations.activate_access(CHART)  # restored: same credentials, new sign-in needed
    assert portal_status(client)[0] == 303
    assert sign_in(client).status_code == 303


# ------------------------------------------------------------------------------------------
# Cookies
# ------------------------------------------------------------------------------------------


def test_cookie_attributes_on_http(client: TestClient, registered: Services) -> None:
    header = sign_in(client).headers["set-cookie"]
    assert header.startswith("fd_session=")
    parts = {p.strip().lower() for p in header.split(";")}
    assert {"httponly", "path=/", "samesite=lax"} <= parts
    assert "secure" not in parts and not any(p.startswith("domain") for p in parts)
    assert not any(p.startswith(("max-age", "expires")) for p in parts)


def test_cookie_attributes_on_https(registered: Services, tmp_path) -> None:
    from dataclasses import replace

    from frontdesk.services import build_services

    https = build_services(
        replace(registered.settings, public_url="https://portal.cedar.example"),
        clock=registered.clock,
        db=registered.db,
    )
    with make_client(https) as client:
        login = client.get("/login")
        assert login.headers["set-cookie"].startswith("__Host-fd_pre=")
        assert "strict-transport-security" in login.headers
        response = sign_in(client)
        assert response.status_code == 303
        assert response.headers["location"] == "https://portal.cedar.example/portal"
        header = response.headers["set-cookie"]
        assert header.startswith("__Host-fd_session=")
        parts = {p.strip().lower() for p in header.split(";")}
        assert {"httponly", "path=/", "samesite=lax", "secure"} <= parts
        assert not any(p.startswith("domain") for p in parts)
        assert client.get("/portal").status_code == 200


# ------------------------------------------------------------------------------------------
# A guardian with two children: several accounts share one email
# ------------------------------------------------------------------------------------------


def test_guardian_signs_in_to_the_newest_matching_account(
    client: TestClient, web_services: Services, clock: FrozenClock
) -> None:
    guardian = "maria@example.com"
    passwords = {"K-1": "tulip harbor velvet compass", "K-2": "granite meadow whistle ocean"}
    for number, first, dob in (("K-1", "Leo", "2012-04-05"), ("K-2", "Mia", "2015-06-07")):
        web_services.charts.add_chart(ChartInput(number, first, "Ruiz", dob))
        web_services.invitations.change_owner(
            number, new_contact=ContactInput("Maria Ruiz", "Mother", guardian), invite=True
        )
        response = open_and_post(
            client,
            latest_token(web_services),
            registration(last_name="Ruiz", dob=dob, password=passwords[number]),
        )
        assert response.status_code == 200, text(response)
        clock.advance(60)
    for number, child in (("K-1", "Leo Ruiz"), ("K-2", "Mia Ruiz")):
        client.cookies.clear()
        assert sign_in(client, guardian, passwords[number]).status_code == 303
        page = text(client.get("/portal"))
        assert "Maria Ruiz" in page and f"Account for</dt><dd>{child}" in page


def test_an_outdated_hash_is_upgraded_at_sign_in(cheap_argon: Services) -> None:
    service = SignInService(cheap_argon.db, cheap_argon.clock)
    assert service.sign_in(EMAIL, PASSWORD, client_address="127.0.0.1").ok
    with cheap_argon.db.read() as session:
        (account,) = session.exec(select(PortalAccount)).all()
    assert account.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert service.sign_in(EMAIL, PASSWORD, client_address="127.0.0.1").ok


def test_cookies_hold_only_random_ids(client: TestClient, registered: Services) -> None:
    set_cookies = [
        client.get("/login").headers["set-cookie"],
        sign_in(client).headers["set-cookie"],
    ]
    for header in set_cookies:
        value = header.split(";", 1)[0].split("=", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value), header
