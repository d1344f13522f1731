"""The mail commands through the real `frontdesk` entry point (frontdesk.cli.main)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.backends.fail
import pytest
from rich.console import Console

from frontdesk.cli import main
from frontdesk.cli.context import CliContext
from frontdesk.core.config import Settings
from frontdesk.mail.secrets import SERVICE
from frontdesk.services import Services
from tests.factories import outbox_rows
from tests.mail.conftest import Certs, MemoryKeyring, StartSmtp

SENTINEL = "Sentinel-Pa55-44d1aa"


class Run:
    """Runs `frontdesk ARGS` against the test's services; keeps stdout and stderr."""

    def __init__(self, services: Services, settings: Settings, tty: bool = True) -> None:
        self.services = services
        self.settings = settings
        self.tty = tty
        self.out = ""
        self.err = ""

    def __call__(self, *argv: str) -> int:
        out, err = io.StringIO(), io.StringIO()
        ctx = CliContext(
            stdout=Console(file=out, width=200, highlight=False),
            stderr=Console(file=err, width=200, highlight=False),
            stdin_is_tty=lambda: self.tty,
        )
        ctx._settings = self.settings
        ctx._services = self.services.at(self.services.clock, settings=self.settings)
        ctx.close = lambda: None  # type: ignore[method-assign]  # the fixture closes services
        code = main(list(argv), ctx)
        self.out, self.err = out.getvalue(), err.getvalue()
        return code


@pytest.fixture
def run(invited: Services) -> Run:
    return Run(invited, invited.settings)


def test_outbox_list_and_deliver(
    invited: Services, start_smtp: StartSmtp, mail_settings: Any
) -> None:
    server = start_smtp()
    run = Run(invited, mail_settings(server.port))
    assert run("outbox", "list", "--json") == 0
    [item] = json.loads(run.out)
    assert (item["state"], item["chart_number"], item["kind"]) == (
        "queued",
        "C-20931",
        "invitation",
    )
    assert run("outbox", "deliver") == 0
    assert run.out.strip() == "1 sent, 0 retrying, 0 failed, 0 cancelled."
    assert len(server.messages) == 1
    assert run("outbox", "list") == 0
    assert " Sent " in run.out and "C-20931" in run.out and "Invitation" in run.out


def test_outbox_deliver_without_sender_is_one_line_error(run: Run) -> None:
    run.settings = Settings(database_url=run.settings.database_url, mail_from=None)
    assert run("outbox", "deliver") == 1
    assert run.err.count("\n") == 1 and "FRONTDESK_MAIL_FROM" in run.err
    assert outbox_rows(run.services)[0].state == "pending"


def test_email_preview(run: Run) -> None:
    assert run("email", "preview") == 0
    assert run.out.startswith("From: Cedar Counseling <portal@cedar.example>\n")
    assert "Subject: Your Client Portal invitation" in run.out
    assert "Hello Alex," in run.out
    assert run("email", "preview", "--kind", "restore", "--html") == 0
    assert run.out.startswith("<!doctype html>") and "Sign in</a>" in run.out
    assert run("email", "preview", "--kind", "resend", "--text") == 0
    assert run.out.startswith("Cedar Counseling\n\nHello Alex,")


def test_email_preview_of_the_forms_emails(run: Run) -> None:
    """The emails forms send (issue 14) can be previewed too: the 'forms are waiting' notice,
    and a new chart's invitation with its forms line; neither names a form."""
    assert run("email", "preview", "--kind", "forms", "--text") == 0
    assert "You have forms to complete for Cedar Counseling. Sign in to see them." in run.out
    assert "/login" in run.out and "/register/" not in run.out
    assert run("email", "preview", "--kind", "invitation-with-forms", "--text") == 0
    assert "Cedar Counseling has also sent you forms to complete." in run.out
    assert "/register/" in run.out


