"""Forms and tasks on the portal: the signed-in client's forms to complete, and each form.

- `GET /portal/tasks`: to do (assigned, in progress, returned with the practice's reason; due
  dates) and done (submitted, reviewed), each linking to its form.
- `GET /portal/tasks/<id>`: the form, drawn from its definition (`task_fields`) and filled
  with its saved draft; once sent, a read-only copy of what was sent.
- `POST /portal/tasks/<id>` with `action=save` (keep the draft: nothing is required yet) or
  `action=submit` (the service checks the whole form; refused fields are shown at the field
  with what was typed, and nothing is stored). After a save or a submission the browser is
  sent on (303) to the form's page with a notice (`?m=saved`, `?m=sent`).
- A sent form (submitted, reviewed) cannot be changed: a POST shows its copy with a notice
  (409), nothing changed. A returned one can be changed and sent again.
- PHQ-9 item 9 answered above "Not at all": the page after sending shows crisis resources
  first (988, 911, the practice's phone), and the copy keeps them at its top. Nothing of it
  goes by email.

The rules are `TaskService`'s; this module writes the words. Every route is behind the
session guard and takes the chart from `SignedIn`, never from the request: another chart's
task id (or a cancelled task's) is the ordinary 404 page, on GET and POST alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from frontdesk.core import links
from frontdesk.core.clock import as_utc
from frontdesk.core.errors import NotAllowed, NotFound
from frontdesk.portal.task_views import ClientTasks, SubmitResult, TaskDetail, TaskSummary
from frontdesk.services import Services
from frontdesk.web import csrf
from frontdesk.web.guard import Guard, SignedIn
from frontdesk.web.pages import Pages
from frontdesk.web.routes import task_fields
from store.states import FormKind, TaskState

LIST_TEMPLATE = "tasks/list.html"
FORM_TEMPLATE = "tasks/form.html"
SENT_TEMPLATE = "tasks/sent.html"
MAX_ID = 2**63 - 1  # larger ids are no one's task (and would not fit the database's integer)
# A practice's form may have up to 200 questions of long text; the account forms' caps are
# far too small for it.
FORM_MAX_BYTES = 1024 * 1024
FORM_MAX_FIELDS = 2000
ACTIONS = ("save", "submit")
T = TypeVar("T")

NOTICES = {
    "saved": "Draft saved. You can come back and finish it later.",
    "sent": "Your form was sent to the practice. Thank you.",
}
LOCKED_NOTICE = "This form was already sent, so it can no longer be changed. Nothing was changed."

STATE_WORDS = {
    TaskState.ASSIGNED: "Not started",
    TaskState.IN_PROGRESS: "Draft saved",
    TaskState.RETURNED: "Sent back to you",
    TaskState.SUBMITTED: "Sent",
    TaskState.REVIEWED: "Reviewed by the practice",
}
KIND_WORDS = {
    FormKind.MEASURE: "Questionnaire",
    FormKind.CONSENT: "Consent to sign",
    FormKind.QUESTIONNAIRE: "Form",
}


def day_words(value: date) -> str:
    """'Thursday, December 3, 2026'."""
    return f"{value:%A}, {value:%B} {value.day}, {value.year}"


def short_day(value: date) -> str:
    """'Dec 3, 2026'."""
    return f"{value:%b} {value.day}, {value.year}"


def moment_words(value: datetime | None, zone: ZoneInfo) -> str:
    """'Nov 26, 2026 at 10:05 AM EST' in the practice's zone ("" for None)."""
    if value is None:
        return ""
    local = as_utc(value).astimezone(zone)
    hour = local.strftime("%I").lstrip("0") or "12"
    return f"{short_day(local.date())} at {hour}:{local:%M} {local:%p} {local.tzname() or 'UTC'}"


def task_id_of(request: Request) -> int:
    task_id = int(request.path_params["task_id"])
    if not 0 < task_id <= MAX_ID:
        raise HTTPException(404)
    return task_id


async def acting(work: Callable[[], T]) -> T:
    """`work` in the thread pool; a task that is not the session's (NotFound) is a 404."""
    try:
        return await run_in_threadpool(work)
    except NotFound:
        raise HTTPException(404) from None


