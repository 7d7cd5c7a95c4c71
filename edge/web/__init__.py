"""Local web UI: login, dashboard, live view, zone editor, evidence review, device tests.

The host (the live service, or ``crossguard ui``) builds a ``WebContext`` and serves
``create_app(context)`` with uvicorn.
"""

from edge.web.app import create_app
from edge.web.context import DeviceHub, WebContext

__all__ = ["DeviceHub", "WebContext", "create_app"]
