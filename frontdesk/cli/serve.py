"""`frontdesk serve [--host H] [--port P]`: the web endpoint (uvicorn) plus outbox delivery in
the background."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from frontdesk.cli.context import CliContext, CliError
from frontdesk.core.config import is_loopback_host

if TYPE_CHECKING:
    from frontdesk.cli.args import Commands


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "serve",
        help="run the web endpoint (registration links, sign-in) and outbox delivery",
        description=(
            "Serve the Client Portal web endpoint with uvicorn and deliver queued emails in "
            "the background. Put it behind an HTTPS reverse proxy for clients; list the "
            "proxy in FRONTDESK_TRUSTED_PROXIES."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    parser.set_defaults(handler=serve_command)


def serve_command(args: argparse.Namespace, ctx: CliContext) -> int:
    if not 0 < args.port < 65536:
        raise CliError(f"--port must be 1-65535 (got {args.port})")
    settings = ctx.settings()
    if not is_loopback_host(args.host) and not settings.public_is_https:
        raise CliError(
            f"refusing to serve on {args.host} with an http:// public URL "
            f"({settings.public_url}); set FRONTDESK_PUBLIC_URL to the https:// address "
            "clients use"
        )
    services = ctx.services()
    from frontdesk.web.server import serve  # local: uvicorn and Starlette load for this command

    ctx.stderr.print(
        f"Serving the Client Portal on http://{args.host}:{args.port} "
        f"(public URL {settings.public_url}); press Ctrl+C to stop.",
        markup=False,
        highlight=False,
    )
    try:
        serve(services, host=args.host, port=args.port)
    except SystemExit as exc:  # uvicorn exits when it cannot listen (already logged)
        if exc.code not in (0, None):
            raise CliError(f"could not serve on {args.host}:{args.port}") from None
    except KeyboardInterrupt:  # Ctrl+C: uvicorn has shut down cleanly, then re-raised it
        ctx.stderr.print("Stopped.", markup=False, highlight=False)
    return 0
