"""The rules of a portal message, on SQLite and PostgreSQL: lengths, control characters,
audiences, the practice's messaging mode, access that ended — and nothing stored on any
refusal."""

from __future__ import annotations

import pytest
from sqlmodel import select

from frontdesk.core.errors import NotAllowed, NotFound
from frontdesk.portal.message_results import (
    BODY_LIMIT,
    SUBJECT_LIMIT,
    FieldProblem,
    MessageInvalid,
    MessageRefused,
    MessageSent,
    Refusal,
)
from frontdesk.services import Services
from store.models import MessageAudience, MessageThread, MessagingMode, PortalMessage
from tests.factories import CHARTS

from .conftest import Client, audit_actions


def _start(services: Services, who: Client, **fields: str | None) -> MessageSent:
    values: dict[str, str | None] = {"audience": None, "subject": "Hello", "body": "Hi there"}
    values.update(fields)
    return services.messages.client_start(who.account_id, who.chart_id, **values)


def _problems(services: Services, who: Client, **fields: str | None) -> dict[str, FieldProblem]:
    with pytest.raises(MessageInvalid) as refused:
        _start(services, who, **fields)
    return refused.value.problems


def _nothing_stored(services: Services) -> None:
    with services.db.read() as session:
        assert session.exec(select(MessageThread)).all() == []
        assert session.exec(select(PortalMessage)).all() == []
    assert services.inbox.items(state=None).total == 0
    assert audit_actions(services) == []


def test_subject_and_body_lengths_are_counted_in_characters(
    services: Services, ana: Client
) -> None:
    assert _problems(services, ana, subject="s" * (SUBJECT_LIMIT + 1)) == {
        "subject": FieldProblem.TOO_LONG
    }
    assert _problems(services, ana, body="b" * (BODY_LIMIT + 1)) == {"body": FieldProblem.TOO_LONG}
    _nothing_stored(services)
    # At the limits, in characters (é, emoji), with a browser's CRLF counted as one break.
    body = "é" * 2_500 + "\r\n" + "🙂" * (BODY_LIMIT - 2_501)
    sent = _start(services, ana, subject="é" * SUBJECT_LIMIT, body=body)
    view = services.messages.staff_thread(sent.thread_id)
    assert len(view.messages[0].body) == BODY_LIMIT
    assert "\r" not in view.messages[0].body


def test_empty_fields_are_named_all_at_once(services: Services, ana: Client) -> None:
    assert _problems(services, ana, subject="   ", body=" \r\n \n ") == {
        "subject": FieldProblem.MISSING,
        "body": FieldProblem.MISSING,
    }
    assert _problems(services, ana, subject=None, body=None) == {
        "subject": FieldProblem.MISSING,
        "body": FieldProblem.MISSING,
    }
    with pytest.raises(MessageInvalid) as refused:
        _start(services, ana, subject="", body="x")
    assert (refused.value.field, str(refused.value)) == ("subject", "Subject is required.")
    _nothing_stored(services)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("body", "red \x1b[31malert\x1b[0m"),
        ("body", "nul \x00 byte"),
        ("body", "bell \x07"),
        ("body", "right-to-left \u202e override"),
        ("body", "isolate \u2066 mark"),
        ("body", "C1 \x9b control"),
        ("body", "delete \x7f"),
        ("subject", "two\nlines"),
        ("subject", "tab\x1b]0;title\x07"),
    ],
)
def test_control_characters_are_refused_at_their_field(
    services: Services, ana: Client, field: str, value: str
) -> None:
    assert _problems(services, ana, **{field: value}) == {field: FieldProblem.CONTROL_CHARACTERS}
    _nothing_stored(services)


