"""The client's message pages over HTTP, on SQLite and PostgreSQL: another chart's thread is a
404 on every route, CSRF, field rules at the field, withdraw, the practice's modes, pagination,
hostile text shown literally, the email preference and the portal home's tiles."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape
from sqlmodel import col, func, select

from frontdesk.core.clock import FrozenClock
from frontdesk.services import Services
from store.models import AuditEvent, MessageThread, PortalMessage
from tests.web.messages.conftest import Browser

ERROR_AT = re.compile(r'<p class="error-message" id="(\w+)-error">')


def counts(services: Services) -> tuple[int, int]:
    """(threads, messages) in the store."""
    with services.db.read() as session:
        threads = session.exec(select(func.count()).select_from(MessageThread)).one()
        messages = session.exec(select(func.count()).select_from(PortalMessage)).one()
    return int(threads), int(messages)


def audit_count(services: Services) -> int:
    with services.db.read() as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def settle(browser: Browser) -> None:
    """Let the web's thread views reach the store (written behind the page on SQLite)."""
    recorder = browser.web.app.state.message_views  # type: ignore[attr-defined]
    if recorder is not None:
        recorder.flush()


def textarea(page: str) -> str:
    found = re.search(r'<textarea id="body"[^>]*>\n(.*?)</textarea>', page, re.S)
    assert found, "no message field"
    return html.unescape(found.group(1))


def field_tag(page: str, name: str) -> str:
    found = re.search(rf'<(?:input|textarea|select) id="{name}"[^>]*>', page)
    assert found, name
    return found.group(0)


# ------------------------------------------------------------------------------------------
# Another chart's thread
# ------------------------------------------------------------------------------------------


def test_another_charts_thread_is_the_not_found_page_on_every_route(
    practice: Services, ana: Browser, ben: Browser
) -> None:
    secret = "Ben's private question"
    theirs = ben.start(subject=secret, body="About my medication dose")
    before = counts(practice)
    token = ana.csrf()
    pages = {
        "GET thread": ana.web.get(f"/portal/messages/{theirs}"),
        "GET thread page 1": ana.web.get(f"/portal/messages/{theirs}?page=1"),
        "HEAD thread": ana.web.head(f"/portal/messages/{theirs}"),
        "POST reply": ana.web.post(
            f"/portal/messages/{theirs}",
            data={"csrf_token": token, "body": "I am not Ben"},
            follow_redirects=False,
        ),
        "POST withdraw": ana.web.post(
            f"/portal/messages/{theirs}/withdraw",
            data={"csrf_token": token},
            follow_redirects=False,
        ),
        "GET unknown id": ana.web.get("/portal/messages/999999"),
        "GET huge id": ana.web.get("/portal/messages/" + "9" * 30),
        "GET zero": ana.web.get("/portal/messages/0"),
    }
    for name, response in pages.items():
        assert response.status_code == 404, name
        assert secret not in response.text and "medication" not in response.text, name
        if response.request.method != "HEAD":
            assert "Page not found" in response.text, name
    assert counts(practice) == before
    # Ben's own thread is untouched and still withdrawable by Ben (no one read it).
    page = ben.web.get(f"/portal/messages/{theirs}")
    assert page.status_code == 200 and "Withdraw this message" in page.text
    assert str(escape(secret)) in page.text


# ------------------------------------------------------------------------------------------
# CSRF
# ------------------------------------------------------------------------------------------


def test_every_post_needs_the_sessions_csrf_token(practice: Services, ana: Browser) -> None:
    thread = ana.start()
    before, audited = counts(practice), audit_count(practice)
    posts = {
        "/portal/messages": {"audience": "front_desk", "subject": "Hi", "body": "Hello"},
        f"/portal/messages/{thread}": {"body": "A reply"},
        f"/portal/messages/{thread}/withdraw": {"message_id": "1"},
        "/portal/messages/emails": {"notices": "off"},
    }
    for path, fields in posts.items():
        for token in (None, "forged-token-value"):
            data = dict(fields) if token is None else {"csrf_token": token, **fields}
            response = ana.web.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, path
            assert "This form has expired" in response.text
        cross_site = ana.web.post(
            path,
            data={"csrf_token": ana.csrf(), **fields},
            headers={"sec-fetch-site": "cross-site"},
            follow_redirects=False,
        )
        assert cross_site.status_code == 403, path
    settle(ana)
    assert counts(practice) == before
    assert practice.messages.client_overview(ana.who.account_id, ana.who.chart_id).notices_enabled
    # GETs made only the reads the test did (list and compose pages write nothing).
    assert audit_count(practice) == audited


