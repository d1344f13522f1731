"""Property-based tests (Hypothesis, derandomized and bounded so CI stays fast and repeatable).

- identity normalisation: idempotent, symmetric matching, no crash on any Unicode;
- the email renderer: any greeting or practice name leaves the HTML structure, the headers and
  the link intact (escaped, no header injection through CR/LF);
- the CSV importer: any bytes or rows are imported whole or refused with per-row errors (one
  line each), never a traceback, never half-imported;
- the registration form: any posted fields give no 500 and change nothing unless they were a
  counted identity attempt;
- TUI text safety: no markup interpretation, no control character survives.
"""

from __future__ import annotations

import csv
import email
import io
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlmodel import select
from starlette.testclient import TestClient

from frontdesk.charts.importer import KNOWN_COLUMNS, ImportFileError, import_charts
from frontdesk.core.clock import FrozenClock
from frontdesk.core.config import Settings
from frontdesk.core.identity import last_names_match, normalize_last_name, parse_date_strict
from frontdesk.core.text import has_controls, single_line
from frontdesk.mail.compose import build_message, invitation_email, wire_policy
from frontdesk.mail.templates import TemplateError, clean_body
from frontdesk.services import Services
from screens.safe_text import cell, clean, content, lines, template
from store.models import AuditEvent, Chart, Invitation, OutboxEmail, PortalAccount, Practice
from tests.factories import latest_token, services_for
from tests.web.conftest import csrf_of, make_client, prepare


def fuzz(examples: int) -> settings:
    """Deterministic (derandomized, no example database) and bounded, so CI stays fast."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60)  # surrogates included
TYPED_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)  # what UTF-8 carries
NASTY = st.sampled_from(
    [
        "O'Brien [guardian]",
        "Smith [/]",
        "[@click=app.quit]x",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "Ana\r\nBcc: victim@example.com",
        "Ana\nSubject: hi",
        "\x1b]52;c;aGk=\x07",
        "\u202eevil",
        "{link}",
        "{{link}}",
        "&amp; &lt;",
        "Robert'); DROP TABLE chart;--",
        "ǰ ŉ ß İ ﬁ",
        " " * 10,
        "",
    ]
)
HOSTILE = NASTY | ANY_TEXT
# C0 (but tab/newline), DEL, C1, bidi overrides: what must never reach a terminal.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


# --------------------------------------------------------------------------------------------
# Identity normalisation
# --------------------------------------------------------------------------------------------


@fuzz(400)
@given(HOSTILE)
@example("ǰ")  # casefold gives a sequence NFKC would recompose
@example("ŉ")  # NFKC gives a modifier apostrophe
def test_normalising_a_last_name_is_idempotent(value: str) -> None:
    once = normalize_last_name(value)
    assert normalize_last_name(once) == once
    assert once == once.strip() and "  " not in once


@fuzz(300)
@given(HOSTILE, HOSTILE)
def test_matching_last_names_is_symmetric(a: str, b: str) -> None:
    assert last_names_match(a, b) == last_names_match(b, a)
    assert last_names_match(a, a) == bool(normalize_last_name(a))


APOSTROPHES = "'\u2019\u2018\u02bc`\u00b4\uff07"
HYPHENS = "-\u2010\u2011\u2013\u2014\u2212"


@fuzz(200)
@given(
    st.lists(st.text("abcdéñøAZ", min_size=1, max_size=8), min_size=1, max_size=3),
    st.sampled_from(APOSTROPHES),
    st.sampled_from(HYPHENS),
    st.sampled_from(["", " ", "  ", "\u00a0", "\t"]),
)
@example(words=["Brien"], apostrophe="\u00b4", hyphen="-", pad="")  # NFKC splits the acute
def test_typed_variants_of_a_chart_name_match_it(
    words: list[str], apostrophe: str, hyphen: str, pad: str
) -> None:
    on_chart = "O'" + "-".join(words)
    typed = f"{pad}O{apostrophe}" + f"{pad}{hyphen}{pad}".join(w.upper() for w in words) + pad
    assert last_names_match(typed, on_chart)


@fuzz(300)
@given(HOSTILE | st.dates().map(date.isoformat))
def test_dates_parse_strictly_or_not_at_all(value: str) -> None:
    parsed = parse_date_strict(value)
    if parsed is not None:
        assert parsed.isoformat() == value.strip()


# --------------------------------------------------------------------------------------------
# Email rendering
# --------------------------------------------------------------------------------------------

LINK = "http://127.0.0.1:8080/register/" + "Ab3_-" * 8 + "xyz"
EXPIRES = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)


class _Tags(HTMLParser):
    """Start tags with attributes, and the text, of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _practice(name: str, phone: str = "(555) 010-0100", **template: object) -> Practice:
    return Practice(id=1, name=name, phone=phone, timezone="America/New_York", **template)


