"""`frontdesk signin unlock EMAIL`: the desk lets a client who is waiting out failed sign-ins
sign in now (SECURITY.md P7), on SQLite and PostgreSQL."""

from __future__ import annotations

from frontdesk.access.signin import SignInService
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.services import build_services
from tests.cli.conftest import Cli


def _held_back(db_url: str, clock: FrozenClock) -> SignInService:
    services = build_services(Settings(database_url=db_url), clock=clock, actor="web")
    service = SignInService(services.db, services.clock)
    for _ in range(3):
        clock.advance(
            service.sign_in("ana@example.com", "x", client_address="10.0.0.9").retry_after
        )
        assert not service.sign_in("ana@example.com", "guess", client_address="10.0.0.9").ok
    assert service.sign_in("ana@example.com", "guess", client_address="10.0.0.9").throttled
    return service


def test_unlock_clears_the_held_back_email_and_is_audited(
    cli: Cli, db_url: str, clock: FrozenClock
) -> None:
    service = _held_back(db_url, clock)
    out = cli.ok("signin", "unlock", "ana@example.com", "--yes").out
    assert out.strip() == "Sign-in unlocked for ana@example.com: they can sign in now."
    # the next attempt is checked at once (a wrong password again: counted, not held back)
    assert not service.sign_in("ana@example.com", "guess", client_address="10.0.0.9").throttled
    again = cli.ok("signin", "unlock", "ben@example.com", "--yes").out
    assert "Nothing to unlock for ben@example.com" in again
    rows = [r for r in cli.ok("audit", "--json").json() if r["action"] == "sign-in unlocked"]
    assert [(r["actor"], r["action"], r["outcome"]) for r in rows] == [
        ("alice", "sign-in unlocked", "nothing held"),
        ("alice", "sign-in unlocked", "ok"),
    ]


def test_unlock_asks_first_and_refuses_a_non_address(cli: Cli) -> None:
    assert cli.fails("signin", "unlock", "ana@example.com") == (
        "frontdesk: error: refusing to act without confirmation: no terminal; pass --yes"
    )
    assert cli.fails("signin", "unlock", "ana at example", "--yes") == (
        "frontdesk: error: not an email address: 'ana at example'"
    )
    asked = cli("signin", "unlock", "ana@example.com", tty=True, answer="n")
    assert asked.code == 1
    assert asked.err.startswith("Let ana@example.com sign in to the Client Portal now?")
    assert asked.err.rstrip().endswith("frontdesk: error: cancelled; nothing was changed")
