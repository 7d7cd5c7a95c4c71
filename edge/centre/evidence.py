"""Evidence uploaded by the boxes: per-box tokens, the signed manifest and the chain checked on receipt.

A box uploads each violation as: its ``manifest.json`` with ``manifest.sig`` (checked against the box's
pinned Ed25519 key and placed in the box's chain), then every file the manifest lists (each checked
against the manifest's SHA-256 and size as it arrives), then a confirm. Every step is idempotent:
what is already there is a no-op, so an interrupted upload resumes with what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from edge.mqtt.store import SqlEventStore, Upload
from evidence import signing
from evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME, utc_iso

GENESIS = "0" * 64


class UploadRefused(Exception):
    """The upload cannot be accepted; ``status`` is the HTTP status, the message names what and why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BlobStorage(Protocol):
    """Where the centre keeps evidence files, by key ('<box>/<folder>/<path>')."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class LocalDiskStorage:
    """``BlobStorage`` in a folder: each file written to a temporary name, fsynced, renamed."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or any(p in ("..", "") or p.startswith("/") for p in parts):
            raise ValueError(f"storage key {key!r} is not a relative path")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".up-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_box(store: SqlEventStore, box: str, pubkey_pem: bytes) -> str:
    """Register ``box`` with its evidence public key; returns its new bearer token (shown once, kept hashed)."""
    signing.load_public_bytes(pubkey_pem)  # refuse a file that is not a public key now, not at the first upload
    token = secrets.token_urlsafe(32)
    store.add_box(box, token_hash(token), pubkey_pem.decode())
    return token


