"""Registration from the emailed link: every page, every state, every bad input (SQLite)."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from starlette.testclient import TestClient

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.core.tokens import new_token
from frontdesk.services import Services
from store.models import AuditEvent, Invitation, OutboxEmail, PortalAccount, PortalSession
from tests.web.conftest import (
    CHART,
    DOB,
    PASSWORD,
    CountingHasher,
    csrf_of,
    latest_token,
    open_and_post,
    registration,
)

PHONE = "(555) 010-0100"
WEEK = timedelta(days=7)


def invitation_of(services: Services, chart: str = CHART) -> Invitation:
    with services.db.read() as session:
        row = session.exec(select(Invitation).order_by(col(Invitation.id).desc())).first()
    assert row is not None
    return row


def accounts(services: Services) -> list[PortalAccount]:
    with services.db.read() as session:
        return list(session.exec(select(PortalAccount)).all())


def audit_actions(services: Services) -> list[str]:
    with services.db.read() as session:
        return [r.action for r in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def snapshot(services: Services) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a registration link could change."""
    tables = (Invitation, PortalAccount, PortalSession, AuditEvent, OutboxEmail)
    with services.db.read() as session:
        return {
            t.__tablename__: [tuple(r) for r in session.execute(sa.select(t)).all()]  # type: ignore[attr-defined]
            for t in tables
        }


def text(response: object) -> str:
    """The page as a person reads it (entities decoded)."""
    return htmllib.unescape(response.text)  # type: ignore[attr-defined]


def described_by(html: str, field: str) -> list[str]:
    match = re.search(rf'<input id="{field}"[^>]*aria-describedby="([^"]+)"', html)
    return match.group(1).split() if match else []


# ------------------------------------------------------------------------------------------
# The form
# ------------------------------------------------------------------------------------------


def test_form_page_is_accessible_and_names_the_practice(client: TestClient, token: str) -> None:
    page = client.get(f"/register/{token}")
    assert page.status_code == 200
    html = page.text
    assert "Cedar Counseling" in html and PHONE in html
    for field, label in (
        ("last_name", "Last name"),
        ("date_of_birth", "Date of birth"),
        ("password", "Create a password"),
        ("password_confirm", "Type the password again"),
    ):
        assert f'<label for="{field}">{label}</label>' in html
        assert f'id="{field}" name="{field}"' in html
    assert 'type="date"' in html
    assert "three or four words" in html.lower()
    assert "password-hint" in described_by(html, "password")
    assert 'autocomplete="new-password"' in html
    assert "<script" not in html.lower() and "onpaste" not in html.lower()
    for rule in ("digit", "symbol", "uppercase", "special character", "number"):
        assert rule not in html.lower()  # no composition rules are demanded
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'method="post"' in html and "action=" not in html.split("<form", 1)[1].split(">")[0]


def test_head_and_get_by_a_scanner_change_nothing(
    client: TestClient, web_services: Services, token: str
) -> None:
    client.get(f"/register/{token}")  # the CSRF key is made on first use; not a link change
    before = snapshot(web_services)
    scanner = {"User-Agent": "Mozilla/5.0 (compatible; SafeLinks scanner)"}
    for _ in range(3):
        client.cookies.clear()
        assert client.get(f"/register/{token}", headers=scanner).status_code == 200
    head = client.head(f"/register/{token}", headers=scanner)
    assert head.status_code == 200 and head.content == b""
    assert snapshot(web_services) == before
    # ... and the person who follows can still register.
    client.cookies.clear()
    assert open_and_post(client, token, registration()).status_code == 200


# ------------------------------------------------------------------------------------------
# Link states: a clear page each, with the practice's phone and what to do
# ------------------------------------------------------------------------------------------


def _state_page(client: TestClient, token: str, status: int, *phrases: str) -> str:
    page = client.get(f"/register/{token}")
    assert page.status_code == status, page.text
    assert PHONE in page.text and "Cedar Counseling" in page.text
    for phrase in phrases:
        assert phrase in text(page)
    assert 'name="password"' not in page.text
    head = client.head(f"/register/{token}")
    assert head.status_code == status
    return page.text


def test_expired_link_page(client: TestClient, token: str, clock: FrozenClock) -> None:
    clock.advance(WEEK.total_seconds() - 1)
    assert client.get(f"/register/{token}").status_code == 200
    clock.advance(2)
    _state_page(client, token, 410, "This link has expired", "resend")


def test_replaced_link_page(client: TestClient, web_services: Services, token: str, clock):
    clock.advance(61)
    web_services.invitations.resend_invitation(CHART)
    _state_page(client, token, 410, "A newer link was sent", "most recent email")
    assert client.get(f"/register/{latest_token(web_services)}").status_code == 200


