"""A JSON-over-HTTP board gateway on 127.0.0.1 that records every message it accepts."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HttpBoardEmulator:
    """``hung=True`` accepts TCP connections and never answers (a gateway whose app has frozen)."""

    def __init__(self, port: int = 0, *, hung: bool = False, status: int = 200) -> None:
        self.messages: list[dict[str, Any]] = []
        self.status = status
        self.hung = hung
        self._lock = threading.Lock()
        if hung:
            self._sock = socket.create_server(("127.0.0.1", port), backlog=64)
            self.port = self._sock.getsockname()[1]
            self._server = None
            return
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    message = json.loads(self.rfile.read(length))
                except ValueError:
                    self.send_error(400, "body is not JSON")
                    return
                if emulator.status == 200:
                    with emulator._lock:
                        emulator.messages.append(message)
                self.send_response(emulator.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="http-board-emulator", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/board"

    @property
    def shown(self) -> str | None:
        with self._lock:
            return self.messages[-1]["text"] if self.messages else None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        else:
            self._sock.close()