def test_email_template_set_enable_show_disable(run: Run, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hi {client_preferred_name}!\r\n\r\n{link}\r\n\r\nUntil {expires_on}.\r\n")
    assert (
        run(
            "email",
            "template",
            "set",
            "--subject",
            "Join {practice_name}",
            "--from-name",
            "{practice_name} Desk",
            "--body-file",
            str(body),
        )
        == 0
    )
    assert run("email", "template", "enable") == 0
    assert "enabled" in run.out
    assert run("email", "template", "show", "--json") == 0
    shown = json.loads(run.out)
    assert shown["enabled"] and shown["subject"] == "Join {practice_name}"
    assert shown["body"] == "Hi {client_preferred_name}!\n\n{link}\n\nUntil {expires_on}.\n"
    assert run("email", "preview") == 0
    assert "Subject: Join Cedar Counseling" in run.out and "Hi Alex!" in run.out
    assert "From: Cedar Counseling Desk <" in run.out
    assert run("email", "template", "disable") == 0
    assert run("email", "template", "show") == 0
    assert "Template: disabled" in run.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--subject", "Bad {client_dob}"), "unknown placeholder {client_dob}"),
        (("--subject", "Hi\r\nBcc: x@evil.test"), "one line"),
        ((), "nothing to change"),
    ],
)
def test_email_template_set_rejects(run: Run, args: tuple[str, ...], message: str) -> None:
    assert run("email", "template", "set", *args) == 1
    assert message in run.err and run.err.count("\n") == 1


def test_template_body_without_link_is_rejected(run: Run, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Hi {client_first_name}, please call us.")
    assert run("email", "template", "set", "--body-file", str(body)) == 1
    assert "must contain {link}" in run.err


def test_smtp_set_password_prompts_and_stores(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    use_keyring: Callable[[keyring.backend.KeyringBackend], None],
) -> None:
    backend = MemoryKeyring()
    use_keyring(backend)
    run.settings = Settings(database_url=run.settings.database_url, smtp_username="desk")
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return SENTINEL

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert run("smtp", "set-password") == 0
    assert backend.store == {(SERVICE, "desk"): SENTINEL}
    assert prompts == ["SMTP password for desk: ", "Again, to confirm: "]
    assert SENTINEL not in run.out + run.err


def test_smtp_set_password_refuses_without_tty(
    run: Run, use_keyring: Callable[[keyring.backend.KeyringBackend], None]
) -> None:
    backend = MemoryKeyring()
    use_keyring(backend)
    run.settings = Settings(database_url=run.settings.database_url, smtp_username="desk")
    run.tty = False
    assert run("smtp", "set-password") == 1
    assert "terminal" in run.err and backend.store == {}


def test_smtp_set_password_without_keyring_says_what_to_do(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    use_keyring: Callable[[keyring.backend.KeyringBackend], None],
) -> None:
    use_keyring(keyring.backends.fail.Keyring())
    run.settings = Settings(database_url=run.settings.database_url, smtp_username="desk")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": SENTINEL)
    assert run("smtp", "set-password") == 1
    assert "No keyring backend works here" in run.err and "FRONTDESK_SMTP_PASSWORD" in run.err
    assert run.err.count("\n") == 1 and SENTINEL not in run.err


def test_smtp_test_connects_and_logs_in(
    run: Run,
    start_smtp: StartSmtp,
    certs: Certs,
    use_keyring: Callable[[keyring.backend.KeyringBackend], None],
) -> None:
    backend = MemoryKeyring()
    backend.store[(SERVICE, "desk")] = SENTINEL
    use_keyring(backend)
    server = start_smtp(starttls=certs.server_context(), login=("desk", SENTINEL))
    run.settings = Settings(
        database_url=run.settings.database_url,
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_username="desk",
        smtp_ca_file=str(certs.ca_file),
        mail_from="portal@cedar.example",
    )
    assert run("smtp", "test") == 0
    assert "with STARTTLS (TLSv1." in run.out and "logged in as desk" in run.out
    assert "No email was sent." in run.out
    assert not server.messages
    backend.store.clear()
    assert run("smtp", "test") == 1
    assert "SMTP password not set" in run.err
