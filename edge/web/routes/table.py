"""A list of route declarations that a module fills with decorators and ``create_app`` installs.

Routes are added to the app itself (not through included routers), so ``app.routes``
lists every one of them as an ``APIRoute`` and the app-wide access check applies to each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI

from edge.web.guard import BODY_LIMIT

Endpoint = Callable[..., Any]


@dataclass
class Routes:
    entries: list[tuple[str, str, Endpoint, dict[str, Any]]] = field(default_factory=list)

    def _route(self, method: str, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        def declare(endpoint: Endpoint) -> Endpoint:
            self.entries.append((method, path, endpoint, options))
            return endpoint

        return declare

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._route("PUT", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self._route("DELETE", path, **options)

    def install(self, app: FastAPI) -> None:
        for method, path, endpoint, options in self.entries:
            options = {"max_body_size": BODY_LIMIT} | options  # FastAPI answers 413 beyond it, while reading
            app.add_api_route(path, endpoint, methods=[method], **options)
