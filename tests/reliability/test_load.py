"""A bounded loopback load on the web endpoint: no 5xx and no lock errors.

Four httpx clients at once, each a fixed number of requests against the real uvicorn server on
127.0.0.1: registration pages (valid, replaced and unknown links), wrong details posted to the
registration form (until the link locks), the sign-in page, and sign-ins with right and wrong
passwords (real argon2, its concurrency cap included). Bounded, and nothing here is timed:
speed is measured in tests/benchmarks/.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from store.models import AuditEvent, Invitation
from tests.factories import PRACTICE_PHONE, register_chart, set_up_practice
from tests.reliability.conftest import check_store, log_lines
from tests.web.conftest import PASSWORD, csrf_of, latest_token, live_server

CLIENTS = 4


# Each client's requests (shuffled per client): 32 requests.
PLAN = (
    ["register page"] * 6  # the valid link
    + ["wrong details"] * 5  # GET + POST each; the fifth locks the link
    + ["old link"] * 3  # a replaced link: 410
    + ["unknown link"] * 3  # 404
    + ["wrong sign-in"]  # GET + POST, an unknown email (the generic failure)
    + ["sign-in"] * 3  # GET + POST each, this client's own registered account
)


def _client_load(
    url: str, seed: int, link: str, old_link: str, results: Counter[str], lock: threading.Lock
) -> None:
    plan = list(PLAN)
    random.Random(seed).shuffle(plan)
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=url, timeout=60) as client:
        for step in plan:
            if step == "register page":
                seen[f"GET register {client.get(link).status_code}"] += 1
            elif step == "wrong details":
                page = client.get(link)
                seen[f"GET register {page.status_code}"] += 1
                if page.status_code != 200:
                    continue  # locked already
                form = {
                    "csrf_token": csrf_of(page.text),
                    "last_name": "Wrong",
                    "date_of_birth": "1999-01-01",
                    "password": PASSWORD,
                    "password_confirm": PASSWORD,
                }
                seen[f"POST register {client.post(link, data=form).status_code}"] += 1
            elif step == "old link":
                seen[f"GET old {client.get(old_link).status_code}"] += 1
            elif step == "unknown link":
                seen[f"GET unknown {client.get('/register/' + 'A' * 43).status_code}"] += 1
            else:
                page = client.get("/login")
                seen[f"GET login {page.status_code}"] += 1
                form = {"csrf_token": csrf_of(page.text), "email": f"reg{seed}@example.com"}
                if step == "wrong sign-in":
                    form.update(email=f"nobody{seed}@example.com", password="a wrong password")
                else:
                    form.update(password=PASSWORD)
                seen[f"POST login {client.post('/login', data=form).status_code}"] += 1
                client.cookies.clear()
    with lock:
        results.update(seen)


@pytest.mark.usefixtures("light_argon2")
def test_loopback_load_gives_no_server_error_and_no_lock_error(
    db_url: str, clock: FrozenClock
) -> None:
    with live_server(db_url, clock) as live, log_lines() as logs:
        set_up_practice(live.services, phone=PRACTICE_PHONE)
        for n in range(CLIENTS):  # one registered account per client
            number = f"R-{n}"
            live.services.charts.add_chart(
                ChartInput(number, "Reg", "Ist", "1980-01-01", f"reg{n}@example.com")
            )
            live.services.invitations.send_invitation(number)
            registered = register_chart(live.services, number, password=PASSWORD)
            assert registered.state == "registered"
        links: list[tuple[str, str]] = []
        for n in range(CLIENTS):
            number = f"L-{n}"
            live.services.charts.add_chart(
                ChartInput(number, "Ana", "Lopez", "1985-03-04", f"a{n}@example.com")
            )
            live.services.invitations.send_invitation(number)
            old = latest_token(live.services)
            clock.advance(61)
            live.services.invitations.resend_invitation(number)
            links.append((f"/register/{latest_token(live.services)}", f"/register/{old}"))

        results: Counter[str] = Counter()
        lock = threading.Lock()
        threads = [
            threading.Thread(
                target=_client_load, args=(live.url, n, *links[n], results, lock), daemon=True
            )
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not any(thread.is_alive() for thread in threads)

        assert sum(results.values()) >= CLIENTS * len(PLAN)
        server_errors = {k: v for k, v in results.items() if int(k.rsplit(" ", 1)[1]) >= 500}
        assert server_errors == {}
        assert logs.problems() == []
        # the expected answers only: pages, the generic failures, the clear link pages
        statuses = {int(k.rsplit(" ", 1)[1]) for k in results}
        assert statuses <= {200, 303, 400, 403, 404, 410, 429}, results
        assert results["GET unknown 404"] == 3 * CLIENTS
        assert results["GET old 410"] == 3 * CLIENTS
        assert results["POST login 303"] == 3 * CLIENTS, results  # nobody else throttled them
        # each link: four "wrong details" answers, then the fifth locks it
        assert (results["POST register 400"], results["POST register 403"]) == (
            4 * CLIENTS,
            CLIENTS,
        )

        check_store(live.services)
        with live.services.db.read() as session:
            failures = session.exec(select(Invitation.failed_attempts)).all()
            signed_in = session.exec(
                select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "signed in")
            ).one()
        assert sorted(failures) == [0] * (2 * CLIENTS) + [5] * CLIENTS
        assert signed_in == results["POST login 303"]
