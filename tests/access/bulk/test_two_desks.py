"""Two desks (two processes) bulk-resending the same expired charts at the same moment
(SECURITY.md D4), on SQLite and PostgreSQL: every chart is resent exactly once, by one desk;
the other desk skips it as resent moments ago (and audits the refusal); no chart has two live
invitations, and every email delivered to a real SMTP server carries its chart's live link."""

from __future__ import annotations

import multiprocessing as mp
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlmodel import select

from frontdesk.access import bulk
from frontdesk.core import tokens
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import Services
from store.models import Invitation, OutboxEmail
from tests.access.bulk import workers
from tests.access.bulk.conftest import add_charts, audit_actions, live_per_chart
from tests.factories import delivery_for, smtp_settings
from tests.mail.conftest import StartSmtp

CHARTS = 450  # more than two batches, so the desks take turns


def _child_context() -> mp.context.BaseContext:
    """Children from a forkserver with the product imported: they start in milliseconds and
    inherit no thread or connection of this process."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.access.bulk.workers"])
    return ctx


@pytest.mark.parametrize("order", ["same order", "opposite orders"])
def test_two_desks_bulk_resending_at_once_send_each_chart_one_link(
    practice_ready: Services,
    settings: Settings,
    clock: FrozenClock,
    start_smtp: StartSmtp,
    order: str,
) -> None:
    """In the same order, the desk that gets the first batch stays ahead and the other skips
    what it has just done; in opposite orders they (as a rule) meet in the middle, both
    sending, each skipping what the other has just sent."""
    assert CHARTS > 2 * bulk.BATCH
    charts = add_charts(practice_ready, range(CHARTS))
    assert len(practice_ready.invitations.send_all_without_access().sent) == CHARTS
    now = clock.advance(days=8)  # every link has expired; none of the emails went out

    ctx = _child_context()
    barrier, results = ctx.Barrier(2), ctx.Queue()
    desks = [
        ctx.Process(
            target=workers.bulk_resend,
            args=(settings.database_url, actor, now, barrier, results),
            kwargs={"backwards": order == "opposite orders" and actor == "desk-b"},
        )
        for actor in ("desk-a", "desk-b")
    ]
    for desk in desks:
        desk.start()
    outcomes = {o[0]: o for o in (results.get(timeout=180) for _ in desks)}
    for desk in desks:
        desk.join(30)

    assert [o[4] for o in outcomes.values()] == ["", ""]  # no error in either desk
    assert [o[3] for o in outcomes.values()] == [[], []]  # nothing failed
    sent = {actor: set(o[1]) for actor, o in outcomes.items()}
    assert not sent["desk-a"] & sent["desk-b"]
    assert sent["desk-a"] | sent["desk-b"] == set(charts)
    for actor, other in (("desk-a", "desk-b"), ("desk-b", "desk-a")):
        skipped = dict(outcomes[actor][2])
        assert set(skipped) == sent[other]  # the other desk's charts, each skipped...
        assert set(skipped.values()) <= {"cooldown"}  # ...as resent moments ago

    # The store: one live invitation per chart, the new one; the first links superseded.
    assert set(live_per_chart(practice_ready).values()) == {1}
    with practice_ready.db.read() as session:
        invitations = session.exec(select(Invitation)).all()
        by_state = Counter((i.state, i.kind) for i in invitations)
        emails = session.exec(select(OutboxEmail)).all()
    assert by_state == {("superseded", "invitation"): CHARTS, ("live", "resend"): CHARTS}
    assert Counter(e.state for e in emails) == {"cancelled": CHARTS, "pending": CHARTS}
    resent = Counter(e.actor for e in audit_actions(practice_ready, "invitation resent"))
    refused = Counter((e.actor, e.outcome) for e in audit_actions(practice_ready, "resend refused"))
    assert resent == {actor: len(numbers) for actor, numbers in sent.items() if numbers}
    assert refused == {
        (actor, "cooldown"): len(sent[other])
        for actor, other in (("desk-a", "desk-b"), ("desk-b", "desk-a"))
        if sent[other]
    }

    # Delivered to a real mail server: one email per client, carrying the live link.
    server = start_smtp()
    report = delivery_for(practice_ready, smtp_settings(settings.database_url, server.port))
    assert report.deliver_due(limit=CHARTS + 10).sent == CHARTS
    per_address = Counter(m.rcpt_tos[0] for m in server.messages)
    assert len(per_address) == CHARTS and set(per_address.values()) == {1}
    live = {i.token_digest for i in invitations if i.state == "live"}
    assert {tokens.digest(m.token) for m in server.messages} == live
    with practice_ready.db.read() as session:
        assert (
            session.exec(
                select(sa.func.count()).select_from(Invitation).where(Invitation.state == "live")
            ).one()
            == CHARTS
        )
