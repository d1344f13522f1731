"""The chart browser's table: one page of charts, drawn line by line.

A line widget rather than a DataTable: it repaints a new page in a few milliseconds (each row is
one cached strip), so every search keystroke updates the list well within its budget. It draws
its own window onto the page and its own scroll bar rather than being a ScrollView: a page with
a different number of rows then changes nothing but the widget's own lines, where a ScrollView
would lay the whole screen out again (its virtual size and scroll bars are layout). Cells are
client data shown literally (`safe_text.cell`); the status tag's colour comes from the
stylesheet (component classes). The cursor running past either end of the page asks the browser
for the next or previous page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.scrollbar import ScrollBarRender
from textual.strip import Strip
from textual.widget import Widget

from screens.display import birth_date, status_class, status_label
from screens.safe_text import cell

if TYPE_CHECKING:
    from typing import Self

    from frontdesk.desk.views import ChartSummary

# (key, header, fixed width or None for a share of what is left)
COLUMNS = (
    ("number", "Chart", 9),
    ("name", "Name", None),
    ("dob", "DOB", 10),
    ("status", " Status", 18),
    ("email", "Owner email", None),
)
_GAP = 2  # spaces between columns (one either side)
STRIPS_KEPT = 400  # drawn lines kept (by row content and style), a few pages' worth


class ChartTable(Widget, can_focus=True):
    """One page of charts with a row cursor. ↑/↓, PgUp/PgDn, Home/End move; Enter opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Previous page", show=False),
        Binding("pagedown", "page_down", "Next page", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("enter", "select", "Open chart", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chart-table--header",
        "chart-table--cursor",
        "chart-table--cursor-blurred",
        "chart-table--odd",
        "chart-table--no-access",
        "chart-table--invited",
        "chart-table--expiring",
        "chart-table--expired",
        "chart-table--locked",
        "chart-table--active",
    }

    cursor_row: reactive[int] = reactive(0, always_update=True)

    class PageEdge(Message):
        """The cursor ran past the last (+1) or first (-1) row of the page."""

        def __init__(self, table: ChartTable, direction: int) -> None:
            super().__init__()
            self.table = table
            self.direction = direction

        @property
        def control(self) -> ChartTable:
            return self.table

    class Selected(Message):
        """Enter (or a click on the highlighted row) chose a chart."""

        def __init__(self, table: ChartTable, chart: ChartSummary) -> None:
            super().__init__()
            self.table = table
            self.chart = chart

        @property
        def control(self) -> ChartTable:
            return self.table

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._charts: list[ChartSummary] = []
        self._cells: list[tuple[Text, ...]] = []
        self._shown: list[tuple[tuple[str, str], ...]] = []
        # Drawn lines by (row content, row style): a row shown again is not drawn again.
        self._strips: dict[tuple[tuple[tuple[str, str], ...], str], Strip] = {}
        self._widths: tuple[int, ...] = ()
        self._top = 0  # the first row in view
        self._bar: list[Segment] | None = None  # the scroll bar's cells, top to bottom

    # ------------------------------------------------------------------ data

    @property
    def charts(self) -> list[ChartSummary]:
        return self._charts

    @property
    def row_count(self) -> int:
        return len(self._charts)

    @property
    def highlighted(self) -> ChartSummary | None:
        """The chart under the cursor."""
        if 0 <= self.cursor_row < len(self._charts):
            return self._charts[self.cursor_row]
        return None

    def cells(self, chart_number: str) -> dict[str, Text]:
        """The cells of a chart's row as shown, by column key (for checks and tests)."""
        for chart, cells in zip(self._charts, self._cells, strict=True):
            if chart.chart_number == chart_number:
                return {key: value for (key, _, _), value in zip(COLUMNS, cells, strict=True)}
        raise KeyError(chart_number)

    def show_charts(
        self, charts: Sequence[ChartSummary], *, keep: str | None = None, at_end: bool = False
    ) -> None:
        """Show a page; the cursor stays on chart `keep` if present, else goes to the top (or
        the bottom with `at_end`). A refresh that changes nothing repaints nothing; rows that
        were shown before (a narrower search keeps many) reuse their drawn lines."""
        cells = [self._row_cells(chart) for chart in charts]
        shown = [tuple((text.plain, str(text.style)) for text in row) for row in cells]
        numbers = [chart.chart_number for chart in charts]
        self._charts = list(charts)
        same = shown == self._shown
        if keep is not None and not at_end and same:
            return
        if not same:
            self._cells, self._shown = cells, shown
            if len(self._strips) > STRIPS_KEPT:
                self._strips.clear()
        if keep in numbers:
            row = numbers.index(keep)
        elif at_end and numbers:
            row = len(numbers) - 1
        else:
            row = 0
            self._top = 0
        self.cursor_row = row  # repaints (always_update)

    def _row_cells(self, chart: ChartSummary) -> tuple[Text, ...]:
        style = self.get_component_rich_style(f"chart-table-{status_class(chart.status)}")
        return (
            cell(chart.chart_number),
            cell(chart.display_name),
            cell(birth_date(chart.date_of_birth)),
            Text.assemble((f" {status_label(chart.status)} ", style), no_wrap=True, end=""),
            cell(chart.owner.email or "—"),
        )

    # ------------------------------------------------------------------ drawing

    def _column_widths(self, width: int) -> tuple[int, ...]:
        """Fixed columns, then the name and email share what is left (11:9)."""
        fixed = sum(w for _, _, w in COLUMNS if w is not None)
        free = max(20, width - fixed - _GAP * len(COLUMNS))
        name = free * 11 // 20
        shares = iter((name, free - name))
        return tuple(w if w is not None else next(shares) for _, _, w in COLUMNS)

    def _line(self, cells: Sequence[Text], style: Style, width: int) -> Strip:
        """One row: cells cut to their columns, over the row's style (every segment styled,
        which the NO_COLOR filter relies on)."""
        line = Text(no_wrap=True, end="")
        for value, column_width in zip(cells, self._widths, strict=True):
            piece = value.copy()
            piece.truncate(column_width, overflow="ellipsis", pad=True)
            line.append(" ")
            line.append_text(piece)
            line.append(" ")
        strip = Strip(line.render(self.app.console), line.cell_len).apply_style(style)
        return strip.adjust_cell_length(width, style)

    @property
    def _bar_width(self) -> int:
        """The scroll bar's width when the page is longer than the view, else 0."""
        if len(self._cells) <= self._visible_rows:
            return 0
        return self.styles.scrollbar_size_vertical

    def _scroll_bar(self, height: int) -> list[Segment]:
        """The scroll bar's cells, drawn as Textual draws a ScrollBar (same glyphs, colours)."""
        if self._bar is None or len(self._bar) != height:
            styles = self.styles
            background = styles.scrollbar_background
            if background.a < 1:
                background = self.background_colors[0] + background
            color = background + styles.scrollbar_color
            drawn = ScrollBarRender.render_bar(
                size=height,
                virtual_size=len(self._cells) + 1,
                window_size=height,
                position=self._top,
                thickness=self._bar_width,
                vertical=True,
                back_color=background.rich_color,
                bar_color=color.rich_color,
            )
            self._bar = [
                Segment(
                    part.text,
                    Style(
                        color=part.style.color,
                        bgcolor=part.style.bgcolor,
                        reverse=part.style.reverse,
                    ),
                )
                if part.style is not None
                else part
                for part in drawn.segments
            ]
        return self._bar

    def render_line(self, y: int) -> Strip:
        base = self.rich_style
        bar_width = self._bar_width
        width = self.content_region.width - bar_width
        widths = self._column_widths(width)
        if widths != self._widths:
            self._widths = widths
            self._strips.clear()
        strip = self._table_line(y, base, width)
        if bar_width:
            bar = self._scroll_bar(self.content_region.height)
            if y < len(bar):
                strip = Strip.join([strip, Strip([bar[y]], bar_width)])
        return strip

    def _table_line(self, y: int, base: Style, width: int) -> Strip:
        if y == 0:
            header = self.get_component_rich_style("chart-table--header")
            titles = [Text(title, no_wrap=True) for _, title, _ in COLUMNS]
            return self._line(titles, base + header, width)
        index = self._top + y - 1
        if not 0 <= index < len(self._cells):
            return Strip.blank(width, base)
        if index == self.cursor_row:
            name = "chart-table--cursor" if self.has_focus else "chart-table--cursor-blurred"
        else:
            name = "chart-table--odd" if index % 2 else ""
        key = (self._shown[index], name)
        strip = self._strips.get(key)
        if strip is None:
            row_style = base + self.get_component_rich_style(name) if name else base
            strip = self._line(self._cells[index], row_style, width)
            self._strips[key] = strip
        return strip

    def refresh(
        self, *regions: Any, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        self._bar = None  # the window may have moved or the page changed
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()
        self._show_cursor()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------------ the cursor

    @property
    def _visible_rows(self) -> int:
        return max(1, self.content_region.height - 1)

    def _scroll_to_row(self, top: int) -> None:
        top = max(0, min(top, len(self._cells) - self._visible_rows))
        if top != self._top:
            self._top = top
            self.refresh()

    def _show_cursor(self) -> None:
        row = self.cursor_row
        if row < self._top:
            self._scroll_to_row(row)
        elif row >= self._top + self._visible_rows:
            self._scroll_to_row(row - self._visible_rows + 1)

    def watch_cursor_row(self, old: int, row: int) -> None:
        self._show_cursor()
        self.refresh()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self._scroll_to_row(self._top + 1)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self._scroll_to_row(self._top - 1)

    def _move(self, step: int) -> None:
        if not self._charts:
            return
        target = self.cursor_row + step
        if target >= len(self._charts):
            if self.cursor_row == len(self._charts) - 1:
                self.post_message(self.PageEdge(self, +1))
                return
            target = len(self._charts) - 1
        elif target < 0:
            if self.cursor_row == 0:
                self.post_message(self.PageEdge(self, -1))
                return
            target = 0
        self.cursor_row = target

    def action_cursor_down(self) -> None:
        self._move(+1)

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_page_down(self) -> None:
        self._move(self._visible_rows)

    def action_page_up(self) -> None:
        self._move(-self._visible_rows)

    def action_first(self) -> None:
        if self._charts:
            self.cursor_row = 0

    def action_last(self) -> None:
        if self._charts:
            self.cursor_row = len(self._charts) - 1

    def action_select(self) -> None:
        chart = self.highlighted
        if chart is not None:
            self.post_message(self.Selected(self, chart))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        if self._bar_width and offset.x >= self.content_region.width - self._bar_width:
            # The scroll bar: above the thumb a page up, below it a page down.
            thumb = self._scroll_bar(self.content_region.height)[offset.y]
            if thumb.style is None or not thumb.style.reverse:
                middle = self._top * self.content_region.height / (len(self._cells) + 1)
                step = self._visible_rows if offset.y > middle else -self._visible_rows
                self._scroll_to_row(self._top + step)
            return
        index = self._top + offset.y - 1
        if not 0 <= index < len(self._charts):
            return
        if index == self.cursor_row:
            self.action_select()
        else:
            self.cursor_row = index
