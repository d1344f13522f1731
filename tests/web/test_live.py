"""The endpoint on a real uvicorn server: a full run with every log captured, proxy headers,
`frontdesk serve` as a process, and outbox delivery in the background."""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select as sql_select

from frontdesk.charts.records import ChartInput
from frontdesk.core.clock import FrozenClock
from frontdesk.services import build_services
from store.models import AuditEvent, OutboxEmail, PortalSession
from tests.web.conftest import (
    PASSWORD,
    csrf_of,
    latest_token,
    live_server,
    make_settings,
    prepare,
)

SENTINEL_LAST = "Zyxwarth-Quillon"
SENTINEL_DOB = "1977-07-19"
SENTINEL_EMAIL = "sentinel.patient@example.org"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, uvicorn's non-propagating ones included."""
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).removeHandler(caplog.handler)


def _listen_to_uvicorn(caplog: pytest.LogCaptureFixture) -> None:
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(caplog.handler)


def test_full_run_leaves_no_secret_or_phi_in_any_log(
    sqlite_url: str,
    clock: FrozenClock,
    all_logs: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with live_server(sqlite_url, clock) as live:
        _listen_to_uvicorn(all_logs)
        services = live.services
        services.practice.update_practice(
            name="Cedar Counseling", phone="(555) 010-0100", portal_active=True
        )
        services.charts.add_chart(
            ChartInput("S-77", "Quintessa", SENTINEL_LAST, SENTINEL_DOB, SENTINEL_EMAIL)
        )
        services.invitations.send_invitation("S-77")
        token = latest_token(services)
        link = f"/register/{token}"
        with live.client() as browser:
            assert browser.head(link).status_code == 200
            form = csrf_of(browser.get(link).text)
            fields = {
                "csrf_token": form,
                "last_name": SENTINEL_LAST,
                "date_of_birth": "1977-07-20",
                "password": PASSWORD,
                "password_confirm": PASSWORD,
            }
            assert browser.post(link, data=fields).status_code == 400
            assert browser.post(link, data={**fields, "csrf_token": "bad"}).status_code == 403
            done = browser.post(link, data={**fields, "date_of_birth": SENTINEL_DOB})
            assert done.status_code == 200
            assert browser.get(link).status_code == 410
            assert browser.get(f"{link}?utm=1&t={token}").status_code == 410
            assert browser.get(f"/register/{token[:20]}").status_code == 404
            login = csrf_of(browser.get("/login").text)
            assert (
                browser.post(
                    "/login",
                    data={"csrf_token": login, "email": SENTINEL_EMAIL, "password": "nope " * 4},
                ).status_code
                == 400
            )
            clock.advance(5)
            signed = browser.post(
                "/login",
                data={"csrf_token": login, "email": SENTINEL_EMAIL, "password": PASSWORD},
                follow_redirects=False,
            )
            assert signed.status_code == 303
            session_id = signed.cookies["fd_session"]
            portal = browser.get("/portal")
            assert portal.status_code == 200
            portal_csrf = csrf_of(portal.text)
            assert browser.post("/logout", data={"csrf_token": portal_csrf}).status_code == 200
            assert browser.get("/nope").status_code == 404
    with services.db.read() as session:
        audit_text = " ".join(
            f"{e.actor} {e.action} {e.detail} {e.source}"
            for e in session.exec(sql_select(AuditEvent))
        )
        assert session.exec(sql_select(PortalSession)).first() is not None
    server_records = [r for r in all_logs.records if not r.name.startswith(("httpx", "httpcore"))]
    assert any(r.name == "uvicorn.access" for r in server_records), "no access log captured"
    logged = "\n".join(
        [r.getMessage() for r in server_records]
        + [str(r.args) for r in server_records]
        + [capfd.readouterr().out, capfd.readouterr().err]
    )
    assert "/register/[redacted]" in logged
    secrets = {
        "token": token,
        "token prefix": token[:8],
        "password": PASSWORD,
        "session id": session_id,
        "registration csrf": form,
        "sign-in csrf": login,
        "portal csrf": portal_csrf,
        "last name": SENTINEL_LAST,
        "date of birth": SENTINEL_DOB,
        "email": SENTINEL_EMAIL,
    }
    for what, value in secrets.items():
        assert value not in logged, f"{what} found in a log line"
        if what not in ("last name", "email"):  # the audit names the chart, masks the email
            assert value not in audit_text, f"{what} found in the audit trail"
    assert SENTINEL_EMAIL not in audit_text


@pytest.mark.parametrize("trusted", [False, True])
def test_proxy_headers_only_from_trusted_proxies(
    sqlite_url: str, clock: FrozenClock, trusted: bool
) -> None:
    extra = {"trusted_proxies": ("127.0.0.1",)} if trusted else {}
    with live_server(sqlite_url, clock, **extra) as live:
        with live.client() as browser:
            form = csrf_of(browser.get("/login").text)
            browser.post(
                "/login",
                data={"csrf_token": form, "email": "a@example.com", "password": "x" * 16},
                headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
            )
        with live.services.db.read() as session:
            (event,) = session.exec(
                sql_select(AuditEvent).where(AuditEvent.action == "sign-in failed")
            ).all()
    assert event.source == ("web:203.0.113.9" if trusted else "web:127.0.0.1")


# ------------------------------------------------------------------------------------------
# `frontdesk serve` as a real process
# ------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(stream: object, needle: str, deadline: float) -> str:
    """Lines of `stream` until one contains `needle` (or the deadline passes)."""
    seen = ""
    fd = stream.fileno()  # type: ignore[attr-defined]
    while time.monotonic() < deadline and needle not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536).decode("utf-8", "replace")
        if not chunk:
            break
        seen += chunk
    return seen


