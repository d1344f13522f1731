"""The desk's process stays small: what only the web endpoint needs (argon2 and its 64 MiB
dummy hash, zxcvbn, Starlette, Jinja) is not loaded by the TUI, even with the store open and
charts searched. The web server computes the dummy hash before it serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from frontdesk.access import passwords

WEB_ONLY = ("argon2", "zxcvbn", "starlette", "jinja2", "uvicorn")

PROBE = """
import sys
import frontdesk.app  # the TUI
from frontdesk.core.config import Settings
from frontdesk.services import build_services

services = build_services(Settings(database_url=sys.argv[1]), actor="probe")
services.search.search_charts("ana", limit=20)
services.search.count_charts("ana")
services.close()
print(",".join(name for name in sys.argv[2:] if name in sys.modules))
"""


def test_tui_with_the_store_open_loads_nothing_web_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, f"sqlite:///{tmp_path / 'probe.db'}", *WEB_ONLY],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == ""  # the names of the web-only modules that were loaded


def test_dummy_hash_is_made_on_first_need_and_by_warm_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)
    assert passwords.verify_password(None, "tulip harbor ox lantern") is False
    first = passwords._DUMMY_HASH
    assert first is not None and first.startswith("$argon2id$")
    passwords.warm_up()
    assert first == passwords._DUMMY_HASH  # made once, then kept
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)
    passwords.warm_up()
    assert passwords._DUMMY_HASH is not None and passwords._DUMMY_HASH.startswith("$argon2id$")


def test_opening_a_current_store_does_not_load_alembic_or_the_email_validator(
    tmp_path: Path,
) -> None:
    """The second start of the desk on a migrated database reads the schema revision with
    plain SQL (Alembic is for migrating), and address validation loads when an address is
    typed, not at start."""
    url = f"sqlite:///{tmp_path / 'probe.db'}"
    for run, expected in ((1, None), (2, "")):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, url, "alembic", "email_validator"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=Path(__file__).resolve().parents[2],
        )
        assert done.returncode == 0, done.stderr[-2000:]
        if expected is not None:  # the first run created and migrated the file
            assert done.stdout.strip() == expected, f"run {run}"
