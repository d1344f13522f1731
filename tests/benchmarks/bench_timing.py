"""Timing side channels (SECURITY.md R1, P8): how long an answer takes, case against case.

    python -m tests.benchmarks.bench_timing [--rounds 200] [--quick]

- Sign-in (P8): an unknown email against a known email with a wrong password. Both do the same
  argon2 work (a dummy hash for unknown emails, the real default profile here), so an attacker
  cannot tell which emails have accounts from the time. Target: medians within ±10 %.
- Registration (R1): wrong last name against wrong date of birth on a live link: the same
  generic answer after the same work. Target: medians within ±10 %. For information, a link
  that is unknown: it has its own page (issue 5 asks for one per link state), and that page
  is quicker to reach.
- Forgot your password (issue 11): `POST /forgot` with the email of a registered account
  against an email nobody has, timed at the client over loopback HTTP (keep-alive) to the
  real web app on uvicorn in its own process, as `frontdesk serve` runs it. The answer goes
  out before the reset work runs, so both take the same time. Target: medians within ±10 %;
  the two answers are checked identical (status, headers, and the page with the typed email
  taken out) and every known-email request is checked to have emailed a link. The server's
  clock leaps two hours at each reading, so no throttle ever cuts the work short. Each
  request starts once the previous one's background work has ended, so a measurement is the
  answer alone.

Sign-in and registration are measured on the service calls the web endpoint makes (SQLite,
real argon2), `--rounds` times per case, the cases interleaved so drift on a shared machine
hits them alike. The throttles are kept out of the way (a fresh client address each time and
a clock moved past their memory).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.benchmarks.common import Result, print_table

PASSWORD = "cedar river morning walk"


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _medians(a: list[float], b: list[float]) -> tuple[float, float, float]:
    """The two medians (ms) and their ratio."""
    ma, mb = statistics.median(a), statistics.median(b)
    return ma, mb, ma / mb


FORGOT_PAUSE = 0.005  # seconds after the previous request's background work ended
FORGOT_ADDRESS = "127.0.0.1"  # the client address the server sees (loopback)


class LeapingClock:
    """The forgot server's clock: two hours later at every reading, so every request is past
    both throttles' memory and does the full work (a link emailed for the known address)."""

    def __init__(self, start: datetime) -> None:
        self._at = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            self._at += timedelta(hours=2)
            return self._at


