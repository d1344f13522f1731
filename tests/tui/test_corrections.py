"""Issue 11 at the desk, keyboard only, against a real SQLite store and a real SMTP server on
127.0.0.1: Edit chart (errors at the field; a live link ended and a new one offered in the same
step), related contacts added, edited and removed (never the Chart Owner), Send password reset
from the ⋮ menu, and the chart's history as the desk reads it.

Each flow asserts on what the desk sees (dialogs, fields, toasts), what the store holds (through
the services) and what the mail server received. Frozen clock; no sleeping.
"""

from __future__ import annotations

from datetime import timedelta

from textual.notifications import Notify
from textual.widgets import Input

from frontdesk.access.outcomes import LinkState
from frontdesk.app import FrontDeskApp
from screens.action_menu import ActionMenu
from screens.change_owner_dialog import ChangeOwnerDialog
from screens.chart_overview import ContactList
from screens.chart_screen import ChartScreen
from screens.confirm_dialog import ConfirmDialog
from screens.correction_confirm import ChoiceDialog
from screens.edit_dialogs import ContactDialog, EditChartDialog
from screens.portal_panel import InvitationHistory
from tests.factories import (
    ACTIVE,
    EXPIRED,
    NO_ACCESS,
    REGISTER_LINK,
    T0,
    WITH_GUARDIAN,
    deliver_at,
    invite_at,
    latest_token,
    outbox_rows,
    smtp_settings,
)
from tests.tui.conftest import AppFactory, open_chart, settle
from tests.tui.screen_text import screen_text
from tests.tui.smtp import SmtpServer
from tests.tui.test_flows import SIZE, Told, dialog_text, owner_status, store_dump, text_body


def field_error(app: FrontDeskApp, name: str) -> str:
    return str(app.screen.query_one(f"#{name}-error").visual)


async def retype(pilot: object, *text: str) -> None:
    """Clear the focused field and type `text` into it."""
    await pilot.press("ctrl+u", *text)  # type: ignore[attr-defined]


def notified(told: Told) -> list[str]:
    """Every toast's text, as the app was asked to show it."""
    return [m.notification.message for m in told.messages if isinstance(m, Notify)]


def history_rows(app: FrontDeskApp) -> list[tuple[str, ...]]:
    table = app.screen.query_one(InvitationHistory)
    return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


# ---------------------------------------------------------------------------------- Edit chart


async def test_an_email_fixed_under_a_live_invitation_replaces_the_link(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    """T6: the owner's new email ends the live link (its holder sees "replaced"); the
    confirmation offers a new link to the whole new address in the same step; confirmed, it
    goes out."""
    app = make_app(seeded_url, smtp_port=smtp.port)
    invite_at(app.services, NO_ACCESS, T0 - timedelta(hours=1), actor="bob")
    old_token = latest_token(app.services, NO_ACCESS)
    deliver_at(app.services, T0 - timedelta(hours=1), smtp_settings(seeded_url, smtp.port))
    assert len(smtp.mailbox.messages) == 1
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, NO_ACCESS)
        await pilot.press("e")
        await settle(pilot)
        assert isinstance(app.screen, EditChartDialog)
        assert app.screen.query_one("#field-first_name", Input).has_focus  # default focus
        await pilot.press("tab", "tab", "tab", "tab")  # first → last → preferred → DOB → email
        await retype(pilot, *"noah.p@example.org")
        await pilot.press("enter")
        await settle(pilot)

        assert isinstance(app.screen, ChoiceDialog)
        asked = dialog_text(app)
        assert "Save these changes to Noah Park's chart (C-1006)?" in asked
        assert "noah.park@example.com → noah.p@example.org" in asked
        assert "The invitation link sent on Nov 26, 2026 stops working now" in asked
        assert "Send a new link to noah.p@example.org in the same step?" in asked
        assert "expire on Dec 3, 2026" in asked
        labels = [str(button.label) for button in app.screen.query("Button")]
        assert labels == ["Send a new link", "Only end the old link", "Back"]

        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        await pilot.press("c")
        await settle(pilot)
        assert owner_status(app) == "Invited"
        assert "noah.p@example.org" in screen_text(app)

    assert told.toasts == [
        "Chart C-1006 saved (email). The old link no longer works; a new invitation went to "
        "noah.p@example.org"
    ]
    assert app.services.registration.inspect_token(old_token).state is LinkState.REPLACED
    assert len(smtp.mailbox.messages) == 2
    new_mail = smtp.mailbox.messages[-1]
    assert "noah.p@example.org" in new_mail["To"]
    new_link = REGISTER_LINK.search(text_body(new_mail))
    assert new_link is not None
    assert app.services.registration.inspect_token(new_link.group(1)).state is LinkState.VALID
    edited = [r for r in app.services.history.history(NO_ACCESS) if r.action == "chart edited"]
    assert [r.actor for r in edited] == ["alice"]


