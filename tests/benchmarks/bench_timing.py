"""Timing side channels (SECURITY.md R1, P8): how long an answer takes, case against case.

    python -m tests.benchmarks.bench_timing [--rounds 200] [--quick]

- Sign-in (P8): an unknown email against a known email with a wrong password. Both do the same
  argon2 work (a dummy hash for unknown emails, the real default profile here), so an attacker
  cannot tell which emails have accounts from the time. Target: medians within ±10 %.
- Registration (R1): wrong last name against wrong date of birth on a live link: the same
  generic answer after the same work. Target: medians within ±10 %. For information, a link
  that is unknown: it has its own page (issue 5 asks for one per link state), and that page
  is quicker to reach.

Measured on the service calls the web endpoint makes (SQLite, real argon2), `--rounds` times
per case, the cases interleaved so drift on a shared machine hits them alike. The throttle is
kept out of the way (a fresh client address each time and a clock moved past its memory).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print_table(run(args.quick, args.rounds))


if __name__ == "__main__":
    main()
