"""Small widgets that show client data safely, and the status tag."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from screens.display import STATUS_CLASSES, status_class, status_label
from screens.safe_text import content

if TYPE_CHECKING:
    from frontdesk.access.rules import StatusInfo


class DataStatic(Static):
    """A Static that only ever shows text literally (data, or `Content` built by the code)."""

    def __init__(
        self,
        value: str | Content = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        visual = self._visual(value)
        super().__init__(visual, markup=False, id=id, classes=classes)
        self._shown = visual
        self.set_class(not visual.plain, "-empty")

    @staticmethod
    def _visual(value: str | Content) -> Content:
        return value if isinstance(value, Content) else content(value)

    def show(self, value: str | Content) -> None:
        """Replace the text (a plain string is shown literally, controls stripped). An empty
        value sets the `-empty` class, so the stylesheet can hide the line."""
        visual = self._visual(value)
        if visual.is_same(self._shown):
            return  # unchanged: no repaint, no layout (living data re-reads every second)
        self._shown = visual
        self.set_class(not visual.plain, "-empty")
        self.update(visual)


class DataLine(Widget):
    """One line of literal text that repaints without a layout pass (a status line that
    changes on every keystroke)."""

    def __init__(self, value: str | Content = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown = value if isinstance(value, Content) else content(value)

    @property
    def visual(self) -> Content:
        return self._shown

    def show(self, value: str | Content) -> None:
        visual = value if isinstance(value, Content) else content(value)
        if not visual.is_same(self._shown):
            self._shown = visual
            self.refresh()

    def render(self) -> Content:
        return self._shown


class StatusTag(Static):
    """The portal status tag ("Expired", "Invited", ...); its look comes from a CSS class."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", markup=False, id=id, classes=classes)
        self._shown: tuple[str, str] | None = None

    def show(self, info: StatusInfo | None) -> None:
        shown = (status_class(info), status_label(info)) if info is not None else None
        if shown == self._shown:
            return
        self._shown = shown
        for name in STATUS_CLASSES:
            self.remove_class(name)
        if info is None:
            self.update("")
            return
        self.add_class(status_class(info))
        self.update(content(f" {status_label(info)} "))
