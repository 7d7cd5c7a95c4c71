"""The service's HTTP app: /healthz, /metrics, /status. The web UI mounts onto the same app.

``create_app`` builds a FastAPI app around two callables, so it can be tested without a
running service; ``HttpServer`` runs any such app with uvicorn on a thread of the service.
To extend it (the web UI), pass ``extensions``: each is called with the app before it is
served and adds its own routes, e.g. ``app.include_router(ui_router)``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from edge.ops.metrics import ServiceMetrics
from edge.ops.status import ServiceStatus

log = logging.getLogger(__name__)
AppExtension = Callable[[FastAPI], None]


def create_app(
    status: Callable[[], ServiceStatus], metrics: ServiceMetrics, extensions: Iterable[AppExtension] = ()
) -> FastAPI:
    app = FastAPI(title="crossguard", docs_url=None, redoc_url=None, openapi_url=None)

    def health(ok: bool) -> JSONResponse:
        snapshot = status()
        body = {"live": snapshot.live, "ready": snapshot.ready, "reasons": snapshot.reasons}
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """200 when live and ready; 503 (with the reasons) otherwise."""
        snapshot = status()
        return health(snapshot.live and snapshot.ready)

    @app.get("/healthz/live")
    def live() -> JSONResponse:
        """200 while the frame loop turns, even without a camera: restarting would not help then."""
        return health(status().live)

    @app.get("/healthz/ready")
    def ready() -> JSONResponse:
        return health(status().ready)

    @app.get("/status")
    def full_status() -> JSONResponse:
        return JSONResponse(status().to_dict())

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    for extend in extensions:
        extend(app)
    return app


class HttpServer:
    """uvicorn on a daemon thread; ``port`` is the bound port (useful with port 0)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self.host = host
        self.port = port

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise OSError(f"HTTP server could not listen on {self.host}:{self.port} (port in use?)")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("http: serving /healthz and /metrics on http://%s:%d", self.host, self.port)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
