"""`frontdesk db upgrade`: create or migrate the database."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.args import command, group
from frontdesk.cli.context import CliContext, CliError

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register(commands: Commands) -> None:
    db = group(commands, "db", "the database")
    command(db, "upgrade", cmd_db_upgrade, "create or migrate the database to this version")


def cmd_db_upgrade(args: argparse.Namespace, ctx: CliContext) -> int:
    from alembic.util import CommandError

    from store.db import open_database
    from store.migrate import upgrade

    db = open_database(ctx.settings().database_url, migrate=False)
    try:
        before, after = upgrade(db)
    except CommandError as exc:  # Alembic's own error: say what failed
        raise CliError(f"cannot migrate the database: {exc}") from None
    finally:
        db.dispose()
    if before == after:
        ctx.say(f"The database {db.url} is up to date (revision {after}).")
    else:
        ctx.say(f"The database {db.url} was migrated: {before or 'empty'} → {after}.")
    return 0