def test_used_link_page_offers_sign_in(client: TestClient, token: str) -> None:
    assert open_and_post(client, token, registration()).status_code == 200
    html = _state_page(client, token, 410, "already registered", "Sign in")
    assert 'href="http://127.0.0.1:8080/login"' in html


def test_revoked_link_page(client: TestClient, web_services: Services, token: str) -> None:
    web_services.invitations.revoke_access(CHART)
    _state_page(client, token, 410, "no longer active")


def test_locked_link_page(client: TestClient, token: str) -> None:
    for _ in range(5):
        open_and_post(client, token, registration(dob="1990-01-01"))
    _state_page(client, token, 403, "This link is locked", "resend")


@pytest.mark.parametrize(
    "bad",
    [
        "unknown-random",
        "short",
        "a" * 43,
        "%00" * 5,
        "..%2F..%2Fetc%2Fpasswd",
        "<script>alert(1)</script>",
        "x" * 2000,
    ],
)
def test_unknown_and_tampered_links(client: TestClient, token: str, bad: str) -> None:
    value = new_token() if bad == "unknown-random" else bad
    page = client.get(f"/register/{value}")
    assert page.status_code == 404
    assert "We can't find this link" in text(page) and PHONE in page.text
    assert "<script>alert" not in page.text


def test_one_character_changed_is_unknown(client: TestClient, token: str) -> None:
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/register/{tampered}").status_code == 404
    assert client.get(f"/register/{token.upper()}").status_code in (404, 200)
    assert client.get(f"/register/{token}x").status_code == 404
    assert client.get(f"/register/{token[:-1]}").status_code == 404


# ------------------------------------------------------------------------------------------
# Posting the form
# ------------------------------------------------------------------------------------------


def test_successful_registration(client: TestClient, web_services: Services, token: str) -> None:
    response = open_and_post(client, token, registration())
    assert response.status_code == 200
    html = response.text
    assert "Your account is ready" in html and "ana@example.com" in html
    assert re.search(r'<a class="button" href="http://127\.0\.0\.1:8080/login">Sign in</a>', html)
    # R5: not signed in automatically.
    assert "fd_session" not in response.headers.get("set-cookie", "")
    assert client.get("/portal", follow_redirects=False).status_code == 303
    (account,) = accounts(web_services)
    assert account.email == "ana@example.com" and account.password_hash.startswith("$argon2id$")
    assert invitation_of(web_services).state == "used"
    # R6: one registration-complete email, one audit row.
    with web_services.db.read() as session:
        kinds = [r.kind for r in session.exec(select(OutboxEmail))]
    assert kinds.count("registration_complete") == 1
    assert audit_actions(web_services).count("registered") == 1
    # Replaying the same POST (the old CSRF token is still fine) is refused.
    again = client.post(
        f"/register/{token}",
        data={"csrf_token": csrf_of(client.get("/login").text), **registration()},
    )
    assert again.status_code == 410 and "already registered" in again.text
    assert len(accounts(web_services)) == 1


def test_wrong_details_say_attempts_left_without_naming_the_field(
    client: TestClient, web_services: Services, token: str
) -> None:
    wrong_name = open_and_post(client, token, registration(last_name="Smith"))
    wrong_date = open_and_post(client, token, registration(dob="1985-03-05"))
    assert wrong_name.status_code == wrong_date.status_code == 400
    for page, left in ((wrong_name, 4), (wrong_date, 3)):
        assert "doesn't match the practice's records" in text(page)
        assert f"{left} attempts left" in page.text
        assert "general-error" in described_by(page.text, "last_name")
        assert "general-error" in described_by(page.text, "date_of_birth")
        assert 'role="alert"' in page.text
    strip = re.compile(r'value="[^"]*"|\d attempts|Smith|1985-03-0\d')
    assert strip.sub("", wrong_name.text) == strip.sub("", wrong_date.text)
    assert PASSWORD not in wrong_name.text  # passwords are never echoed
    assert invitation_of(web_services).failed_attempts == 2


def test_lock_after_five_failures_then_resend_gives_a_fresh_link(
    client: TestClient, web_services: Services, token: str, clock: FrozenClock
) -> None:
    statuses = [
        open_and_post(client, token, registration(dob="1990-01-01")).status_code for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 400]
    fifth = client.post(
        f"/register/{token}",
        data={"csrf_token": csrf_of(client.get("/login").text), **registration(dob="1990-01-01")},
    )
    assert fifth.status_code == 403 and "This link is locked" in fifth.text
    right = client.post(
        f"/register/{token}",
        data={"csrf_token": csrf_of(client.get("/login").text), **registration()},
    )
    assert right.status_code == 403 and "This link is locked" in right.text
    assert accounts(web_services) == []
    assert "identity check lockout" in audit_actions(web_services)
    assert web_services.views.chart(CHART).status.label == "Locked"

    clock.advance(61)
    web_services.invitations.resend_invitation(CHART)
    fresh = latest_token(web_services)
    assert fresh != token
    page = client.get(f"/register/{fresh}")
    assert "attempts left" not in page.text
    assert open_and_post(client, fresh, registration()).status_code == 200
    assert len(accounts(web_services)) == 1


