"""The text a terminal would show, read back from the app's own screenshot (SVG export)."""

from __future__ import annotations

import html
import re

from textual.app import App

_CELL_WIDTH = 12.2  # Rich's SVG export: one terminal cell per 12.2 units
_TEXT = re.compile(
    r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
    r'clip-path="url\(#[^)]*line-(\d+)\)">(.*?)</text>',
    re.S,
)


def svg_text(svg: str) -> str:
    rows: dict[int, dict[int, str]] = {}
    for match in _TEXT.finditer(svg):
        text = html.unescape(match.group(3)).replace("\xa0", " ")
        if text == "\n":
            continue
        rows.setdefault(int(match.group(2)), {})[round(float(match.group(1)) / _CELL_WIDTH)] = text
    lines = []
    for number in range(max(rows, default=-1) + 1):
        line = ""
        for column, text in sorted(rows.get(number, {}).items()):
            line = line.ljust(column) + text
        lines.append(line.rstrip())
    return "\n".join(lines)


def screen_text(app: App[object]) -> str:
    """Everything on screen now (including toasts and dialogs), as plain lines."""
    return svg_text(app.export_screenshot())
