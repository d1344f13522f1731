"""Fixtures for the client's message pages: a practice with two registered clients (Ana on
C-1001, Ben on C-2002), on SQLite and PostgreSQL, and a signed-in browser for each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.testclient import TestClient

from frontdesk.services import Services
from tests.factories import ANA_OBRIEN, DEMO_PASSWORD, set_up_practice
from tests.portal.messages.conftest import BEN, Client, registered_client
from tests.web.conftest import csrf_of, make_client, sign_in

THREAD_PATH = re.compile(r"/portal/messages/(\d+)")


@dataclass
class Browser:
    """A signed-in TestClient and whose it is."""

    web: TestClient
    who: Client
    email: str

    def csrf(self, path: str = "/portal/messages") -> str:
        return csrf_of(self.web.get(path).text)

    def post(self, path: str, fields: dict[str, str], *, form_from: str | None = None):  # type: ignore[no-untyped-def]
        token = self.csrf(form_from or "/portal/messages")
        return self.web.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)

    def start(self, subject: str = "Rescheduling", body: str = "Can we move Thursday?") -> int:
        """Start a thread through the page; its id."""
        response = self.post(
            "/portal/messages",
            {"audience": "front_desk", "subject": subject, "body": body},
            form_from="/portal/messages/new",
        )
        assert response.status_code == 303, response.text[:500]
        found = THREAD_PATH.search(response.headers["location"])
        assert found
        return int(found.group(1))


def signed_in(services: Services, who: Client, email: str) -> Iterator[Browser]:
    with make_client(services) as web:
        response = sign_in(web, email=email, password=DEMO_PASSWORD)
        assert response.status_code == 303, response.text[:500]
        yield Browser(web, who, email)


@pytest.fixture
def practice(services: Services) -> Services:
    set_up_practice(services, phone="(555) 010-0100")
    return services


@pytest.fixture
def ana(practice: Services) -> Iterator[Browser]:
    yield from signed_in(practice, registered_client(practice, ANA_OBRIEN), ANA_OBRIEN.email)


@pytest.fixture
def ben(practice: Services, ana: Browser) -> Iterator[Browser]:
    yield from signed_in(practice, registered_client(practice, BEN), BEN.email or "")