def test_owner_changed_between_opening_and_posting(
    client: TestClient, web_services: Services, token: str
) -> None:
    page = client.get(f"/register/{token}")
    web_services.invitations.change_owner(
        CHART, new_contact=ContactInput("Maria O'Brien", "Mother", "maria@example.com")
    )
    response = client.post(
        f"/register/{token}", data={"csrf_token": csrf_of(page.text), **registration()}
    )
    assert response.status_code == 410 and "no longer active" in response.text
    assert accounts(web_services) == []


# ------------------------------------------------------------------------------------------
# Bad input: refused cleanly, named on the field, never an attempt used up
# ------------------------------------------------------------------------------------------

BIG = "x" * 10_240


@pytest.mark.parametrize(
    ("fields", "field", "phrase"),
    [
        ({"last_name": ""}, "last_name", "Enter your last name"),
        ({"date_of_birth": ""}, "date_of_birth", "Enter your date of birth"),
        ({"password": "", "password_confirm": ""}, "password", "Enter your password"),
        ({"password_confirm": "something else entirely"}, "password_confirm", "do not match"),
        ({"date_of_birth": "1985-02-30"}, "date_of_birth", "YYYY-MM-DD"),
        ({"date_of_birth": "03/04/1985"}, "date_of_birth", "YYYY-MM-DD"),
        ({"date_of_birth": "1985-3-4"}, "date_of_birth", "YYYY-MM-DD"),
        ({"date_of_birth": "19850304"}, "date_of_birth", "YYYY-MM-DD"),
        ({"date_of_birth": "yesterday"}, "date_of_birth", "YYYY-MM-DD"),
        ({"last_name": BIG}, "last_name", "too long"),
        ({"date_of_birth": BIG}, "date_of_birth", "too long"),
        ({"last_name": "O'Brien\x1b]52;c;RVZJTA==\x07"}, "last_name", "isn't allowed"),
        ({"last_name": "O'Brien\n[AUDIT] fake"}, "last_name", "isn't allowed"),
        ({"last_name": "O'Brien\u202e"}, "last_name", "isn't allowed"),
        ({"last_name": "O'Brien\x9b"}, "last_name", "isn't allowed"),
        ({"date_of_birth": "1985-03-04\x00"}, "date_of_birth", "isn't allowed"),
        ({"password": "abc\x00" * 5, "password_confirm": "abc\x00" * 5}, "password", "isn't"),
    ],
)
def test_bad_fields_are_named_and_use_no_attempt(
    client: TestClient,
    web_services: Services,
    token: str,
    fields: dict[str, str],
    field: str,
    phrase: str,
) -> None:
    response = open_and_post(client, token, {**registration(), **fields})
    assert response.status_code == 400
    html = response.text
    assert f'id="{field}-error"' in html and phrase in text(response)
    assert f"{field}-error" in described_by(html, field)
    assert f'<a href="#{field}">' in html  # the summary links to the field
    assert invitation_of(web_services).failed_attempts == 0
    assert accounts(web_services) == []
    assert "\x1b" not in html and "\x00" not in html