async def test_only_ending_the_old_link_sends_nothing(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    """A new date of birth ends the live link; `o` keeps it at that (no new email)."""
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, "C-1003")  # Expiring soon: a live link
        await pilot.press("e", "tab", "tab", "tab")
        await retype(pilot, *"2009-06-18")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "Date of birth" in dialog_text(app) and "2009-06-17 → 2009-06-18" in dialog_text(app)
        await pilot.press("o")
        await settle(pilot)
    assert told.toasts == [
        "Chart C-1003 saved (date of birth). The old link no longer works; no new invitation "
        "was sent."
    ]
    chart = app.services.views.chart("C-1003")
    assert chart.date_of_birth.isoformat() == "2009-06-18" and chart.invitation_id is None
    assert smtp.mailbox.messages == []


async def test_a_bad_date_is_shown_at_its_field_and_nothing_is_saved(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    before = store_dump(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("e", "tab", "tab", "tab")
        await retype(pilot, *"1985-02-30")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EditChartDialog), "the form stays open"
        assert field_error(app, "date_of_birth") == (
            "Date of birth must be a real date written YYYY-MM-DD (got '1985-02-30')."
        )
        dob = app.screen.query_one("#field-date_of_birth", Input)
        assert dob.has_focus and dob.has_class("-invalid")
        assert field_error(app, "email") == ""  # only the refused field says so

        await retype(pilot, *"1985-03-04")  # back as it was: nothing to save
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        assert "Chart C-1001: nothing changed." in screen_text(app)

        await pilot.press("e", *("tab",) * 4)  # a bad email, then Escape
        await retype(pilot, *"ana@")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EditChartDialog)
        assert "There must be something after the @-sign." in field_error(app, "email")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
    assert store_dump(app) == before
    assert smtp.mailbox.messages == []


async def test_back_from_the_confirmation_keeps_what_was_typed(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    before = store_dump(app)
    async with app.run_test(size=SIZE) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("e", *("tab",) * 5)
        await retype(pilot, *"(555) 010-4444")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        assert "Phone           — → (555) 010-4444" in dialog_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, EditChartDialog)
        assert app.screen.query_one("#field-phone", Input).value == "(555) 010-4444"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
    assert store_dump(app) == before


async def test_an_active_owners_new_email_changes_the_sign_in_email(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, ACTIVE)
        await pilot.press("e", *("tab",) * 4)
        await retype(pilot, *"liam.s@example.com")
        await pilot.press("enter")
        await settle(pilot)
        asked = dialog_text(app)
        assert "signs in to the portal with this email" in asked
        assert "the sign-in email becomes liam.s@example.com" in asked
        assert "open portal sessions end" in asked
        assert "both the old and the new address get a short notice" in asked
        await pilot.press("y")
        await settle(pilot)
    assert app.services.views.chart(ACTIVE).account_email == "liam.s@example.com"
    assert sorted(m["To"].split("<")[-1].rstrip(">") for m in smtp.mailbox.messages) == [
        "liam.s@example.com",
        "liam.smith@example.com",
    ]
    assert "The portal sign-in email is now liam.s@example.com" in told.toasts[-1]


