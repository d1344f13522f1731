"""A scrollable list of people for the bulk action's dialogs: one line per chart, two columns
(who, and their full email address or why they are skipped), drawn line by line so a list of
10,000 charts opens as fast as one of 10. Cells are client data shown literally
(`safe_text.fit` / `clean`); ↑/↓, PgUp/PgDn, Home/End scroll it when it has focus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from screens.safe_text import clean, fit

GAP = 2  # spaces between the two columns
MIN_FIRST = 14  # the first column keeps at least this much; the second is kept whole


class PeopleList(ScrollView, can_focus=True):
    """Rows of (first column, second column), shown literally; scrolls from the keyboard. The
    second column (a full email address, a reason) is kept whole where the width allows; the
    first (a name) is cut with an ellipsis when it must."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"people-list--second"}

    def __init__(
        self,
        rows: Sequence[tuple[str, str]] = (),
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list[tuple[str, str]] = []
        self.set_rows(rows)

    @property
    def rows(self) -> list[tuple[str, str]]:
        """The rows as shown (control characters removed), for checks and tests."""
        return self._rows

    def set_rows(self, rows: Sequence[tuple[str, str]]) -> None:
        self._rows = [(clean(first), clean(second)) for first, second in rows]
        self._widest = (
            max((cell_len(first) for first, _ in self._rows), default=0),
            max((cell_len(second) for _, second in self._rows), default=0),
        )
        self.virtual_size = Size(0, len(self._rows))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        base = self.rich_style
        if not 0 <= index < len(self._rows) or width <= 0:
            return Strip.blank(width, base)
        first, second = self._rows[index]
        widest_first, widest_second = self._widest
        second_width = min(widest_second, max(0, width - GAP - min(widest_first, MIN_FIRST)))
        first_width = max(0, min(widest_first, width - GAP - second_width))
        left = set_cell_size(fit(first, first_width), first_width) if first_width else ""
        right = fit(second, max(0, width - first_width - GAP))
        second_style = base + self.get_component_rich_style("people-list--second")
        segments = [Segment(left + " " * GAP, base), Segment(right, second_style)]
        return Strip(segments).adjust_cell_length(width, base)