def _wire(row: OutboxEmail, practice: Practice) -> EmailMessage:
    settings_ = Settings(mail_from="portal@cedar.example")
    message = build_message(row, settings_, practice, now=EXPIRES)
    raw = message.as_bytes(policy=wire_policy(False))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


BASELINE = _Tags(
    invitation_email(
        _practice("Cedar"), greeting_name="Alex", link=LINK, expires_at=EXPIRES, resend=True
    ).html
).tags
HEADERS = {
    "mime-version",
    "date",
    "message-id",
    "from",
    "to",
    "subject",
    "auto-submitted",
    "x-auto-response-suppress",
    "content-type",
}


@fuzz(100)
@given(greeting=HOSTILE, practice_name=HOSTILE, phone=NASTY, resend=st.booleans())
def test_any_names_leave_the_email_structure_and_link_intact(
    greeting: str, practice_name: str, phone: str, resend: bool
) -> None:
    practice = _practice(practice_name, single_line(phone)[:40])
    composed = invitation_email(
        practice, greeting_name=greeting, link=LINK, expires_at=EXPIRES, resend=resend
    )
    parsed = _Tags(composed.html)
    # the same elements and attributes as with a plain name: nothing escaped the text
    assert parsed.tags == BASELINE
    assert all(dict(attrs).get("href") in (None, LINK) for _, attrs in parsed.tags)
    assert [dict(attrs)["href"] for tag, attrs in parsed.tags if tag == "a"] == [LINK, LINK]
    assert f"Hello {single_line(greeting).strip()}," in "".join(parsed.text)
    assert f"\n{LINK}\n" in composed.text
    assert "\r" not in composed.subject and "\n" not in composed.subject

    row = OutboxEmail(
        kind="resend" if resend else "invitation",
        to_address="ana@example.com",
        to_name=single_line(greeting),
        subject=composed.subject,
        body_text=composed.text,
        body_html=composed.html,
        message_id="<fuzz.1@cedar.example>",
        created_at=EXPIRES,
        next_attempt_at=EXPIRES,
    )
    wire = _wire(row, practice)
    assert {name.lower() for name in wire} == HEADERS  # nothing injected
    assert wire["To"].addresses[0].addr_spec == "ana@example.com"
    assert wire["From"].addresses[0].addr_spec == "portal@cedar.example"
    assert wire["Subject"] == composed.subject
    plain = wire.get_body(("plain",))
    html_part = wire.get_body(("html",))
    assert plain is not None and html_part is not None
    assert LINK in plain.get_content()
    assert _Tags(html_part.get_content()).tags == parsed.tags


ALLOWED_TAGS = {"html", "head", "meta", "title", "body", "div", "h1", "p", "br", "a"}


@fuzz(150)
@given(
    before=HOSTILE,
    after=HOSTILE,
    placeholder=st.sampled_from(
        ["{client_preferred_name}", "{practice_name}", "{expires_on}", "{link}", "{oops}", "{"]
    ),
)
def test_any_practice_template_body_is_refused_or_rendered_safely(
    before: str, after: str, placeholder: str
) -> None:
    body = f"{before}\n\n{{link}}\n\n{placeholder} {after}"
    try:
        cleaned = clean_body(body)
    except TemplateError as refused:
        assert "\n" not in str(refused) and refused.field == "body"
        return
    assert cleaned is not None
    practice = _practice(
        "Cedar <b>&</b>",
        template_enabled=True,
        template_subject="Your link from {practice_name}",
        template_body=cleaned,
    )
    composed = invitation_email(
        practice, greeting_name="<i>Al</i>", link=LINK, expires_at=EXPIRES, resend=False
    )
    parsed = _Tags(composed.html)
    assert {tag for tag, _ in parsed.tags} <= ALLOWED_TAGS
    hrefs = [dict(attrs).get("href") for tag, attrs in parsed.tags if tag == "a"]
    assert hrefs and set(hrefs) == {LINK}
    assert LINK in composed.text
    assert "<i>" not in composed.html and "<b>" not in composed.html


# --------------------------------------------------------------------------------------------
# CSV importer
# --------------------------------------------------------------------------------------------

