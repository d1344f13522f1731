"""Getting back in: "Forgot your password?" (`/forgot`) and the emailed `/reset/<token>` link,
every path (SQLite): who gets a link and who never learns anything, the throttles, every link
state, wrong dates of birth, weak passwords, wrong-purpose tokens, CSRF, headers, the log."""

from __future__ import annotations

import html as htmllib
import logging
import re
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import col, select
from starlette.testclient import TestClient

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from frontdesk.web.security import RedactFilter, redact
from store.models import AuditEvent, OutboxEmail, PasswordReset, PortalAccount, PortalSession
from tests.web.conftest import (
    CHART,
    DOB,
    EMAIL,
    PASSWORD,
    csrf_of,
    latest_token,
    live_server,
    make_client,
    open_and_post,
    registration,
    reset_token,
    sign_in,
    wait_for_reset_token,
)
from tests.web.test_headers import assert_secure_headers

NEW_PASSWORD = "violet harbor sunrise kettle"
PHONE = "(555) 010-0100"
ANSWER = "If {email} belongs to a Client Portal account, we have sent a link"


def text(response: object) -> str:
    """The page as a person reads it (tags dropped, entities decoded, spaces collapsed)."""
    plain = re.sub(r"<[^>]+>", " ", response.text)  # type: ignore[attr-defined]
    return " ".join(htmllib.unescape(plain).split())


def forgot(client: TestClient, email: str, **kwargs: object) -> object:
    """GET /forgot (its CSRF token and pre-session cookie), then POST the email."""
    page = client.get("/forgot")
    assert page.status_code == 200, page.text
    return client.post("/forgot", data={"csrf_token": csrf_of(page.text), "email": email}, **kwargs)


def reset_fields(
    dob: str = DOB, password: str = NEW_PASSWORD, confirm: str | None = None
) -> dict[str, str]:
    return {
        "date_of_birth": dob,
        "password": password,
        "password_confirm": password if confirm is None else confirm,
    }


def open_and_reset(client: TestClient, token: str, fields: dict[str, str], **kwargs: object):
    page = client.get(f"/reset/{token}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/reset/{token}", data={"csrf_token": csrf_of(page.text), **fields}, **kwargs
    )


def reset_emails(services: Services) -> list[OutboxEmail]:
    with services.db.read() as session:
        return list(
            session.exec(
                select(OutboxEmail)
                .where(OutboxEmail.kind == "password_reset")
                .order_by(col(OutboxEmail.id))
            ).all()
        )


def kinds(services: Services) -> list[str]:
    with services.db.read() as session:
        return [r.kind for r in session.exec(select(OutboxEmail).order_by(col(OutboxEmail.id)))]


def the_reset(services: Services) -> PasswordReset:
    with services.db.read() as session:
        row = session.exec(select(PasswordReset).order_by(col(PasswordReset.id).desc())).first()
    assert row is not None
    return row


def audit_actions(services: Services) -> list[str]:
    with services.db.read() as session:
        return [r.action for r in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]