# ------------------------------------------------------------------------------------------
# The fields: lengths, empty, control characters
# ------------------------------------------------------------------------------------------


def post_new(ana: Browser, subject: str, body: str, audience: str = "front_desk"):  # type: ignore[no-untyped-def]
    return ana.post("/portal/messages", {"audience": audience, "subject": subject, "body": body})


def test_subject_and_body_limits(practice: Services, ana: Browser) -> None:
    assert post_new(ana, "s" * 121, "b" * 5001).status_code == 400
    page = post_new(ana, "s" * 121, "b" * 5001)
    assert set(ERROR_AT.findall(page.text)) == {"subject", "body"}
    assert "Shorten it by 1 character." in page.text
    subject_tag, body_tag = field_tag(page.text, "subject"), field_tag(page.text, "body")
    assert 'aria-invalid="true"' in subject_tag and "subject-error" in subject_tag
    assert 'aria-invalid="true"' in body_tag and "body-error" in body_tag
    assert f'value="{"s" * 121}"' in subject_tag  # what was typed stays in the field
    assert textarea(page.text) == "b" * 5001
    assert "1 character too many" in page.text
    assert counts(practice) == (0, 0)

    # 5,000 characters counting each line break as one (a browser sends CRLF).
    body = ("x" * 99 + "\r\n") * 50
    assert len(body.replace("\r\n", "\n")) == 5000
    done = post_new(ana, "s" * 120, body)
    assert done.status_code == 303, done.text[:300]
    assert counts(practice) == (1, 1)
    thread = done.headers["location"].split("?")[0]
    shown = ana.web.get(thread)
    assert "Your message was sent" not in shown.text  # the notice is only after the POST
    assert ana.web.get(done.headers["location"]).text.count("Your message was sent.") == 1


def test_empty_fields_are_refused_at_each_field(practice: Services, ana: Browser) -> None:
    page = post_new(ana, "   ", "\r\n  \r\n")
    assert page.status_code == 400
    assert set(ERROR_AT.findall(page.text)) == {"subject", "body"}
    assert "Enter a subject." in page.text and "Write your message." in page.text
    assert 'href="#subject"' in page.text  # the summary links to the field
    unknown = post_new(ana, "Hello", "Body", audience="everyone")
    assert unknown.status_code == 400 and ERROR_AT.findall(unknown.text) == ["audience"]
    assert counts(practice) == (0, 0)


@pytest.mark.parametrize(
    "hostile",
    ["Hi\x1b[31m red", "bell\x07", "osc\x1b]52;c;RVZJTA==\x07", "c1 \x9b", "bidi \u202e"],
)
def test_control_characters_are_refused_and_nothing_is_stored(
    practice: Services, ana: Browser, hostile: str
) -> None:
    page = post_new(ana, "Question", f"Line one\r\n{hostile}")
    assert page.status_code == 400
    assert ERROR_AT.findall(page.text) == ["body"]
    assert "hidden control character" in page.text
    kept = textarea(page.text)
    assert kept.startswith("Line one\n") and "\x1b" not in kept and "\x07" not in kept
    assert 'aria-invalid="true"' in field_tag(page.text, "body")
    subject = post_new(ana, "Two\nlines", "Fine")
    assert subject.status_code == 400 and ERROR_AT.findall(subject.text) == ["subject"]
    thread = ana.start()
    reply = ana.post(f"/portal/messages/{thread}", {"body": hostile})
    assert reply.status_code == 400 and ERROR_AT.findall(reply.text) == ["body"]
    assert counts(practice) == (1, 1)


# ------------------------------------------------------------------------------------------
# Reading, replying, withdrawing
# ------------------------------------------------------------------------------------------


