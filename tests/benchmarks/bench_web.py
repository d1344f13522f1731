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

    python -m tests.benchmarks.bench_web [--seconds 5] [--connections 8] [--quick] [--json]

Target (issue 5): the registration page at least 40% of the hello-world's requests per second.
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


def _prepare(folder: Path) -> tuple[str, str, str]:
    """A practice, chart C-1001 with a live invitation (its token), and a second chart whose
    owner registered and signed in (the session id)."""
    from frontdesk.access.signin import SignInService
    from frontdesk.charts.records import ChartInput
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
    signed_in = SignInService(services.db, services.clock).sign_in(
        "ben@example.com", PASSWORD, client_address="127.0.0.1"
    )
    assert signed_in.ok and signed_in.session_id
    services.close()
    return database_url, token, signed_in.session_id


def measure(
    seconds: float = 5.0, connections: int = 8, max_requests: int = 100_000
) -> dict[str, Any]:
    """Measure the servers one after the other; returns the JSON-able results."""
    args = argparse.Namespace(seconds=seconds, connections=connections, max_requests=max_requests)
    with tempfile.TemporaryDirectory() as folder:
        database_url, token, session_id = _prepare(Path(folder))
        hello = _start("hello", database_url)
        try:
            hello_before = _measure(hello, "/", args)
        finally:
            _stop(hello)
        portal = _start("portal", database_url)
        try:
            register = _measure(portal, f"/register/{token}", args)
            login = _measure(portal, "/login", args)
            page = _measure(portal, "/portal", args, cookie=f"fd_session={session_id}")
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
