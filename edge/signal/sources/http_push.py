"""Controller feed pushed over HTTP: the live service mounts it on the web UI's server, or it runs its own.

Without ``listen_port`` the source is DOWN until ``mount`` installed its route on a server that
started, and again (with the reason) when the service says it could not be served, so a feed
nobody can reach shows in /healthz rather than going quietly stale.
"""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from edge.config.signal import HttpPushSourceConfig
from edge.signal.feed import FeedSource
from edge.signal.http_push import PushRoute, PushServer
from edge.signal.source import SignalSourceError
from edge.signal.sources import register

log = logging.getLogger(__name__)


class PushTokenError(SignalSourceError):
    """No usable bearer token configured."""


def resolve_token(config: HttpPushSourceConfig) -> str:
    token = config.token or os.environ.get(config.token_env, "")
    if len(token) < 16:
        raise PushTokenError(
            f"http_push source '{config.name}': set a bearer token of at least 16 characters in "
            f"${config.token_env} (or signal.sources[].token)"
        )
    return token


@register("http_push")
class HttpPushSource(FeedSource):
    def __init__(self, config: HttpPushSourceConfig, token: str) -> None:
        super().__init__(config.name, config)
        self.route = PushRoute(self.inbox, token)
        self.server: PushServer | None = None
        self._unserved: str | None = None  # why nothing serves the route, if so
        if config.listen_port is None:
            self._unserved = f"not served: nothing has mounted {self.route.path} (the web UI does when it starts)"
        else:
            try:
                self.server = PushServer(self.route, config.listen_host, config.listen_port)
                self.server.start()
            except OSError as exc:
                where = f"{config.listen_host}:{config.listen_port}"
                raise SignalSourceError(f"http_push source '{config.name}': cannot serve on {where}: {exc}") from None

    @classmethod
    def from_config(cls, config: HttpPushSourceConfig) -> HttpPushSource:
        return cls(config, resolve_token(config))

    def mount(self, app: FastAPI) -> None:
        """Install the route on ``app`` (the web UI's); the caller reports ``not_served`` if it cannot serve it."""
        self.route.install(app)
        self._unserved = None

    def not_served(self, reason: str) -> None:
        """Nothing serves the route: DOWN with ``reason`` until a server mounts it."""
        self._unserved = f"not served: {reason}"
        log.error("signal source %s: %s is %s", self.name, self.route.path, self._unserved)

    def connected(self) -> bool:
        return self._unserved is None

    def down_reason(self) -> str:
        return self._unserved or ""

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
