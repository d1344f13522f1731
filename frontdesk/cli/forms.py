"""`frontdesk forms list|show|import` and `frontdesk forms packages list|set`: the practice's
form library, and its `--json` shapes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from frontdesk.cli.args import add_json, command, group, positive
from frontdesk.cli.context import CliContext, cell, field_error, iso

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands
    from frontdesk.portal.form_definitions import FormDefinition
    from frontdesk.portal.forms import FormInfo, PackageInfo

PACKAGE_OPTIONS = {"key": "KEY", "title": "--title", "forms": "--forms"}


def register(commands: Commands) -> None:
    forms = group(commands, "forms", "the practice's forms and packages of forms")
    p = command(forms, "list", cmd_forms_list, "every form, its current version and kind")
    add_json(p)
    p = command(forms, "show", cmd_forms_show, "a form: its sections, fields and choices")
    p.add_argument("key", metavar="KEY", help="the form's key (e.g. phq-9, intake)")
    p.add_argument("--version", type=positive, metavar="N", help="an earlier version")
    p.add_argument("--json", action="store_true", help="the definition as JSON (importable)")
    p = command(
        forms,
        "import",
        cmd_forms_import,
        "add a form, or a new version of one, from a TOML or JSON file",
        epilog="Tasks already assigned keep the version they were assigned with. The scored "
        "measures (PHQ-9, GAD-7) cannot be edited. `frontdesk forms show KEY --json` prints a "
        "form in the shape to import.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="a .toml or .json form definition")

    packages = forms.add_parser("packages", help="packages: forms assigned together")
    inner = packages.add_subparsers(title="commands", metavar="COMMAND")
    inner.required = True
    p = command(inner, "list", cmd_packages_list, "every package and its forms, in order")
    add_json(p)
    p = command(inner, "set", cmd_packages_set, "create or change a package")
    p.add_argument("key", metavar="KEY", help="the package's key (e.g. new-client)")
    p.add_argument("--title", required=True, metavar="T", help="its title")
    p.add_argument("--forms", required=True, metavar="K1,K2", help="form keys, in order")


# --------------------------------------------------------------------------------------------
# --json shapes
# --------------------------------------------------------------------------------------------


def form_json(form: FormInfo) -> dict[str, Any]:
    """A form as `forms list --json` gives it."""
    return {
        "key": form.key,
        "title": form.title,
        "version": form.version,
        "kind": form.kind.value,
        "editable": form.editable,
        "created_at": iso(form.created_at),
        "created_by": form.created_by,
    }


def package_json(package: PackageInfo) -> dict[str, Any]:
    return {
        "key": package.key,
        "title": package.title,
        "forms": list(package.form_keys),
        "updated_at": iso(package.updated_at),
        "updated_by": package.updated_by,
    }


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


def cmd_forms_list(args: argparse.Namespace, ctx: CliContext) -> int:
    forms = ctx.services().forms.forms()
    if args.json:
        ctx.print_json([form_json(f) for f in forms])
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("Key", "Title", "Version", "Kind", "Changed"):
        table.add_column(header)
    for form in forms:
        kind = form.kind.value + (" (scored; not editable)" if form.scored else "")
        table.add_row(
            cell(form.key),
            cell(form.title),
            cell(form.version),
            cell(kind),
            cell(f"{ctx.when(form.created_at)} by {form.created_by}"),
        )
    ctx.stdout.print(table)
    return 0


def cmd_forms_show(args: argparse.Namespace, ctx: CliContext) -> int:
    spec = ctx.services().forms.form(args.key, version=args.version)
    if args.json:
        ctx.print_json(spec.definition.to_json())
        return 0
    info = spec.info
    ctx.say(Text(f"{info.title} ({info.key}, version {info.version}, {info.kind.value})"))
    for line in definition_lines(spec.definition):
        ctx.say(Text(line))
    return 0


def definition_lines(form: FormDefinition) -> list[str]:
    """A form as readable lines: instructions, document, scale, each section's fields."""
    lines: list[str] = []
    if form.instructions:
        lines += ["", *form.instructions.splitlines()]
    if form.document:
        lines += ["", "Document:", *("  " + line for line in form.document.splitlines())]
    if form.scale:
        lines += ["", "Scale: " + "; ".join(f"{p.value} = {p.label}" for p in form.scale)]
    for section in form.sections:
        lines.append("")
        if section.title:
            lines.append(f"[{section.title}]")
        if section.text:
            lines += section.text.splitlines()
        for f in section.fields:
            marks = f.kind.value + (", required" if f.required else "")
            lines.append(f"- {f.id}: {f.label} ({marks})")
            if f.choices:
                lines.append("    choices: " + " | ".join(f.choices))
            if f.help:
                lines.append(f"    help: {f.help}")
    if form.attribution:
        lines += ["", form.attribution]
    return lines


def cmd_forms_import(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.core.errors import InvalidInput
    from frontdesk.portal.forms import load_definition_file

    services = ctx.services()
    data = load_definition_file(args.file)
    try:
        result = services.forms.import_form(data)
    except InvalidInput as exc:
        raise field_error(exc, {}) from None
    form = result.form
    if result.created:
        what = "added" if form.version == 1 else f"saved as version {form.version}"
        ctx.say(f"Form {form.key} ({form.title}) {what}.")
    else:
        ctx.say(f"Form {form.key} is unchanged (version {form.version}); nothing was added.")
    return 0


def cmd_packages_list(args: argparse.Namespace, ctx: CliContext) -> int:
    packages = ctx.services().forms.packages()
    if args.json:
        ctx.print_json([package_json(p) for p in packages])
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for header in ("Key", "Title", "Forms"):
        table.add_column(header)
    for package in packages:
        table.add_row(cell(package.key), cell(package.title), cell(", ".join(package.form_keys)))
    ctx.stdout.print(table)
    return 0


def cmd_packages_set(args: argparse.Namespace, ctx: CliContext) -> int:
    from frontdesk.core.errors import InvalidInput

    keys = [k.strip() for k in args.forms.split(",")]
    try:
        package = ctx.services().forms.set_package(args.key, title=args.title, form_keys=keys)
    except InvalidInput as exc:
        raise field_error(exc, PACKAGE_OPTIONS) from None
    ctx.say(f"Package {package.key} ({package.title}): {', '.join(package.form_keys)}.")
    return 0
