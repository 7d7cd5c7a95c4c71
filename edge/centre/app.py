"""The centre's FastAPI app: the boxes' upload API, and the operators' pages from ``edge.centre.web``."""

from __future__ import annotations

from fastapi import FastAPI

from edge.centre.api import install_box_routes, install_error_handlers
from edge.centre.evidence import BlobStorage, EvidenceReceiver
from edge.centre.web import CentreWebSettings, install_centre_ui
from edge.mqtt.store import SqlEventStore


def create_centre_app(store: SqlEventStore, storage: BlobStorage, ui: CentreWebSettings | None = None) -> FastAPI:
    """The upload API always; the operators' pages and API when ``ui`` (accounts file, map, commands) is given."""
    app = FastAPI(title="crossguard centre", docs_url=None, redoc_url=None, openapi_url=None)
    receiver = EvidenceReceiver(store, storage)
    app.state.receiver = receiver
    install_box_routes(app, receiver)
    install_error_handlers(app)
    if ui is not None:
        install_centre_ui(app, store, storage, ui)
    return app
