"""What a correction of a chart or a related contact does, in words: the confirmation of
`charts edit` and `contacts edit` (each change, old → new, and what it does to portal access:
the live link ends and a new one goes to the full new address, the sign-in email changes) and
the line after it. The service plans and decides; this module only writes the words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from frontdesk.cli.context import CliContext
from frontdesk.cli.display import new_link_expiry, queued_tail
from frontdesk.core.emails import likely_typo
from frontdesk.core.text import single_line
from frontdesk.desk.wording import FIELD_WORDS, edit_sentence

if TYPE_CHECKING:
    from frontdesk.access.chart_edits import EditPlan
    from frontdesk.access.outcomes import EditOutcome
    from frontdesk.desk.views import ChartDetail


def given_changes(args: object, options: Mapping[str, str]) -> dict[str, str]:
    """The fields the command line gives (`options`: field → argparse dest), as typed; "" is
    kept (it clears an optional field)."""
    return {
        name: value for name, dest in options.items() if (value := getattr(args, dest)) is not None
    }


def changes_words(
    changed: tuple[str, ...], old: Mapping[str, object], new: Mapping[str, str]
) -> str:
    """ "email ana@example.com → ana.o@example.com, preferred name Annie → (none)"."""

    def shown(value: object) -> str:
        text = single_line(str(value)).strip() if value is not None else ""
        return text or "(none)"

    return ", ".join(
        f"{FIELD_WORDS.get(name, name)} {shown(old.get(name))} → {shown(new.get(name))}"
        for name in changed
    )


def effects_words(ctx: CliContext, plan: EditPlan, chart: ChartDetail, *, invite: bool) -> str:
    """What the change does to portal access, for the confirmation ("" when nothing)."""
    parts: list[str] = []
    if plan.ends_link:
        link = "The invitation link"
        if chart.sent_at is not None:
            link += f" sent on {ctx.day(chart.sent_at)}"
        if not invite:
            parts.append(f"{link} stops working; no new one is sent (--no-invite).")
        elif plan.new_owner_email:
            parts.append(
                f"{link} stops working; a new one goes to {single_line(plan.new_owner_email)} "
                f"(it expires {new_link_expiry(ctx)})."
            )
        else:
            parts.append(
                f"{link} stops working; the portal owner has no email address, so no new one "
                "is sent."
            )
    if plan.changes_sign_in_email:
        old = single_line(chart.account_email or "")
        new = single_line(plan.new_owner_email or "")
        parts.append(
            f"The portal sign-in email changes from {old} to {new}: open portal sessions end, "
            "and both addresses get a short notice."
        )
    return " ".join(parts)


def warn_if_typo(ctx: CliContext, plan: EditPlan, new: Mapping[str, str]) -> None:
    """A new email that looks like a typo ("gmial.com"): a warning before the question."""
    email = new.get("email", "").strip()
    suggestion = likely_typo(email) if "email" in plan.changed and email else None
    if suggestion:
        ctx.warn(f"the email {email} may be a typo of {suggestion}")


def result_line(
    ctx: CliContext, outcome: EditOutcome, *, what: str, owner_email: str | None
) -> str:
    """The line after a correction, with where its emails stand (the CLI only queues them)."""
    line = edit_sentence(outcome, what=what, owner_email=owner_email)
    count = len(outcome.outbox_ids)
    if count:
        emails = "The email is" if count == 1 else f"The {count} emails are"
        line += f" {emails} queued{queued_tail(ctx, count)}."
    return line