def test_hostile_text_is_shown_literally(practice: Services, ana: Browser) -> None:
    subject = '<b>bold</b> [b]x[/b] "quoted"'
    body = (
        "<script>alert('x')</script>\n<img src=x onerror=alert(1)>\n"
        "[link](javascript:alert(1)) [b]not bold[/b] **no markdown**\n\n  indented line"
    )
    thread = ana.start(subject=subject, body=body)
    page = ana.web.get(f"/portal/messages/{thread}").text
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>bold" not in page
    found = re.search(r'<p class="message-body">(.*?)</p>', page, re.S)
    assert found and html.unescape(found.group(1)) == body  # line breaks and spaces kept
    assert 'href="javascript' not in page
    assert str(escape(subject)) in page
    listing = ana.web.get("/portal/messages").text
    assert "<b>bold" not in listing and str(escape(subject)) in listing


def test_reply_and_the_practice_answer(
    practice: Services, ana: Browser, clock: FrozenClock
) -> None:
    thread = ana.start()
    clock.advance(60)
    sent = ana.post(f"/portal/messages/{thread}", {"body": "And Friday works too."})
    assert sent.status_code == 303
    assert sent.headers["location"].endswith(f"/portal/messages/{thread}?m=sent")
    clock.advance(60)
    practice.messages.staff_reply(thread, body="Friday at 10 is yours.")
    home = ana.web.get("/portal").text
    assert "<strong>1</strong> unread" in home
    listing = ana.web.get("/portal/messages").text
    assert "New reply" in listing and "1 with a new message" in listing
    page = ana.web.get(f"/portal/messages/{thread}").text
    assert page.index("Can we move Thursday?") < page.index("Friday at 10 is yours.")
    assert "Cedar Counseling" in page and "The practice replied" in page
    settle(ana)
    assert "New reply" not in ana.web.get("/portal/messages").text
    assert "No unread messages" in ana.web.get("/portal").text
    for tile in ("Forms and tasks", "Appointment requests", "Documents", "Balance"):
        assert tile in home
    assert home.count("Not available yet") == 3  # Forms and tasks has its own tile


