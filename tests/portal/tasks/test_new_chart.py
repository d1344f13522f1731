"""A new chart at the desk: the chart, its owner, the invitation and a package's tasks in one
transaction (a failure inside leaves nothing), errors at the field, email warnings as data."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from frontdesk.charts.records import ChartInput, ContactInput
from frontdesk.core.errors import InvalidInput, NotAllowed
from frontdesk.portal.new_chart import EmailWarningKind, NewChart
from frontdesk.services import Services
from store.models import AuditEvent, Chart, Invitation, OutboxEmail, RelatedContact, Task
from tests.factories import outbox_rows

LEO = ChartInput("C-50", "Leo", "Park", "2014-06-01", "leo.park@example.com")


def counts(services: Services) -> dict[str, int]:
    with services.db.read() as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Chart, RelatedContact, Invitation, OutboxEmail, Task, AuditEvent)
        }


def test_chart_invitation_and_package_together(practice_ready: Services) -> None:
    services = practice_ready
    result = services.new_chart.create(NewChart(LEO, invite=True, package_key="new-client"))
    assert result.chart_number == "C-50" and result.owner.is_client
    assert result.assignment is not None
    assert [t.form_key for t in result.assignment.tasks] == ["consent", "intake", "phq-9", "gad-7"]
    assert result.assignment.notice_outbox_id is None  # the invitation says it
    (email,) = outbox_rows(services)
    assert email.id == result.invitation_outbox_id and email.kind == "invitation"
    assert "has also sent you forms to complete" in email.body_text
    assert services.views.chart("C-50").status.status.value == "invited"
    actions = {row.action for row in services.audit.history("C-50")}
    assert {"chart added", "invitation sent", "task assigned"} <= actions


def test_a_related_contact_as_owner(practice_ready: Services) -> None:
    services = practice_ready
    mina = ContactInput("Mina Park", "Mother", "mina@example.com")
    result = services.new_chart.create(
        NewChart(LEO, owner=mina, invite=True, package_key="new-client")
    )
    assert (result.owner.name, result.owner.email) == ("Mina Park", "mina@example.com")
    assert services.views.chart("C-50").owner.name == "Mina Park"
    (email,) = outbox_rows(services)
    assert email.to_address == "mina@example.com"


def test_a_failure_inside_leaves_nothing(practice_ready: Services) -> None:
    services = practice_ready
    services.forms.forms()  # the built-ins exist before we count
    services.practice.update_practice(portal_active=False)
    before = counts(services)
    with pytest.raises(NotAllowed):  # the chart and contact are added, then the invitation fails
        services.new_chart.create(
            NewChart(LEO, owner=ContactInput("Mina Park", "Mother", "mina@example.com"),
                     invite=True, package_key="new-client")
        )  # fmt: skip
    assert counts(services) == before


def test_a_failure_after_the_invitation_leaves_nothing(
    practice_ready: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = practice_ready
    services.forms.forms()
    before = counts(services)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.tasks, "assign_in", broken)
    with pytest.raises(RuntimeError):
        services.new_chart.create(NewChart(LEO, invite=True, package_key="new-client"))
    assert counts(services) == before


def test_errors_at_the_field(practice_ready: Services) -> None:
    services = practice_ready
    cases = [
        (NewChart(ChartInput("C-51", "Leo", "", "2014-06-01")), "last_name"),
        (NewChart(ChartInput("C-51", "Leo", "Park", "2014-13-01")), "date_of_birth"),
        (NewChart(ChartInput("C-51", "Leo", "Park", "2014-06-01"), invite=True), "email"),
        (
            NewChart(LEO, owner=ContactInput("Mina", "Mother", "mina@"), invite=True),
            "owner_email",
        ),
        (NewChart(LEO, owner=ContactInput("", "Mother")), "owner_name"),
        (NewChart(LEO, package_key="nope"), "package"),
    ]
    for new, field in cases:
        with pytest.raises(InvalidInput) as refused:
            services.new_chart.create(new)
        assert refused.value.field == field, (new, refused.value)
    assert services.search.count_charts("") == 0


def test_email_warnings(practice_ready: Services) -> None:
    services = practice_ready
    services.new_chart.create(
        NewChart(ChartInput("C-1", "Ana", "Park", "1980-01-01", "family@example.com"),
                 owner=ContactInput("Jun Park", "Father", "jun@example.com"))
    )  # fmt: skip
    (typo,) = services.new_chart.check_email("leo@gmial.com")
    assert (typo.kind, typo.suggestion) == (EmailWarningKind.PROBABLE_TYPO, "leo@gmail.com")
    (shared,) = services.new_chart.check_email("Family@example.com")
    assert shared.kind is EmailWarningKind.ON_OTHER_CHART
    assert shared.chart_numbers == ("C-1",) and shared.suggest_guardian
    (contact,) = services.new_chart.check_email("jun@example.com")
    assert contact.chart_numbers == ("C-1",)
    assert services.new_chart.check_email("family@example.com", chart_number="C-1") == []
    assert services.new_chart.check_email("new@example.com") == []
    assert services.new_chart.check_email("not an email") == []
    result = services.new_chart.create(
        NewChart(ChartInput("C-2", "Bo", "Park", "2015-01-01", "family@example.com"))
    )
    assert [w.kind for w in result.warnings] == [EmailWarningKind.ON_OTHER_CHART]


def test_the_practice_template_gets_the_forms_line_too(practice_ready: Services) -> None:
    services = practice_ready
    services.templates.save(
        subject="Welcome to {practice_name}",
        body="Hi {client_preferred_name},\n\nSet up your account:\n\n{link}\n",
    )
    services.templates.set_enabled(True)
    services.new_chart.create(NewChart(LEO, invite=True, package_key="new-client"))
    (email,) = outbox_rows(services)
    assert email.subject == "Welcome to Cedar Counseling"
    assert email.body_text.rstrip().endswith(
        "Cedar Counseling has also sent you forms to complete. You will find them in your "
        "Client Portal once your account is set up."
    )
    services.new_chart.create(
        NewChart(ChartInput("C-51", "Bo", "Park", "2015-01-01", "bo@example.com"), invite=True)
    )
    assert "forms" not in outbox_rows(services)[-1].body_text