CELL = st.one_of(
    st.sampled_from(
        [
            *("", "C-1", "C-2", "Ana", "O'Brien", "1985-03-04", "2099-01-01", "1985-02-30"),
            *("ana@example.com", "ana@gmial.con", "not an email", "guardian", "x" * 101),
            *("\ufb03" * 100, "\ufdfa" * 60, "5" * 41, "legal guardian " + "x" * 50),
        ]
    ),
    TYPED_TEXT,
    st.text(st.characters(exclude_categories=("Cs",)), min_size=35, max_size=120),
)
HEADER = st.one_of(
    st.permutations(KNOWN_COLUMNS).flatmap(
        lambda cols: st.integers(4, len(cols)).map(lambda n: list(cols[:n]))
    ),
    st.lists(st.sampled_from([*KNOWN_COLUMNS, "Chart_Number ", "bogus", ""]), max_size=8),
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=300))
    header = draw(HEADER)
    width = max(1, len(header))
    rows = draw(
        st.lists(
            st.lists(CELL, min_size=max(0, width - 2), max_size=width + 1), min_size=0, max_size=6
        )
    )
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    if draw(st.booleans()):
        text = "\ufeff" + text  # as Excel writes it
    return text.encode("utf-8", "surrogatepass")


def _counts(services: Services) -> tuple[int, int, int]:
    with services.db.read() as session:
        return (
            session.exec(select(sa.func.count()).select_from(Chart)).one(),
            session.exec(
                select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "contact added")
            ).one(),
            session.exec(select(sa.func.count()).select_from(AuditEvent)).one(),
        )


@fuzz(80)
@given(data=csv_files(), skip_invalid=st.booleans())
@example(  # a valid file with a guardian: imported whole
    data=(
        b"chart_number,first_name,last_name,date_of_birth,email,"
        b"contact_name,contact_relationship,contact_email\n"
        b"C-100,Ana,O'Brien,1985-03-04,ana@example.com,Gina,guardian,g@example.com\n"
        b"C-100,,,,,Paul,father,p@example.com\n"
    ),
    skip_invalid=False,
)
@example(  # one bad row: nothing is imported
    data=b"chart_number,first_name,last_name,date_of_birth\nC-101,A,B,1985-03-04\nC-102,A,B,x\n",
    skip_invalid=False,
)
def test_any_csv_is_imported_whole_or_refused_with_row_errors(
    practice_ready: Services, tmp_path: Path, data: bytes, skip_invalid: bool
) -> None:
    """On both engines (PostgreSQL enforces column widths that SQLite ignores)."""
    services = practice_ready
    path = tmp_path / "charts.csv"
    path.write_bytes(data)
    charts_before, contacts_before, audit_before = _counts(services)
    try:
        report = import_charts(services.charts, path, skip_invalid=skip_invalid)
    except ImportFileError as refused:
        assert not has_controls(str(refused))  # one line, no control characters
        assert _counts(services) == (charts_before, contacts_before, audit_before)
        return
    charts_after, contacts_after, _ = _counts(services)
    if data.startswith(b"chart_number,first_name,last_name,date_of_birth,email,contact"):
        assert (report.errors, report.charts_added, report.contacts_added) == ([], ["C-100"], 2)
    if data.endswith(b"C-102,A,B,x\n"):
        assert [e.line for e in report.errors] == [3] and report.charts_added == []
    for error in report.errors:
        assert error.line >= 2 and not has_controls(str(error))
    assert charts_after - charts_before == len(report.charts_added)
    assert contacts_after - contacts_before == report.contacts_added
    if report.errors and not skip_invalid:
        assert (charts_after, contacts_after) == (charts_before, contacts_before)  # all or none
    assert report.rows >= len(report.charts_added)


# --------------------------------------------------------------------------------------------
# Registration form
# --------------------------------------------------------------------------------------------

IDENTITY_ERROR = "match the practice"  # "doesn't match the practice's records"


@pytest.fixture
def registration_site(sqlite_url: str, clock: FrozenClock) -> Iterator[tuple[TestClient, str]]:
    services = services_for(sqlite_url, clock=clock)
    prepare(services)
    with make_client(services) as client:
        yield client, latest_token(services)
    services.close()


