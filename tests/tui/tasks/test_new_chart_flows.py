"""New chart at the desk, driven by keys (Pilot) and asserted on the store: a field error at
its field, then fixed; the chart, its invitation (delivered through a real SMTP server, saying
forms are waiting) and the package's tasks made together; Escape writes nothing; an address
already on another chart suggests a guardian, who becomes the Chart Owner in the same form."""

from __future__ import annotations

from sqlmodel import col, func, select
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Select

from frontdesk.app import FrontDeskApp
from screens.actions import MailSettled
from screens.chart_screen import ChartScreen
from screens.new_chart import NewChartDialog
from screens.widgets import DataStatic
from store.models import AuditEvent, Chart, Invitation, OutboxEmail, RelatedContact, Task
from tests.factories import ACTIVE
from tests.tui.conftest import AppFactory, settle
from tests.tui.smtp import SmtpServer
from tests.tui.test_flows import Told, wait_until

SIZE = (80, 24)


def counts(app: FrontDeskApp) -> dict[str, int]:
    """Rows of every table New chart writes to."""
    with app.services.db.read() as session:
        return {
            model.__name__: session.exec(select(func.count()).select_from(model)).one()
            for model in (Chart, Invitation, Task, RelatedContact, OutboxEmail, AuditEvent)
        }


def field_error(app: FrontDeskApp, name: str) -> str:
    error = app.screen.query_one(f"#{name}-error", DataStatic)
    return str(error.visual) if error.has_class("-visible") else ""


def toasts(app: FrontDeskApp) -> list[str]:
    return [notification.message for notification in app._notifications]


async def fill(pilot: Pilot[object], **values: str) -> None:
    """Type into the named fields (focused by clicking-free means: the field's focus())."""
    for name, text in values.items():
        field = pilot.app.screen.query_one(f"#field-{name}", Input)
        field.focus()
        await pilot.pause()
        await pilot.press("ctrl+u", *text) if text else await pilot.press("ctrl+u")


async def open_form(pilot: Pilot[object]) -> NewChartDialog:
    await settle(pilot)
    await pilot.press("ctrl+n")
    await settle(pilot)
    dialog = pilot.app.screen
    assert isinstance(dialog, NewChartDialog)
    return dialog


async def test_field_error_then_created_with_package_and_invitation(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_form(pilot)
        before = counts(app)
        await pilot.press(*"C-2001", "tab", *"Maya", "tab", *"Okafor", "tab", "tab")
        await pilot.press(*"2031-02-30", "tab", *"maya.okafor@example.com", "tab")
        await pilot.press("tab", "tab")  # past the phone and the Chart Owner (the client)
        assert app.screen.query_one("#invite", Checkbox).has_focus
        await pilot.press("space", "tab", "enter", "down", "enter")  # tick; pick the package
        await settle(pilot)
        assert app.screen.query_one("#invite", Checkbox).value
        assert app.screen.query_one("#package", Select).value == "new-client"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, NewChartDialog)  # still open, nothing written
        assert "real date" in field_error(app, "date_of_birth")
        assert app.screen.query_one("#field-date_of_birth", Input).has_focus
        assert counts(app) == before

        await pilot.press("ctrl+u", *"2011-02-28", "ctrl+s")
        await settle(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), 5)
        screen = app.screen
        assert isinstance(screen, ChartScreen) and screen.chart_number == "C-2001"
        assert await wait_until(
            pilot, lambda: any(isinstance(m, MailSettled) for m in told.messages), 10
        )
        await settle(pilot)

    with app.services.db.read() as session:
        chart = session.exec(select(Chart).where(Chart.chart_number == "C-2001")).one()
        assert (chart.first_name, chart.last_name, str(chart.date_of_birth)) == (
            "Maya",
            "Okafor",
            "2011-02-28",
        )
        invitations = session.exec(select(Invitation).where(Invitation.chart_id == chart.id)).all()
        tasks = session.exec(
            select(Task).where(Task.chart_id == chart.id).order_by(col(Task.position))
        ).all()
    assert len(invitations) == 1
    assert [task.form_key for task in tasks] == ["consent", "intake", "phq-9", "gad-7"]
    assert all(task.package_key == "new-client" for task in tasks)
    (sent,) = smtp.mailbox.messages  # one email: the invitation, which says forms are waiting
    assert "<maya.okafor@example.com>" in sent["To"]
    assert "has also sent you forms to complete" in " ".join(sent.as_string().split())
    said = toasts(app)
    assert "Chart C-2001 created; 4 forms assigned (the client sees them once registered)." in said
    assert told.toasts[-1].startswith("Invitation sent to maya.okafor@example.com")