def test_frontdesk_serve_runs_the_endpoint_and_delivery(tmp_path: Path) -> None:
    import httpx

    port, smtp_port = _free_port(), _free_port()  # nothing listens on smtp_port: delivery retries
    db_url = f"sqlite:///{tmp_path / 'fd.db'}"
    # `serve` runs on the wall clock: the link is made at the real now, or it has expired.
    services = build_services(make_settings(db_url), clock=FrozenClock(datetime.now(UTC)))
    prepare(services)
    token = latest_token(services)
    services.close()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")},
        "FRONTDESK_CONFIG": str(tmp_path / "none.toml"),
        "FRONTDESK_DATABASE_URL": db_url,
        "FRONTDESK_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FRONTDESK_SMTP_HOST": "127.0.0.1",
        "FRONTDESK_SMTP_PORT": str(smtp_port),
        "FRONTDESK_SMTP_SECURITY": "none",
        "FRONTDESK_MAIL_FROM": "portal@cedar.example",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "frontdesk.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        err = _read_until(proc.stderr, "Uvicorn running on", deadline)
        assert "Uvicorn running on" in err, err
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as browser:
            assert browser.get("/healthz").text == "ok\n"
            assert browser.get(f"/register/{token}").status_code == 200
        out = _read_until(proc.stdout, "/register/", time.monotonic() + 10)
        assert '"GET /register/[redacted] HTTP/1.1" 200' in out
        err += _read_until(proc.stderr, "outbox delivery", time.monotonic() + 20)
        assert "outbox delivery" in err  # the background round ran (and the mail server is down)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(20)
        finally:
            if proc.poll() is None:
                proc.kill()
        rest_out, rest_err = proc.communicate(timeout=10)
    everything = err + out + rest_out.decode() + rest_err.decode()
    assert code == 0, everything
    assert token not in everything and token[:8] not in everything
    assert "Traceback" not in everything


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["serve", "--host", "0.0.0.0"], "https://"),
        (["serve", "--host", "192.0.2.10", "--port", "8443"], "https://"),
        (["serve", "--port", "70000"], "--port"),
        (["serve", "--port", "0"], "--port"),
    ],
)
def test_serve_refuses_bad_settings(
    argv: list[str], phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from frontdesk.cli import main

    assert main(argv) == 1
    err = capsys.readouterr().err
    assert phrase in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------
# Outbox delivery in the background, against a real SMTP server
# ------------------------------------------------------------------------------------------


class _Sink:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(envelope.original_content)  # type: ignore[attr-defined]
        return "250 OK"


def test_outbox_loop_delivers_in_the_background(web_services, tmp_path: Path) -> None:
    from dataclasses import replace

    sink = _Sink()
    smtp_port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    services = build_services(
        replace(web_services.settings, smtp_port=smtp_port),
        clock=web_services.clock,
        db=web_services.db,
    )
    loop = services.delivery_loop(interval=0.05)
    loop.start()
    try:
        assert loop.round_done.wait(30)
    finally:
        loop.stop()
        controller.stop()
    assert len(sink.messages) == 1
    assert b"Client Portal" in sink.messages[0]
    with services.db.read() as session:
        (row,) = session.exec(sql_select(OutboxEmail)).all()
    assert row.state == "sent"


def test_a_broken_delivery_module_fails_at_start_not_in_the_background(
    web_services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No "not available in this installation" fallback: a delivery module that cannot be
    imported is an error when the loop is built (`frontdesk serve` stops with it), not a
    background thread that quietly leaves every email waiting."""
    monkeypatch.setitem(sys.modules, "frontdesk.mail.outbox", None)
    with pytest.raises(ImportError):
        web_services.delivery_loop(interval=0.01)
