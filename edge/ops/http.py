"""The service's operations app: /healthz, /metrics, /status, answered without login.

``create_app`` builds a FastAPI app around two callables, so it can be tested without a
running service; ``HttpServer`` runs any such app with uvicorn on a thread of the service,
over TLS when given a certificate. The web UI is a separate app on its own server (the
site's ``web`` section), so nothing here needs a session and this server stays on loopback
unless ``service.http.public`` says otherwise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse

from edge.ops.metrics import ServiceMetrics
from edge.ops.status import ServiceStatus

log = logging.getLogger(__name__)


def create_app(status: Callable[[], ServiceStatus], metrics: ServiceMetrics) -> FastAPI:
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

    return app


class HttpServer:
    """uvicorn on a daemon thread; ``port`` is the bound port (useful with port 0).

    ``what`` names the server in its log lines; with ``certfile`` and ``keyfile`` it serves HTTPS.
    """

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        what: str = "http: /healthz, /status and /metrics",
        certfile: Path | None = None,
        keyfile: Path | None = None,
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            lifespan="off",
            access_log=False,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=what.split(":")[0], daemon=True)
        self._error: BaseException | None = None
        self.host = host
        self.port = port
        self.what = what
        self.scheme = "https" if certfile else "http"

    def _run(self) -> None:
        try:
            self._server.run()
        except Exception as exc:  # a bad certificate or key: ``start`` names it (SystemExit: port in use)
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                why = f"({self._error})" if self._error else "(port in use?)"
                raise OSError(f"{self.what}: could not listen on {self.host}:{self.port} {why}")
            time.sleep(0.02)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("%s on %s://%s:%d", self.what, self.scheme, self.host, self.port)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