# ---------------------------------------------------------------------------------- contacts


async def test_contacts_are_added_edited_and_removed(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, WITH_GUARDIAN)
        shown = screen_text(app)
        assert "Maria Patel [guardian] · Mother" in shown
        assert "maria.patel@example.com · no phone" in shown
        await pilot.press("tab")
        await settle(pilot)
        assert isinstance(app.focused, ContactList)

        # Add: an invalid email is caught at its field; the form stays open.
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ContactDialog)
        await pilot.press(*"Sam Patel", "tab", *"Father", "tab", *"sam.patel@", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactDialog)
        assert "There must be something after the @-sign." in field_error(app, "email")
        await retype(pilot, *"sam.patel@gmial.com")  # a likely typo is said once
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactDialog)
        assert field_error(app, "email") == (
            "Did you mean sam.patel@gmail.com? Save again to keep sam.patel@gmial.com."
        )
        await retype(pilot, *"sam.patel@example.com")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
        assert "Sam Patel · Father" in screen_text(app)
        names = [c.name for c in app.services.chart_edits.contacts(WITH_GUARDIAN)]
        assert names == ["Maria Patel [guardian]", "Sam Patel"]

        # Edit: the phone, confirmed.
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactDialog)
        assert app.screen.query_one("#field-name", Input).value == "Sam Patel"
        await pilot.press("tab", "tab", "tab", *"(555) 010-2222", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceDialog)
        assert "Save these changes to Sam Patel (Father)" in dialog_text(app)
        await pilot.press("y")
        await settle(pilot)
        sam = app.screen.query_one(ContactList).contacts[1]
        assert (sam.email, sam.phone) == ("sam.patel@example.com", "(555) 010-2222")

        # Remove: asked first (Cancel has the focus), then gone from the chart and the
        # owner choices.
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "Remove Sam Patel (Father) from Priya Patel's related contacts?" in dialog_text(app)
        await pilot.press("y")
        await settle(pilot)
        listed = app.screen.query_one(ContactList).contacts
        assert [contact.name for contact in listed] == ["Maria Patel [guardian]"]
        await pilot.press("full_stop", "c")
        await settle(pilot)
        owner_dialog = app.screen
        assert isinstance(owner_dialog, ChangeOwnerDialog)
        assert [contact.name for contact in owner_dialog.contacts] == ["Maria Patel [guardian]"]

    assert [c.name for c in app.services.chart_edits.contacts(WITH_GUARDIAN)] == [
        "Maria Patel [guardian]"
    ]
    assert told.toasts[0] == "Sam Patel (Father) added to the related contacts of chart C-1007."
    assert told.toasts[1] == "Sam Patel saved (phone)."
    assert told.toasts[2].startswith("Sam Patel (Father) removed from the related contacts")
    actions = [r.action for r in app.services.history.history(WITH_GUARDIAN)]
    assert {"contact added", "contact edited", "contact removed"} <= set(actions)
    assert smtp.mailbox.messages == []


async def test_the_chart_owner_cannot_be_removed(make_app: AppFactory, seeded_url: str) -> None:
    """Remove is dimmed on the Chart Owner, the list says why; asked from the palette, the
    desk is told to change the owner first."""
    app = make_app(seeded_url)
    maria = app.services.chart_edits.contacts(WITH_GUARDIAN)[0]
    app.services.invitations.change_owner(WITH_GUARDIAN, contact_id=maria.id, invite=False)
    before = store_dump(app)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, WITH_GUARDIAN)
        assert "Chart Owner" in screen_text(app)
        await pilot.press("tab")
        await settle(pilot)
        assert app.screen.check_action("remove_contact", ()) is None  # dimmed, not hidden
        assert app.screen.check_action("edit_contact", ()) is True
        hint = str(app.screen.query_one("#contacts-hint").visual)
        assert hint == (
            "Maria Patel [guardian] is the Chart Owner and cannot be removed: change the "
            "owner first (. then c)."
        )
        await pilot.press("delete")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen), "no confirmation for a refused removal"

        await pilot.press("ctrl+p", *"Remove related contact")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
    assert notified(told)[-1] == (
        "Maria Patel [guardian] is the Chart Owner: change the owner first, then remove them."
    )
    assert store_dump(app) == before


