"""Headers on every response, trusted hosts, links from the configured URL, error pages."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.testclient import TestClient

from frontdesk.services import Services
from frontdesk.web.security import CONTENT_SECURITY_POLICY
from store.db import StoreUnavailable
from tests.web.conftest import csrf_of, make_client, registration, sign_in

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)


def assert_secure_headers(response: object, *, cacheable: bool = False, where: str = "") -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers.get("content-security-policy") == CSP, where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    if cacheable:
        assert "no-store" not in headers["cache-control"], where
    else:
        assert headers.get("cache-control") == "no-store", where


def test_the_policy_constant_is_the_documented_one() -> None:
    assert CONTENT_SECURITY_POLICY == CSP


def test_headers_on_every_route_and_state(client: TestClient, registered: Services, clock) -> None:
    responses = {
        "used link": client.get("/register/" + "A" * 43),
        "unknown link": client.get("/register/nope"),
        "login": client.get("/login"),
        "login head": client.head("/login"),
        "portal signed out": client.get("/portal", follow_redirects=False),
        "home": client.get("/", follow_redirects=False),
        "healthz": client.get("/healthz"),
        "not found": client.get("/nope"),
        "method not allowed": client.put("/login"),
        "bad form": client.post("/login", content=b"x", headers={"content-type": "text/plain"}),
        "csrf": client.post("/login", data={"email": "a"}),
        "failed sign-in": sign_in(client, password="wrong password entirely"),
    }
    clock.advance(10)
    responses["sign-in"] = sign_in(client)
    responses["portal"] = client.get("/portal")
    responses["logout"] = client.post(
        "/logout", data={"csrf_token": csrf_of(responses["portal"].text)}, follow_redirects=False
    )
    responses["bad host"] = client.get("/login", headers={"host": "evil.example"})
    for name, response in responses.items():
        assert_secure_headers(response, where=name)
    assert responses["method not allowed"].status_code == 405
    assert responses["bad host"].status_code == 400
    css = client.get("/static/portal.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert_secure_headers(css, cacheable=True)


def test_pages_have_no_script_and_one_stylesheet(client: TestClient, token: str) -> None:
    for page in (client.get(f"/register/{token}"), client.get("/login")):
        html = page.text.lower()
        assert "<script" not in html and "javascript:" not in html and "style=" not in html
        assert not re.search(r"\son[a-z]+\s*=", html)  # no inline event handlers
        assert html.count('rel="stylesheet"') == 1


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "example.com:8080"])
def test_unknown_hosts_are_refused(client: TestClient, token: str, host: str) -> None:
    response = client.get(f"/register/{token}", headers={"host": host})
    assert response.status_code == 400


def test_links_come_from_the_configured_url_never_the_request(
    client: TestClient, token: str
) -> None:
    evil = {
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "Forwarded": "host=evil.example",
    }
    for host in ("127.0.0.1:8080", "localhost:8080", "127.0.0.1"):
        page = client.get("/login", headers={"host": host, **evil})
        assert page.status_code == 200
        assert "evil.example" not in page.text
        assert 'action="http://127.0.0.1:8080/login"' in page.text
        assert 'href="http://127.0.0.1:8080/static/portal.css?v=' in page.text
    redirect = client.get(
        "/portal", headers={"host": "localhost:8080", **evil}, follow_redirects=False
    )
    assert redirect.headers["location"] == "http://127.0.0.1:8080/login"


def test_an_unexpected_error_shows_a_generic_page_and_logs_no_details(
    web_services: Services, token: str, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    def broken(_token: str) -> None:
        raise RuntimeError("Ana O'Brien 1985-03-04 " + _token)

    monkeypatch.setattr(web_services.registration, "inspect_token", broken)
    caplog.set_level(logging.DEBUG)
    with make_client(web_services, raise_server_exceptions=True) as client:
        response = client.get(f"/register/{token}")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text
    assert "O'Brien" not in response.text and token not in response.text
    assert_secure_headers(response)
    incident = re.search(r"reference <span class=\"nowrap\">([0-9a-f]{8})<", response.text)
    assert incident
    # Everything the server side logged (httpx's lines are the test's own client).
    lines = [r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(lines)
    assert f"incident {incident.group(1)}: RuntimeError" in logged
    assert "/register/[redacted]" in logged
    for secret in (token, token[:8], "O'Brien", "1985-03-04"):
        assert secret not in logged
    assert not any(r.exc_info for r in caplog.records)


def test_database_down_shows_a_503_page(
    web_services: Services, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailable("Database error: connection refused")

    with make_client(web_services) as client:
        client.get("/login")
        monkeypatch.setattr(web_services.registration, "inspect_token", unavailable)
        monkeypatch.setattr(web_services.practice, "practice", unavailable)
        page = client.get(f"/register/{token}")
        health = client.get("/healthz")
    assert page.status_code == 503 and "briefly unavailable" in page.text
    assert "Cedar Counseling" in page.text  # the last known practice name, no database needed
    assert health.status_code == 503


def test_oversized_and_unreadable_forms(client: TestClient, token: str) -> None:
    page = client.get(f"/register/{token}")
    form = {**registration(), "csrf_token": csrf_of(page.text)}
    big = client.post(f"/register/{token}", data={**form, "last_name": "x" * 70_000})
    assert big.status_code == 413 and "too much text" in big.text
    assert_secure_headers(big)
    multipart = client.post(f"/register/{token}", files={"f": ("a.txt", b"x")}, data=form)
    assert multipart.status_code == 415
    bad_utf8 = client.post(
        f"/register/{token}",
        content=b"last_name=%ff%fe&csrf_token=" + form["csrf_token"].encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert bad_utf8.status_code == 400
    twice = client.post(
        f"/register/{token}",
        content=b"last_name=a&last_name=b",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert twice.status_code == 400
    many = client.post(
        f"/register/{token}",
        content="&".join(f"f{n}=x" for n in range(50)).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert many.status_code == 400


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok\n"
    assert client.head("/healthz").status_code == 200


# ------------------------------------------------------------------------------------------
# Driven by the route table, so a route added later is covered too
# ------------------------------------------------------------------------------------------


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, example path) for every route of the app."""
    from starlette.routing import Mount, Route

    found: list[tuple[str, str]] = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Mount):
            found.append(("GET", f"{route.path}/portal.css"))
        elif isinstance(route, Route):
            path = route.path.replace("{token:path}", "A" * 43)
            for method in sorted(route.methods or ()):
                found.append((method, path))
    assert len(found) >= 10
    return found


