"""The one error base. Every refusal or failure a person can act on is a `FrontDeskError`
whose `str()` is one clear line; each surface (the CLI, a TUI worker, the web) catches this
type once and shows that line. The database layer's `store.db.StoreError` is the one other
error a surface shows (the store imports nothing of ours, so it cannot derive from this)."""

from __future__ import annotations


class FrontDeskError(Exception):
    """A request refused or failed for a reason a person can act on; str(error) is one line."""


class NotFound(FrontDeskError):
    """What was asked for does not exist (a chart number, a contact of another chart)."""


class NotAllowed(FrontDeskError):
    """The rules refuse the request in the chart's present state."""


class InvalidInput(FrontDeskError):
    """A value that breaks a field rule; `field` names the field (None: the whole request)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CooldownActive(NotAllowed):
    """An invitation was sent moments ago; `seconds_left` until a resend is allowed."""

    def __init__(self, message: str, seconds_left: int) -> None:
        super().__init__(message)
        self.seconds_left = seconds_left


class ConcurrentChange(FrontDeskError):
    """Someone else changed this chart's invitation since it was shown; nothing was repeated."""