def test_line_breaks_tabs_and_markup_are_kept_literally(services: Services, ana: Client) -> None:
    body = "Line one\n\n\tindented [bold]not markup[/bold] <b>not html</b>\u2028last"
    sent = _start(services, ana, subject="[link](https://evil.example) <script>", body=body)
    view = services.messages.staff_thread(sent.thread_id)
    assert view.messages[0].body == (
        "Line one\n\n\tindented [bold]not markup[/bold] <b>not html</b>\nlast"
    )
    assert view.thread.subject == "[link](https://evil.example) <script>"


def test_only_offered_audiences_are_accepted(services: Services, ana: Client) -> None:
    services.practice.update_messaging(audiences="billing,front_desk")
    assert _problems(services, ana, audience="clinical") == {"audience": FieldProblem.NOT_OFFERED}
    assert _problems(services, ana, audience="hr") == {"audience": FieldProblem.NOT_OFFERED}
    _nothing_stored(services)
    default = _start(services, ana, audience=None)
    assert services.messages.thread_summary(default.thread_id).audience is (
        MessageAudience.BILLING  # the first offered
    )
    overview = services.messages.client_overview(ana.account_id, ana.chart_id)
    assert overview.audiences == (MessageAudience.BILLING, MessageAudience.FRONT_DESK)


def test_messaging_off_refuses_everything_and_stores_nothing(
    services: Services, ana: Client
) -> None:
    earlier = _start(services, ana)
    services.practice.update_messaging(mode="off")
    overview = services.messages.client_overview(ana.account_id, ana.chart_id)
    assert (overview.mode, overview.can_start) == (MessagingMode.OFF, False)
    t = earlier.thread_id
    for action in (
        lambda: _start(services, ana),
        lambda: services.messages.client_reply(ana.account_id, ana.chart_id, t, body="x"),
        lambda: services.messages.staff_reply(t, body="x"),
        lambda: services.messages.staff_start("C-1001", subject="s", body="b"),
    ):
        with pytest.raises(MessageRefused) as refused:
            action()
        assert refused.value.reason is Refusal.MESSAGING_OFF
    assert services.messages.chart_threads("C-1001").threads[0].messages == 1
    assert not services.messages.staff_thread(t).can_reply


def test_reply_only_lets_clients_answer_only_the_practice(services: Services, ana: Client) -> None:
    theirs = _start(services, ana)
    ours = services.messages.staff_start("C-1001", subject="From us", body="Please reply")
    services.practice.update_messaging(mode="reply-only")
    overview = services.messages.client_overview(ana.account_id, ana.chart_id)
    assert (overview.mode, overview.can_start) == (MessagingMode.REPLY_ONLY, False)
    with pytest.raises(MessageRefused) as refused:
        _start(services, ana)
    assert refused.value.reason is Refusal.REPLY_ONLY
    t = theirs.thread_id
    with pytest.raises(MessageRefused):
        services.messages.client_reply(ana.account_id, ana.chart_id, t, body="more")
    view = services.messages.client_thread(ana.account_id, ana.chart_id, t)
    assert not view.can_reply
    view = services.messages.client_thread(ana.account_id, ana.chart_id, ours.thread_id)
    assert view.can_reply
    services.messages.client_reply(ana.account_id, ana.chart_id, ours.thread_id, body="Sure")
    services.messages.staff_reply(t, body="the practice may still answer")


def test_ended_access_and_charts_without_an_account(services: Services, ana: Client) -> None:
    sent = _start(services, ana)
    with pytest.raises(NotFound):
        services.messages.staff_start("NOPE-1", subject="s", body="b")
    services.charts.add_chart(CHARTS[5])  # Noah Park, never invited
    with pytest.raises(MessageRefused) as refused:
        services.messages.staff_start("C-1006", subject="s", body="b")
    assert refused.value.reason is Refusal.NO_ACCOUNT
    services.invitations.revoke_access("C-1001")
    with pytest.raises(MessageRefused) as refused:
        services.messages.staff_reply(sent.thread_id, body="x")
    assert refused.value.reason is Refusal.ACCESS_ENDED
    with pytest.raises(NotAllowed):
        services.messages.client_threads(ana.account_id, ana.chart_id)