def snapshot(services: Services) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a reset link could change."""
    tables = (PasswordReset, PortalAccount, PortalSession, AuditEvent, OutboxEmail)
    with services.db.read() as session:
        return {
            t.__tablename__: [tuple(r) for r in session.execute(sa.select(t)).all()]  # type: ignore[attr-defined]
            for t in tables
        }


def asked(client: TestClient, services: Services) -> str:
    """Ask for a link for the registered owner; the token emailed."""
    response = forgot(client, EMAIL)
    assert response.status_code == 200  # type: ignore[attr-defined]
    return reset_token(services)


# ------------------------------------------------------------------------------------------
# Asking for a link: the same answer, whoever asks
# ------------------------------------------------------------------------------------------


def test_sign_in_page_links_to_forgot(client: TestClient) -> None:
    page = client.get("/login")
    assert '<a href="http://127.0.0.1:8080/forgot">Forgot your password?</a>' in page.text
    form = client.get("/forgot")
    assert form.status_code == 200
    assert "Forgot your password?" in text(form)
    assert 'name="csrf_token"' in form.text and 'name="email"' in form.text
    assert 'autocomplete="username"' in form.text
    assert_secure_headers(form, where="GET /forgot")


def test_a_registered_account_gets_a_link(client: TestClient, registered: Services) -> None:
    response = forgot(client, EMAIL)
    assert response.status_code == 200
    assert ANSWER.format(email=EMAIL) in text(response)
    assert "spam or junk" in text(response) and PHONE in text(response)
    assert_secure_headers(response, where="POST /forgot")
    emails = reset_emails(registered)
    assert [e.to_address for e in emails] == [EMAIL]
    assert f"/reset/{reset_token(registered)}" in emails[0].body_text
    assert "password reset sent" in audit_actions(registered)


def _answer_shape(response: object, email: str) -> tuple[int, str, list[tuple[str, str]]]:
    """Status, body (the typed email taken out) and headers of an answer."""
    headers = sorted(
        (k, v)
        for k, v in response.headers.items()  # type: ignore[attr-defined]
        if k not in ("date", "content-length")
    )
    body = response.text.replace(email, "EMAIL")  # type: ignore[attr-defined]
    return response.status_code, body, headers  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["unknown email", "pending invitation", "revoked account"])
def test_the_answer_is_the_same_and_nothing_is_sent(registered: Services, case: str) -> None:
    services = registered
    reference = "ANA@example.com"  # the registered account (as typed): it gets a link
    if case == "pending invitation":  # a second chart, invited, never registered
        services.charts.add_chart(ChartInput("C-2", "Bo", "Lee", "2001-02-03", "bo@example.com"))
        services.invitations.send_invitation("C-2")
        email = "bo@example.com"
    elif case == "revoked account":
        services.invitations.revoke_access(CHART)
        email, reference = EMAIL, "nobody@example.com"
    else:
        email = "nobody@example.com"
    with make_client(services) as reference_client, make_client(services) as other_client:
        expected = forgot(reference_client, reference)
        sent = len(reset_emails(services))
        assert sent == (0 if case == "revoked account" else 1)
        other = forgot(other_client, email)
        assert ANSWER.format(email=email) in text(other)
        assert _answer_shape(other, email) == _answer_shape(expected, reference)
    assert len(reset_emails(services)) == sent  # nothing for this one


def test_letter_case_and_spaces_in_the_email_do_not_matter(
    client: TestClient, registered: Services
) -> None:
    forgot(client, "  Ana@Example.COM ")
    assert [e.to_address for e in reset_emails(registered)] == [EMAIL]


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("", "Enter your email address."),
        ("   ", "Enter your email address."),
        ("not an email", "Enter your email address in the right format"),
        ("ana@", "Enter your email address in the right format"),
        ("ana\x1b@example.com", "contains a character that isn't allowed"),
        ("a" * 321, "too long"),
    ],
)
def test_a_bad_email_is_named_at_the_field(
    client: TestClient, registered: Services, typed: str, words: str
) -> None:
    response = forgot(client, typed)
    assert response.status_code == 400
    assert words in text(response)
    assert 'aria-invalid="true"' in response.text and 'role="alert"' in response.text
    assert 'href="#email"' in response.text
    assert reset_emails(registered) == []


def test_forgot_without_csrf_is_the_form_expired_page(
    client: TestClient, registered: Services
) -> None:
    client.get("/forgot")  # the pre-session cookie, but no token in the form
    missing = client.post("/forgot", data={"email": EMAIL})
    assert missing.status_code == 403 and "This form has expired" in text(missing)
    wrong = client.post("/forgot", data={"email": EMAIL, "csrf_token": "A" * 43})
    assert wrong.status_code == 403
    page = client.get("/forgot")
    cross = client.post(
        "/forgot",
        data={"email": EMAIL, "csrf_token": csrf_of(page.text)},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert cross.status_code == 403 and "This form has expired" in text(cross)
    assert reset_emails(registered) == []


def test_three_links_an_hour_per_account_then_the_same_answer(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    answers = []
    for _ in range(4):
        answers.append(text(forgot(client, EMAIL)))
        clock.advance(60)
    assert len(set(answers)) == 1 and ANSWER.format(email=EMAIL) in answers[0]
    assert len(reset_emails(registered)) == 3  # the fourth was refused, silently
    assert "password reset refused" in audit_actions(registered)
    clock.advance(hours=1)
    forgot(client, EMAIL)
    assert len(reset_emails(registered)) == 4


def test_twenty_requests_an_hour_per_address_then_the_same_answer(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    for n in range(20):
        response = forgot(client, f"someone.{n}@example.com")
        assert response.status_code == 200
    throttled = forgot(client, EMAIL)  # the 21st from this address: a real account
    assert throttled.status_code == 200
    assert ANSWER.format(email=EMAIL) in text(throttled)
    assert reset_emails(registered) == []
    assert audit_actions(registered).count("password reset refused") == 1
    clock.advance(3601)
    forgot(client, EMAIL)
    assert len(reset_emails(registered)) == 1


def test_the_answer_goes_out_before_the_work(sqlite_url: str, clock: FrozenClock) -> None:
    """A real server: the answer arrives while the reset work is still held back."""
    with live_server(sqlite_url, clock) as live:
        services = live.services
        services.practice.update_practice(name="Cedar Counseling", portal_active=True)
        gate, done = threading.Event(), threading.Event()
        calls: list[tuple[str, str]] = []
        real = services.resets.request

        def held_back(email: str, *, client_address: str) -> None:
            assert gate.wait(20)
            calls.append((email, client_address))
            real(email, client_address=client_address)
            done.set()

        services.resets.request = held_back  # type: ignore[method-assign]
        with live.client() as browser:
            page = browser.get("/forgot")
            answer = browser.post(
                "/forgot", data={"csrf_token": csrf_of(page.text), "email": EMAIL}
            )
            assert answer.status_code == 200 and "Check your email" in answer.text
            assert calls == []  # answered, the work not yet done
            gate.set()
            assert done.wait(20)
        assert calls == [(EMAIL, "127.0.0.1")]


# ------------------------------------------------------------------------------------------
# The link: opening it changes nothing; the form; every state
# ------------------------------------------------------------------------------------------


def test_opening_the_link_changes_nothing(client: TestClient, registered: Services) -> None:
    token = asked(client, registered)
    before = snapshot(registered)
    scanner = make_client(registered, cookies={})
    for _ in range(3):
        assert (
            scanner.get(f"/reset/{token}", headers={"user-agent": "LinkScanner"}).status_code == 200
        )
    assert scanner.head(f"/reset/{token}").status_code == 200
    assert snapshot(registered) == before
    page = client.get(f"/reset/{token}")
    assert page.status_code == 200
    assert "Choose a new password" in text(page)
    assert 'autocomplete="bday"' in page.text and 'autocomplete="new-password"' in page.text
    assert "attempts left" not in text(page)
    assert "The client's date of birth" not in text(page)
    assert_secure_headers(page, where="GET /reset/<token>")


def test_a_guardian_is_asked_for_the_clients_date_of_birth(
    client: TestClient, web_services: Services
) -> None:
    services = web_services
    services.invitations.change_owner(
        CHART, new_contact=ContactInput("Maria O'Brien", "Mother", "maria@example.com"), invite=True
    )
    invitation = latest_token(services)
    form = client.get(f"/register/{invitation}")
    assert "The client's last name" in text(form) and "The client's date of birth" in text(form)
    assert "not your own" in text(form)
    assert len(re.findall(r'autocomplete="off"', form.text)) == 2
    assert 'autocomplete="family-name"' not in form.text and 'autocomplete="bday"' not in form.text
    assert open_and_post(client, invitation, registration()).status_code == 200
    forgot(client, "maria@example.com")
    token = reset_token(services, "maria@example.com")
    page = client.get(f"/reset/{token}")
    assert "The client's date of birth" in text(page) and "not your own" in text(page)
    assert re.search(r'<input id="date_of_birth"[^>]*autocomplete="off"', page.text)
    empty = client.post(
        f"/reset/{token}", data={"csrf_token": csrf_of(page.text), **reset_fields(dob="")}
    )
    assert "Enter the client's date of birth." in text(empty)
    done = client.post(
        f"/reset/{token}",
        data={"csrf_token": csrf_of(page.text), **reset_fields()},
        follow_redirects=False,
    )
    assert done.status_code == 303


def test_a_client_owner_sees_no_guardian_words(client: TestClient, web_services: Services) -> None:
    form = client.get(f"/register/{latest_token(web_services)}")
    assert "The client's last name" not in text(form)
    assert 'autocomplete="family-name"' in form.text and 'autocomplete="bday"' in form.text


def test_a_new_password_ends_every_session_and_asks_to_sign_in(
    registered: Services, clock: FrozenClock
) -> None:
    with make_client(registered) as before, make_client(registered) as reset_browser:
        assert sign_in(before).status_code == 303
        assert before.get("/portal").status_code == 200
        token = asked(reset_browser, registered)
        done = open_and_reset(reset_browser, token, reset_fields(), follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"] == "http://127.0.0.1:8080/login?m=password_changed"
        assert "fd_session=" not in done.headers.get("set-cookie", "")  # no automatic sign-in
        assert_secure_headers(done, where="POST /reset/<token> done")
        login = reset_browser.get(done.headers["location"])
        assert "Your password was changed. Sign in with the new password." in text(login)
        assert reset_browser.get("/portal", follow_redirects=False).status_code == 303

        # The session from before the reset is dead: its next request goes to sign-in.
        old = before.get("/portal", follow_redirects=False)
        assert old.status_code == 303 and old.headers["location"].endswith("/login?m=ended")

        assert sign_in(reset_browser, EMAIL, PASSWORD).status_code == 400  # the old one fails
        clock.advance(1)  # the sign-in throttle's first delay
        assert sign_in(reset_browser, EMAIL, NEW_PASSWORD).status_code == 303
    assert kinds(registered).count("password_changed") == 1
    assert "password reset" in audit_actions(registered)
    assert the_reset(registered).state == "used"


def test_a_used_link_says_so(client: TestClient, registered: Services) -> None:
    token = asked(client, registered)
    page = client.get(f"/reset/{token}")
    fields = {"csrf_token": csrf_of(page.text), **reset_fields()}
    assert client.post(f"/reset/{token}", data=fields, follow_redirects=False).status_code == 303
    again = client.get(f"/reset/{token}")
    assert again.status_code == 410 and "This link has already been used" in text(again)
    replay = client.post(f"/reset/{token}", data=fields, follow_redirects=False)
    assert replay.status_code == 410 and "already been used" in text(replay)
    assert 'href="http://127.0.0.1:8080/login"' in again.text
    assert kinds(registered).count("password_changed") == 1


def test_an_expired_link_asks_again_from_the_sign_in_page(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    token = asked(client, registered)
    page = client.get(f"/reset/{token}")
    clock.advance(59 * 60 + 59)
    assert client.get(f"/reset/{token}").status_code == 200
    clock.advance(2)
    expired = client.get(f"/reset/{token}")
    assert expired.status_code == 410 and "This link has expired" in text(expired)
    assert "Forgot your password?" in text(expired)
    assert 'href="http://127.0.0.1:8080/forgot"' in expired.text
    posted = client.post(
        f"/reset/{token}", data={"csrf_token": csrf_of(page.text), **reset_fields()}
    )
    assert posted.status_code == 410 and "This link has expired" in text(posted)
    assert sign_in(client, EMAIL, PASSWORD).status_code == 303  # the password is unchanged


def test_a_newer_link_replaces_the_older(
    client: TestClient, registered: Services, clock: FrozenClock
) -> None:
    first = asked(client, registered)
    clock.advance(60)
    second = asked(client, registered)
    assert first != second
    old = client.get(f"/reset/{first}")
    assert old.status_code == 410 and "A newer link was sent to you" in text(old)
    assert client.get(f"/reset/{second}").status_code == 200


def test_five_wrong_dates_of_birth_kill_the_link(client: TestClient, registered: Services) -> None:
    token = asked(client, registered)
    page = client.get(f"/reset/{token}")
    form = {"csrf_token": csrf_of(page.text)}
    answers = []
    for n in range(4):
        response = client.post(
            f"/reset/{token}", data={**form, **reset_fields(dob="1990-01-0" + str(n + 1))}
        )
        assert response.status_code == 400
        assert "The date of birth doesn't match the practice's records" in text(response)
        left = 4 - n
        assert f"{left} {'attempt' if left == 1 else 'attempts'} left" in text(response)
        assert re.search(r'<input id="date_of_birth"[^>]*aria-invalid="true"', response.text)
        answers.append(re.sub(r"\d attempts? left|1990-01-0\d", "", response.text))
    assert len(set(answers)) == 1  # one generic answer
    fifth = client.post(f"/reset/{token}", data={**form, **reset_fields(dob="1990-02-02")})
    assert fifth.status_code == 403 and "This link no longer works" in text(fifth)
    assert PHONE in text(fifth) and 'href="tel:5550100100"' in fifth.text
    right = client.post(f"/reset/{token}", data={**form, **reset_fields()})
    assert right.status_code == 403 and "no longer works" in text(right)
    assert client.get(f"/reset/{token}").status_code == 403
    assert "password reset lockout" in audit_actions(registered)
    assert sign_in(client, EMAIL, PASSWORD).status_code == 303  # unchanged


def test_a_weak_password_uses_no_attempt_and_counts_none(
    client: TestClient, registered: Services
) -> None:
    token = asked(client, registered)
    wrong = open_and_reset(client, token, reset_fields(dob="1990-01-01"))
    assert "4 attempts left" in text(wrong)
    weak = client.post(
        f"/reset/{token}",
        data={"csrf_token": csrf_of(wrong.text), **reset_fields(password="password")},
    )
    assert weak.status_code == 400
    assert "attempts left" not in text(weak) and "attempt" not in text(weak).lower()
    assert re.search(r'<p class="error-message" id="password-error">', weak.text)
    assert NEW_PASSWORD not in weak.text and "password" not in re.findall(
        r'value="([^"]*)"', weak.text
    )
    assert the_reset(registered).failed_attempts == 1  # the weak password counted nothing
    named = client.post(
        f"/reset/{token}",
        data={"csrf_token": csrf_of(wrong.text), **reset_fields(password="Ana OBrien 1985-03-04")},
    )
    assert named.status_code == 400 and "attempt" not in text(named).lower()


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (reset_fields(dob=""), "date_of_birth", "Enter your date of birth."),
        (reset_fields(dob="04/03/1985"), "date_of_birth", "Enter your date of birth as YYYY-MM-DD"),
        (reset_fields(dob="1985-02-30"), "date_of_birth", "as YYYY-MM-DD"),
        (reset_fields(confirm="something else entirely"), "password_confirm", "do not match"),
        (reset_fields(password="", confirm=""), "password", "Enter your new password."),
        (reset_fields(dob="1985\x00-03-04"), "date_of_birth", "isn't allowed"),
    ],
)
def test_form_problems_are_named_at_the_field_and_use_no_attempt(
    client: TestClient, registered: Services, fields: dict[str, str], field: str, words: str
) -> None:
    token = asked(client, registered)
    response = open_and_reset(client, token, fields)
    assert response.status_code == 400
    assert words in text(response)
    assert re.search(rf'<input id="{field}"[^>]*aria-invalid="true"', response.text)
    assert f'href="#{field}"' in response.text
    assert "attempt" not in text(response).lower()
    assert the_reset(registered).failed_attempts == 0


def test_revoked_access_kills_the_link(client: TestClient, registered: Services) -> None:
    token = asked(client, registered)
    page = client.get(f"/reset/{token}")
    registered.invitations.revoke_access(CHART)
    posted = client.post(
        f"/reset/{token}", data={"csrf_token": csrf_of(page.text), **reset_fields()}
    )
    assert posted.status_code == 403 and "This link no longer works" in text(posted)
    assert "access to the portal has ended" in text(posted)
    assert client.get(f"/reset/{token}").status_code == 403


def test_an_unknown_link(client: TestClient, registered: Services) -> None:
    for path in ("/reset/" + "A" * 43, "/reset/short", "/reset/a/b", "/reset/"):
        page = client.get(path)
        assert page.status_code == 404, path
        assert "We can't find this link" in text(page) or "Page not found" in text(page)
    unknown = client.get("/reset/" + "A" * 43)
    assert "We can't find this link" in text(unknown) and PHONE in text(unknown)


def test_tokens_are_bound_to_their_purpose(client: TestClient, web_services: Services) -> None:
    """SECURITY.md T7 / CVE-2023-48220: an invitation token never works at /reset/, nor a
    reset token at /register/; a reset request never activates a pending invitation."""
    invitation = latest_token(web_services)
    at_reset = client.get(f"/reset/{invitation}")
    assert at_reset.status_code == 404 and "We can't find this link" in text(at_reset)
    csrf = csrf_of(client.get("/forgot").text)
    posted = client.post(f"/reset/{invitation}", data={"csrf_token": csrf, **reset_fields()})
    assert posted.status_code == 404
    forgot(client, EMAIL)  # the invited (not registered) owner: nothing
    assert reset_emails(web_services) == []
    assert web_services.views.chart(CHART).status.label == "Invited"

    assert open_and_post(client, invitation, registration()).status_code == 200
    token = asked(client, web_services)
    at_register = client.get(f"/register/{token}")
    assert at_register.status_code == 404 and "We can't find this link" in text(at_register)
    assert client.get(f"/reset/{token}").status_code == 200


def test_reset_without_csrf_is_refused_and_counts_nothing(
    client: TestClient, registered: Services
) -> None:
    token = asked(client, registered)
    client.get(f"/reset/{token}")
    missing = client.post(f"/reset/{token}", data=reset_fields(dob="1990-01-01"))
    assert missing.status_code == 403 and "This form has expired" in text(missing)
    cross = client.post(
        f"/reset/{token}",
        data={"csrf_token": csrf_of(client.get(f"/reset/{token}").text), **reset_fields()},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert cross.status_code == 403
    assert the_reset(registered).failed_attempts == 0 and the_reset(registered).state == "live"
    assert sign_in(client, EMAIL, PASSWORD).status_code == 303


def test_headers_on_every_reset_page(client: TestClient, registered: Services) -> None:
    token = asked(client, registered)
    responses = {
        "forgot": client.get("/forgot"),
        "forgot head": client.head("/forgot"),
        "reset form": client.get(f"/reset/{token}"),
        "reset head": client.head(f"/reset/{token}"),
        "wrong date": open_and_reset(client, token, reset_fields(dob="1990-01-01")),
        "unknown link": client.get("/reset/" + "A" * 43),
        "csrf": client.post(f"/reset/{token}", data=reset_fields()),
        "forgot csrf": client.post("/forgot", data={"email": EMAIL}),
    }
    for name, response in responses.items():
        assert_secure_headers(response, where=name)


# ------------------------------------------------------------------------------------------
# The token never reaches a log
# ------------------------------------------------------------------------------------------


def test_redaction_covers_reset_paths() -> None:
    token = "Ab3_-" + "x" * 38
    line = f'127.0.0.1:5 - "GET /reset/{token} HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1:5 - "GET /reset/[redacted] HTTP/1.1" 200'
    assert redact(f"POST /reset/{token[:10]}?x=1") == "POST /reset/[redacted]?x=1"
    record = logging.LogRecord(
        "uvicorn.access", 20, "", 0, "%s %s", ("GET", f"/reset/{token}"), None
    )
    RedactFilter().filter(record)
    assert token not in record.getMessage() and "/reset/[redacted]" in record.getMessage()


def test_a_reset_on_a_real_server_logs_no_token(
    sqlite_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture, capfd
) -> None:
    caplog.set_level(logging.DEBUG)
    access = logging.getLogger("uvicorn.access")
    with live_server(sqlite_url, clock) as live:
        access.addHandler(caplog.handler)
        try:
            services = live.services
            services.practice.update_practice(name="Cedar Counseling", portal_active=True)
            services.charts.add_chart(ChartInput(CHART, "Ana", "O'Brien", DOB, EMAIL))
            services.invitations.send_invitation(CHART)
            with live.client() as browser:
                assert (
                    open_and_post(browser, latest_token(services), registration()).status_code
                    == 200
                )
                assert forgot(browser, EMAIL).status_code == 200
                token = wait_for_reset_token(services)
                assert browser.head(f"/reset/{token}").status_code == 200
                assert (
                    open_and_reset(browser, token, reset_fields(dob="1990-01-01")).status_code
                    == 400
                )
                done = open_and_reset(browser, token, reset_fields())
                assert done.status_code == 200 and "Your password was changed" in done.text
        finally:
            access.removeHandler(caplog.handler)
    logged = "\n".join(
        [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
        + list(capfd.readouterr())
    )
    assert "/reset/[redacted]" in logged
    assert token not in logged and token[:8] not in logged
    assert NEW_PASSWORD not in logged
