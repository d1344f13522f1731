"""Forms and tasks: the practice's form library (versioned definitions, packages) and the
forms assigned to a chart to complete on the Client Portal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field

from store.models.columns import StoreTable, utc_datetime
from store.states import TaskState


class FormVersion(StoreTable, table=True):
    """One version of a form's definition (validated JSON). Editing a form adds a version; a
    task keeps the version it was assigned with. The newest version of a key is its current
    one."""

    __tablename__ = "form_version"
    __table_args__ = (sa.UniqueConstraint("key", "version", name="uq_form_version_key_version"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=60)
    version: int
    kind: str = Field(max_length=20)  # a FormKind
    title: str = Field(max_length=200)
    definition: dict[str, Any] = Field(sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=utc_datetime())
    created_by: str = Field(max_length=100)


class FormPackage(StoreTable, table=True):
    """A named, ordered list of form keys assigned together (`new-client`)."""

    __tablename__ = "form_package"

    key: str = Field(max_length=60, primary_key=True)
    title: str = Field(max_length=200)
    form_keys: list[str] = Field(sa_type=sa.JSON)
    updated_at: datetime = Field(sa_type=utc_datetime())
    updated_by: str = Field(max_length=100)


class Task(StoreTable, table=True):
    """A form assigned to a chart, with the client's answers (the draft, then what was
    submitted), the score and band of a measure, and the time of every transition."""

    __tablename__ = "task"
    __table_args__ = (
        # a chart's tasks (the desk), and the client's to-do and done lists
        sa.Index("ix_task_chart_state", "chart_id", "state", "assigned_at"),
        # what waits for review across the practice
        sa.Index("ix_task_state_submitted", "state", "submitted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    chart_id: int = Field(foreign_key="chart.id", ondelete="CASCADE")
    form_key: str = Field(max_length=60)
    form_version_id: int = Field(foreign_key="form_version.id")
    package_key: str | None = Field(default=None, max_length=60)
    position: int = Field(default=0)  # its place in the package it came with
    state: str = Field(default=TaskState.ASSIGNED, max_length=20)  # a TaskState
    due_date: date | None = Field(default=None)
    answers: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    score: int | None = Field(default=None)
    severity: str | None = Field(default=None, max_length=30)
    item9_flag: bool = Field(default=False)
    returned_reason: str | None = Field(default=None, max_length=500)
    assigned_by: str = Field(max_length=100)
    assigned_at: datetime = Field(sa_type=utc_datetime())
    started_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    draft_saved_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    submitted_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    reviewed_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    reviewed_by: str | None = Field(default=None, max_length=100)
    returned_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    returned_by: str | None = Field(default=None, max_length=100)
    cancelled_at: datetime | None = Field(default=None, sa_type=utc_datetime())
    cancelled_by: str | None = Field(default=None, max_length=100)
    updated_at: datetime = Field(sa_type=utc_datetime())
