"""The one session guard: a signed-in route gets its session, account and chart from
`Guard.signed_in` and nothing else (never from the request)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlmodel import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from frontdesk.charts.records import ChartInput
from frontdesk.core import links
from frontdesk.services import Services
from frontdesk.web.guard import Guard, SignedIn
from store.models import Chart, PortalAccount
from tests.web.conftest import (
    CHART,
    EMAIL,
    csrf_of,
    latest_token,
    make_client,
    sign_in,
)

PROBE = links.PORTAL + "/_guard-probe"
OTHER_CHART, OTHER_EMAIL = "C-2002", "ben@example.com"
OTHER_PASSWORD = "granite meadow whistle ocean"


async def probe(request: Request, signed: SignedIn) -> Response:
    """What a future portal route sees: the session's account and chart (and a POST's form)."""
    note = signed.form.values.get("note", "")
    return PlainTextResponse(f"account={signed.account_id} chart={signed.chart_id} note={note}")


def guarded_client(services: Services) -> TestClient:
    client = make_client(services)
    guard: Guard = client.app.state.web.guard  # type: ignore[attr-defined]
    client.app.router.routes.append(  # type: ignore[attr-defined]
        Route(PROBE, guard.signed_in(probe), methods=["GET", "POST"])
    )
    return client


@pytest.fixture
def probing(registered: Services) -> Iterator[TestClient]:
    with guarded_client(registered) as client:
        yield client


def ids_of(services: Services, chart_number: str) -> tuple[int, int]:
    """(account id, chart id) of the chart's portal account."""
    with services.db.read() as session:
        chart = session.exec(select(Chart).where(Chart.chart_number == chart_number)).one()
        account = session.exec(
            select(PortalAccount).where(PortalAccount.chart_id == chart.id)
        ).one()
    assert account.id is not None and chart.id is not None
    return account.id, chart.id


def test_without_a_session_the_guard_redirects_to_sign_in(probing: TestClient) -> None:
    page = probing.get(PROBE, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "http://127.0.0.1:8080/login"
    assert "set-cookie" not in page.headers
    # A cookie that is no session (ended, made up): the "session ended" notice, cookie cleared.
    probing.cookies.set("fd_session", "A" * 43)
    stale = probing.get(PROBE, follow_redirects=False)
    assert stale.status_code == 303
    assert stale.headers["location"] == "http://127.0.0.1:8080/login?m=ended"
    assert 'fd_session=""' in stale.headers["set-cookie"]
    assert "Max-Age=0" in stale.headers["set-cookie"]


def test_a_signed_in_route_gets_the_sessions_own_account_and_chart(
    probing: TestClient, registered: Services
) -> None:
    assert sign_in(probing).status_code == 303
    account_id, chart_id = ids_of(registered, CHART)
    expected = f"account={account_id} chart={chart_id} note="
    assert probing.get(PROBE).text == expected
    # Whatever the request names, the chart is the session's.
    named = probing.get(PROBE, params={"chart_id": chart_id + 1, "account_id": account_id + 1})
    assert named.text == expected


def test_two_accounts_each_get_their_own_chart(registered: Services, clock) -> None:
    # A chart without an account first, so the second account's id is not its chart's id.
    registered.charts.add_chart(ChartInput("C-3003", "Cy", "Lund", "1970-01-02"))
    registered.charts.add_chart(ChartInput(OTHER_CHART, "Ben", "Okafor", "1990-02-03", OTHER_EMAIL))
    registered.invitations.send_invitation(OTHER_CHART)
    result = registered.registration.register(
        latest_token(registered),
        last_name="Okafor",
        date_of_birth="1990-02-03",
        password=OTHER_PASSWORD,
        password_confirm=OTHER_PASSWORD,
    )
    assert result.state == "registered"
    clock.advance(10)
    with guarded_client(registered) as ana, guarded_client(registered) as ben:
        assert sign_in(ana, EMAIL).status_code == 303
        assert sign_in(ben, OTHER_EMAIL, OTHER_PASSWORD).status_code == 303
        for client, number in ((ana, CHART), (ben, OTHER_CHART)):
            account_id, chart_id = ids_of(registered, number)
            assert client.get(PROBE).text == f"account={account_id} chart={chart_id} note="
        ben_account, ben_chart = ids_of(registered, OTHER_CHART)
        assert ben_account != ben_chart and ids_of(registered, CHART)[1] != ben_chart


def test_a_signed_in_post_needs_the_sessions_csrf_token(
    probing: TestClient, registered: Services
) -> None:
    sign_in(probing)
    token = csrf_of(probing.get(links.PORTAL).text)
    account_id, chart_id = ids_of(registered, CHART)
    missing = probing.post(PROBE, data={"note": "hi"})
    wrong = probing.post(PROBE, data={"note": "hi", "csrf_token": "B" * 43})
    cross = probing.post(
        PROBE, data={"note": "hi", "csrf_token": token}, headers={"sec-fetch-site": "cross-site"}
    )
    for refused in (missing, wrong, cross):
        assert refused.status_code == 403 and "This form has expired" in refused.text
    ok = probing.post(PROBE, data={"note": "hi", "csrf_token": token})
    assert ok.status_code == 200
    assert ok.text == f"account={account_id} chart={chart_id} note=hi"
    unreadable = probing.post(PROBE, content=b"x", headers={"content-type": "text/plain"})
    assert unreadable.status_code == 415


def test_a_signed_in_post_without_a_session_redirects(probing: TestClient) -> None:
    page = probing.post(PROBE, data={"note": "hi"}, follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "http://127.0.0.1:8080/login"


def test_every_portal_route_of_the_table_is_behind_the_guard(client: TestClient) -> None:
    """Driven by the route table, so a portal page added later is covered too: without a
    session each one sends the browser to sign in."""
    checked = 0
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route):
            continue
        if not (route.path.startswith(links.PORTAL) or route.path == links.LOGOUT):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            data = {"csrf_token": "x"} if method == "POST" else None
            path = re.sub(r"\{[^}]+\}", "1", route.path)  # /portal/messages/{thread_id:int}
            page = client.request(method, path, data=data, follow_redirects=False)
            assert page.status_code == 303, (method, route.path)
            assert page.headers["location"].startswith("http://127.0.0.1:8080/login")
            checked += 1
    assert checked >= 2  # GET /portal, POST /logout
