"""Controller feed pushed over HTTP: the web UI mounts ``router()``, or the source runs its own server."""

from __future__ import annotations

import os

from fastapi import APIRouter

from edge.config.signal import HttpPushSourceConfig
from edge.signal.feed import FeedSource
from edge.signal.http_push import PushServer, push_router
from edge.signal.source import SignalSourceError
from edge.signal.sources import register


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
        self._router = push_router(self.inbox, token)
        self.server: PushServer | None = None
        if config.listen_port is not None:
            try:
                self.server = PushServer(self._router, config.listen_host, config.listen_port)
                self.server.start()
            except OSError as exc:
                where = f"{config.listen_host}:{config.listen_port}"
                raise SignalSourceError(f"http_push source '{config.name}': cannot serve on {where}: {exc}") from None

    @classmethod
    def from_config(cls, config: HttpPushSourceConfig) -> HttpPushSource:
        return cls(config, resolve_token(config))

    def router(self) -> APIRouter:
        """The route for the web UI to mount (``app.include_router(source.router())``)."""
        return self._router

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
