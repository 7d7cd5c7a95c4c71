"""The boxes' side of the centre's HTTP API: evidence upload and review decisions, per-box bearer tokens.

    GET  /api/v1/evidence/{event}                 what the centre holds (resume an upload)
    PUT  /api/v1/evidence/{event}/manifest        manifest.json bytes, header X-Signature: hex Ed25519 signature
    PUT  /api/v1/evidence/{event}/files/{path}    one listed file's bytes
    POST /api/v1/evidence/{event}/confirm         {"purged": [paths the box no longer has]}
    GET  /api/v1/decisions?since=UTC              the box's events reviewed at the centre since then
"""

from __future__ import annotations

import binascii

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from edge.centre.evidence import EvidenceReceiver, UploadRefused
from edge.mqtt.store import StoreError

MAX_FILE_BYTES = 256 * 1024 * 1024  # a clip of a few seconds is a few MB; this only stops a runaway body


def install_box_routes(app: FastAPI, receiver: EvidenceReceiver) -> None:
    """The routes on ``app`` itself (not an included router, so the access table sees their names)."""

    async def body(request: Request) -> bytes:
        size = int(request.headers.get("content-length") or 0)
        if size > MAX_FILE_BYTES:
            raise UploadRefused(413, f"body of {size} bytes exceeds {MAX_FILE_BYTES}")
        return await request.body()

    @app.get("/api/v1/evidence/{event_id}")
    async def evidence_state(event_id: str, authorization: str | None = Header(None)) -> dict:
        box, _ = receiver.authenticate(authorization)
        return receiver.state(box, event_id)

    @app.put("/api/v1/evidence/{event_id}/manifest")
    async def put_manifest(event_id: str, request: Request, authorization: str | None = Header(None),
                           x_signature: str = Header("")) -> dict:  # fmt: skip
        box, key = receiver.authenticate(authorization)
        try:
            signature = binascii.unhexlify(x_signature)
        except (binascii.Error, ValueError):
            raise UploadRefused(400, "X-Signature must be the manifest's Ed25519 signature in hex") from None
        return {"stored": receiver.put_manifest(box, key, event_id, await body(request), signature)}

    @app.put("/api/v1/evidence/{event_id}/files/{path:path}")
    async def put_file(event_id: str, path: str, request: Request, authorization: str | None = Header(None)) -> dict:
        box, _ = receiver.authenticate(authorization)
        return {"stored": receiver.put_file(box, event_id, path, await body(request))}

    @app.post("/api/v1/evidence/{event_id}/confirm")
    async def confirm(event_id: str, request: Request, authorization: str | None = Header(None)) -> dict:
        box, _ = receiver.authenticate(authorization)
        purged = (await request.json() or {}).get("purged", []) if await request.body() else []
        return receiver.confirm(box, event_id, [str(p) for p in purged])

    @app.get("/api/v1/decisions")
    async def decisions(since: float = 0.0, authorization: str | None = Header(None)) -> dict:
        box, _ = receiver.authenticate(authorization)
        rows = receiver.store.decisions(box, since)
        return {"decisions": [dict(zip(("event_id", "state", "reviewer", "reason", "reviewed_utc"), r, strict=True))
                              for r in rows]}  # fmt: skip


def install_error_handlers(app: FastAPI) -> None:
    """A refused upload answers its status with the reason; a failing database 503 (the box retries)."""

    async def refused(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, UploadRefused)
        return JSONResponse({"error": str(exc)}, status_code=exc.status)

    async def unavailable(_request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"centre store unavailable: {exc}"}, status_code=503)

    app.add_exception_handler(UploadRefused, refused)
    app.add_exception_handler(StoreError, unavailable)
