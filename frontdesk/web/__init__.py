"""The Client Portal web endpoint (Starlette). Build it with `create_web_app(services=...)`;
serve it with `frontdesk.web.server.serve` (`frontdesk serve`)."""

from frontdesk.web.app import create_web_app

__all__ = ["create_web_app"]