@dataclass
class EvidenceReceiver:
    store: SqlEventStore
    storage: BlobStorage

    def authenticate(self, authorization: str | None) -> tuple[str, str]:
        """(box, pinned public key PEM) of a ``Bearer <token>`` header; 401 otherwise."""
        if not authorization or not authorization.startswith("Bearer "):
            raise UploadRefused(401, "a box token is required (Authorization: Bearer <token>)")
        found = self.store.box_by_token(token_hash(authorization[7:].strip()))
        if found is None:
            raise UploadRefused(401, "unknown box token")
        return found

    def state(self, box: str, event_id: str) -> dict[str, object]:
        """What the centre holds of an event: for the box to resume an upload."""
        upload = self._own(box, event_id)
        if upload is None:
            return {"event_id": event_id, "manifest": False, "files": {}, "confirmed": False}
        return {"event_id": event_id, "manifest": True, "files": upload.files or {},
                "confirmed": upload.confirmed_utc is not None}  # fmt: skip

    def put_manifest(self, box: str, pubkey_pem: str, event_id: str, manifest: bytes, signature: bytes) -> bool:
        """Verify and keep a manifest; True if new. Refuses a bad signature, a wrong event or a broken chain link;
        a skipped sequence number is accepted but raises an alarm naming the box and the numbers."""
        known = self._own(box, event_id)
        digest = hashlib.sha256(manifest).hexdigest()
        if known is not None:
            if known.manifest_sha256 != digest:
                raise UploadRefused(409, f"event {event_id}: a different manifest was already received")
            return False
        if not signing.verify(signing.load_public_bytes(pubkey_pem.encode()), signature, manifest):
            self.store.add_alarm(box, "signature-invalid", f"event {event_id}: manifest signature does not verify")
            raise UploadRefused(422, f"event {event_id}: {MANIFEST_NAME}: Ed25519 signature does not match"
                                     " the box's pinned key (manifest or signature altered)")  # fmt: skip
        try:
            body = json.loads(manifest)
            event, seq, prev = body["event"], int(body["sequence"]), str(body["previous_manifest_sha256"])
            folder, files = str(body["folder"]), body["files"]
        except (ValueError, KeyError, TypeError) as exc:
            raise UploadRefused(422, f"event {event_id}: {MANIFEST_NAME} is not a manifest ({exc})") from None
        if event.get("event_id") != event_id:
            raise UploadRefused(422, f"event {event_id}: the manifest is for event {event.get('event_id')}")
        self._check_chain(box, event_id, seq, prev)
        upload = Upload(event_id, box, seq, digest, prev, folder, str(event.get("site_id", "")),
                        str(event.get("camera_id", "")), str(event.get("crosswalk_id", "")),
                        utc_iso(float(event.get("entry_utc", 0.0))))  # fmt: skip
        self.storage.put(f"{box}/{folder}/{MANIFEST_NAME}", manifest)
        self.storage.put(f"{box}/{folder}/{SIGNATURE_NAME}", signature)
        del files  # listed files are checked as they arrive
        return self.store.add_upload(upload)

    def _check_chain(self, box: str, event_id: str, seq: int, prev: str) -> None:
        before = self.store.chain_neighbour(box, seq)
        if before is None:
            return  # the first upload of a box (or one older than all received) is its baseline
        before_seq, before_sha = before
        if before_seq == seq - 1 and before_sha != prev:
            self.store.add_alarm(box, "chain-broken", f"sequence {seq} (event {event_id}) does not follow {seq - 1}")
            raise UploadRefused(409, f"event {event_id}: chain broken: sequence {seq} names previous manifest"
                                     f" {prev[:16]}… but sequence {seq - 1} has {before_sha[:16]}…")  # fmt: skip
        if before_seq < seq - 1:
            missing = str(before_seq + 1) if before_seq + 2 == seq else f"{before_seq + 1}-{seq - 1}"
            self.store.add_alarm(box, "chain-gap", f"evidence sequence number(s) {missing} never reached the centre"
                                                   f" (uploaded: {before_seq}, then {seq})")  # fmt: skip

    def put_file(self, box: str, event_id: str, path: str, data: bytes) -> bool:
        """Keep one listed file if its bytes match the manifest; True if new. A modified file is refused by name."""
        upload = self._own(box, event_id)
        if upload is None:
            raise UploadRefused(409, f"event {event_id}: upload its manifest first")
        listed = self._listed(upload)
        entry = listed.get(path)
        if entry is None:
            raise UploadRefused(422, f"event {event_id}: {path} is not listed in the manifest")
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"] or len(data) != int(entry["size"]):
            self.store.add_alarm(box, "file-modified", f"event {event_id}: {upload.folder}/{path}")
            raise UploadRefused(422, f"event {event_id}: file-modified: {upload.folder}/{path}: SHA-256 is"
                                     f" {digest[:16]}… but the manifest lists {entry['sha256'][:16]}…")  # fmt: skip
        if (upload.files or {}).get(path) == digest:
            return False
        self.storage.put(f"{box}/{upload.folder}/{path}", data)
        self.store.add_upload_file(event_id, path, digest, len(data))
        return True

    def confirm(self, box: str, event_id: str, purged: list[str]) -> dict[str, object]:
        """Confirmed once every listed file arrived (``purged``: files the box no longer has, by retention)."""
        upload = self._own(box, event_id)
        if upload is None:
            raise UploadRefused(409, f"event {event_id}: nothing uploaded")
        missing = sorted(set(self._listed(upload)) - set(upload.files or {}) - set(purged))
        if missing:
            raise UploadRefused(409, f"event {event_id}: file(s) not uploaded yet: {', '.join(missing)}")
        self.store.confirm_upload(event_id)
        return {"event_id": event_id, "confirmed": True, "sequence": upload.seq}

    def _own(self, box: str, event_id: str) -> Upload | None:
        upload = self.store.upload(event_id)
        if upload is not None and upload.box != box:
            raise UploadRefused(403, f"event {event_id} belongs to another box")
        return upload

    def _listed(self, upload: Upload) -> dict[str, dict]:
        manifest = json.loads(self.storage.get(f"{upload.box}/{upload.folder}/{MANIFEST_NAME}"))
        return {f["path"]: f for f in manifest["files"]}
