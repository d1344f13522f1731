"""CSRF: synchronizer tokens on every POST, plus Origin / Sec-Fetch-Site checks."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from frontdesk.services import Services
from store.models import Invitation, PortalAccount, ServerSecret
from tests.web.conftest import EMAIL, PASSWORD, csrf_of, make_client, registration, sign_in


def failed_attempts(services: Services) -> int:
    with services.db.read() as session:
        return sum(i.failed_attempts for i in session.exec(select(Invitation)))


def no_account(services: Services) -> bool:
    with services.db.read() as session:
        return session.exec(select(PortalAccount)).first() is None


def tampered(value: str) -> str:
    return value[:-1] + ("A" if value[-1] != "A" else "B")


@pytest.mark.parametrize(
    "case", ["missing", "empty", "wrong", "tampered", "other browser", "no cookie"]
)
def test_registration_post_needs_this_browsers_token(
    client: TestClient, web_services: Services, token: str, case: str
) -> None:
    form_token = csrf_of(client.get(f"/register/{token}").text)
    data = {**registration(dob="1990-01-01"), "csrf_token": form_token}
    if case == "missing":
        del data["csrf_token"]
    elif case == "empty":
        data["csrf_token"] = ""
    elif case == "wrong":
        data["csrf_token"] = "not-the-token"
    elif case == "tampered":
        data["csrf_token"] = tampered(form_token)
    elif case == "other browser":
        with make_client(web_services) as other:
            data["csrf_token"] = csrf_of(other.get(f"/register/{token}").text)
    elif case == "no cookie":
        client.cookies.clear()
    response = client.post(f"/register/{token}", data=data)
    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert failed_attempts(web_services) == 0  # nothing was checked, nothing counted
    # With this browser's token the same post is processed (and counted).
    if case != "no cookie":
        data["csrf_token"] = form_token
        assert client.post(f"/register/{token}", data=data).status_code == 400
        assert failed_attempts(web_services) == 1


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({"Origin": "https://evil.example"}, False),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, False),
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, True),  # what Chromium sends
        ({"Origin": "null"}, True),  # no-referrer pages in browsers without Fetch Metadata
        ({"Origin": "http://127.0.0.1:8081"}, False),
        ({"Origin": "https://127.0.0.1:8080"}, False),
        ({"Sec-Fetch-Site": "cross-site"}, False),
        ({"Sec-Fetch-Site": "same-site"}, False),
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://127.0.0.1:8080"}, False),
        ({"Origin": "http://127.0.0.1:8080"}, True),
        ({"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, True),
        ({"Sec-Fetch-Site": "none"}, True),
        ({}, True),
    ],
)
def test_cross_site_posts_are_refused_even_with_a_valid_token(
    client: TestClient,
    web_services: Services,
    token: str,
    headers: dict[str, str],
    allowed: bool,
) -> None:
    form_token = csrf_of(client.get(f"/register/{token}").text)
    response = client.post(
        f"/register/{token}",
        data={**registration(), "csrf_token": form_token},
        headers=headers,
    )
    if allowed:
        assert response.status_code == 200 and "Your account is ready" in response.text
    else:
        assert response.status_code == 403
        assert no_account(web_services)


def test_cross_site_sign_in_and_sign_out_are_refused(
    client: TestClient, registered: Services
) -> None:
    form_token = csrf_of(client.get("/login").text)
    data = {"csrf_token": form_token, "email": EMAIL, "password": PASSWORD}
    refused = client.post(
        "/login", data=data, headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    assert refused.status_code == 403 and "set-cookie" not in refused.headers
    assert client.post("/login", data={**data, "csrf_token": "x"}).status_code == 403
    assert sign_in(client).status_code == 303
    portal = client.get("/portal")
    logout = client.post(
        "/logout",
        data={"csrf_token": csrf_of(portal.text)},
        headers={"Sec-Fetch-Site": "cross-site"},
        follow_redirects=False,
    )
    assert logout.status_code == 403
    assert client.get("/portal", follow_redirects=False).status_code == 200


def test_the_signing_key_is_shared_by_every_process_of_the_database(
    client: TestClient, web_services: Services, token: str
) -> None:
    form_token = csrf_of(client.get(f"/register/{token}").text)
    with web_services.db.read() as session:
        (secret,) = session.exec(select(ServerSecret)).all()
    assert len(bytes.fromhex(secret.value)) == 32
    with make_client(web_services) as second_process:  # a second app on the same database
        second_process.cookies.update(client.cookies)
        response = second_process.post(
            f"/register/{token}", data={**registration(), "csrf_token": form_token}
        )
    assert response.status_code == 200


def test_each_visitor_of_the_sign_in_page_gets_their_own_token(registered: Services) -> None:
    """The blank sign-in form is rendered once and reused: only the token differs between
    visitors, each one valid for its own browser only; notices still show."""
    with make_client(registered) as first, make_client(registered) as second:
        one, two = first.get("/login"), second.get("/login")
        assert one.status_code == two.status_code == 200
        token_one, token_two = csrf_of(one.text), csrf_of(two.text)
        assert token_one != token_two
        assert one.text.replace(token_one, "T") == two.text.replace(token_two, "T")
        assert "You have signed out." in first.get("/login?m=signed_out").text
        assert "You have signed out." not in first.get("/login").text
        fields = {"email": EMAIL, "password": PASSWORD, "csrf_token": token_two}
        assert first.post("/login", data=fields).status_code == 403  # not this browser's
        fields["csrf_token"] = token_one
        assert first.post("/login", data=fields, follow_redirects=False).status_code == 303