class TaskRoutes:
    """The forms pages, bound to one set of services."""

    def __init__(self, services: Services, pages: Pages, guard: Guard) -> None:
        self.services = services
        self.tasks = services.tasks
        self.pages = pages
        self.guard = guard

    def routes(self) -> list[BaseRoute]:
        one = links.PORTAL_TASKS + "/{task_id:int}"
        guarded = self.guard.signed_in
        return [
            Route(links.PORTAL_TASKS, guarded(self.list_get), methods=["GET"]),
            Route(one, guarded(self.task_get), methods=["GET"]),
            Route(
                one,
                guarded(self.task_post, max_bytes=FORM_MAX_BYTES, max_fields=FORM_MAX_FIELDS),
                methods=["POST"],
            ),
        ]

    # ------------------------------------------------------------------ shared parts

    def context(self, signed: SignedIn, title: str, zone: ZoneInfo, **extra: Any) -> dict[str, Any]:
        return {
            "title": title,
            "session": signed.session,
            "csrf_field": csrf.CSRF_FIELD,
            "csrf_token": signed.session.csrf_token,
            "portal_url": self.pages.base + links.PORTAL,
            "tasks_url": self.pages.base + links.PORTAL_TASKS,
            "task_url": lambda task_id: self.pages.base + links.task_path(task_id),
            "state_words": STATE_WORDS,
            "kind_words": KIND_WORDS,
            "day": day_words,
            "short_day": short_day,
            "moment": lambda value: moment_words(value, zone),
            "today": self.services.clock.now().astimezone(zone).date(),
            **extra,
        }

    async def zone(self) -> ZoneInfo:
        return await run_in_threadpool(self.services.practice.zone)

    @staticmethod
    def notice_code(request: Request) -> str:
        code = request.query_params.get("m", "")
        return code if code in NOTICES else ""

    # ------------------------------------------------------------------ the list

    async def list_get(self, request: Request, signed: SignedIn) -> Response:
        found: ClientTasks = await acting(lambda: self.tasks.client_tasks(signed.session))
        zone = await self.zone()
        return self.pages.page(
            LIST_TEMPLATE,
            **self.context(signed, "Your forms", zone, to_do=found.to_do, done=found.done),
        )

    # ------------------------------------------------------------------ one form

    async def task_get(self, request: Request, signed: SignedIn) -> Response:
        task_id = task_id_of(request)
        detail: TaskDetail = await acting(lambda: self.tasks.client_task(signed.session, task_id))
        notice = self.notice_code(request)
        if not detail.editable:
            return await self.sent_page(signed, detail, notice=notice)
        return await self.form_page(signed, detail, detail.answers, {}, notice=notice)

    async def task_post(self, request: Request, signed: SignedIn) -> Response:
        task_id = task_id_of(request)
        action = signed.form.values.get("action", "")
        if action not in ACTIONS:
            raise HTTPException(400)
        answers = task_fields.posted_answers(signed.form.values)
        client = signed.session
        try:
            if action == "save":
                await acting(lambda: self.tasks.save_draft(client, task_id, answers))
                return self.pages.redirect(f"{links.task_path(task_id)}?m=saved")
            result: SubmitResult = await acting(lambda: self.tasks.submit(client, task_id, answers))
        except NotAllowed:
            detail = await acting(lambda: self.tasks.client_task(client, task_id))
            return await self.sent_page(signed, detail, refused=True, status=409)
        if result.ok:
            return self.pages.redirect(f"{links.task_path(task_id)}?m=sent")
        return await self.form_page(signed, result.task, answers, result.errors, status=400)

    async def form_page(
        self,
        signed: SignedIn,
        detail: TaskDetail,
        values: dict[str, Any],
        errors: dict[str, str],
        *,
        notice: str = "",
        status: int = 200,
    ) -> HTMLResponse:
        zone = await self.zone()
        form = detail.form
        sections = task_fields.form_sections(form, values, errors)
        general, summary = task_fields.error_summary(sections, errors)
        title = f"Error: {form.title}" if errors else form.title
        return self.pages.page(
            FORM_TEMPLATE,
            status,
            **self.context(
                signed,
                title,
                zone,
                task=detail,
                form=form,
                instructions=task_fields.paragraphs(form.instructions),
                document=task_fields.paragraphs(form.document),
                sections=sections,
                general_error=general,
                summary=summary,
                has_required=any(f.required for f in form.fields),
                notice=NOTICES.get(notice, "") if notice == "saved" else "",
                action_url=self.pages.base + links.task_path(detail.id),
            ),
        )

    async def sent_page(
        self,
        signed: SignedIn,
        detail: TaskDetail,
        *,
        notice: str = "",
        refused: bool = False,
        status: int = 200,
    ) -> HTMLResponse:
        zone = await self.zone()
        next_task: TaskSummary | None = None
        if notice == "sent":
            found: ClientTasks = await acting(lambda: self.tasks.client_tasks(signed.session))
            next_task = found.to_do[0] if found.to_do else None
        form = detail.form
        by_section = task_fields.answered_sections(detail)
        return self.pages.page(
            SENT_TEMPLATE,
            status,
            **self.context(
                signed,
                form.title,
                zone,
                task=detail,
                form=form,
                document=task_fields.paragraphs(form.document),
                answers=by_section,
                crisis=detail.item9_flag,
                notice=LOCKED_NOTICE if refused else NOTICES.get(notice, "") if notice else "",
                refused=refused,
                next_task=next_task,
            ),
        )


def routes(services: Services, pages: Pages, guard: Guard) -> list[BaseRoute]:
    """`GET /portal/tasks`, `GET|POST /portal/tasks/<id>`."""
    return TaskRoutes(services, pages, guard).routes()
