"""The banner every screen shows while email is paused by a setup failure ("Email is paused:
the mail server refused the login — fix the password with `frontdesk smtp set-password` ...").

The app reads the stored pause once a second in a thread worker (the store is shared with
`frontdesk serve` and the CLI, so a pause or a resume elsewhere shows within 2 seconds) and
keeps the banner's text in its `mail_pause_banner` reactive; each screen's `PauseBanner`
follows it. Nothing here blocks the event loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from screens.widgets import DataStatic

if TYPE_CHECKING:
    from frontdesk.services import Services

PAUSE_REACTIVE = "mail_pause_banner"


class PauseBanner(DataStatic):
    """Hidden while email is sent normally; one or two lines while it is paused."""

    DEFAULT_CSS: ClassVar[str] = """
    PauseBanner {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $error-muted;
        color: $text;
        text-style: bold;
    }
    PauseBanner.-empty {
        display: none;
    }
    """

    def __init__(self) -> None:
        super().__init__("", classes="pause-banner")

    def on_mount(self) -> None:
        if hasattr(self.app, PAUSE_REACTIVE):
            self.watch(self.app, PAUSE_REACTIVE, self.show, init=True)


def read_pause_banner(services: Services) -> str | None:
    """The banner's text ("" when not paused); None when the store cannot be read now (the
    banner then keeps what it shows). Blocking: call it from a thread worker."""
    from frontdesk.core.errors import FrontDeskError
    from store.db import StoreError

    try:
        paused = services.mail_pauses().current()
    except (FrontDeskError, StoreError):
        return None
    return paused.banner if paused is not None else ""
