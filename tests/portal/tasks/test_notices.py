"""The emails forms send go through the real outbox to a real SMTP server, and carry no
content: no form, no answer, no score; a link to the sign-in page only. One per assignment."""

from __future__ import annotations

import re
from email.message import Message

from frontdesk.charts.records import ChartInput
from frontdesk.portal.new_chart import NewChart
from frontdesk.services import Services
from tests.factories import PUBLIC_URL, delivery_for, smtp_settings
from tests.portal.conftest import ACTIVE_CHART, NEW_CHART, Client
from tests.tui.smtp import SmtpServer

# Words that would say what the forms are about, or who the client is.
NOT_IN_ANY_EMAIL = (
    "PHQ", "GAD", "depress", "anxi", "consent", "intake", "questionnaire", "score",
    "severe", "O'Brien", "1985", ACTIVE_CHART, "item 9",
)  # fmt: skip


def body_text(message: Message) -> str:
    parts = [message] if not message.is_multipart() else message.get_payload()
    assert isinstance(parts, list)
    texts = []
    for part in parts:
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        texts.append(payload.decode("utf-8"))
    return "\n".join(texts)


def deliver(services: Services, server: SmtpServer) -> list[Message]:
    settings = smtp_settings(services.settings.database_url, server.port)
    delivery_for(services, settings).deliver_due()
    return list(server.mailbox.messages)


def test_assigning_a_package_sends_one_content_free_notice(desk: Services, ana: Client) -> None:
    with SmtpServer() as server:
        deliver(desk, server)  # the registration emails of the fixture
        server.mailbox.messages.clear()
        desk.tasks.assign(ACTIVE_CHART, package_key="new-client")
        (message,) = deliver(desk, server)
    assert message["Subject"] == "You have forms to complete"
    assert message["To"] == "Ana O'Brien <ana@example.com>"
    text = body_text(message)
    assert "You have forms to complete for Cedar Counseling. Sign in to see them." in text
    links = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert links == {f"{PUBLIC_URL}/login"}
    for word in NOT_IN_ANY_EMAIL:
        assert word.lower() not in text.lower(), word


def test_a_submission_and_a_crisis_send_nothing(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="phq-9").tasks[0]
    with SmtpServer() as server:
        deliver(desk, server)
        server.mailbox.messages.clear()
        answers = {f"phq9_{n}": "3" for n in range(1, 10)}
        assert desk.tasks.submit(ana, task.id, answers).crisis
        desk.tasks.review(task.id)
        assert deliver(desk, server) == []


def test_the_new_chart_invitation_says_forms_are_waiting(desk: Services) -> None:
    chart = ChartInput("C-60", "Leo", "Park", "2014-06-01", "leo.park@example.com")
    desk.new_chart.create(NewChart(chart, invite=True, package_key="new-client"))
    with SmtpServer() as server:
        messages = deliver(desk, server)
    (invitation,) = [m for m in messages if m["To"].endswith("<leo.park@example.com>")]
    text = body_text(invitation)
    assert "Cedar Counseling has also sent you forms to complete" in text
    assert "/register/" in text
    for word in NOT_IN_ANY_EMAIL[:8]:
        assert word.lower() not in text.lower(), word


def test_no_notice_without_an_account(desk: Services) -> None:
    with SmtpServer() as server:
        deliver(desk, server)
        server.mailbox.messages.clear()
        assert desk.tasks.assign(NEW_CHART, package_key="new-client").notice_outbox_id is None
        assert deliver(desk, server) == []


def test_a_returned_form_sends_the_same_notice(desk: Services, ana: Client) -> None:
    task = desk.tasks.assign(ACTIVE_CHART, form_key="gad-7").tasks[0]
    desk.tasks.submit(ana, task.id, {f"gad7_{n}": "1" for n in range(1, 8)})
    with SmtpServer() as server:
        deliver(desk, server)
        server.mailbox.messages.clear()
        desk.tasks.return_task(task.id, "Please check your answer to item 7 (GAD-7).")
        (message,) = deliver(desk, server)
    assert message["Subject"] == "You have forms to complete"
    assert "item 7" not in body_text(message) and "GAD" not in body_text(message)


def test_an_invitation_sent_later_still_says_forms_are_waiting(desk: Services) -> None:
    """Forms assigned before the chart had portal access: the invitation sent afterwards, one
    by one or in bulk, says forms are waiting (issue 14: 'one invitation email that says forms
    are waiting'); a chart whose only task was cancelled gets the plain invitation."""
    desk.tasks.assign(NEW_CHART, package_key="new-client")
    desk.charts.add_chart(ChartInput("C-61", "Di", "Ng", "1991-02-03", "di@example.com"))
    cancelled = desk.tasks.assign("C-61", form_key="intake").tasks[0]
    desk.tasks.cancel(cancelled.id)
    desk.charts.add_chart(ChartInput("C-62", "Eve", "Ng", "1992-02-03", "eve@example.com"))
    desk.tasks.assign("C-62", form_key="consent")
    desk.invitations.send_invitation(NEW_CHART)
    desk.invitations.send_all_without_access()
    with SmtpServer() as server:
        messages = deliver(desk, server)
    texts = {m["To"].split("<")[1].rstrip(">"): body_text(m) for m in messages}
    line = "Cedar Counseling has also sent you forms to complete"
    assert line in texts["cy@example.com"]  # one by one
    assert line in texts["eve@example.com"]  # in bulk
    assert line not in texts["di@example.com"]
    for word in NOT_IN_ANY_EMAIL[:8]:
        assert word.lower() not in texts["eve@example.com"].lower(), word
