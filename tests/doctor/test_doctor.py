"""`frontdesk doctor` through the real entry point, against real SQLite / PostgreSQL databases and
a real SMTP server (aiosmtpd on 127.0.0.1) with real certificates."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import keyring.backend
import keyring.backends.fail
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from frontdesk import doctor
from frontdesk.mail.secrets import SERVICE
from store.db import create_engine_for
from store.migrate import alembic_config, head_revision
from tests.cli.conftest import Cli, add_chart, set_up_practice
from tests.doctor.conftest import SMTP_PASSWORD, SMTP_USER, Spy, checks, point_at
from tests.mail.conftest import (
    Certs,
    HangingKeyring,
    MemoryKeyring,
    Sink,
    StartSmtp,
    free_port,
)

ALL_CHECKS = list(doctor.NAMES)
UseKeyring = Callable[[keyring.backend.KeyringBackend], None]


def statuses(out: str) -> dict[str, str]:
    return {check_id: item["status"] for check_id, item in checks(out).items()}


def assert_clean(*texts: str) -> None:
    """Nothing printed holds the SMTP password or a traceback."""
    for text in texts:
        assert SMTP_PASSWORD not in text
        assert "Traceback" not in text


def run_doctor(cli: Cli, *extra: str) -> tuple[int, str, str]:
    result = cli("doctor", *extra)
    assert_clean(result.out, result.err)
    if result.code == 1:
        assert len(result.err_lines) == 1, result.err
        assert result.err.startswith("frontdesk: error: ")
    else:
        assert result.code == 0 and result.err == "", result.err
    return result.code, result.out, result.err


def healthy_mail(cli: Cli, start_smtp: StartSmtp, certs: Certs, use_keyring: UseKeyring) -> Spy:
    """STARTTLS with a certificate from the test CA, a login, the password in the keyring."""
    spy = Spy()
    server = start_smtp(sink=spy, starttls=certs.server_context(), login=(SMTP_USER, SMTP_PASSWORD))
    point_at(cli, server, "starttls", smtp_ca_file=str(certs.ca_file), smtp_username=SMTP_USER)
    backend = MemoryKeyring()
    backend.set_password(SERVICE, SMTP_USER, SMTP_PASSWORD)
    use_keyring(backend)
    cli.mp.setenv("FRONTDESK_PUBLIC_URL", "https://portal.cedar.example")
    return spy


# --------------------------------------------------------------------------------------------
# Everything in order
# --------------------------------------------------------------------------------------------


def test_everything_passes(
    cli: Cli, db_url: str, start_smtp: StartSmtp, certs: Certs, use_keyring: UseKeyring
) -> None:
    set_up_practice(cli)
    spy = healthy_mail(cli, start_smtp, certs, use_keyring)

    code, out, err = run_doctor(cli, "--json")
    assert code == 0, out + err
    found = checks(out)
    assert list(found) == ALL_CHECKS
    expected = {check_id: "pass" for check_id in ALL_CHECKS}
    if not db_url.startswith("sqlite"):
        expected["sqlite_local_disk"] = "skip"
    assert statuses(out) == expected
    assert all(item["fix"] is None or item["status"] != "pass" for item in found.values())
    assert "STARTTLS" in found["smtp_tls"]["detail"]
    assert "verified" in found["smtp_tls"]["detail"]
    assert found["smtp_login"]["detail"] == f"logged in as {SMTP_USER} (no email was sent)"
    assert "keyring" in found["smtp_password"]["detail"]
    assert found["portal"]["detail"] == "the Client Portal of Cedar Counseling is active"

    code, out, _ = run_doctor(cli)
    assert code == 0
    for name in doctor.NAMES.values():
        assert name in out
    assert "FAIL" not in out and "Fix:" not in out
    assert out.strip().splitlines()[-1] == (
        "15 passed, 0 warning(s), 0 failed, 0 skipped."
        if db_url.startswith("sqlite")
        else "14 passed, 0 warning(s), 0 failed, 1 skipped."
    )
    # Two runs logged in twice, tried the sender (MAIL FROM, RCPT TO, RSET) and sent nothing.
    assert spy.commands == ["MAIL", "RCPT"] * 2 and spy.messages == [] and spy.attempts == []


def test_environment_password_where_no_keyring_works(
    lite: Cli, start_smtp: StartSmtp, certs: Certs, use_keyring: UseKeyring
) -> None:
    set_up_practice(lite)
    healthy_mail(lite, start_smtp, certs, use_keyring)
    use_keyring(keyring.backends.fail.Keyring())
    lite.mp.setenv("FRONTDESK_SMTP_PASSWORD", SMTP_PASSWORD)
    code, out, _ = run_doctor(lite, "--json")
    assert code == 0
    found = checks(out)
    assert found["smtp_password"]["status"] == "pass"
    assert "FRONTDESK_SMTP_PASSWORD is set" in found["smtp_password"]["detail"]
    assert "No keyring backend works here" in found["smtp_password"]["detail"]
    assert found["smtp_login"]["status"] == "pass"


def test_implicit_tls_passes(
    lite: Cli, start_smtp: StartSmtp, certs: Certs, use_keyring: UseKeyring
) -> None:
    set_up_practice(lite)
    healthy_mail(lite, start_smtp, certs, use_keyring)
    # aiosmtpd only knows about STARTTLS: over implicit TLS it must be told to offer AUTH.
    server = start_smtp(
        tls=certs.server_context(), login=(SMTP_USER, SMTP_PASSWORD), auth_require_tls=False
    )
    point_at(lite, server, "tls")
    code, out, _ = run_doctor(lite, "--json")
    found = checks(out)
    assert code == 0, [(k, v["detail"]) for k, v in found.items() if v["status"] == "fail"]
    assert found["smtp_reachable"]["detail"].endswith("accepts connections (implicit TLS)")
    assert found["smtp_tls"]["detail"].startswith("implicit TLS")
    assert found["smtp_login"]["status"] == "pass"


# --------------------------------------------------------------------------------------------
# The mail server
# --------------------------------------------------------------------------------------------


def test_smtp_down_fails_with_a_fix(lite: Cli) -> None:
    set_up_practice(lite)
    port = free_port()
    point_at(lite, port, "none")
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_reachable"]["status"] == "fail"
    assert found["smtp_reachable"]["detail"] == (
        f"cannot connect to 127.0.0.1:{port}: connection refused"
    )
    assert "FRONTDESK_SMTP_HOST" in found["smtp_reachable"]["fix"]
    assert found["smtp_tls"]["status"] == "skip"
    assert found["smtp_login"]["status"] == "skip"
    assert err == "frontdesk: error: 1 check(s) failed: SMTP reachable\n"

    code, out, _ = run_doctor(lite)
    line = next(line for line in out.splitlines() if "SMTP reachable" in line)
    assert line.split()[0] == "FAIL" and "connection refused" in line
    assert "Fix: check FRONTDESK_SMTP_HOST" in out


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_untrusted_self_signed_certificate_fails_tls(
    lite: Cli,
    start_smtp: StartSmtp,
    certs: Certs,
    use_keyring: UseKeyring,
    security: str,
) -> None:
    set_up_practice(lite)
    healthy_mail(lite, start_smtp, certs, use_keyring)
    context = certs.server_context(self_signed=True)
    server = (
        start_smtp(starttls=context, login=(SMTP_USER, SMTP_PASSWORD))
        if security == "starttls"
        else start_smtp(tls=context, login=(SMTP_USER, SMTP_PASSWORD))
    )
    # The test CA is trusted, but this certificate was not issued by it.
    point_at(lite, server, security)
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_reachable"]["status"] == "pass"
    assert found["smtp_tls"]["status"] == "fail"
    assert "not trusted" in found["smtp_tls"]["detail"]
    assert "self-signed" in found["smtp_tls"]["detail"]
    assert "FRONTDESK_SMTP_CA_FILE" in found["smtp_tls"]["fix"]
    assert found["smtp_login"]["status"] == "skip"
    assert "TLS verified" in err


def test_plain_smtp_to_a_remote_host_fails_tls(lite: Cli) -> None:
    set_up_practice(lite)
    point_at(lite, free_port(), "none")
    # Not a loopback name, yet Linux connects it locally: refused at once, no DNS, no waiting.
    lite.mp.setenv("FRONTDESK_SMTP_HOST", "0.0.0.0")
    code, out, _ = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_reachable"]["status"] == "fail"
    assert found["smtp_tls"]["status"] == "fail"
    assert "FRONTDESK_SMTP_SECURITY=starttls" in found["smtp_tls"]["fix"]


def test_wrong_password_fails_login_and_nothing_is_sent(
    lite: Cli, start_smtp: StartSmtp, certs: Certs, use_keyring: UseKeyring
) -> None:
    set_up_practice(lite)
    spy = Spy()
    server = start_smtp(
        sink=spy, starttls=certs.server_context(), login=(SMTP_USER, "the-right-one-x9")
    )
    point_at(lite, server, "starttls", smtp_ca_file=str(certs.ca_file), smtp_username=SMTP_USER)
    use_keyring(MemoryKeyring())
    lite.mp.setenv("FRONTDESK_SMTP_PASSWORD", SMTP_PASSWORD)  # wrong for this server
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_tls"]["status"] == "pass"
    assert found["smtp_login"]["status"] == "fail"
    assert found["smtp_login"]["detail"].startswith(
        f"the server refused the login of {SMTP_USER}: 535"
    )
    assert "frontdesk smtp set-password" in found["smtp_login"]["fix"]
    assert err == "frontdesk: error: 1 check(s) failed: Login accepted\n"
    assert spy.commands == [] and spy.messages == [] and spy.attempts == []


def test_login_is_only_tried_over_verified_tls(
    lite: Cli, start_smtp: StartSmtp, certs: Certs, use_keyring: UseKeyring
) -> None:
    """With an untrusted certificate the password is never sent."""
    set_up_practice(lite)
    healthy_mail(lite, start_smtp, certs, use_keyring)
    spy = Spy()
    server = start_smtp(
        sink=spy,
        starttls=certs.server_context(other_name=True),
        login=(SMTP_USER, SMTP_PASSWORD),
    )
    point_at(lite, server, "starttls")
    code, out, _ = run_doctor(lite, "--json")
    found = checks(out)
    assert code == 1
    assert found["smtp_tls"]["status"] == "fail"
    assert "not trusted" in found["smtp_tls"]["detail"]
    assert found["smtp_login"]["status"] == "skip"


# --------------------------------------------------------------------------------------------
# The SMTP password
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (MemoryKeyring, f"no SMTP password for {SMTP_USER} in the keyring (tests.mail"),
        (keyring.backends.fail.Keyring, "No keyring backend works here, and FRONTDESK_SMTP"),
    ],
)
def test_missing_keyring_secret_and_env_fails(
    lite: Cli,
    start_smtp: StartSmtp,
    certs: Certs,
    use_keyring: UseKeyring,
    backend: type,
    message: str,
) -> None:
    set_up_practice(lite)
    spy = Spy()
    server = start_smtp(sink=spy, starttls=certs.server_context(), login=(SMTP_USER, SMTP_PASSWORD))
    point_at(lite, server, "starttls", smtp_ca_file=str(certs.ca_file), smtp_username=SMTP_USER)
    use_keyring(backend())
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_password"]["status"] == "fail"
    assert message in found["smtp_password"]["detail"]
    assert "FRONTDESK_SMTP_PASSWORD" in found["smtp_password"]["fix"]
    assert found["smtp_login"]["status"] == "skip"
    assert found["smtp_tls"]["status"] == "pass"
    assert "Keyring / SMTP password" in err
    assert spy.commands == []


def test_hanging_keyring_is_time_boxed(
    lite: Cli,
    start_smtp: StartSmtp,
    certs: Certs,
    use_keyring: UseKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_up_practice(lite)
    healthy_mail(lite, start_smtp, certs, use_keyring)
    use_keyring(HangingKeyring())
    monkeypatch.setattr(doctor, "KEYRING_TIMEOUT", 0.2)
    code, out, _ = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["smtp_password"]["status"] == "fail"
    assert "did not answer" in found["smtp_password"]["detail"]
    assert "unlock the keyring" in found["smtp_password"]["fix"]
    assert found["smtp_login"]["detail"] == "skipped: the keyring did not answer"


# --------------------------------------------------------------------------------------------
# Public URL and practice
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("http://portal.cedar.example", "fail", "uses http:// on a host that is not loopback"),
        ("http://127.0.0.1:8080", "warn", "is a loopback address"),
        ("https://portal.cedar.example/fd", "pass", "https://portal.cedar.example/fd (https)"),
        ("portal.cedar.example", "fail", "not an http(s) URL"),
    ],
)
def test_public_url(lite: Cli, url: str, status: str, words: str) -> None:
    set_up_practice(lite)
    lite.mp.setenv("FRONTDESK_PUBLIC_URL", url)
    _, out, _ = run_doctor(lite, "--json")
    found = checks(out)
    assert found["public_url"]["status"] == status
    assert words in found["public_url"]["detail"]
    if status == "fail":
        assert "https://" in found["public_url"]["fix"]
    # A bad value does not stop the other checks from running.
    assert found["settings"]["status"] == "pass"
    assert found["database"]["status"] == "pass"


def test_portal_not_active_fails(cli: Cli) -> None:
    cli.ok("practice", "show")  # the first use creates (SQLite) and migrates the database
    code, out, _ = run_doctor(cli, "--json")
    found = checks(out)
    assert found["database"]["status"] == "pass"
    assert found["portal"]["status"] == "fail"
    assert found["portal"]["detail"] == "the practice is not set up: invitations cannot be sent"
    cli.ok("practice", "set", "--name", "Cedar Counseling", "--phone", "555-0100")
    code, out, err = run_doctor(cli, "--json")
    assert code == 1
    portal = checks(out)["portal"]
    assert portal["status"] == "fail"
    assert portal["detail"] == (
        "the Client Portal of Cedar Counseling is not active: invitations cannot be sent"
    )
    assert portal["fix"] == "frontdesk practice set --portal on"
    assert "Practice portal active" in err


# --------------------------------------------------------------------------------------------
# Outbox
# --------------------------------------------------------------------------------------------


def test_outbox_backlog_and_oldest_failure_without_addresses(
    cli: Cli, start_smtp: StartSmtp
) -> None:
    set_up_practice(cli)
    add_chart(cli, "C-1", email="ana.secret@example.com")
    add_chart(cli, "C-2", last="Nguyen", first="Bao", email="bao.secret@example.com")
    refused = "550 5.1.1 <ana.secret@example.com>: Recipient address rejected"
    server = start_smtp(sink=Sink(rcpt_replies=[refused]))
    point_at(cli, server, "none")
    cli.ok("invites", "send", "C-1", "--yes")
    cli.ok("outbox", "deliver")
    cli.ok("invites", "send", "C-2", "--yes")  # queued, and nobody delivers it
    cli.clock.advance(hours=2)

    code, out, _ = run_doctor(cli, "--json")
    assert code == 0  # warnings only
    found = checks(out)
    backlog = found["outbox_backlog"]
    assert backlog["status"] == "warn"
    assert backlog["data"]["waiting"] == 1 and backlog["data"]["queued"] == 1
    assert "the oldest has been due since 2 h ago" in backlog["detail"]
    assert "frontdesk serve" in backlog["fix"]
    failures = found["outbox_failures"]
    assert failures["status"] == "warn"
    assert failures["data"]["failed"] == 1
    assert failures["data"]["oldest"]["error_class"] == "SMTP 550 (permanent)"
    assert "failing since 2 h ago: SMTP 550 (permanent)" in failures["detail"]
    assert "frontdesk outbox list" in failures["fix"]

    code, table, _ = run_doctor(cli)
    for text in (out, table):
        assert "secret" not in text and "Recipient address rejected" not in text
        assert "Okafor" not in text and "Nguyen" not in text and "O'Brien" not in text
    assert "WARN" in table


def test_empty_outbox_passes(lite: Cli) -> None:
    set_up_practice(lite)
    _, out, _ = run_doctor(lite, "--json")
    found = checks(out)
    assert found["outbox_backlog"]["detail"] == "no email is waiting"
    assert found["outbox_failures"]["detail"] == "no delivery failure in the last 7 days"


# --------------------------------------------------------------------------------------------
# Database
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["postgres-refused", "postgres-missing-db", "sqlite-missing", "garbage", "bad-url"]
)
def test_unreachable_database_is_one_clear_line(lite: Cli, tmp_path: Path, kind: str) -> None:
    secret = "Sentinel-Db-Pa55"
    missing = tmp_path / "nowhere" / "frontdesk.db"
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database at all " * 200)
    url = {
        "postgres-refused": f"postgresql+psycopg://postgres:{secret}@127.0.0.1:{free_port()}/fd",
        "postgres-missing-db": f"postgresql+psycopg://postgres:{secret}@127.0.0.1:5432/no_such_fd",
        "sqlite-missing": f"sqlite:///{missing}",
        "garbage": f"sqlite:///{garbage}",
        "bad-url": "not a url at all",
    }[kind]
    lite.mp.setenv("FRONTDESK_DATABASE_URL", url)
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    assert secret not in out and secret not in err
    found = checks(out)
    database = found["database"]
    assert database["status"] == "fail"
    assert "\n" not in database["detail"] and database["fix"]
    for later in ("migrations", "portal", "outbox_backlog", "outbox_failures"):
        assert found[later]["status"] == "skip"
        assert found[later]["detail"].startswith("skipped:")
    assert err.startswith("frontdesk: error: ") and "Database reachable" in err
    if kind == "sqlite-missing":
        assert database["detail"] == f"no database file at {missing}"
        assert "frontdesk db upgrade" in database["fix"]
        assert not missing.parent.exists()  # the doctor created nothing
    if kind == "postgres-refused":
        assert "Connection refused" in database["detail"] or "refused" in database["detail"]
        assert "PostgreSQL is running" in database["fix"]
    if kind == "bad-url":
        assert database["detail"] == "FRONTDESK_DATABASE_URL is not a valid database URL"

    code, table, _ = run_doctor(lite)
    assert code == 1
    first_failure = next(line for line in table.splitlines() if line.startswith("FAIL"))
    assert first_failure.split()[1:3] == ["Database", "reachable"]


def _stamp_older(url: str) -> str | None:
    """Put the database one migration behind the program (or unstamped when there is only
    one migration); return the revision it is now at."""
    head = head_revision()
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert previous is None or isinstance(previous, str)
    engine = create_engine_for(url)
    with engine.begin() as conn:
        if previous is None:
            conn.execute(sa.text("DELETE FROM alembic_version"))
        else:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": previous})
    engine.dispose()
    return previous


def _revision(url: str) -> str | None:
    engine = create_engine_for(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    return rows[0][0] if rows else None


def test_migrations_behind_fail_until_upgraded(cli: Cli, db_url: str) -> None:
    set_up_practice(cli)
    older = _stamp_older(db_url)
    code, out, err = run_doctor(cli, "--json")
    assert code == 1
    found = checks(out)
    assert found["database"]["status"] == "pass"
    migrations = found["migrations"]
    assert migrations["status"] == "fail"
    assert migrations["fix"] == "run `frontdesk db upgrade`"
    assert migrations["data"] == {"current": older, "head": head_revision()}
    assert found["portal"]["status"] == "skip"
    assert "Migrations current" in err
    assert _revision(db_url) == older  # the doctor migrated nothing, even on SQLite

    # A revision this program does not know: a newer FrontDesk migrated the database.
    engine = create_engine_for(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM alembic_version"))
        conn.execute(sa.text("INSERT INTO alembic_version VALUES ('9999_from_the_future')"))
    engine.dispose()
    found = checks(run_doctor(cli, "--json")[1])
    assert found["migrations"]["status"] == "fail"
    assert "does not know" in found["migrations"]["detail"]
    assert "upgrade FrontDesk" in found["migrations"]["fix"]


@pytest.mark.postgres
def test_fresh_empty_postgres_database_needs_upgrade(lite: Cli, empty_pg_url: str) -> None:
    lite.mp.setenv("FRONTDESK_DATABASE_URL", empty_pg_url)
    code, out, _ = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert found["database"]["status"] == "pass"
    assert found["sqlite_local_disk"]["status"] == "skip"
    assert found["migrations"]["status"] == "fail"
    assert "no FrontDesk schema yet" in found["migrations"]["detail"]
    assert found["migrations"]["fix"] == "run `frontdesk db upgrade`"
    assert _revision_or_none(empty_pg_url) is None

    lite.ok("db", "upgrade")
    found = checks(run_doctor(lite, "--json")[1])
    assert found["migrations"]["status"] == "pass"
    assert found["portal"]["status"] == "fail"  # now readable: the practice is not set up


def _revision_or_none(url: str) -> str | None:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
        return _revision(url)
    finally:
        engine.dispose()


def test_sqlite_on_this_machine_is_on_a_local_disk(lite: Cli) -> None:
    set_up_practice(lite)
    found = checks(run_doctor(lite, "--json")[1])
    assert found["sqlite_local_disk"]["status"] in ("pass", "skip")


def test_unreadable_settings_skip_everything(lite: Cli, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('colour = "blue"\n', encoding="utf-8")
    result = lite("--config", str(config), "doctor", "--json")
    code, out, err = result.code, result.out, result.err
    assert code == 1
    found = checks(out)
    assert found["settings"]["status"] == "fail"
    assert "unknown setting 'colour'" in found["settings"]["detail"]
    assert {item["status"] for key, item in found.items() if key != "settings"} == {"skip"}
    assert err == "frontdesk: error: 1 check(s) failed: Settings readable\n"


def test_json_is_a_list_of_checks(lite: Cli) -> None:
    _, out, _ = run_doctor(lite, "--json")
    data = json.loads(out)
    assert isinstance(data, list)
    for item in data:
        assert set(item) <= {"id", "name", "status", "detail", "fix", "data"}
        assert item["status"] in ("pass", "warn", "fail", "skip")


def test_an_unforeseen_error_fails_its_check_only(
    lite: Cli, start_smtp: StartSmtp, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_up_practice(lite)
    point_at(lite, start_smtp(), "none")

    def broken(self: doctor.Doctor) -> doctor.CheckResult:
        raise RuntimeError("the practice row is odd")

    monkeypatch.setattr(doctor.Doctor, "check_portal", broken)
    code, out, err = run_doctor(lite, "--json")
    assert code == 1
    found = checks(out)
    assert list(found) == ALL_CHECKS
    assert found["portal"]["status"] == "fail"
    assert found["portal"]["detail"] == "unexpected RuntimeError: the practice row is odd"
    assert found["outbox_backlog"]["status"] == "pass"  # the next checks still ran
    assert err == "frontdesk: error: 1 check(s) failed: Practice portal active\n"