def _serve_forgot(port: int, database_url: str) -> None:
    """The child process: the real web app on uvicorn (h11, one worker, no access log)."""
    import uvicorn

    from frontdesk.core.config import Settings
    from frontdesk.services import build_services
    from frontdesk.web import create_web_app
    from tests.factories import MAIL_FROM, T0

    settings = Settings(
        database_url=database_url, public_url=f"http://127.0.0.1:{port}", mail_from=MAIL_FROM
    )
    services = build_services(settings, clock=LeapingClock(T0 + timedelta(days=1)), actor="bench")
    config = uvicorn.Config(
        create_web_app(services=services),
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


def forgot_case(rounds: int) -> Result:
    """`POST /forgot`: a registered account's email against an unknown one, over HTTP, the
    server in its own process (as `frontdesk serve` runs it)."""
    import sqlite3

    import httpx

    from frontdesk.access.reset import _address_key
    from frontdesk.charts.records import ChartInput
    from frontdesk.core.clock import FrozenClock
    from frontdesk.core.config import Settings
    from frontdesk.services import build_services
    from tests.benchmarks.bench_web import _free_port, _stop
    from tests.factories import MAIL_FROM, T0, register_chart, set_up_practice
    from tests.web.conftest import csrf_of

    known = "ana.known@example.com"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "forgot.db"
        database_url = f"sqlite:///{path}"
        settings = Settings(
            database_url=database_url, public_url="http://127.0.0.1:8080", mail_from=MAIL_FROM
        )
        services = build_services(settings, clock=FrozenClock(T0), actor="bench")
        set_up_practice(services)
        services.charts.add_chart(ChartInput("K-1", "Ana", "Lopez", "1985-03-04", known))
        services.invitations.send_invitation("K-1")
        assert register_chart(services, "K-1", password=PASSWORD).state == "registered"
        services.close()

        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.benchmarks.bench_timing", "--serve-forgot", str(port)],
            env={**os.environ, "BENCH_DATABASE_URL": database_url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The background work of each request ends by stamping this client address's
        # throttle row (in the same transaction as the link it emails): read it to know.
        watch = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        key = _address_key(FORGOT_ADDRESS)

        def stamp() -> object:
            row = watch.execute(
                "SELECT window_started_at FROM login_throttle WHERE key_digest = ?", (key,)
            ).fetchone()
            return row[0] if row else None

        def sent() -> int:
            return int(
                watch.execute(
                    "SELECT count(*) FROM outbox_email WHERE kind = 'password_reset'"
                ).fetchone()[0]
            )

        known_ms: list[float] = []
        unknown_ms: list[float] = []
        shapes: dict[str, set[Any]] = {"known": set(), "unknown": set()}
        try:
            # TCP_NODELAY: a POST's headers and body go in two writes; with Nagle's algorithm
            # the second waits ~40 ms for a delayed ACK, which would hide everything here.
            nodelay = httpx.HTTPTransport(
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            )
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}", timeout=30, transport=nodelay
            ) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        token = csrf_of(client.get("/forgot").text)
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline or proc.poll() is not None:
                            raise
                        time.sleep(0.1)

                def ask(case: str, email: str) -> float:
                    before = stamp()
                    started = time.perf_counter()
                    answer = client.post("/forgot", data={"csrf_token": token, "email": email})
                    took = (time.perf_counter() - started) * 1000
                    headers = tuple(
                        sorted(
                            (k, v)
                            for k, v in answer.headers.items()
                            if k not in ("date", "content-length")
                        )
                    )
                    shapes[case].add(
                        (answer.status_code, headers, answer.text.replace(email, "EMAIL"))
                    )
                    waited = time.monotonic() + 20
                    while stamp() == before:  # the background work has not ended yet
                        assert time.monotonic() < waited, "the reset work did not end"
                        time.sleep(0.001)
                    time.sleep(FORGOT_PAUSE)
                    return took

                for n in range(rounds):
                    unknown = f"nobody.{n:04d}@example.com"
                    if n % 2:
                        known_ms.append(ask("known", known))
                        unknown_ms.append(ask("unknown", unknown))
                    else:
                        unknown_ms.append(ask("unknown", unknown))
                        known_ms.append(ask("known", known))
            emailed = sent()
        finally:
            watch.close()
            _stop((proc, port))
    assert emailed == rounds, f"{emailed} reset emails for {rounds} known-email requests"
    assert len(shapes["known"]) == 1 and shapes["known"] == shapes["unknown"], shapes
    assert next(iter(shapes["known"]))[0] == 200
    m_known, m_unknown, ratio = _medians(known_ms, unknown_ms)
    return Result(
        "forgot: known vs unknown email (medians, HTTP)",
        f"{m_known:.2f} ms",
        f"{m_unknown:.2f} ms unknown email",
        ratio,
        "0.90–1.10×",
        0.9 <= ratio <= 1.1,
        f"{rounds} POST /forgot each to a uvicorn process over loopback; the same answer "
        f"(checked); {emailed} links emailed after the answers",
    )


