"""Sections of the chart screen that belong to later capabilities (e.g. `messages_panel.py`,
the chart's portal message threads on the Communications tab)."""
