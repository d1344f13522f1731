"""`frontdesk doctor` on issue 16's mail setup: the outbox's pause (one line with the fix), the
sender address (MAIL FROM + RCPT TO + RSET, never DATA), and a security setting that does not
fit the port (named with the one that does, within 10 seconds); `frontdesk smtp test` too."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.cli.conftest import Cli, add_chart, set_up_practice
from tests.doctor.conftest import Spy, checks, point_at
from tests.doctor.test_doctor import run_doctor
from tests.mail.conftest import Certs, StartSmtp, free_port

REJECTED = "553 5.7.1 <portal@cedar.example>: Sender address rejected: not owned by user desk"


@dataclass
class RefusingSpy(Spy):
    """A relay that refuses the sender at RCPT (Postfix's smtpd_sender_restrictions)."""

    refused: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        self.commands.append("RCPT")
        self.refused.append(address)
        return REJECTED


def test_doctor_fails_a_sender_the_relay_refuses_and_sends_nothing(
    lite: Cli, start_smtp: StartSmtp, certs: Certs
) -> None:
    set_up_practice(lite)
    spy = RefusingSpy()
    server = start_smtp(sink=spy, starttls=certs.server_context())
    point_at(lite, server, "starttls", smtp_ca_file=str(certs.ca_file))
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_tls"]["status"] == "pass"
    sender = found["smtp_sender"]
    assert sender["status"] == "fail"
    assert sender["detail"] == f"the server refused the sender <portal@cedar.example>: {REJECTED}"
    assert "FRONTDESK_MAIL_FROM" in sender["fix"]
    assert err == "frontdesk: error: 1 check(s) failed: Sender accepted\n"
    assert spy.commands == ["MAIL", "RCPT"] and spy.refused == ["portal@cedar.example"]
    assert spy.messages == [] and spy.attempts == []


def test_doctor_says_the_outbox_is_paused_with_the_fix(lite: Cli) -> None:
    set_up_practice(lite)
    add_chart(lite)
    lite.ok("invites", "send", "C-1", "--yes")
    port = free_port()
    point_at(lite, port, "none")
    lite.clock.advance(hours=4, minutes=2)  # 19:02 UTC: 2:02 PM in the practice's zone
    result = lite("outbox", "deliver")
    assert result.code == 1
    # The doctor and `outbox deliver` tell the time alike (the CLI's 12-hour clock).
    assert "1 waiting: the mail server cannot be reached; paused since Thu Nov 26, 2:02 PM." in (
        result.out
    )
    code, out, _ = run_doctor(lite, "--json")
    assert code == 1
    paused = checks(out)["outbox_paused"]
    assert paused["status"] == "fail"
    assert paused["detail"].startswith("email is paused since Thu Nov 26, 2:02 PM, 1 waiting:")
    assert "the mail server cannot be reached (cannot connect to mail server" in paused["detail"]
    assert paused["fix"].startswith("check FRONTDESK_SMTP_HOST and FRONTDESK_SMTP_PORT")
    assert paused["data"] == {
        "kind": "unreachable",
        "since": "2026-11-26T19:02:00+00:00",
        "waiting": 1,
    }
    _, out, _ = run_doctor(lite)
    assert "Email not paused" in out and "email is paused since" in out


def test_doctor_names_the_security_for_an_implicit_tls_port(
    lite: Cli, start_smtp: StartSmtp, certs: Certs
) -> None:
    set_up_practice(lite)
    server = start_smtp(tls=certs.server_context())  # 465-style: waits for TLS, never greets
    point_at(lite, server, "starttls", smtp_ca_file=str(certs.ca_file))
    lite.mp.setenv("FRONTDESK_SMTP_TIMEOUT", "30")
    started = time.monotonic()
    _, out, _ = run_doctor(lite, "--json")
    assert time.monotonic() - started < 10
    reach = checks(out)["smtp_reachable"]
    assert reach["status"] == "fail"
    assert "it probably expects implicit TLS" in reach["detail"]
    assert reach["fix"].startswith("set FRONTDESK_SMTP_SECURITY=tls")


def test_doctor_and_smtp_test_name_starttls_for_a_plaintext_port(
    lite: Cli, start_smtp: StartSmtp, certs: Certs
) -> None:
    set_up_practice(lite)
    server = start_smtp(starttls=certs.server_context())  # 587-style: greets in plain text
    point_at(lite, server, "tls", smtp_ca_file=str(certs.ca_file))
    _, out, _ = run_doctor(lite, "--json")
    tls = checks(out)["smtp_tls"]
    assert tls["status"] == "fail"
    assert "answered in plain text, not TLS" in tls["detail"]
    assert tls["fix"].startswith("set FRONTDESK_SMTP_SECURITY=starttls")
    line = lite.fails("smtp", "test")
    assert "answered in plain text, not TLS" in line
    assert "set FRONTDESK_SMTP_SECURITY=starttls" in line
