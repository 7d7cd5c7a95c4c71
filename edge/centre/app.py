"""The centre's FastAPI app: the boxes' upload API now; the operators' pages are added by ``edge.centre.web``."""

from __future__ import annotations

from fastapi import FastAPI

from edge.centre.api import box_router, install_error_handlers
from edge.centre.evidence import BlobStorage, EvidenceReceiver
from edge.mqtt.store import SqlEventStore


def create_centre_app(store: SqlEventStore, storage: BlobStorage) -> FastAPI:
    app = FastAPI(title="crossguard centre", docs_url=None, redoc_url=None, openapi_url=None)
    receiver = EvidenceReceiver(store, storage)
    app.state.receiver = receiver
    app.include_router(box_router(receiver))
    install_error_handlers(app)
    return app
