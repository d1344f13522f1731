"""Bounce fixtures: a private Dovecot (tests/mail/dovecot.py) for the whole session, a fresh
mailbox user per test, and settings that read bounces from it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from frontdesk.core.config import Settings
from tests.mail.conftest import Certs
from tests.mail.dovecot import PASSWORD, Dovecot, dovecot_binary, start_dovecot

BOUNCE_ADDRESS = "bounces@cedar.example"


@pytest.fixture(scope="session")
def dovecot(certs: Certs) -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("dovecot is not installed (CI must install dovecot-imapd)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    server = start_dovecot(binary, certs.server_cert, certs.server_key, certs.ca_file)
    yield server
    server.stop()


@pytest.fixture
def bounce_user(dovecot: Dovecot) -> str:
    """A mailbox of its own for this test."""
    return dovecot.new_user()


@pytest.fixture
def bounce_settings(dovecot: Dovecot, bounce_user: str, certs: Certs) -> Callable[..., Settings]:
    """bounce_settings(base, **changes): `base` reading bounces from this test's mailbox over
    implicit TLS, trusting the test CA, with FRONTDESK_BOUNCE_ADDRESS set."""

    def make(base: Settings, **changes: Any) -> Settings:
        values: dict[str, Any] = {
            "bounce_address": BOUNCE_ADDRESS,
            "imap_host": "127.0.0.1",
            "imap_port": dovecot.tls_port,
            "imap_security": "tls",
            "imap_username": bounce_user,
            "imap_password": PASSWORD,
            "imap_ca_file": str(certs.ca_file),
        }
        values.update(changes)
        return replace(base, **values).validated()

    return make
