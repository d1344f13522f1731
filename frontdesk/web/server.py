"""Serving the web endpoint: uvicorn with redacted logs, plus the outbox delivery loop (and
the bounce reader's, when a bounce mailbox is configured).

`serve(services, host, port)` is what `frontdesk serve` runs. Proxy headers (X-Forwarded-For /
-Proto) are believed only from `settings.trusted_proxies`. Every log line, the access log
included, passes through `RedactFilter`, so no registration or reset link's token reaches a log.
"""

from __future__ import annotations

import copy
import logging
import logging.config
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.config import LOGGING_CONFIG

from frontdesk.services import Services
from frontdesk.web.app import create_web_app

log = logging.getLogger("frontdesk.web")

_REDACT = {"()": "frontdesk.web.security.RedactFilter"}


def log_config() -> dict[str, Any]:
    """uvicorn's default logging, with redaction on every uvicorn logger and handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": _REDACT}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["filters"] = ["redact"]
    return config


def app_log_config() -> dict[str, Any]:
    """Logging for FrontDesk's own loggers when serving: one redacted stream on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact": _REDACT},
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "plain",
                "filters": ["redact"],
            }
        },
        "loggers": {
            "frontdesk": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def build_server(
    app: Starlette,
    services: Services,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    access_log: bool = True,
) -> uvicorn.Server:
    """A uvicorn server for `app` (not started). Port 0 picks a free port."""
    proxies = list(services.settings.trusted_proxies)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        server_header=False,
        log_config=log_config(),
        access_log=access_log,
        timeout_graceful_shutdown=5,
        limit_concurrency=500,
        h11_max_incomplete_event_size=16 * 1024,
        lifespan="off",
    )
    return uvicorn.Server(config)


def serve(services: Services, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the web endpoint and background outbox delivery until interrupted."""
    from frontdesk.access import passwords

    logging.config.dictConfig(app_log_config())
    passwords.warm_up()  # the unknown-account dummy hash, before the first sign-in
    app = create_web_app(services=services)
    server = build_server(app, services, host=host, port=port)
    outbox = services.delivery_loop()
    outbox.start()
    bounces = services.bounce_loop()  # None when no bounce mailbox (IMAP) is configured
    if bounces is not None:
        bounces.start()
    try:
        server.run()
    finally:
        views = getattr(app.state, "message_views", None)
        if views is not None:
            views.close()  # the thread views still waiting to be written
        outbox.stop()
        if bounces is not None:
            bounces.stop()
