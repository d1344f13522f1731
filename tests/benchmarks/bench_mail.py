"""Mail benchmark: the desk's bulk actions followed by delivery to a loopback SMTP sink, end to
end, compared in the same run with plain smtplib sending the same messages over one reused
connection.

    python -m tests.benchmarks.bench_mail [--count 10000] [--database-url URL] [--quick]

Timed, in order, on N charts (issue 12):

1. go-live: `invites send --all-without-access` (InvitationService.send_all_without_access),
   then `outbox deliver` of those N invitations;
2. a week later every link has expired: `invites resend --all-expired`
   (InvitationService.resend_all_expired), then `outbox deliver` of the N new links.

End to end = N / (bulk step + delivery). Three baselines, all one reused connection to the same
sink, sending the resend's messages: sendmail of the messages flattened to bytes beforehand
(the wire alone: issue 12's baseline, "the same prebuilt messages"; run twice, before our
first delivery on the go-live's messages and after the resend's, their mean counting, as in
bench_web); send_message of EmailMessage objects built beforehand (it flattens each as it
sends); a plain script that builds each EmailMessage and calls send_message (issue 4's
baseline, for delivery alone). The sink (aiosmtpd) runs in its own process. Only the charts
are set up untimed (bulk inserted).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing as mp
import smtplib
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from email import policy
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from frontdesk.core.clock import FrozenClock
from frontdesk.demo.data import chart_row, insert_chart_rows
from frontdesk.services import Services, build_services
from store.models import OUTBOX_PENDING, OutboxEmail
from tests.benchmarks.common import Result, print_table
from tests.factories import PRACTICE_PHONE, T0, delivery_for, make_settings, set_up_practice

START = T0
TARGET = 0.5  # end to end at least half the baseline's rate (issues 4 and 12)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _sink(ports: Any, stop: Any, counts: Any) -> None:
    from tests.mail.conftest import _Controller

    handler = _Counter()
    controller = _Controller(handler, hostname="127.0.0.1", port=0, server_hostname="sink.test")
    controller.start()
    ports.put(controller.port)
    stop.wait(3600)
    controller.stop()
    counts.put(handler.count)


def _naive_message(row: tuple[str, str, str, str, str], sender: str) -> EmailMessage:
    """What a plain smtplib script would send: the same headers and both bodies."""
    to_address, subject, message_id, body_text, body_html = row
    message = EmailMessage()
    message["From"] = f"Cedar Counseling <{sender}>"
    message["To"] = to_address
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body_text)
    message.add_alternative(body_html, subtype="html")
    return message


def _timed(step: Callable[[], Any], profile: bool) -> tuple[Any, float]:
    gc.collect()
    started = time.perf_counter()
    if not profile:
        result = step()
        return result, time.perf_counter() - started
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(step)
    took = time.perf_counter() - started
    pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
    return result, took


def _pending(services: Services) -> list[tuple[str, str, str, str, str]]:
    """The queued emails (what the baselines send), before delivery reduces their bodies."""
    with services.db.read() as session:
        rows = session.exec(
            select(OutboxEmail)
            .where(OutboxEmail.state == OUTBOX_PENDING)
            .order_by(col(OutboxEmail.id))
        ).all()
        return [(r.to_address, r.subject, r.message_id, r.body_text, r.body_html) for r in rows]


def _wire_seconds(rows: list[tuple[str, str, str, str, str]], sender: str, port: int) -> float:
    """Seconds for plain smtplib to sendmail `rows`' messages, flattened to bytes beforehand,
    over one connection (issue 12's baseline: the wire alone)."""
    wire = [_naive_message(row, sender).as_bytes(policy=policy.SMTP) for row in rows]
    gc.collect()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for row, data in zip(rows, wire, strict=True):
            conn.sendmail(sender, [row[0]], data)
    return time.perf_counter() - started


def measure(
    count: int = 10_000, database_url: str | None = None, profile: bool = False
) -> dict[str, Any]:
    """Set up `count` charts; time go-live + delivery and resend + delivery; run the
    baselines on the resend's messages."""
    url = database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"

    ctx = mp.get_context("spawn")
    ports, counts, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    sink = ctx.Process(target=_sink, args=(ports, stop, counts), daemon=True)
    sink.start()
    port = ports.get(timeout=60)

    settings = make_settings(url, smtp_port=port)
    clock = FrozenClock(START)
    services = build_services(settings, clock=clock, actor="bench")
    set_up_practice(services, phone=PRACTICE_PHONE)

    setup = time.perf_counter()
    dob = date(1980, 1, 2)
    insert_chart_rows(
        services.db,
        (
            chart_row(f"B-{n:06d}", "Pat", f"Lee{n}", dob, f"pat{n}@example.com", START)
            for n in range(count)
        ),
    )
    setup = time.perf_counter() - setup
    delivery = delivery_for(services, settings)
    services.invitations  # noqa: B018  (built untimed: its modules load on first use)

    sender = settings.mail_from or ""
    invited, invite_s = _timed(services.invitations.send_all_without_access, profile)
    # The wire baseline before any delivery of ours too (on the go-live's messages), so that
    # a machine getting slower or faster during the run favours neither side: the mean of its
    # two runs is the baseline (as bench_web's hello-world).
    wire_before = _wire_seconds(_pending(services), sender, port)
    first_report, first_deliver_s = _timed(lambda: delivery.deliver_due(limit=count + 1), False)

    clock.advance(days=8)  # every invitation has expired
    resent, resend_s = _timed(services.invitations.resend_all_expired, profile)
    same = _pending(services)
    report, deliver_s = _timed(lambda: delivery.deliver_due(limit=count + 1), profile)

    gc.collect()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for row in same:
            conn.send_message(_naive_message(row, sender))
    build_and_send = time.perf_counter() - started

    baseline_messages = [_naive_message(row, sender) for row in same]
    gc.collect()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for message in baseline_messages:
            conn.send_message(message)
    prebuilt = time.perf_counter() - started

    del baseline_messages
    wire_after = _wire_seconds(same, sender, port)
    wire_rate = (len(invited.done) / wire_before + len(same) / wire_after) / 2

    stop.set()
    received = counts.get(timeout=60)
    sink.join(30)
    with services.db.read() as session:
        states = dict(
            session.execute(
                sa.select(OutboxEmail.state, sa.func.count()).group_by(OutboxEmail.state)
            ).all()
        )
    services.close()
    sent = len(same)
    return {
        "database": services.db.engine.dialect.name,
        "count": count,
        "invited": len(invited.done),
        "resent": len(resent.done),
        "setup_s": round(setup, 1),
        "invite_s": round(invite_s, 3),
        "invite_deliver_s": round(first_deliver_s, 3),
        "resend_s": round(resend_s, 3),
        "deliver_s": round(deliver_s, 3),
        "invite_per_s": round(count / invite_s),
        "resend_per_s": round(count / resend_s),
        "deliver_per_s": round(report.sent / deliver_s),
        "invite_end_to_end_per_s": round(first_report.sent / (invite_s + first_deliver_s)),
        "resend_end_to_end_per_s": round(report.sent / (resend_s + deliver_s)),
        "smtplib_build_and_send_per_s": round(sent / build_and_send),
        "smtplib_send_prebuilt_message_per_s": round(sent / prebuilt),
        "smtplib_sendmail_prebuilt_bytes_per_s": round(wire_rate),
        "smtplib_sendmail_before_after_per_s": [
            round(len(invited.done) / wire_before),
            round(sent / wire_after),
        ],
        "first_sent": first_report.sent,
        "sent": report.sent,
        "sink_received": received,
        "states": states,
    }


def run(quick: bool = False, count: int | None = None) -> list[Result]:
    count = count or (1_000 if quick else 10_000)
    r = measure(count)
    prebuilt = float(r["smtplib_send_prebuilt_message_per_s"])
    wire = float(r["smtplib_sendmail_prebuilt_bytes_per_s"])
    build = float(r["smtplib_build_and_send_per_s"])
    resend = float(r["resend_end_to_end_per_s"])
    invite = float(r["invite_end_to_end_per_s"])
    deliver = float(r["deliver_per_s"])
    # The sink counts both deliveries and the baselines' sends (the wire one runs twice).
    delivered = (
        r["invited"] == r["first_sent"] == r["resent"] == r["sent"] == count
        and r["sink_received"] == 6 * count
    )
    steps = (
        f"{r['database']}; resend {r['resend_per_s']:,} charts/s ({r['resend_s']} s) + "
        f"delivery {r['deliver_per_s']:,}/s ({r['deliver_s']} s); {r['sent']:,}/{count:,} sent"
    )
    return [
        Result(
            f"mail: resend --all-expired + deliver, {count:,} (end to end)",
            f"{resend:,.0f} emails/s",
            f"{wire:,.0f}/s smtplib, prebuilt, 1 conn.",
            resend / wire,
            f"≥ {TARGET}× (issue 12)",
            resend / wire >= TARGET and delivered,
            f"{steps}; baseline: sendmail of the same messages flattened beforehand, over "
            "one connection (the wire alone), the mean of a run before our deliveries and "
            "one after ({:,} / {:,} emails/s)".format(*r["smtplib_sendmail_before_after_per_s"]),
        ),
        Result(
            f"mail: send --all-without-access + deliver, {count:,} (end to end)",
            f"{invite:,.0f} emails/s",
            f"{wire:,.0f}/s smtplib, prebuilt, 1 conn.",
            invite / wire,
            f"≥ {TARGET}× (issue 12)",
            invite / wire >= TARGET and delivered,
            f"invite {r['invite_per_s']:,} charts/s ({r['invite_s']} s) + delivery "
            f"({r['invite_deliver_s']} s)",
        ),
        Result(
            "mail: resend + deliver, vs send_message of prebuilt messages (info)",
            f"{resend:,.0f} emails/s",
            f"{prebuilt:,.0f}/s send_message",
            resend / prebuilt,
            "—",
            None,
            "smtplib.send_message of EmailMessage objects built beforehand (it flattens each "
            "one as it sends)",
        ),
        Result(
            "mail: delivery alone (outbox deliver)",
            f"{deliver:,.0f} emails/s",
            f"{build:,.0f}/s smtplib build+send",
            deliver / build,
            f"≥ {TARGET}× (issue 4)",
            deliver / build >= TARGET and delivered,
            f"vs the wire alone {deliver / wire:.2f}×; charts set up in {r['setup_s']} s, untimed",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--profile", action="store_true", help="profile the timed steps")
    args = parser.parse_args(argv)
    if args.json or args.profile or args.database_url:
        count = args.count or (1_000 if args.quick else 10_000)
        result = measure(count, args.database_url, args.profile)
        print(json.dumps(result))
        return 0 if result["sent"] == result["count"] else 1
    print_table(run(args.quick, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
