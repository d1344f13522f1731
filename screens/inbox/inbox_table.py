"""The Portal inbox's list: one page of items, drawn line by line by the chart browser's table
(screens/chart_table.py: cached row strips, its own window and scroll bar, no layout when a
page has another number of rows), with the inbox's columns: a mark (`!` urgent, `●` unread),
the client, the subject, the kind, who it is for, its age and how long it has waited.

A filter keystroke must update the list within 30 ms at 10,000 open items; a DataTable
rebuilt per keystroke took several times that. Cells are client data shown literally."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from screens.chart_table import ChartTable
from screens.inbox.wording import WITHDRAWN, audience_label, elapsed, kind_label
from screens.safe_text import cell

if TYPE_CHECKING:
    from frontdesk.desk.inbox import InboxRow

# (header, fixed width or None for the client's and the subject's shares of what is left)
COLUMNS = (
    ("", 1),
    ("Client", None),
    ("Subject", None),
    ("Kind", 7),
    ("For", 10),
    ("Age", 4),
    ("Waited", 6),
)
_GAP = 2


class InboxTable(ChartTable):
    """The items with a row cursor. ↑/↓, PgUp/PgDn, Home/End move; Enter opens (posts
    `ChartTable.Selected`); past either end of the page, `ChartTable.PageEdge`."""

    @property
    def items(self) -> tuple[InboxRow, ...]:
        return tuple(self._charts)  # type: ignore[arg-type]

    @property
    def item(self) -> InboxRow | None:
        """The item under the cursor."""
        return self.highlighted  # type: ignore[return-value]

    def row_cells(self, index: int) -> tuple[Text, ...]:
        """The cells of one row as shown (for checks and tests)."""
        return self._cells[index]

    def show_items(self, items: Sequence[InboxRow], now: datetime, *, at_end: bool) -> None:
        """Show a page; the cursor stays on its item if still listed, else goes to the top
        (the bottom with `at_end`). A page that shows what is shown repaints nothing."""
        current = self.item
        cells = [_cells(item, now) for item in items]
        shown = [tuple((text.plain, str(text.style)) for text in row) for row in cells]
        ids = [item.id for item in items]
        self._charts = list(items)  # type: ignore[arg-type]
        keep = current.id if current is not None else None
        if shown == self._shown and not at_end and (keep is None or keep in ids):
            if keep is not None and ids.index(keep) != self.cursor_row:
                self.cursor_row = ids.index(keep)
            return
        self._cells, self._shown = cells, shown
        if len(self._strips) > 400:
            self._strips.clear()
        if keep in ids:
            row = ids.index(keep)
        elif at_end and ids:
            row = len(ids) - 1
        else:
            row = 0
            self._top = 0
        self.cursor_row = row  # repaints (always_update)

    def _column_widths(self, width: int) -> tuple[int, ...]:
        """Fixed columns; the client and the subject share what is left (2:3)."""
        fixed = sum(w for _, w in COLUMNS if w is not None)
        free = max(24, width - fixed - _GAP * len(COLUMNS))
        client = min(30, free * 2 // 5)
        shares = iter((client, free - client))
        return tuple(w if w is not None else next(shares) for _, w in COLUMNS)

    def _table_line(self, y: int, base: Style, width: int) -> Strip:
        if y == 0:
            header = self.get_component_rich_style("chart-table--header")
            titles = [Text(title, no_wrap=True) for title, _ in COLUMNS]
            return self._line(titles, base + header, width)
        return super()._table_line(y, base, width)

    def cells(self, chart_number: str) -> dict[str, Any]:  # the browser's lookup: not here
        raise NotImplementedError("use row_cells(index)")


def _cells(item: InboxRow, now: datetime) -> tuple[Text, ...]:
    style = "bold" if item.unread else ""
    mark = "!" if item.urgent else ("●" if item.unread else "")
    waited = elapsed(item.waiting_since, now) if item.state == "open" else "—"
    return (
        cell(mark, "bold"),
        cell(item.client_name, style),
        cell(_urgent_mark(item) + (item.subject or WITHDRAWN), style),
        cell(kind_label(item.kind), style),
        cell(audience_label(item.audience), style),
        cell(elapsed(item.created_at, now), style),
        cell(waited, style),
    )


def _urgent_mark(item: InboxRow) -> str:
    """An urgent item (a PHQ-9 whose item 9 was answered above "Not at all") reads URGENT
    until someone at the desk acknowledges it."""
    return "URGENT · " if item.urgent and item.acknowledged_at is None else ""
