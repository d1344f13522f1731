"""Two desks (processes) and the web endpoint working the same charts at once, on SQLite and
PostgreSQL, for a bounded number of rounds.

The desks meet at a barrier every round and then act on the same chart (resend, resend of what
they were looking at, revoke, restore, change owner with an invitation), chosen by a seeded
random generator. Meanwhile clients use the real uvicorn server on 127.0.0.1: they open the
links from the emails the outbox delivered to a real SMTP server, get their details wrong, get
them right and register, and sign in. Afterwards:

- no "database is locked" / StoreBusy reached a person: every desk operation succeeded or was
  refused with a domain error, no web response was a 5xx, and no log line speaks of a lock;
- no lost update: each desk's audit rows match its successful operations one for one, each
  registration page shown is one account and one "registered" audit row, and every chart has
  at most one live invitation (and one enabled account);
- every email delivered holds the link of the invitation its outbox row was queued for.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import replace

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core import tokens
from frontdesk.core.clock import FrozenClock
from frontdesk.mail.outbox import OutboxDelivery
from store.models import AuditEvent, Invitation, OutboxEmail, PortalAccount
from tests.factories import PRACTICE_PHONE, set_up_practice
from tests.mail.conftest import Received, StartSmtp
from tests.reliability import workers
from tests.reliability.conftest import (
    check_store,
    child_context,
    link_tokens,
    log_lines,
)
from tests.web.conftest import PASSWORD, csrf_of, live_server

ROUNDS = 16
CHARTS = {  # chart number: (last name, date of birth, client email, guardian email)
    "C-1": ("O'Brien", "1985-03-04", "ana@example.com", "gina@example.com"),
    "C-2": ("García-López", "1990-12-31", "luis@example.com", "marta@example.com"),
    "C-3": ("Smith [guardian]", "2012-06-15", "sam@example.com", "pat@example.com"),
}
MESSAGE_ID_RE = re.compile(r"^Message-ID: *(\S+)", re.MULTILINE | re.IGNORECASE)

# What each successful desk operation writes to the audit log (by action).
EXPECTED_AUDIT = {
    "resend": Counter({"invitation resent": 1}),
    "resend_seen": Counter({"invitation resent": 1}),
    "revoke": Counter({"access revoked": 1}),
    "owner": Counter({"owner changed": 1, "invitation sent": 1}),
}


def _expected_audit(outcomes: list[tuple[int, str, str, str, str]], actor: str) -> Counter[str]:
    expected: Counter[str] = Counter()
    for _, who, operation, outcome, message in outcomes:
        if who != actor:
            continue
        if outcome == "ok":
            if operation == "activate":
                restored = message.startswith("Portal access restored")
                expected["access restored" if restored else "invitation sent"] += 1
            else:
                expected += EXPECTED_AUDIT[operation]
        elif outcome in ("refused:CooldownActive", "refused:ConcurrentChange") and (
            operation.startswith("resend")
        ):
            expected["resend refused"] += 1
    return expected


class WebClients:
    """Clients of the practice, using the links in their emails and the sign-in page."""

    def __init__(self, url: str, messages: list[Received], seed: int) -> None:
        self.url = url
        self.messages = messages
        self.rng = random.Random(seed)
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.registered: list[str] = []  # owner emails whose registration page said so
        self.signed_in = 0
        self.actions = 0
        self.identity = {}
        for last, dob, client, guardian in CHARTS.values():
            self.identity[client] = self.identity[guardian] = (last, dob)

    def _check(self, response: httpx.Response, what: str) -> httpx.Response:
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{what}: {response.status_code}")
        return response

    def run(self, barrier: threading.Barrier, rounds: int) -> None:
        """One action per round, started together with the desks' operations."""
        with httpx.Client(base_url=self.url, timeout=30) as client:
            for _ in range(rounds):
                try:
                    barrier.wait(timeout=60)
                except threading.BrokenBarrierError:
                    self.server_errors.append("a desk stopped early (barrier broken)")
                    return
                self.actions += 1
                self.one_action(client)

    def one_action(self, client: httpx.Client) -> None:
        newest: dict[str, Received] = {}  # each person uses the newest email they received
        for mail in list(self.messages):
            if link_tokens(mail):
                newest[mail.rcpt_tos[0]] = mail
        choice = self.rng.random()
        if not newest or choice < 0.25:
            self.sign_in(client)
            return
        mail = newest[self.rng.choice(sorted(newest))]
        link = f"/register/{link_tokens(mail)[0]}"
        page = self._check(client.get(link), "GET register")
        if page.status_code != 200 or choice < 0.35:
            return
        last, dob = self.identity[mail.rcpt_tos[0]]
        wrong = choice < 0.5
        form = {
            "csrf_token": csrf_of(page.text),
            "last_name": "Nobody" if wrong else last,
            "date_of_birth": dob,
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
        posted = self._check(client.post(link, data=form), "POST register")
        if posted.status_code == 200 and "Your account is ready" in posted.text:
            self.registered.append(mail.rcpt_tos[0])

    def sign_in(self, client: httpx.Client) -> None:
        if self.registered:
            email = self.rng.choice(self.registered)
        else:
            email = self.rng.choice(sorted(self.identity))
        page = self._check(client.get("/login"), "GET login")
        form = {"csrf_token": csrf_of(page.text), "email": email, "password": PASSWORD}
        if self.rng.random() < 0.3:
            form["password"] = "not the password at all"
        response = self._check(client.post("/login", data=form), "POST login")
        if response.status_code == 303 and response.headers["location"].endswith("/portal"):
            self.signed_in += 1
        client.cookies.clear()


@pytest.mark.usefixtures("light_argon2")
def test_two_desks_and_the_web_work_the_same_charts(
    db_url: str, clock: FrozenClock, start_smtp: StartSmtp
) -> None:
    smtp = start_smtp()
    clock.set(workers.START)
    with live_server(db_url, clock) as live, log_lines() as logs:
        set_up_practice(live.services, phone=PRACTICE_PHONE)
        for number, (last, dob, client_email, guardian_email) in CHARTS.items():
            live.services.charts.add_chart(ChartInput(number, "Ana", last, dob, client_email))
            live.services.charts.add_contact(
                number, ContactInput("Gina Guardian", "guardian", guardian_email)
            )
            live.services.invitations.send_invitation(number)
        # The web and the delivery run after the desks' last round (the desks' clocks step
        # 3 hours a round; every link stays valid: 16 x 3 h < 7 days).
        clock.set(workers.START + workers.ROUND_STEP * (ROUNDS + 1))
        delivery = OutboxDelivery(
            live.services.db,
            clock,
            replace(live.services.settings, smtp_port=smtp.port),
            lambda: None,
        )
        delivery.deliver_due()

        ctx = child_context()
        barrier = ctx.Barrier(3)  # two desks and the web clients start each round together
        results = ctx.Queue()
        desks = [
            ctx.Process(
                target=workers.desk_rounds,
                args=(db_url, live.url, actor, seed, list(CHARTS), ROUNDS, barrier, results),
                daemon=True,
            )
            for actor, seed in (("desk-a", 1), ("desk-b", 2))
        ]
        stop_delivery = threading.Event()
        web = WebClients(live.url, smtp.messages, seed=3)
        threads = [
            threading.Thread(
                target=delivery.deliver_until_stopped,
                args=(stop_delivery,),
                kwargs={"interval": 0.05},
                daemon=True,
            ),
            threading.Thread(target=web.run, args=(barrier, ROUNDS), daemon=True),
        ]
        for desk in desks:
            desk.start()
        for thread in threads:
            thread.start()
        try:
            outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
        finally:
            for desk in desks:
                desk.join(30)
            threads[1].join(120)
            stop_delivery.set()
            threads[0].join(60)
        delivery.deliver_due()  # whatever the loop had not reached yet

        # -- nothing but success or a domain error reached a person
        errors = [o for o in outcomes if o[3].startswith("error")]
        assert errors == []
        assert {o[3] for o in outcomes} & {"ok"}, outcomes
        assert web.server_errors == []
        assert logs.problems() == []

        # -- no lost update
        check_store(live.services)
        with live.services.db.read() as session:
            audit = session.exec(select(AuditEvent.actor, AuditEvent.action)).all()
            accounts = session.exec(select(sa.func.count()).select_from(PortalAccount)).one()
            outbox = {row.message_id: row for row in session.exec(select(OutboxEmail)).all()}
            invitations = {row.id: row for row in session.exec(select(Invitation)).all()}
        for actor in ("desk-a", "desk-b"):
            done = Counter(action for who, action in audit if who == actor)
            assert done == _expected_audit(outcomes, actor), actor
        registered_audits = sum(1 for _, action in audit if action == "registered")
        assert registered_audits == len(web.registered) == accounts
        assert sum(1 for _, action in audit if action == "signed in") == web.signed_in

        # -- every delivered email holds the link of the invitation it was queued for
        assert smtp.messages
        for message in smtp.messages:
            match = MESSAGE_ID_RE.search(message.raw.decode("utf-8", "replace"))
            assert match
            row = outbox[match.group(1)]
            found = link_tokens(message)
            if row.invitation_id is None:
                assert found == []
                continue
            assert len(set(found)) == 1, found
            assert tokens.digest(found[0]) == invitations[row.invitation_id].token_digest
            assert message.rcpt_tos == [invitations[row.invitation_id].recipient_email]
        per_message = Counter(m.message_id for m in smtp.messages)
        assert max(per_message.values()) == 1  # nobody killed: each email went out once