def test_withdraw_until_the_practice_reads_it(
    practice: Services, ana: Browser, clock: FrozenClock
) -> None:
    thread = ana.start(body="Please ignore this one")
    page = ana.web.get(f"/portal/messages/{thread}").text
    assert "Withdraw this message" in page
    message_id = re.search(r'name="message_id" value="(\d+)"', page)
    assert message_id
    done = ana.post(
        f"/portal/messages/{thread}/withdraw",
        {"message_id": message_id.group(1)},
        form_from=f"/portal/messages/{thread}",
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?m=withdrawn")
    after = ana.web.get(done.headers["location"]).text
    assert "You withdrew this message." in after and "Please ignore this one" not in after
    assert "Withdraw this message" not in after
    # Everything of a thread the client began is withdrawn: its subject goes too.
    assert '<h1 class="thread-title">(withdrawn)</h1>' in after and "Rescheduling" not in after
    assert "(withdrawn)" in ana.web.get("/portal/messages").text

    clock.advance(60)
    second = ana.post(f"/portal/messages/{thread}", {"body": "The real question"},
                      form_from=f"/portal/messages/{thread}")  # fmt: skip
    assert second.status_code == 303
    practice.messages.staff_thread(thread)  # someone at the desk opens it
    clock.advance(60)
    page = ana.web.get(f"/portal/messages/{thread}").text
    assert "Withdraw this message" not in page
    refused = ana.post(f"/portal/messages/{thread}/withdraw", {"message_id": ""},
                       form_from=f"/portal/messages/{thread}")  # fmt: skip
    assert refused.status_code == 303 and refused.headers["location"].endswith("?m=read")
    shown = ana.web.get(refused.headers["location"]).text
    assert "someone at the practice has already read it" in shown
    assert "The real question" in shown


# ------------------------------------------------------------------------------------------
# The practice's messaging modes
# ------------------------------------------------------------------------------------------


def test_reply_only_mode(practice: Services, ana: Browser) -> None:
    own = ana.start()
    practice.practice.update_messaging(mode="reply-only")
    staff = practice.messages.staff_start("C-1001", subject="Forms to sign", body="Please sign.")
    listing = ana.web.get("/portal/messages").text
    assert "Write a new message" not in listing and "you can reply to them" in listing
    compose = ana.web.get("/portal/messages/new").text
    assert "<form" not in compose.split("<main", 1)[1].split("</main>")[0].replace(
        'action="http://127.0.0.1:8080/logout"', ""
    )
    assert "Not for emergencies: call 911 or 988." in compose
    refused = post_new(ana, "Hello", "Body")
    assert refused.status_code == 403
    theirs = ana.web.get(f"/portal/messages/{staff.thread_id}").text
    assert "Send reply" in theirs and "Not for emergencies" in theirs
    mine = ana.web.get(f"/portal/messages/{own}").text
    assert "Send reply" not in mine and "can't be answered here" in mine
    before = counts(practice)
    blocked = ana.post(f"/portal/messages/{own}", {"body": "Still there?"})
    assert blocked.status_code == 303 and blocked.headers["location"].endswith("?m=reply_only")
    assert counts(practice) == before
    ok = ana.post(f"/portal/messages/{staff.thread_id}", {"body": "Signed."})
    assert ok.status_code == 303 and counts(practice) == (before[0], before[1] + 1)


def test_messaging_off(practice: Services, ana: Browser) -> None:
    thread = ana.start(body="Earlier words")
    practice.practice.update_messaging(mode="off")
    for path in ("/portal/messages", "/portal/messages/new", f"/portal/messages/{thread}"):
        page = ana.web.get(path).text
        assert "turned portal messaging off" in page, path
        assert "Send" not in page and "Write a new message" not in page, path
    assert "Earlier words" in ana.web.get(f"/portal/messages/{thread}").text
    assert "Messaging is off" in ana.web.get("/portal").text
    before = counts(practice)
    assert post_new(ana, "Hello", "Body").status_code == 403
    reply = ana.post(f"/portal/messages/{thread}", {"body": "Hello?"})
    assert reply.headers["location"].endswith("?m=off")
    assert counts(practice) == before


# ------------------------------------------------------------------------------------------
# Pagination, the preference, what GET changes
# ------------------------------------------------------------------------------------------


def test_threads_and_a_long_thread_are_paginated(
    practice: Services, ana: Browser, clock: FrozenClock
) -> None:
    who = ana.who
    for n in range(45):
        clock.advance(10)
        practice.messages.client_start(
            who.account_id, who.chart_id, audience="billing", subject=f"Topic {n:02d}", body="x"
        )
    first = ana.web.get("/portal/messages").text
    assert "Topic 44" in first and "Topic 25" in first and "Topic 24" not in first
    assert "Page 1 of 3" in first and "?page=2" in first and "Newer conversations" not in first
    last = ana.web.get("/portal/messages?page=3").text
    assert "Topic 04" in last and "Topic 00" in last and "Older conversations" not in last
    assert ana.web.get("/portal/messages?page=99").status_code == 200  # the last page
    assert ana.web.get("/portal/messages?page=abc").status_code == 200  # the first page

    staff = practice.messages.staff_start("C-1001", subject="Long one", body="Message 000")
    for n in range(1, 75):
        clock.advance(1)
        practice.messages.staff_reply(staff.thread_id, body=f"Message {n:03d}")
    newest = ana.web.get(f"/portal/messages/{staff.thread_id}").text
    assert "Message 074" in newest and "Message 000" not in newest
    assert "Older messages" in newest and "Newer messages" not in newest
    assert "Send reply" in newest
    oldest = ana.web.get(f"/portal/messages/{staff.thread_id}?page=1").text
    assert "Message 000" in oldest and "Message 074" not in oldest
    assert "Go to the newest messages" in oldest and "Send reply" not in oldest
    assert oldest.index("Message 000") < oldest.index("Message 001")


def test_the_email_preference(practice: Services, ana: Browser) -> None:
    who = ana.who
    off = ana.post("/portal/messages/emails", {"notices": "off"})
    assert off.status_code == 303 and off.headers["location"].endswith("?m=emails_off")
    assert not practice.messages.client_overview(who.account_id, who.chart_id).notices_enabled
    page = ana.web.get(off.headers["location"]).text
    assert "These emails are <strong>off</strong>" in page and "Turn these emails on" in page
    on = ana.post("/portal/messages/emails", {"notices": "on"})
    assert on.headers["location"].endswith("?m=emails_on")
    assert practice.messages.client_overview(who.account_id, who.chart_id).notices_enabled
    assert ana.post("/portal/messages/emails", {"notices": "maybe"}).status_code == 400
    with practice.db.read() as session:
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions[-2:] == ["message emails turned off", "message emails turned on"]


def test_get_changes_nothing_but_the_read_mark(
    practice: Services, ana: Browser, clock: FrozenClock
) -> None:
    thread = ana.start()
    clock.advance(60)
    practice.messages.staff_reply(thread, body="Answer")
    settle(ana)
    audited = audit_count(practice)
    for path in ("/portal", "/portal/messages", "/portal/messages/new", "/portal/messages?page=2"):
        assert ana.web.get(path).status_code == 200
        assert ana.web.head(path).status_code == 200
    settle(ana)
    assert audit_count(practice) == audited
    summary = practice.messages.client_threads(ana.who.account_id, ana.who.chart_id).threads[0]
    assert summary.unread_by_client
    assert ana.web.get(f"/portal/messages/{thread}").status_code == 200
    settle(ana)
    assert audit_count(practice) == audited + 1  # "message thread viewed"
    summary = practice.messages.client_threads(ana.who.account_id, ana.who.chart_id).threads[0]
    assert not summary.unread_by_client


def test_the_practices_promise_reads_as_a_sentence(practice: Services, ana: Browser) -> None:
    """`--message-promise 'within one business day'` (the README's and the CLI help's own
    example) is shown in a sentence, not as a bare fragment; a whole sentence stays as typed."""
    practice.practice.update_messaging(promise="within one business day")
    thread_id = ana.start()
    for path in ("/portal/messages/new", f"/portal/messages/{thread_id}"):
        page = ana.web.get(path).text
        assert "<p>Cedar Counseling answers messages within one business day.</p>" in page, path
    practice.practice.update_messaging(promise="We answer on weekdays, usually the same day!")
    for path in ("/portal/messages/new", f"/portal/messages/{thread_id}"):
        page = ana.web.get(path).text
        assert "<p>We answer on weekdays, usually the same day!</p>" in page, path


@pytest.mark.parametrize(
    ("audience", "words"),
    [("billing", "billing office"), ("front_desk", "front desk"), ("clinical", "clinical team")],
)
def test_a_single_audience_is_named_in_words(
    practice: Services, ana: Browser, audience: str, words: str
) -> None:
    """With one audience offered, the compose page says where the message goes: 'the
    practice's billing office', never 'the practice's billing'."""
    practice.practice.update_messaging(audiences=(audience,))
    page = ana.web.get("/portal/messages/new").text
    assert f"Your message goes to the practice's {words}.</p>" in page


def test_a_conversation_the_practice_began_is_not_called_a_reply(
    practice: Services, ana: Browser, clock: FrozenClock
) -> None:
    """The practice writes first: the list says 'New message' / 'From the practice' and the
    page 'From: Billing', not 'New reply' / 'The practice replied' / 'To: Billing' (the
    client never wrote). Once the client answers and the practice replies, it is a reply."""
    staff = practice.messages.staff_start(
        "C-1001", subject="Your statement", body="Please call us.", audience="billing"
    )
    listing = ana.web.get("/portal/messages").text
    assert ">New message<" in listing and "New reply" not in listing
    assert "Billing · From the practice · 1 message" in listing
    assert "1 with a new message" in listing
    page = ana.web.get(f"/portal/messages/{staff.thread_id}").text
    assert "From: Billing · From the practice" in page and "To: Billing" not in page
    clock.advance(60)  # a second word from the practice before the client writes: still no reply
    practice.messages.staff_reply(staff.thread_id, body="Or write back here.")
    listing = ana.web.get("/portal/messages").text
    assert "Billing · From the practice · 2 messages" in listing and "New reply" not in listing
    settle(ana)
    clock.advance(60)
    assert ana.post(f"/portal/messages/{staff.thread_id}", {"body": "Will do."}).status_code == 303
    clock.advance(60)
    practice.messages.staff_reply(staff.thread_id, body="Thanks.")
    listing = ana.web.get("/portal/messages").text
    assert ">New reply<" in listing and "Billing · The practice replied · 4 messages" in listing
    page = ana.web.get(f"/portal/messages/{staff.thread_id}").text
    assert "From: Billing · The practice replied" in page
