"""The ⋮ menu of the Chart Owner row: pick an action with ↑/↓ + Enter, its letter, or the mouse.
Items that do not apply are shown disabled with the reason. It returns the choice; it never acts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Region, Spacing
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from screens.actions import ActionKind, MenuItem
from screens.errors import toast
from screens.safe_text import template

REASON_WIDTH = 52  # a longer reason wraps under its item, so the menu stays narrow and whole


def _prompt(item: MenuItem) -> Content:
    line = template("[b u]$key[/]  $label", key=item.key, label=item.label)
    if item.reason is None:
        return line
    reasons = [
        template("   [i]$reason[/]", reason=part)
        for part in textwrap.wrap(item.reason, REASON_WIDTH)
    ]
    return Content("\n").join([line, *reasons])


class ActionMenu(ModalScreen[ActionKind | None]):
    """Returns the chosen action, or None when closed."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("c", "pick('change_owner')", "Change Ownership", show=False),
        Binding("r", "pick('resend')", "Resend Invite", show=False),
        Binding("v", "pick('revoke')", "Revoke Access", show=False),
        Binding("a", "pick('activate')", "Activate Portal Access", show=False),
        Binding("s", "pick('send_reset')", "Send password reset", show=False),
        Binding("t", "pick('retry_email')", "Retry email now", show=False),
    ]

    def __init__(self, items: Sequence[MenuItem], *, anchor: Region | None = None) -> None:
        super().__init__()
        self.items = tuple(items)
        self.anchor_region = anchor

    def compose(self) -> ComposeResult:
        with Vertical(id="action-menu") as menu:
            menu.border_title = "⋮ Actions"
            menu.border_subtitle = "Esc closes"
            yield OptionList(
                *(
                    Option(_prompt(item), id=item.kind.value, disabled=not item.enabled)
                    for item in self.items
                ),
                id="action-options",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        enabled = [index for index, item in enumerate(self.items) if item.enabled]
        if enabled:
            options.highlighted = enabled[0]
        options.focus()
        if self.anchor_region is not None:
            # Drop the menu just below the ⋮ button, right edges aligned, kept on screen.
            lines = sum(len(_prompt(item).plain.splitlines()) for item in self.items) + 2
            top = min(self.anchor_region.bottom, max(0, self.size.height - lines))
            right = max(0, self.size.width - self.anchor_region.right)
            self.query_one("#action-menu").styles.margin = Spacing(top, right, 0, 0)

    def _item(self, kind: str) -> MenuItem | None:
        return next((item for item in self.items if item.kind.value == kind), None)

    def action_pick(self, kind: str) -> None:
        item = self._item(kind)
        if item is None:
            return
        if item.reason is not None:
            toast(self, f"{item.label}: {item.reason}", severity="warning")
            return
        self.dismiss(item.kind)

    def action_close(self) -> None:
        self.dismiss(None)

    @on(OptionList.OptionSelected, "#action-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.action_pick(event.option.id)

    def on_click(self, event: events.Click) -> None:
        if event.widget is self:  # a click outside the menu closes it
            self.dismiss(None)
