"""The list a chart panel shows (its message threads, its forms): one row per record, keyed by
the record's id, redrawn only when what it shows changed, the cursor kept on the same record
across a refresh, and the columns fitted to the width (one flexible column takes the rest)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Generic, Protocol, TypeVar

from rich.text import Text
from textual import events
from textual.widgets import DataTable

FLEXIBLE = 0  # the size of the one column that takes the width the others leave
MIN_FLEXIBLE = 12


class Record(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Record)


class RecordTable(DataTable[Text], Generic[R]):
    """`COLUMNS`: (label, width) in order, FLEXIBLE for the one that takes the rest. A subclass
    turns a record and its row of texts into cells (`cells`)."""

    COLUMNS: ClassVar[tuple[tuple[str, int], ...]] = ()

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True, show_cursor=True)
        self.records: tuple[R, ...] = ()
        self._rows: list[tuple[str, ...]] = []
        self._width = 0

    @property
    def highlighted(self) -> R | None:
        if not self.records or not 0 <= self.cursor_row < len(self.records):
            return None
        return self.records[self.cursor_row]

    def show(self, records: tuple[R, ...], rows: list[tuple[str, ...]]) -> None:
        """Show `records` (one row of texts each); nothing is redrawn when nothing changed."""
        current = self.highlighted
        self.records = records
        if rows == self._rows and self.columns:
            return
        self._rows = rows
        self._fill()
        if current is not None:
            for index, record in enumerate(records):
                if record.id == current.id:
                    self.move_cursor(row=index, animate=False)

    def cells(self, record: R, row: tuple[str, ...], widths: Sequence[int]) -> list[Text]:
        raise NotImplementedError

    def _fill(self) -> None:
        width = self.size.width
        if width != self._width or not self.columns:
            self._width = width
            self.clear(columns=True)
            fixed = sum(size for _, size in self.COLUMNS)
            rest = max(MIN_FLEXIBLE, width - 1 - 2 * len(self.COLUMNS) - fixed)
            for label, size in self.COLUMNS:
                self.add_column(label, width=size or rest, key=label or "mark")
        else:
            self.clear()
        widths = [column.width for column in self.ordered_columns]
        for record, row in zip(self.records, self._rows, strict=True):
            self.add_row(*self.cells(record, row, widths), key=str(record.id))

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._width and self._rows:
            self._fill()