def _registration_state(client: TestClient) -> tuple[int, str, int, int, int]:
    services: Services = client.app.state.web.services  # type: ignore[attr-defined]
    with services.db.read() as session:
        invitation = session.exec(select(Invitation)).one()
        return (
            invitation.failed_attempts,
            invitation.state,
            session.exec(select(sa.func.count()).select_from(PortalAccount)).one(),
            session.exec(select(sa.func.count()).select_from(OutboxEmail)).one(),
            session.exec(
                select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "registered")
            ).one(),
        )


def _reset_attempts(client: TestClient) -> None:
    services: Services = client.app.state.web.services  # type: ignore[attr-defined]
    with services.db.write_once() as session:
        session.execute(sa.update(Invitation).values(failed_attempts=0))


FIELD_NAMES = st.sampled_from(
    ["last_name", "date_of_birth", "password", "password_confirm", "csrf_token", "x", "last_name[]"]
)


@fuzz(80)
@given(
    fields=st.dictionaries(FIELD_NAMES, NASTY | TYPED_TEXT | st.text(max_size=3000), max_size=6),
    keep_csrf=st.booleans(),
)
@example(  # well formed, wrong details: a counted attempt
    fields={
        "last_name": "<b>Nobody</b>",
        "date_of_birth": "1990-01-01",
        "password": "maple river quiet lantern",
        "password_confirm": "maple river quiet lantern",
    },
    keep_csrf=True,
)
@example(fields={"last_name": "O\u2019Brien\r\n", "date_of_birth": "1985-03-05"}, keep_csrf=True)
def test_any_registration_post_gives_no_500_and_no_unearned_change(
    registration_site: tuple[TestClient, str], fields: dict[str, str], keep_csrf: bool
) -> None:
    client, token = registration_site
    # never the chart's real date of birth: these are all wrong or malformed submissions
    assume(parse_date_strict(fields.get("date_of_birth", "")) != date(1985, 3, 4))
    _reset_attempts(client)
    page = client.get(f"/register/{token}")
    assert page.status_code == 200
    if keep_csrf:
        fields = {**fields, "csrf_token": csrf_of(page.text)}
    before = _registration_state(client)
    response = client.post(f"/register/{token}", data=fields)
    after = _registration_state(client)

    assert response.status_code < 500, response.text[:300]
    assert response.status_code in (400, 403, 413, 415), response.status_code
    counted = IDENTITY_ERROR in response.text
    assert after[0] == before[0] + (1 if counted else 0)  # only a real attempt is counted
    assert after[1:] == before[1:]  # no account, link still live, no email, no registration
    for value in fields.values():
        if "<" in value and len(value) > 3:
            assert value not in response.text  # reflected input is escaped


@fuzz(60)
@given(body=st.binary(max_size=400), path=TYPED_TEXT)
def test_raw_bodies_and_odd_links_give_no_500(
    registration_site: tuple[TestClient, str], body: bytes, path: str
) -> None:
    client, token = registration_site
    before = _registration_state(client)
    posted = client.post(
        f"/register/{token}",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    opened = client.get("/register/" + quote(path, safe=""))
    assert posted.status_code < 500 and opened.status_code < 500
    assert _registration_state(client)[1:] == before[1:]


# --------------------------------------------------------------------------------------------
# TUI text safety
# --------------------------------------------------------------------------------------------


@fuzz(300)
@given(HOSTILE)
def test_client_text_reaches_the_tui_literally_without_controls(value: str) -> None:
    shown = clean(value)
    assert not CONTROL.search(shown) and "\n" not in shown and "\r" not in shown
    # everything else is kept, in order: brackets and markup lookalikes included
    kept = [c for c in value if not CONTROL.match(c) and c not in "\r\n\u2028\u2029\x85"]
    assert shown.replace(" ", "") == "".join(kept).replace(" ", "")
    assert content(value).plain == shown
    assert cell(value).plain == shown
    assert template("[b]Owner:[/b] $name ($rel)", name=value, rel=value).plain == (
        f"Owner: {shown} ({shown})"
    )
    assert lines([value, "x"]).plain == f"{shown}\nx"
    for visual in (content(value), template("$name", name=value)):
        assert all("@click" not in str(span.style) for span in visual.spans)


def test_the_characters_removed_are_controls_and_format_marks_only() -> None:
    """What the TUI never receives: control characters (Cc) and bidi format marks (Cf)."""
    removed = {chr(c) for c in range(0x250) if CONTROL.match(chr(c))} | {
        chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
    }
    assert {unicodedata.category(c) for c in removed} <= {"Cc", "Cf"}
    assert all(clean(c).strip() == "" for c in removed)
