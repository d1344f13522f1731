"""Mail benchmark: resend N expired invitations and deliver them to a loopback SMTP sink, compared
in the same run with plain smtplib sending the same messages over one reused connection.

Three baselines, all one reused connection to the same sink: a plain script that builds each
EmailMessage and calls send_message; send_message of messages built beforehand; sendmail of
bytes flattened beforehand (the wire alone).

    python -m tests.benchmarks.bench_mail [--count 10000] [--database-url URL] [--quick]

The sink (aiosmtpd) runs in its own process. Setup (charts, the first invitations, expiry, the
resend) is not timed; the numbers are for delivery only. The target (issue 4): at least half
the throughput of the plain script (build each message, send it over one reused connection).
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
from email import policy
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import build_services
from store.models import OUTBOX_PENDING, OutboxEmail
from tests.benchmarks.common import Result, print_table
from tests.factories import PRACTICE_PHONE, T0, delivery_for, make_settings, set_up_practice

START = T0


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


def measure(
    count: int = 10_000, database_url: str | None = None, profile: bool = False
) -> dict[str, Any]:
    """Set up `count` expired invitations, resend them, deliver, then run the baselines."""
    args = argparse.Namespace(count=count, profile=profile)
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

    def add_charts(session: Session) -> None:
        for n in range(args.count):
            services.charts.add_chart(
                ChartInput(f"B-{n:06d}", "Pat", f"Lee{n}", "1980-01-02", f"pat{n}@example.com"),
                session=session,
            )

    services.db.transact(add_charts)
    services.invitations.send_all_without_access()
    clock.advance(days=8)  # every invitation has expired
    resent = services.invitations.resend_all_expired()
    setup = time.perf_counter() - setup

    with services.db.read() as session:
        rows = list(
            session.exec(
                select(OutboxEmail)
                .where(OutboxEmail.state == OUTBOX_PENDING)
                .order_by(col(OutboxEmail.id))
            ).all()
        )
    # The bodies are reduced once delivered: keep what the baseline needs first.
    same = [(r.to_address, r.subject, r.message_id, r.body_text, r.body_html) for r in rows]
    count = len(rows)
    del rows

    delivery = delivery_for(services, settings)
    gc.collect()
    started = time.perf_counter()
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        report = profiler.runcall(delivery.deliver_due, limit=count + 1)
        ours = time.perf_counter() - started
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    else:
        report = delivery.deliver_due(limit=count + 1)
        ours = time.perf_counter() - started

    sender = settings.mail_from or ""
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

    wire = [m.as_bytes(policy=policy.SMTP) for m in baseline_messages]
    del baseline_messages
    gc.collect()
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as conn:
        for row, data in zip(same, wire, strict=True):
            conn.sendmail(sender, [row[0]], data)
    prebuilt_bytes = time.perf_counter() - started

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
    result = {
        "database": services.db.engine.dialect.name,
        "count": count,
        "resent": len(resent.done),
        "setup_s": round(setup, 1),
        "frontdesk_per_s": round(report.sent / ours),
        "smtplib_build_and_send_per_s": round(count / build_and_send),
        "smtplib_send_prebuilt_message_per_s": round(count / prebuilt),
        "smtplib_sendmail_prebuilt_bytes_per_s": round(count / prebuilt_bytes),
        "ratio_vs_build_and_send": round(build_and_send / ours, 2),
        "ratio_vs_prebuilt_message": round(prebuilt / ours, 2),
        "ratio_vs_prebuilt_bytes": round(prebuilt_bytes / ours, 2),
        "sent": report.sent,
        "sink_received": received,
        "states": states,
    }
    return result


def run(quick: bool = False, count: int | None = None) -> list[Result]:
    count = count or (1_000 if quick else 10_000)
    r = measure(count)
    ours = float(r["frontdesk_per_s"])
    base = float(r["smtplib_build_and_send_per_s"])
    ratio = ours / base
    # The sink counts our delivery and the three baselines' sends.
    delivered = r["sent"] == r["count"] and r["sink_received"] == 4 * r["count"]
    return [
        Result(
            f"mail: resend {count:,} expired + deliver (loopback SMTP)",
            f"{ours:,.0f} emails/s",
            f"{base:,.0f}/s smtplib build+send",
            ratio,
            "≥ 0.5× smtplib, 1 connection",
            ratio >= 0.5 and delivered,
            f"{r['database']}; {r['sent']:,}/{r['count']:,} sent; setup {r['setup_s']} s untimed",
        ),
        Result(
            "mail: same, vs the wire alone (info)",
            f"{ours:,.0f} emails/s",
            f"{r['smtplib_sendmail_prebuilt_bytes_per_s']:,}/s sendmail of prebuilt bytes",
            ours / float(r["smtplib_sendmail_prebuilt_bytes_per_s"]),
            "—",
            None,
            f"smtplib.send_message of prebuilt messages: "
            f"{r['smtplib_send_prebuilt_message_per_s']:,}/s",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--profile", action="store_true", help="profile the delivery run")
    args = parser.parse_args(argv)
    if args.json or args.profile or args.database_url:
        result = measure(args.count or 10_000, args.database_url, args.profile)
        print(json.dumps(result))
        return 0 if result["sent"] == result["count"] else 1
    print_table(run(args.quick, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
