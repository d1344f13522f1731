"""The password policy (NIST SP 800-63B-4, single factor) and argon2id hashing."""

from __future__ import annotations

import threading
import unicodedata
from datetime import date
from typing import Any

import pytest

from frontdesk.access import passwords
from frontdesk.access.passwords import (
    MAX_CONCURRENT_HASHES,
    hash_password,
    password_problem,
    verify_password,
)
from tests.web.conftest import (
    CountingHasher,
    csrf_of,
    latest_token,
    live_server,
    prepare,
    registration,
)

CONTEXT = {
    "context_words": ["Cedar Counseling", "Ana", "O'Brien", "Annie", "frontdesk", "portal"],
    "date_of_birth": date(1985, 3, 4),
}
LONG_1024 = ("the otter kept a lantern by the mill while seven crows argued over figs; " * 15)[
    :1024
]
EMOJI_15 = "🍎🚲🌧🎻🐢🌋🧭🪁🍋🦉🛶🎈🧩🌻🪐"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("tulip harbor o", "at least 15 characters (you have 14)"),
        ("ñandú grís oj", "you have 13"),
        ("n\u0303andu\u0301 gri\u0301s o", None),  # 15 code points (combining marks count)
        ("tulip harbor ox", None),
        ("ñandú grís ojo!", None),
        (EMOJI_15, None),
        ("👨‍👩‍👧‍👦 family picnic day", None),  # zero-width joiners are not control characters
        ("🙂" * 15, "repeats too few characters"),
        ("tulip harbor ox " * 4, None),  # 64
        (LONG_1024, None),
        ("tulip harbor ox" * 68 + "abcdefghij"[:5], "at most 1024 characters"),  # 1,025
        ("password", "at least 15"),
        ("passwordpassword", "easy to guess"),
        ("qwerty123456789", "too common"),
        ("iloveyou12345678", "easy to guess"),
        ("qwertyuiopasdfgh", "easy to guess"),
        ("123456789012345", "easy to guess"),
        ("abcdefghijklmnop", "easy to guess"),
        ("Summer2026Summer2026", "easy to guess"),
        ("Ana O'Brien 1985-03-04", "built from your name, date of birth"),
        ("obrien03041985!!!", "built from your name, date of birth"),
        ("Annie 04/03/1985 Annie", "built from your name, date of birth"),
        ("cedar counseling 1985", "built from your name, date of birth"),
        ("frontdesk portal 2026", "built from your name, date of birth"),
        ("annie obrien password", "common password with personal details"),
        ("tab\there is fine, ok", None),
        ("bell\x07 in the middle", "control character"),
        ("escape \x1b[31m red text", "control character"),
        ("bidi \u202e override here", "control character"),
    ],
)
def test_password_policy(password: str, reason: str | None) -> None:
    problem = password_problem(password, **CONTEXT)  # type: ignore[arg-type]
    if reason is None:
        assert problem is None, (password, problem)
    else:
        assert problem is not None and reason in problem, (password, problem)


def test_lengths_are_code_points() -> None:
    assert len("tulip harbor ox " * 4) == 64
    assert len(LONG_1024) == 1024
    assert len("tulip harbor ox" * 68 + "abcde") == 1025
    assert len("n\u0303andu\u0301 gri\u0301s o") == 15 and len(EMOJI_15) == 15


def test_over_the_cap_is_never_hashed(argon_counter: CountingHasher) -> None:
    with pytest.raises(ValueError, match="cap"):
        hash_password("x" * 1025)
    assert verify_password(hash_password("tulip harbor ox"), "x" * 1025) is False
    assert argon_counter.hashes == 1 and argon_counter.verifies == 0


def test_long_passwords_are_verified_in_full() -> None:
    password = ("the otter kept a lantern by the mill; " * 6)[:200]
    stored = hash_password(password)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    variant = password[:150] + ("X" if password[150] != "X" else "Y") + password[151:]
    assert verify_password(stored, password)
    assert not verify_password(stored, variant)


def test_no_composition_rules() -> None:
    assert password_problem("correct horse battery staple", **CONTEXT) is None  # type: ignore[arg-type]
    assert password_problem("all lowercase words only", **CONTEXT) is None  # type: ignore[arg-type]


def test_argon2id_and_unicode_normalisation() -> None:
    composed = "mañana velero kayak"
    stored = hash_password(composed)
    assert stored.startswith("$argon2id$v=19$")
    assert verify_password(stored, unicodedata.normalize("NFD", composed))
    assert not verify_password(stored, "manana velero kayak")


def test_unknown_account_costs_one_verification(argon_counter: CountingHasher) -> None:
    assert verify_password(None, "tulip harbor ox") is False
    assert argon_counter.verifies == 1


def test_concurrent_hashing_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight hashes at once: never more than MAX_CONCURRENT_HASHES in argon2 together."""
    real = passwords._hasher
    active = 0
    peak = 0
    lock = threading.Lock()

    class Tracking:
        def hash(self, password: str, **kwargs: Any) -> str:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            try:
                return str(real.hash(password, **kwargs))
            finally:
                with lock:
                    active -= 1

    monkeypatch.setattr(passwords, "_hasher", Tracking())
    barrier = threading.Barrier(8)

    def work() -> None:
        barrier.wait(timeout=30)
        hash_password("tulip harbor ox")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert peak == MAX_CONCURRENT_HASHES == 2


class _WatchedSlots(threading.BoundedSemaphore):
    """The real semaphore, telling when someone starts waiting for a slot."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.someone_waits = threading.Event()

    def __enter__(self) -> bool:
        self.someone_waits.set()
        return super().__enter__()


def test_hashing_never_blocks_the_event_loop(
    sqlite_url: str, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While every argon2 slot is held, a registration POST waits in a worker thread and the
    server keeps answering other requests."""
    slots = _WatchedSlots(MAX_CONCURRENT_HASHES)
    monkeypatch.setattr(passwords, "_slots", slots)
    with live_server(sqlite_url, clock) as live:
        prepare(live.services)
        link = f"/register/{latest_token(live.services)}"
        result: dict[str, int] = {}
        with live.client() as browser, live.client() as other:
            data = {"csrf_token": csrf_of(browser.get(link).text), **registration()}
            for _ in range(MAX_CONCURRENT_HASHES):
                assert slots.acquire(timeout=30)
            try:
                poster = threading.Thread(
                    target=lambda: result.update(status=browser.post(link, data=data).status_code)
                )
                poster.start()
                assert slots.someone_waits.wait(30)  # the POST is inside hash_password now
                for _ in range(5):
                    assert other.get("/healthz").status_code == 200
                    assert other.get("/login").status_code == 200
                assert "status" not in result
            finally:
                for _ in range(MAX_CONCURRENT_HASHES):
                    slots.release()
            poster.join(60)
    assert result == {"status": 200}
