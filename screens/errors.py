"""Telling the desk what happened: toasts that show text literally, and unexpected worker
failures turned into a toast and a log record (never a crash, never silence)."""

from __future__ import annotations

import logging
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from screens.safe_text import clean

log = logging.getLogger("frontdesk.tui")


def toast(
    node: Widget | App[Any],
    message: str,
    *,
    severity: SeverityLevel = "information",
    title: str = "",
    timeout: float | None = None,
) -> None:
    """A notification whose text is shown literally (Textual parses markup by default)."""
    node.notify(
        clean(message), title=clean(title), severity=severity, timeout=timeout, markup=False
    )


def report_worker_failure(node: Widget | App[Any], event: Worker.StateChanged) -> bool:
    """Tell the desk when a worker failed unexpectedly. True when it did."""
    if event.state is not WorkerState.ERROR:
        return False
    error = event.worker.error
    log.error("TUI worker %r failed", event.worker.name, exc_info=error)
    toast(
        node,
        f"Something went wrong ({type(error).__name__}); details are in the log. "
        "Nothing further was done.",
        title="Unexpected error",
        severity="error",
    )
    return True