def test_huge_password_is_refused_without_hashing(
    client: TestClient, web_services: Services, token: str, argon_counter: CountingHasher
) -> None:
    for size in (1_025, 10_240):
        pw = "correct horse battery staple " * (size // 29 + 1)
        response = open_and_post(client, token, registration(password=pw[:size]))
        assert response.status_code == 400 and "at most 1024 characters" in response.text
    assert argon_counter.hashes == 0
    assert accounts(web_services) == []


def test_weak_password_says_why_and_keeps_the_link(
    client: TestClient, web_services: Services, token: str
) -> None:
    for password, reason in (
        ("short words", "at least 15 characters (you have 11)"),
        ("password1234567890", "easy to guess"),
        ("Annie OBrien 1985-03-04", "built from your name, date of birth"),
        ("cedar counseling 1985", "built from your name, date of birth"),
    ):
        response = open_and_post(client, token, registration(password=password))
        assert response.status_code == 400, password
        assert reason in text(response), password
        assert "password-error" in described_by(response.text, "password")
    assert invitation_of(web_services).state == "live"
    assert invitation_of(web_services).failed_attempts == 0


def test_a_weak_password_after_wrong_details_says_nothing_about_attempts(
    client: TestClient, web_services: Services, token: str
) -> None:
    """Issue 11: a weak password uses no attempt, so its answer shows no attempts count, even
    after wrong details used some; only a wrong-details answer shows it."""
    wrong = open_and_post(client, token, registration(dob="1990-01-01"))
    assert "4 attempts left" in text(wrong) and "locks after 5" in text(wrong)
    weak = open_and_post(client, token, registration(password="short words"))
    assert weak.status_code == 400 and "at least 15 characters" in text(weak)
    assert "attempts left" not in text(weak) and "locks after" not in text(weak)
    mismatch = open_and_post(client, token, registration(confirm="something else entirely"))
    assert "attempts left" not in text(mismatch)
    assert "attempts left" not in text(client.get(f"/register/{token}"))
    assert invitation_of(web_services).failed_attempts == 1


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert('x')</script>",
        '"><img src=x onerror=alert(1)>',
        "' OR 1=1 --",
        "Robert'); DROP TABLE chart;--",
        "{{ 7*7 }}",
        "Ｏ’Ｂｒｉｅｎ ☃ 𝒪",
    ],
)
def test_injection_strings_are_just_wrong_details(
    client: TestClient, web_services: Services, token: str, hostile: str
) -> None:
    response = open_and_post(client, token, registration(last_name=hostile))
    assert response.status_code == 400
    assert "doesn't match the practice's records" in text(response)
    shown = re.search(r'<input id="last_name"[^>]*value="([^"]*)"', response.text)
    assert shown and htmllib.unescape(shown.group(1)) == hostile  # shown back literally
    assert "<script>alert" not in response.text and "<img src=x" not in response.text
    # No template evaluation anywhere on the page ({{ 7*7 }} → 49). The hidden CSRF token is left
    # out: it is random, and a "49" between its letters made this check fail now and then.
    visible = re.sub(r'<input type="hidden"[^>]*>', "", response.text)
    assert "49" not in re.sub(r"[^0-9]", " ", visible).split()
    assert invitation_of(web_services).failed_attempts == 1
    assert web_services.views.chart(CHART).last_name == "O'Brien"


def test_the_typed_name_is_shown_back_literally(client: TestClient, token: str) -> None:
    response = open_and_post(client, token, registration(last_name="<b>Smith</b> & Sons"))
    assert 'value="&lt;b&gt;Smith&lt;/b&gt; &amp; Sons"' in response.text


@pytest.mark.parametrize(
    ("on_chart", "typed", "matches"),
    [
        ("O'Brien", "O’Brien", True),
        ("O’Brien", "o'brien", True),
        ("García", "GARCÍA", True),
        ("García", "Garcia", True),  # SECURITY.md R3: accents fold (phones, US keyboards)
        ("García", "Garza", False),
        ("Ng", "Ng   ", True),
        ("Ng", "  nG", True),
        ("Smith-Jones", "Smith‐Jones", True),
        ("Smith-Jones", "smith – jones", True),
        ("van der Berg", "Van  Der   Berg", True),
        ("Yıldız", "Yildiz", True),
        ("Yıldız", "YILDIZ", True),
        ("Müller", "Muller", True),
        ("Müller", "Mueller", False),
        ("Ｏ'Brien", "O'Brien", True),
    ],
)
def test_identity_normalisation(
    client: TestClient,
    web_services: Services,
    clock: FrozenClock,
    on_chart: str,
    typed: str,
    matches: bool,
) -> None:
    web_services.charts.add_chart(
        ChartInput("N-1", "Sam", on_chart, "1990-05-06", "sam@example.com")
    )
    web_services.invitations.send_invitation("N-1")
    response = open_and_post(
        client, latest_token(web_services), registration(last_name=typed, dob="1990-05-06")
    )
    if matches:
        assert response.status_code == 200 and "Your account is ready" in response.text
    else:
        assert response.status_code == 400 and "doesn't match" in text(response)


def test_a_matching_name_on_another_chart_never_passes(
    client: TestClient, web_services: Services, token: str
) -> None:
    web_services.charts.add_chart(ChartInput("C-2", "Bo", "Lee", "2001-02-03", "bo@example.com"))
    response = open_and_post(client, token, registration(last_name="Lee", dob="2001-02-03"))
    assert response.status_code == 400
    assert accounts(web_services) == []


def test_date_of_birth_is_compared_to_the_chart(
    client: TestClient, web_services: Services, token: str
) -> None:
    response = open_and_post(client, token, registration(dob=DOB.replace("1985", "1986")))
    assert response.status_code == 400
    assert invitation_of(web_services).failed_attempts == 1