async def test_escape_writes_nothing(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_form(pilot)
        before = counts(app)
        await pilot.press(*"C-2002", "tab", *"Ada", "tab", *"Lovelace", "tab", "tab")
        await pilot.press(*"1990-12-10", "escape")
        await settle(pilot)
        assert not isinstance(app.screen, NewChartDialog)
        assert counts(app) == before


async def test_refused_chart_number_writes_nothing_and_shows_at_the_field(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_form(pilot)
        before = counts(app)
        await fill(
            pilot,
            chart_number=ACTIVE,
            first_name="Sam",
            last_name="Reyes",
            date_of_birth="2000-01-01",
        )
        app.screen.query_one("#package", Select).value = "new-client"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert field_error(app, "chart_number") == f"Chart number {ACTIVE} already exists."
        assert counts(app) == before


async def test_shared_address_suggests_a_guardian_who_becomes_the_owner(
    make_app: AppFactory, seeded_url: str
) -> None:
    """Liam's address is typed for his sister: the desk is told, and makes their mother the
    Chart Owner in the same form."""
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_form(pilot)
        await fill(
            pilot,
            chart_number="C-2003",
            first_name="Mia",
            last_name="Smith",
            date_of_birth="2015-04-01",
            email="liam.smith@example.com",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        warning = field_error(app, "email")
        assert "liam.smith@example.com is already on chart C-1005." in warning
        assert "add a guardian as Chart Owner" in warning
        assert counts(app)["Chart"] == 7  # a warning, not a write

        app.screen.query_one("#owner-choice").focus()
        await pilot.press("down", "enter")  # the Chart Owner: a related contact
        await settle(pilot)
        await fill(
            pilot,
            owner_name="Rosa Smith",
            owner_relationship="Mother",
            owner_email="rosa.smith@example.com",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), 5)

    with app.services.db.read() as session:
        chart = session.exec(select(Chart).where(Chart.chart_number == "C-2003")).one()
        (contact,) = session.exec(
            select(RelatedContact).where(RelatedContact.chart_id == chart.id)
        ).all()
    assert (contact.name, contact.relationship) == ("Rosa Smith", "Mother")
    assert app.services.views.chart("C-2003").owner.name == "Rosa Smith"
    assert any("Rosa Smith is its Chart Owner" in said for said in toasts(app))


async def test_probable_typo_is_pointed_out_once(make_app: AppFactory, seeded_url: str) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_form(pilot)
        await fill(
            pilot,
            chart_number="C-2004",
            first_name="Lee",
            last_name="Chan",
            date_of_birth="1988-08-08",
            email="lee@gmial.com",
        )
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert field_error(app, "email").startswith("Did you mean lee@gmail.com?")
        assert isinstance(app.screen, NewChartDialog)
        await pilot.press("ctrl+s")  # kept as typed
        await settle(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), 5)
    assert app.services.views.chart("C-2004").email == "lee@gmial.com"


async def test_a_typo_is_pointed_out_on_leaving_the_field(
    make_app: AppFactory, seeded_url: str
) -> None:
    """Said as soon as the desk tabs on; Ctrl+S then keeps the address as typed."""
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_form(pilot)
        await fill(
            pilot,
            chart_number="C-2005",
            first_name="Ivy",
            last_name="Ng",
            date_of_birth="1970-07-07",
            email="ivy@yaho.com",
        )
        await pilot.press("tab")
        await settle(pilot)
        assert field_error(app, "email").startswith("Did you mean ivy@yahoo.com?")
        assert app.screen.query_one("#field-phone", Input).has_focus  # focus not taken back
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert await wait_until(pilot, lambda: isinstance(app.screen, ChartScreen), 5)
    assert app.services.views.chart("C-2005").email == "ivy@yaho.com"


async def test_portal_off_refuses_the_invitation_and_writes_nothing(
    make_app: AppFactory, seeded_url: str
) -> None:
    """The whole create is refused (one transaction): the reason at the top of the form."""
    app = make_app(seeded_url)
    app.services.practice.update_practice(portal_active=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_form(pilot)
        before = counts(app)
        await fill(
            pilot,
            chart_number="C-2006",
            first_name="Eli",
            last_name="Roth",
            date_of_birth="1999-09-09",
            email="eli.roth@example.com",
        )
        app.screen.query_one("#invite", Checkbox).value = True
        app.screen.query_one("#package", Select).value = "new-client"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, NewChartDialog)
        top = app.screen.query_one("#form-error", DataStatic)
        assert top.has_class("-visible") and "portal" in str(top.visual).lower()
        assert counts(app) == before
