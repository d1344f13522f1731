"""Bulk actions reach every chart in the status at the start, list every skipped chart with its
reason as data, report progress, stop on a cancel, and keep each chart's result its own
(SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from frontdesk.access import bulk
from frontdesk.access.outcomes import BulkAction, FailureKind, SkipReason
from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from tests.access.bulk.conftest import (
    add_charts,
    audit_actions,
    counts,
    invitations_of,
    live_per_chart,
    set_email,
)
from tests.factories import acting_at, latest_token, lock_invitation


def _expired(services: Services, clock: FrozenClock, numbers: range) -> list[str]:
    """Charts with an invitation sent and then expired (8 days later)."""
    charts = add_charts(services, numbers)
    assert len(services.invitations.send_all_without_access().sent) == len(charts)
    clock.advance(days=8)
    return charts


# ------------------------------------------------------------------------- reach


@pytest.mark.parametrize("without_email", [250, 600])
def test_go_live_reaches_every_chart_past_more_skips_than_a_page(
    practice_ready: Services, without_email: int
) -> None:
    """The issue's store (250 charts without an email sorting before 50 with one), and one
    with more skipped charts than any page of the plan or the run."""
    no_email = add_charts(practice_ready, range(without_email), last="Abbott", email=False)
    with_email = add_charts(practice_ready, range(1000, 1050), last="Young")
    assert bulk.BATCH < 250 and bulk.PLAN_BATCH < 600  # so both cases pass a page of skips
    total = without_email + 50

    plan = practice_ready.invitations.plan_bulk(BulkAction.INVITE_WITHOUT_ACCESS)
    result = practice_ready.invitations.send_all_without_access()

    assert [e.chart_number for e in plan.to_send] == with_email
    assert [e.chart_number for e in plan.to_skip] == no_email
    assert sorted(result.sent) == with_email
    assert [s.chart for s in result.skipped] == no_email
    assert {s.reason for s in result.skipped} == {SkipReason.NO_EMAIL}
    assert result.failed == ()
    assert (result.total, result.cancelled, result.not_tried) == (total, False, 0)
    assert result.done == result.sent  # the name the CLI used before issue 12
    for number, reason in result.skipped:  # unpacks as before: (chart, reason)
        assert number.startswith("B-") and reason == "no_email"
    assert practice_ready.search.count_charts(status="invited") == 50
    assert practice_ready.search.count_charts(status="no_portal_access") == without_email


def test_resend_reaches_every_expired_chart_past_more_skips_than_a_batch(
    practice_ready: Services, clock: FrozenClock
) -> None:
    charts = _expired(practice_ready, clock, range(300))
    set_email(practice_ready, charts[:250], None)  # their owners lost their address since

    result = practice_ready.invitations.resend_all_expired()

    assert sorted(result.sent) == charts[250:]
    assert sorted(s.chart for s in result.skipped) == charts[:250]
    assert {s.reason for s in result.skipped} == {SkipReason.NO_EMAIL}
    assert result.action is BulkAction.RESEND_EXPIRED and result.total == 300
    assert practice_ready.search.count_charts(status="expired") == 250
    assert len(audit_actions(practice_ready, "invitation resent")) == 50


def test_include_locked_takes_expired_and_locked_in_one_run(
    practice_ready: Services, clock: FrozenClock
) -> None:
    charts = _expired(practice_ready, clock, range(3))
    practice_ready.invitations.resend_invitation(charts[0])
    lock_invitation(practice_ready, latest_token(practice_ready, charts[0]))
    clock.advance(seconds=61)

    assert practice_ready.invitations.resend_all_expired().sent == tuple(charts[1:])
    clock.advance(days=8)
    locked = practice_ready.invitations.plan_bulk(BulkAction.RESEND_LOCKED)
    assert [e.chart_number for e in locked.to_send] == [charts[0]] and locked.to_skip == ()
    result = practice_ready.invitations.resend_all_expired(include_locked=True)
    assert sorted(result.sent) == charts and result.total == 3


# ------------------------------------------------------------------------- reasons


def test_every_reason_is_data_in_the_plan_and_in_the_run(
    practice_ready: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = practice_ready
    charts = add_charts(s, range(8))
    fine, no_email, invalid, guardian, raced, changed, capped, locked_now = charts
    contact = s.charts.add_contact(guardian, ContactInput("Maria Lee", "Mother", "m@example.com"))
    s.invitations.change_owner(guardian, contact_id=contact.id)
    assert len(s.invitations.send_all_without_access().sent) == 8
    clock.advance(days=8)
    set_email(s, [no_email], None)
    set_email(s, [invalid], "not an address")
    with s.db.write_once() as session:  # the guardian's address was removed since
        session.execute(sa.text("UPDATE related_contact SET email = NULL"))
    # `capped`: ten invitations in the last 24 hours (the daily cap), the last one locked.
    for _ in range(10):
        s.invitations.resend_invitation(capped)
        clock.advance(seconds=61)
    lock_invitation(s, latest_token(s, capped))
    # `locked_now`: resent by another desk 30 s ago, and locked since.
    acting_at(s, clock.now() - timedelta(seconds=30), actor="bob").invitations.resend_invitation(
        locked_now
    )
    lock_invitation(s, latest_token(s, locked_now))

    plan = s.invitations.plan_bulk(BulkAction.RESEND_EXPIRED_AND_LOCKED)

    reasons = {entry.chart_number: entry.reason for entry in plan.to_skip}
    assert [entry.chart_number for entry in plan.to_send] == [fine, raced, changed]
    assert reasons == {
        no_email: SkipReason.NO_EMAIL,
        invalid: SkipReason.INVALID_EMAIL,
        guardian: SkipReason.NO_EMAIL,
        capped: SkipReason.TOO_MANY_TODAY,
        locked_now: SkipReason.COOLDOWN,
    }
    first = plan.to_send[0]
    assert (first.client_name, first.owner_name, first.owner_email) == (
        "Lee0000, Pat",
        "Pat Lee0000",
        "pat0@example.com",
    )
    by_number = {entry.chart_number: entry for entry in plan.to_skip}
    assert (by_number[guardian].owner_name, by_number[guardian].owner_relationship) == (
        "Maria Lee",
        "Mother",
    )
    assert by_number[invalid].owner_email == "not an address"  # as stored, for staff to fix

    # Between the start of the run and their turn, another desk resends `raced` (moments
    # ago) and revokes `changed`.
    real_snapshot = bulk.rows.snapshot

    def snapshot_then_other_desk(*args: Any, **kwargs: Any) -> list[tuple[int, str]]:
        taken = real_snapshot(*args, **kwargs)
        bob = acting_at(s, clock.now() - timedelta(seconds=5), actor="bob")
        bob.invitations.resend_invitation(raced)
        bob.invitations.revoke_access(changed)
        return taken

    monkeypatch.setattr(bulk.rows, "snapshot", snapshot_then_other_desk)
    result = s.invitations.resend_all_expired(include_locked=True)
    assert result.sent == (fine,)
    assert dict(result.skipped) == {
        **reasons,
        raced: SkipReason.COOLDOWN,
        changed: SkipReason.CHANGED,
    }
    refused = {(e.chart_number, e.outcome, e.actor) for e in audit_actions(s, "resend refused")}
    assert refused == {
        (raced, "cooldown", "alice"),
        (locked_now, "cooldown", "alice"),
        (changed, "conflict", "alice"),
    }


def test_portal_off_skips_every_chart_and_writes_nothing(
    practice_ready: Services, clock: FrozenClock
) -> None:
    charts = add_charts(practice_ready, range(5))
    practice_ready.practice.update_practice(portal_active=False)
    before = counts(practice_ready)

    plan = practice_ready.invitations.plan_bulk(BulkAction.INVITE_WITHOUT_ACCESS)
    assert plan.to_send == () and {e.reason for e in plan.to_skip} == {SkipReason.PORTAL_OFF}
    result = practice_ready.invitations.send_all_without_access()
    assert result.sent == () and dict(result.skipped) == dict.fromkeys(
        charts, SkipReason.PORTAL_OFF
    )
    assert counts(practice_ready) == before


def test_the_plan_reads_only_and_matches_the_run(practice_ready: Services) -> None:
    with_email = add_charts(practice_ready, range(3), last="Young")
    without = add_charts(practice_ready, range(3, 5), last="Abbott", email=False)
    practice_ready.charts.add_chart(
        ChartInput("C-9", "Ana", "Baker", "1990-01-01", "Ana.Baker@Example.COM")
    )
    before = counts(practice_ready)

    plan = practice_ready.invitations.plan_bulk(BulkAction.INVITE_WITHOUT_ACCESS)

    assert counts(practice_ready) == before
    assert plan.total == 6
    # name order: Baker, then Young...
    assert [e.chart_number for e in plan.to_send] == ["C-9", *with_email]
    assert plan.to_send[0].owner_email == "Ana.Baker@example.com"  # as it will be sent
    assert [e.chart_number for e in plan.to_skip] == without
    result = practice_ready.invitations.send_all_without_access()
    assert sorted(result.sent) == sorted(e.chart_number for e in plan.to_send)
    assert dict(result.skipped) == {e.chart_number: e.reason for e in plan.to_skip}


# ------------------------------------------------------------------------- progress, cancel


def test_progress_counts_every_chart_once(practice_ready: Services) -> None:
    add_charts(practice_ready, range(450))
    add_charts(practice_ready, range(450, 470), email=False)
    calls: list[tuple[int, int]] = []

    result = practice_ready.invitations.send_all_without_access(
        progress=lambda done, total: calls.append((done, total))
    )

    assert calls == [(n, 470) for n in range(1, 471)]
    assert (len(result.sent), len(result.skipped)) == (450, 20)


def test_cancel_between_batches_keeps_what_is_done(practice_ready: Services) -> None:
    charts = add_charts(practice_ready, range(450))
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == bulk.BATCH:
            stop.set()  # Escape, as the first batch's last chart is done

    result = practice_ready.invitations.send_all_without_access(progress=progress, cancel=stop)

    assert result.cancelled and result.sent == tuple(charts[: bulk.BATCH])
    assert result.not_tried == 450 - bulk.BATCH
    assert practice_ready.search.count_charts(status="invited") == bulk.BATCH
    rest = practice_ready.invitations.send_all_without_access()
    assert rest.sent == tuple(charts[bulk.BATCH :]) and not rest.cancelled


def test_cancel_inside_a_batch_stops_after_the_current_chart(
    practice_ready: Services, clock: FrozenClock
) -> None:
    charts = _expired(practice_ready, clock, range(150))
    checks = 0

    def cancel() -> bool:  # Escape pressed while the 41st chart is being worked on
        nonlocal checks
        checks += 1
        return checks > 1 + 41  # one check before the batch, then one before each chart

    result = practice_ready.invitations.resend_all_expired(cancel=cancel)

    assert result.cancelled and result.sent == tuple(charts[:41])
    assert (result.total, result.not_tried) == (150, 109)
    assert practice_ready.search.count_charts(status="invited") == 41
    assert practice_ready.search.count_charts(status="expired") == 109
    assert len(audit_actions(practice_ready, "invitation resent")) == 41


def test_a_cancel_before_the_start_does_nothing(practice_ready: Services) -> None:
    add_charts(practice_ready, range(3))
    stop = threading.Event()
    stop.set()
    result = practice_ready.invitations.send_all_without_access(cancel=stop)
    assert (result.cancelled, result.sent, result.not_tried) == (True, (), 3)
    assert invitations_of(practice_ready) == []


# ------------------------------------------------------------------------- failures


def _refuse_inserts(services: Services, table: str, column: str, value: str | int) -> None:
    """A trigger refusing inserts into `table` whose `column` is `value` (a constraint error,
    as a broken row would raise)."""
    value = f"'{value}'" if isinstance(value, str) else str(value)
    with services.db.engine.begin() as conn:
        if services.db.is_sqlite:
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                f"WHEN NEW.{column} = {value} BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            conn.exec_driver_sql(
                f"CREATE FUNCTION refuse_{table}() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.{column} = {value} THEN RAISE EXCEPTION 'refused' "
                "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION refuse_{table}()"
            )


def test_a_chart_failing_mid_batch_does_not_undo_the_others(
    practice_ready: Services, clock: FrozenClock
) -> None:
    charts = _expired(practice_ready, clock, range(30))
    before = {i.chart_id: i.id for i in invitations_of(practice_ready) if i.state == "live"}
    _refuse_inserts(practice_ready, "outbox_email", "to_address", "pat17@example.com")

    result = practice_ready.invitations.resend_all_expired()

    assert [f.chart for f in result.failed] == [charts[17]]
    assert result.failed[0].error is FailureKind.DATABASE and result.failed[0].detail
    assert sorted(result.sent) == charts[:17] + charts[18:]
    after = {i.chart_id: i.id for i in invitations_of(practice_ready) if i.state == "live"}
    unchanged = [chart_id for chart_id in before if before[chart_id] == after[chart_id]]
    assert len(unchanged) == 1  # the failed chart kept its old link, and nothing else
    assert practice_ready.search.count_charts(status="expired") == 1
    assert len(audit_actions(practice_ready, "invitation resent")) == 29


def test_a_clash_on_the_one_live_invitation_index_is_skipped_as_changed(
    practice_ready: Services, clock: FrozenClock
) -> None:
    charts = add_charts(practice_ready, range(10))
    with practice_ready.db.read() as session:
        chart_id = session.execute(
            sa.text("SELECT id FROM chart WHERE chart_number = :n"), {"n": charts[4]}
        ).scalar_one()
    _refuse_inserts(practice_ready, "invitation", "chart_id", chart_id)

    result = practice_ready.invitations.send_all_without_access()

    assert dict(result.skipped) == {charts[4]: SkipReason.CHANGED}
    assert sorted(result.sent) == charts[:4] + charts[5:]
    assert all(count == 1 for count in live_per_chart(practice_ready).values())
    assert chart_id not in live_per_chart(practice_ready)
