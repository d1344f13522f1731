"""Client data on screen, literally: never parsed as markup, never carrying terminal controls.

Every string that a client or a staff member typed (names, emails, relationships, audit details)
reaches a widget through these helpers. They strip control characters first
(`frontdesk.core.text.single_line`: C0/C1, DEL, bidi overrides, line breaks) and then wrap the
text in a `Content` or Rich `Text` object, which Textual displays as is. Markup from the code
itself goes through `template`, where data is only ever a `$variable`.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.content import Content

from frontdesk.core.text import single_line


def clean(value: object) -> str:
    """One line of display text: controls removed, line breaks made spaces ("" for None)."""
    if value is None:
        return ""
    return single_line(str(value))


def content(value: object, style: str = "") -> Content:
    """A `Content` that shows `value` literally."""
    text = clean(value)
    return Content.styled(text, style) if style else Content(text)


ELLIPSIS = "…"


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells, ending in one ellipsis where it was cut. An ellipsis the text
    already has at the cut (a masked "l…@example.com") is not doubled ("to l…", never "to l……")."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    return set_cell_size(text, width - 1).rstrip(ELLIPSIS) + ELLIPSIS


def cell(value: object, style: str = "", *, width: int | None = None) -> Text:
    """A Rich `Text` for a DataTable cell: literal, one line, cut with an ellipsis (cut here by
    `fit` when the column `width` is given, so an ellipsis in the data is never doubled)."""
    text = clean(value)
    if width is not None:
        text = fit(text, width)
    return Text(text, style=style, no_wrap=True, overflow="ellipsis", end="")


def template(markup: str, **values: object) -> Content:
    """Markup written in the code, with data inserted as `$name` variables (never parsed)."""
    return Content.from_markup(markup, **{key: clean(value) for key, value in values.items()})


def lines(values: Iterable[object]) -> Content:
    """Several literal lines (each cleaned to one line) as one `Content`."""
    return Content("\n").join(content(value) for value in values)
