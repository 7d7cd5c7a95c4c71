"""HTTP push endpoint for controller feeds: a route on the web UI's server, or on a small server of its own.

``POST /api/signal/{source name}`` with ``Authorization: Bearer <token>`` and the same JSON as
the MQTT feed (simple form, SPaT-style, or a list). 202 with the number of states accepted;
400 naming the problem for a malformed body; 401 for a missing or wrong token (before the body is
read); 413 for a body longer than the feed's ``max_message_bytes``.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from edge.signal.feed import FeedInbox
from edge.signal.feed_messages import FeedMessageError, parse_message

log = logging.getLogger(__name__)

PUSH_ROUTE = "signal_push"  # the route's name: the web UI lets it through on its bearer token, not a session


@dataclass(frozen=True)
class PushRoute:
    """``POST /api/signal/NAME`` feeding ``inbox``, installed on the web UI's app or a standalone server's.

    The token is checked before the body is read, and FastAPI counts the body's bytes as they
    arrive (``max_body_size``), so neither a caller without the token nor one with it can make
    the box hold more than one feed message.
    """

    inbox: FeedInbox
    token: str

    @property
    def path(self) -> str:
        return f"/api/signal/{self.inbox.name}"

    def install(self, app: FastAPI) -> None:
        limit = self.inbox.settings.max_message_bytes
        app.add_api_route(
            self.path, self.push, methods=["POST"], name=PUSH_ROUTE, status_code=202, max_body_size=limit
        )

    async def push(self, request: Request) -> JSONResponse:
        _check_token(request, self.token)
        body = await request.body()
        inbox = self.inbox
        bounds = (inbox.settings.max_message_bytes, inbox.settings.max_groups)
        try:
            items = parse_message(body, *bounds)  # checked here too, so the caller learns what was wrong
        except FeedMessageError as exc:
            inbox.submit(body, time.time())  # counted as malformed like any other feed
            raise HTTPException(400, str(exc)) from None
        accepted = inbox.submit(body, time.time())
        return JSONResponse({"accepted": accepted, "rejected": len(items) - accepted}, status_code=202)


def _check_token(request: Request, token: str) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


class PushServer:
    """A standalone uvicorn server on its own thread, for boxes that run no web UI."""

    def __init__(self, route: PushRoute, host: str, port: int) -> None:
        app = FastAPI(title="crossguard signal push")
        route.install(app)
        # Bound here, so a port in use is an error for the caller rather than a dying thread.
        self._socket = socket.create_server((host, port), reuse_port=False)
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="signal-http-push", daemon=True
        )

    def start(self, timeout_s: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError("signal push server did not start")
            time.sleep(0.02)

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()