def test_headers_on_every_route_of_the_table(client: TestClient, registered: Services) -> None:
    sign_in(client)
    for method, path in _routes(client):
        response = client.request(method, path, follow_redirects=False)
        cacheable = path.startswith("/static/") or path == "/favicon.ico"
        assert_secure_headers(response, cacheable=cacheable, where=f"{method} {path}")


def _business_rows(services: Services) -> dict[str, list[tuple[object, ...]]]:
    import sqlalchemy as sa

    from store.models import AuditEvent, Invitation, OutboxEmail, PortalAccount

    with services.db.read() as session:
        return {
            table.__tablename__: [  # type: ignore[attr-defined]
                tuple(row) for row in session.execute(sa.select(table)).all()
            ]
            for table in (Invitation, PortalAccount, AuditEvent, OutboxEmail)
        }


def test_no_get_route_changes_anything(client: TestClient, web_services: Services) -> None:
    from tests.web.conftest import latest_token

    token = latest_token(web_services)
    client.get("/login")  # the CSRF signing key is made on first use
    before = _business_rows(web_services)
    for method, path in _routes(client):
        if method in ("GET", "HEAD"):
            client.request(method, path.replace("A" * 43, token))
    assert _business_rows(web_services) == before
    assert web_services.registration.inspect_token(token).state == "valid"


@pytest.mark.parametrize(
    ("error", "status", "heading"),
    [
        ("not_found", 404, "Page not found"),
        ("not_allowed", 403, "This page can&#39;t be used like that"),
        ("invalid", 400, "We couldn&#39;t read that form"),
        ("store_busy", 503, "The portal is briefly unavailable"),
    ],
)
def test_a_refusal_or_a_database_error_is_never_a_500(
    web_services: Services, error: str, status: int, heading: str
) -> None:
    """The web catches `FrontDeskError` and `StoreError` in one place (the ErrorShield): a
    route that lets one escape shows our page with a 4xx or 503, never its message."""
    from starlette.requests import Request
    from starlette.routing import Route

    from frontdesk.core.errors import InvalidInput, NotAllowed, NotFound
    from store.db import StoreBusy

    errors = {
        "not_found": NotFound("Chart C-1001 of Ana O'Brien"),
        "not_allowed": NotAllowed("Chart C-1001 of Ana O'Brien"),
        "invalid": InvalidInput("Chart C-1001 of Ana O'Brien", "last_name"),
        "store_busy": StoreBusy("Chart C-1001 of Ana O'Brien"),
    }

    async def failing(request: Request) -> None:
        raise errors[error]

    with make_client(web_services, raise_server_exceptions=True) as client:
        client.app.router.routes.append(Route("/_failing", failing))  # type: ignore[attr-defined]
        page = client.get("/_failing")
    assert page.status_code == status
    assert f"<h1>{heading}</h1>" in page.text
    assert "C-1001" not in page.text and "Brien" not in page.text
    assert_secure_headers(page)