# ---------------------------------------------------------------------------------- reset


async def test_send_password_reset_from_the_menu(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    told = Told()
    async with app.run_test(size=SIZE, notifications=True, message_hook=told) as pilot:
        await open_chart(pilot, ACTIVE)
        await pilot.press("full_stop")
        await settle(pilot)
        assert isinstance(app.screen, ActionMenu)
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        asked = dialog_text(app)
        assert "Send a password reset link to Liam Smith [/] (liam.smith@example.com)?" in asked
        assert "for 24 hours (until Nov 27, 2026 10:00 AM EST)" in asked
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ChartScreen)
    resets = [row for row in outbox_rows(app.services) if row.kind == "password_reset"]
    assert [row.to_address for row in resets] == ["liam.smith@example.com"]
    assert [m["To"] for m in smtp.mailbox.messages] == ['"Liam Smith [/]" <liam.smith@example.com>']
    assert "/reset/" in text_body(smtp.mailbox.messages[0])
    assert told.toasts == [
        "Password reset link sent to liam.smith@example.com (Liam Smith [/]); it works once, "
        "until Nov 27, 2026 10:00 AM EST"
    ]


async def test_password_reset_is_disabled_with_the_reason_unless_active(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("full_stop", "s")
        await settle(pilot)
        menu = app.screen
        assert isinstance(menu, ActionMenu), "a disabled item does not run"
        reasons = {item.label: item.reason for item in menu.items}
        assert reasons["Send password reset"] == (
            "The owner has not registered yet; resend the invitation instead"
        )
        assert "Send password reset" in screen_text(app)
    assert not [row for row in outbox_rows(app.services) if row.kind == "password_reset"]


# ---------------------------------------------------------------------------------- history


async def test_the_history_keeps_the_expiry_after_a_resend_and_names_the_client(
    make_app: AppFactory, seeded_url: str, smtp: SmtpServer
) -> None:
    app = make_app(seeded_url, smtp_port=smtp.port)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_chart(pilot, EXPIRED)
        await pilot.press("c")
        await settle(pilot)
        expired = ("Nov 24, 10:00 AM", "—", "invitation expired", "link no longer works")
        assert expired in history_rows(app)
        await pilot.press("full_stop", "r", "y")
        await settle(pilot)
        assert owner_status(app) == "Invited"
        rows = history_rows(app)
        assert [row[2] for row in rows] == [
            "invitation resent",
            "invitation expired",
            "invitation sent",
            "chart added",
        ]
        assert expired in rows

        await pilot.press("escape")
        await open_chart(pilot, ACTIVE)
        await pilot.press("c")
        await settle(pilot)
        assert ("client", "registered") in [(row[1], row[2]) for row in history_rows(app)]
        assert not any(row[1].startswith("client:") for row in history_rows(app))


async def test_the_command_palette_offers_the_corrections_and_the_reset(
    make_app: AppFactory, seeded_url: str
) -> None:
    app = make_app(seeded_url)
    async with app.run_test(size=SIZE) as pilot:
        await open_chart(pilot, ACTIVE)
        for command, dialog in (
            ("Edit chart", EditChartDialog),
            ("Add a related contact", ContactDialog),
            ("Send password reset", ConfirmDialog),
        ):
            await pilot.press("ctrl+p", *command)
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, dialog), command
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, ChartScreen)
