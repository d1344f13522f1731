"""One link posted by several browsers at the same moment: exactly one account (SQLite and
PostgreSQL, a real uvicorn server, threads released together by a barrier)."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlmodel import select

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from store.models import AuditEvent, Invitation, PortalAccount
from tests.web.conftest import PASSWORD, LiveServer, csrf_of, latest_token, live_server

BROWSERS = 5
ROUNDS = 2


def race(
    live: LiveServer, link: str, count: int, *, dob: str = "1985-03-04"
) -> list[tuple[int, str]]:
    """`count` browsers open the link, then post the same details at the same moment."""
    browsers = [live.client() for _ in range(count)]
    forms = [csrf_of(b.get(link).text) for b in browsers]
    barrier = threading.Barrier(count)
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def submit(index: int) -> None:
        data = {
            "csrf_token": forms[index],
            "last_name": "Lopez",
            "date_of_birth": dob,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        barrier.wait(timeout=30)
        response = browsers[index].post(link, data=data)
        with lock:
            outcomes.append((response.status_code, response.text))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for browser in browsers:
        browser.close()
    return outcomes


def test_concurrent_posts_of_one_link_create_exactly_one_account(
    db_url: str, clock: FrozenClock
) -> None:
    with live_server(db_url, clock) as live:
        services = live.services
        services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        for round_no in range(ROUNDS):
            number = f"R-{round_no}"
            services.charts.add_chart(
                ChartInput(number, "Ana", "Lopez", "1985-03-04", f"ana{round_no}@example.com")
            )
            services.invitations.send_invitation(number)
            link = f"/register/{latest_token(services)}"
            outcomes = race(live, link, BROWSERS)
            statuses = sorted(status for status, _ in outcomes)
            assert statuses == [200] + [410] * (BROWSERS - 1), statuses
            assert all("already registered" in text for status, text in outcomes if status == 410)
            clock.advance(120)

        with services.db.read() as session:
            per_chart = session.exec(
                select(PortalAccount.chart_id, sa.func.count()).group_by(PortalAccount.chart_id)
            ).all()
            registered = session.exec(
                select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "registered")
            ).one()
    assert sorted(count for _, count in per_chart) == [1] * ROUNDS
    assert registered == ROUNDS


def test_parallel_wrong_guesses_still_lock_after_five(db_url: str, clock: FrozenClock) -> None:
    """Ten wrong guesses at once: exactly five are counted and the link locks."""
    with live_server(db_url, clock) as live:
        services = live.services
        services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        services.charts.add_chart(ChartInput("G-1", "Ana", "Lopez", "1985-03-04", "a@example.com"))
        services.invitations.send_invitation("G-1")
        link = f"/register/{latest_token(services)}"
        outcomes = race(live, link, 10, dob="1990-01-01")
        with services.db.read() as session:
            (invitation,) = session.exec(select(Invitation)).all()
    assert sorted(status for status, _ in outcomes) == [400] * 4 + [403] * 6
    assert invitation.failed_attempts == 5


def test_parallel_sign_in_guesses_are_throttled_together(db_url: str, clock: FrozenClock) -> None:
    """Eight wrong passwords at once from one address: one is checked, seven wait."""
    from frontdesk.access.signin import SignInService
    from frontdesk.services import build_services
    from tests.web.conftest import make_settings

    services = build_services(make_settings(db_url), clock=clock, actor="alice")
    try:
        service = SignInService(services.db, services.clock)
        barrier = threading.Barrier(8)
        results = []
        lock = threading.Lock()

        def guess() -> None:
            barrier.wait(timeout=30)
            outcome = service.sign_in("ana@example.com", "a wrong guess", client_address="1.2.3.4")
            with lock:
                results.append(outcome)

        threads = [threading.Thread(target=guess) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        services.close()
    assert sorted(r.throttled for r in results) == [False] + [True] * 7
    assert not any(r.ok for r in results)
