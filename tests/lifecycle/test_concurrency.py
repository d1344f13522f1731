"""Two desks (processes) resending the same chart at the same moment, repeatedly."""

from __future__ import annotations

import multiprocessing as mp

import sqlalchemy as sa
from sqlmodel import select

from frontdesk.charts.records import ChartInput
from frontdesk.services import Services
from store.models import Invitation
from tests.lifecycle import workers

ROUNDS = 15


def test_two_processes_resending_leave_exactly_one_live_invitation(
    practice_ready: Services, settings
) -> None:
    practice_ready.charts.add_chart(
        ChartInput("C-1", "Ana", "Lopez", "1985-03-04", "ana@example.com")
    )
    practice_ready.invitations.send_invitation("C-1")
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=workers.resend_rounds,
            args=(settings.database_url, actor, workers.START, ROUNDS, barrier, results),
        )
        for actor in ("desk-a", "desk-b")
    ]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for p in procs:
        p.join(30)
    errors = [o for o in outcomes if not (o[2] == "ok" or o[2].startswith("refused"))]
    assert errors == []
    for n in range(ROUNDS):
        this_round = sorted(o[2] for o in outcomes if o[0] == n)
        # exactly one desk resent; the other was told (cooldown or concurrent change)
        assert this_round[0] == "ok" and this_round[1].startswith("refused"), this_round
    with practice_ready.db.read() as session:
        live = session.exec(
            select(sa.func.count()).select_from(Invitation).where(Invitation.state == "live")
        ).one()
        total = session.exec(select(sa.func.count()).select_from(Invitation)).one()
    assert live == 1
    assert total == ROUNDS + 1
