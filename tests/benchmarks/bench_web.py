"""Benchmark: `GET /register/<token>` against a bare Starlette hello-world, same server stack,
same run, bounded loopback load.

Each server is one uvicorn worker (h11, no access log, the same `uvicorn.Config` options) in its
own process; the load comes from this process over keep-alive connections and stops after
`--seconds` or `--max-requests`, whichever comes first. The registration page is the real one:
the token is looked up in SQLite, the practice is read, a CSRF pre-session cookie is issued and
the Jinja template rendered (no cookie is sent back, so every request is a first visit).

    python -m tests.web.bench_register [--seconds 5] [--connections 8] [--max-requests 100000]

Prints one JSON line: requests per second of each, and their ratio (the goal is >= 0.40).
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


async def _load(port: int, path: str, seconds: float, connections: int, limit: int) -> int:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
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
        [sys.executable, "-m", "tests.web.bench_register", "--serve", which, "--port", str(port)],
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


def _measure(which: str, path: str, database_url: str, args: argparse.Namespace) -> float:
    proc, port = _start(which, database_url)
    try:
        target = path.format(port=port)
        asyncio.run(_load(port, target, 0.5, args.connections, 1000))  # warm up
        started = time.perf_counter()
        count = asyncio.run(_load(port, target, args.seconds, args.connections, args.max_requests))
        return count / (time.perf_counter() - started)
    finally:
        proc.terminate()
        proc.wait(20)


def _prepare(folder: Path) -> tuple[str, str]:
    from frontdesk.services import build_services
    from tests.web.conftest import latest_token, make_settings, prepare

    database_url = f"sqlite:///{folder / 'bench.db'}"
    services = build_services(make_settings(database_url))
    prepare(services)
    token = latest_token(services)
    services.close()
    return database_url, token


def run(seconds: float = 5.0, connections: int = 8, max_requests: int = 100_000) -> dict[str, Any]:
    """Measure both servers one after the other; returns the JSON-able results."""
    args = argparse.Namespace(seconds=seconds, connections=connections, max_requests=max_requests)
    with tempfile.TemporaryDirectory() as folder:
        database_url, token = _prepare(Path(folder))
        hello = _measure("hello", "/", database_url, args)
        register = _measure("portal", f"/register/{token}", database_url, args)
    return {
        "hello_world_rps": round(hello),
        "register_page_rps": round(register),
        "ratio": round(register / hello, 3),
        "seconds": seconds,
        "connections": connections,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--serve", choices=["hello", "portal"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port, os.environ.get("BENCH_DATABASE_URL", ""))
        return
    print(json.dumps(run(args.seconds, args.connections, args.max_requests)))


if __name__ == "__main__":
    main()