def run(quick: bool = False, rounds: int | None = None) -> list[Result]:
    from sqlmodel import col, select

    from frontdesk.access.signin import SignInService
    from frontdesk.charts.records import ChartInput
    from frontdesk.core import links
    from frontdesk.core.clock import FrozenClock
    from frontdesk.core.config import Settings
    from frontdesk.services import build_services
    from store.models import OutboxEmail
    from tests.factories import MAIL_FROM, PRACTICE_PHONE, T0, register_chart, set_up_practice

    rounds = rounds or (40 if quick else 200)
    clock = FrozenClock(T0)
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            database_url=f"sqlite:///{Path(folder) / 'timing.db'}",
            public_url="http://127.0.0.1:8080",
            mail_from=MAIL_FROM,
        )
        services = build_services(settings, clock=clock, actor="bench")
        set_up_practice(services, phone=PRACTICE_PHONE)
        for n in range(2 * rounds + 1):
            services.charts.add_chart(
                ChartInput(f"C-{n}", "Ana", "Lopez", "1985-03-04", f"ana.{n}@example.com")
            )
            services.invitations.send_invitation(f"C-{n}")
        with services.db.read() as session:
            bodies = session.exec(select(OutboxEmail.body_text).order_by(col(OutboxEmail.id))).all()
        tokens = [token for body in bodies if (token := links.find_register_token(body))]
        # One account (the last chart registers), for the sign-in cases.
        last_chart = f"C-{2 * rounds}"
        assert (
            register_chart(services, last_chart, token=tokens[-1], password=PASSWORD).state
            == "registered"
        )
        signin = SignInService(services.db, clock)
        known = f"ana.{2 * rounds}@example.com"

        answers: dict[str, set[str]] = {"last": set(), "dob": set(), "link": set()}

        def register(case: str, token: str, last: str, dob: str) -> Callable[[], object]:
            def attempt() -> None:
                result = services.registration.register(
                    token,
                    last_name=last,
                    date_of_birth=dob,
                    password=PASSWORD,
                    password_confirm=PASSWORD,
                )
                answers[case].add(f"{result.state}: {result.message}")

            return attempt

        last_ms: list[float] = []
        dob_ms: list[float] = []
        unknown_link_ms: list[float] = []
        for n in range(rounds):
            last_ms.append(_timed(register("last", tokens[2 * n], "Smith", "1985-03-04")))
            dob_ms.append(_timed(register("dob", tokens[2 * n + 1], "Lopez", "1990-01-01")))
            unknown_link_ms.append(_timed(register("link", "A" * 43, "Lopez", "1985-03-04")))
        unknown_ms: list[float] = []
        wrong_ms: list[float] = []
        for n in range(rounds):
            clock.advance(hours=25)  # past the throttle's memory (the links are used by now)
            unknown_ms.append(
                _timed(
                    lambda n=n: signin.sign_in(
                        f"nobody.{n}@example.com", "wrong guess", client_address=f"10.1.{n}.1"
                    )
                )
            )
            wrong_ms.append(
                _timed(
                    lambda n=n: signin.sign_in(known, "wrong guess", client_address=f"10.2.{n}.1")
                )
            )

        services.close()
    # The cases compared give one and the same answer (R1: no hint which field was wrong).
    assert answers["last"] == answers["dob"] and len(answers["last"]) == 1, answers
    assert next(iter(answers["last"])).startswith("wrong_details"), answers
    assert answers["link"] == {"unknown: "}, answers

    s_unknown, s_wrong, s_ratio = _medians(unknown_ms, wrong_ms)
    r_last, r_dob, r_ratio = _medians(last_ms, dob_ms)
    u_link = statistics.median(unknown_link_ms)
    return [
        Result(
            "sign-in: unknown email vs wrong password (medians)",
            f"{s_unknown:.1f} ms",
            f"{s_wrong:.1f} ms known email",
            s_ratio,
            "0.90–1.10×",
            0.9 <= s_ratio <= 1.1,
            f"{rounds} sign-ins each, real argon2 (default profile), fresh addresses",
        ),
        Result(
            "register: wrong last name vs wrong DOB (medians)",
            f"{r_last:.2f} ms",
            f"{r_dob:.2f} ms wrong DOB",
            r_ratio,
            "0.90–1.10×",
            0.9 <= r_ratio <= 1.1,
            f"{rounds} attempts each on live links, the same generic answer (checked)",
        ),
        Result(
            "register: unknown link (info, its own page)",
            f"{u_link:.2f} ms",
            f"{r_last:.2f} ms wrong details",
            u_link / r_last,
            "—",
            None,
            "issue 5 gives each link state its own page; R1 asks one page for all (a decision)",
        ),
        forgot_case(max(300, 5 * rounds)),  # cheap requests: many, for a steady median
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve-forgot", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_forgot:
        _serve_forgot(args.serve_forgot, os.environ["BENCH_DATABASE_URL"])
        return
    print_table(run(args.quick, args.rounds))


if __name__ == "__main__":
    main()
