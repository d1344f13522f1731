"""Web benchmark: `GET /register/<token>` (and the sign-in and portal pages) against a bare
Starlette hello-world on the same server stack, in the same run, under a bounded loopback load.

Each server is one uvicorn worker (h11, no access log, the same `uvicorn.Config` options) in its
own process; the load comes from this process over keep-alive connections and stops after
`--seconds` or `--max-requests`, whichever comes first. The registration page is the real one:
the token is looked up in SQLite, the practice is read, a CSRF pre-session cookie is issued and
the Jinja template rendered (no cookie is sent back, so every request is a first visit). The
portal page is requested with a signed-in session's cookie (the session is looked up and
touched each time). The hello-world is measured before and after the FrontDesk pages; the mean
is the baseline.

The message pages (issue 13) are requested by a signed-in client whose account holds 1,000
messages over 200 threads (5 each) and one more thread of 1,000 messages: the list page
(`GET /portal/messages`, the newest 20 threads of 201) and that long thread's page (`GET
/portal/messages/<id>`, its newest page; each view marks the thread read and is audited).

    python -m tests.benchmarks.bench_web [--seconds 5] [--connections 8] [--quick] [--json]

Targets: the registration page (issue 5), the message list and a thread page (issue 13) at
least 40% of the hello-world's requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.common import Result, print_table

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


# ------------------------------------------------------------------------------------------
# The servers (run in child processes)
# ------------------------------------------------------------------------------------------


def _hello_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def hello(request: Any) -> PlainTextResponse:
        return PlainTextResponse("Hello, world!")

    return Starlette(routes=[Route("/", hello)])


def _portal_app(database_url: str, public_url: str) -> Any:
    from frontdesk.services import build_services
    from frontdesk.web import create_web_app
    from tests.web.conftest import make_settings

    return create_web_app(services=build_services(make_settings(database_url, public_url)))


def _serve(which: str, port: int, database_url: str) -> None:
    import uvicorn

    app = (
        _hello_app() if which == "hello" else _portal_app(database_url, f"http://127.0.0.1:{port}")
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="h11",
        loop="asyncio",
        access_log=False,
        server_header=False,
        log_level="info",
        lifespan="off",
    )
    uvicorn.Server(config).run()


# ------------------------------------------------------------------------------------------
# The load
# ------------------------------------------------------------------------------------------


async def _load(
    port: int, path: str, seconds: float, connections: int, limit: int, cookie: str = ""
) -> int:
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while done < limit and time.monotonic() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
                match = _LENGTH.search(head)
                await reader.readexactly(int(match.group(1)) if match else 0)
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(which: str, database_url: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.bench_web", "--serve", which, "--port", str(port)],
        env={**os.environ, "BENCH_DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 60
    while b"Uvicorn running on" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    if b"Uvicorn running on" not in seen:
        proc.kill()
        raise RuntimeError(f"{which} server did not start: {seen.decode(errors='replace')}")
    return proc, port


def _measure(
    proc_port: tuple[subprocess.Popen[bytes], int],
    path: str,
    args: argparse.Namespace,
    cookie: str = "",
) -> float:
    _, port = proc_port
    asyncio.run(_load(port, path, 0.5, args.connections, 1000, cookie))  # warm up
    started = time.perf_counter()
    count = asyncio.run(
        _load(port, path, args.seconds, args.connections, args.max_requests, cookie)
    )
    return count / (time.perf_counter() - started)


def _stop(proc_port: tuple[subprocess.Popen[bytes], int]) -> None:
    proc, _ = proc_port
    proc.terminate()
    proc.wait(20)


LIST_THREADS = 200  # threads of MESSAGES_EACH messages in the benchmark's account
MESSAGES_EACH = 5
LONG_THREAD = 1_000  # messages in its one long thread


def _add_messages(services: Any, chart_number: str) -> int:
    """The signed-in client's 1,000 messages over 200 threads, and a thread of 1,000 (its
    id), written through the messages service as the web and the desk write them."""
    from sqlmodel import select

    from store.models import PortalAccount

    with services.db.read() as session:
        account = session.exec(
            select(PortalAccount).where(PortalAccount.email == "ben@example.com")
        ).one()
    messages = services.messages
    clock = services.clock
    for n in range(LIST_THREADS):
        started = messages.client_start(
            account.id, account.chart_id, audience="front_desk",
            subject=f"Question {n:03d} about my appointment", body="Hello,\nA question.",
        )  # fmt: skip
        for k in range(1, MESSAGES_EACH):
            clock.advance(0.001)
            if k % 2:
                messages.staff_reply(started.thread_id, body=f"Answer {k}: thank you.")
            else:
                messages.client_reply(
                    account.id, account.chart_id, started.thread_id, body=f"Follow-up {k}."
                )
    long = messages.staff_start(chart_number, subject="Our ongoing conversation", body="1")
    body = "A message of a usual length, with a second line.\nThank you, see you on Thursday."
    for k in range(2, LONG_THREAD + 1):
        clock.advance(0.001)
        if k % 2:
            messages.staff_reply(long.thread_id, body=f"{k}. {body}")
        else:
            messages.client_reply(account.id, account.chart_id, long.thread_id, body=f"{k}. {body}")
    return int(long.thread_id)


def _prepare(folder: Path) -> tuple[str, str, str, int]:
    """A practice, chart C-1001 with a live invitation (its token), and a second chart whose
    owner registered and signed in (the session id), with its messages (the long thread's
    id)."""
    from datetime import UTC, datetime, timedelta

    from frontdesk.access.signin import SignInService
    from frontdesk.charts.records import ChartInput
    from frontdesk.core.clock import FrozenClock
    from frontdesk.services import build_services
    from tests.factories import latest_token, register_chart
    from tests.web.conftest import PASSWORD, make_settings, prepare

    database_url = f"sqlite:///{folder / 'bench.db'}"
    services = build_services(make_settings(database_url))
    prepare(services)
    token = latest_token(services, "C-1001")  # C-1001's link, left live
    services.charts.add_chart(
        ChartInput("C-2002", "Ben", "Okafor", "1990-05-06", "ben@example.com")
    )
    services.invitations.send_invitation("C-2002")
    registered = register_chart(services, "C-2002", password=PASSWORD)
    assert registered.state == "registered", registered
    services.close()
    # The messages are written an hour back on a frozen clock (one millisecond apart), so the
    # session below, on the real clock, is the newest thing in the store.
    writing = build_services(
        make_settings(database_url),
        clock=FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)),
    )
    long_thread = _add_messages(writing, "C-2002")
    writing.close()
    services = build_services(make_settings(database_url))
    signed_in = SignInService(services.db, services.clock).sign_in(
        "ben@example.com", PASSWORD, client_address="127.0.0.1"
    )
    assert signed_in.ok and signed_in.session_id
    services.close()
    return database_url, token, signed_in.session_id, long_thread


def measure(
    seconds: float = 5.0, connections: int = 8, max_requests: int = 100_000
) -> dict[str, Any]:
    """Measure the servers one after the other; returns the JSON-able results."""
    args = argparse.Namespace(seconds=seconds, connections=connections, max_requests=max_requests)
    with tempfile.TemporaryDirectory() as folder:
        database_url, token, session_id, long_thread = _prepare(Path(folder))
        hello = _start("hello", database_url)
        try:
            hello_before = _measure(hello, "/", args)
        finally:
            _stop(hello)
        portal = _start("portal", database_url)
        try:
            register = _measure(portal, f"/register/{token}", args)
            login = _measure(portal, "/login", args)
            cookie = f"fd_session={session_id}"
            page = _measure(portal, "/portal", args, cookie=cookie)
            listing = _measure(portal, "/portal/messages", args, cookie=cookie)
            thread = _measure(portal, f"/portal/messages/{long_thread}", args, cookie=cookie)
        finally:
            _stop(portal)
        hello = _start("hello", database_url)
        try:
            hello_after = _measure(hello, "/", args)
        finally:
            _stop(hello)
    base = (hello_before + hello_after) / 2
    return {
        "hello_world_rps": round(base),
        "hello_world_rps_before_after": [round(hello_before), round(hello_after)],
        "register_page_rps": round(register),
        "login_page_rps": round(login),
        "portal_page_rps": round(page),
        "messages_list_rps": round(listing),
        "thread_page_rps": round(thread),
        "ratio": round(register / base, 3),
        "seconds": seconds,
        "connections": connections,
    }


TARGET = 0.40


def run(quick: bool = False, seconds: float | None = None, connections: int = 8) -> list[Result]:
    seconds = seconds or (1.5 if quick else 5.0)
    r = measure(seconds, connections)
    base = float(r["hello_world_rps"])
    hello = f"{base:,.0f} req/s hello-world"
    before, after = r["hello_world_rps_before_after"]
    rows = [
        Result(
            "web: GET /register/<token> (1 worker)",
            f"{r['register_page_rps']:,} req/s",
            hello,
            r["register_page_rps"] / base,
            f"≥ {TARGET:.2f}× hello-world",
            r["register_page_rps"] / base >= TARGET,
            f"{connections} keep-alive connections, {seconds} s each; hello-world "
            f"{before:,} before, {after:,} after",
        ),
        Result(
            "web: GET /login (1 worker)",
            f"{r['login_page_rps']:,} req/s",
            hello,
            r["login_page_rps"] / base,
            "— (none named)",
            None,
        ),
        Result(
            "web: GET /portal signed in (1 worker)",
            f"{r['portal_page_rps']:,} req/s",
            hello,
            r["portal_page_rps"] / base,
            "— (none named)",
            None,
        ),
        Result(
            "web: GET /portal/messages, 201 threads (1 worker)",
            f"{r['messages_list_rps']:,} req/s",
            hello,
            r["messages_list_rps"] / base,
            f"≥ {TARGET:.2f}× hello-world",
            r["messages_list_rps"] / base >= TARGET,
            f"signed in; the newest 20 of {LIST_THREADS + 1} threads, "
            f"{LIST_THREADS * MESSAGES_EACH + LONG_THREAD:,} messages in the account",
        ),
        Result(
            "web: GET /portal/messages/<id>, 1,000 messages (1 worker)",
            f"{r['thread_page_rps']:,} req/s",
            hello,
            r["thread_page_rps"] / base,
            f"≥ {TARGET:.2f}× hello-world",
            r["thread_page_rps"] / base >= TARGET,
            f"signed in; the newest page of a {LONG_THREAD:,}-message thread, each view "
            "marked read and audited",
        ),
    ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per page (--quick: 1.5)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    parser.add_argument("--serve", choices=["hello", "portal"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port, os.environ.get("BENCH_DATABASE_URL", ""))
        return
    if args.json:
        print(json.dumps(measure(args.seconds, args.connections, args.max_requests)))
        return
    print_table(run(args.quick, None if args.quick else args.seconds, args.connections))


if __name__ == "__main__":
    main()
