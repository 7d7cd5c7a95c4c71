"""Writes one event's evidence: pictures, close-up, sheet, clip, signed manifest, index rows.

Runs on the background writer thread (see ``evidence.background``). The event folder is built in
``<root>/.staging`` and moved into place with one rename; a small commit journal lets a restart
finish a commit that a crash interrupted between that rename and the index transaction.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.config.evidence import EvidenceConfig
from edge.ops.clock import ClockSync, read_clock_sync
from evidence.clip import encode_clip
from evidence.index import EvidenceIndex
from evidence.manifest import (
    MANIFEST_NAME,
    SIGNATURE_NAME,
    DeviceContext,
    build_manifest,
    local_time,
    manifest_bytes,
    sha256_hex,
)
from evidence.retention import Retention
from evidence.select import Closeup, Picture, choose_closeup, decode, select_pictures
from evidence.sheet import Panel, PlacedPanel, compose_sheet
from evidence.sheet_text import SheetText, sheet_text
from evidence.storage import INDEX_FILE, STAGING_DIR, EventStaging, event_folder, free_bytes, write_atomic
from evidence.types import EvidenceFile, EvidenceJob, EvidenceRecord, FileKind

log = logging.getLogger(__name__)
JOURNAL = "commit.json"



_COMMIT_LOCKS: dict[Path, threading.Lock] = {}
_COMMIT_LOCKS_GUARD = threading.Lock()


def commit_lock(root: Path) -> threading.Lock:
    """The one lock of an evidence root in this process, shared by every writer into it."""
    with _COMMIT_LOCKS_GUARD:
        return _COMMIT_LOCKS.setdefault(Path(root).resolve(), threading.Lock())

class StorageFull(Exception):
    """No room for this event's evidence even after deleting what may be deleted."""


class NothingToWrite(Exception):
    """The job has no buffered frames (evidence disabled too late, or the buffer was empty)."""


class AlreadyRecorded(Exception):
    """The event id is already committed (a replay run again into the same root)."""


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        return "full" in str(exc)  # SQLITE_FULL: "database or disk is full"
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def estimate_bytes(job: EvidenceJob, clip_encoder: str) -> int:
    """Generous estimate of what the event will occupy: pictures, sheet and clip.

    An H.264 clip is a small fraction of its JPEG frames (about 1/20 on the demo clip; 1/8
    assumed); Motion-JPEG is about as large as the frames themselves."""
    jpeg_total = sum(len(f.jpeg) for f in job.frames)
    largest = max((len(f.jpeg) for f in job.frames), default=0)
    clip = jpeg_total if clip_encoder == "opencv_mjpeg" else jpeg_total // 8
    return clip + 8 * largest + 64 * 1024


class EventWriter:
    def __init__(
        self,
        root: Path,
        config: EvidenceConfig,
        device: DeviceContext,
        key: Ed25519PrivateKey,
        clock: Callable[[], ClockSync] = read_clock_sync,
        free_bytes_fn: Callable[[Path], int] = free_bytes,
    ) -> None:
        self.root = root
        self.config = config
        self.device = device
        self.key = key
        self.clock = clock
        self._free_bytes_fn = free_bytes_fn
        self.index: EvidenceIndex | None = None
        self.retention: Retention | None = None

    def open(self) -> None:
        """Open the index (in the calling thread) and finish or discard what a crash left behind."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = EvidenceIndex(self.root / INDEX_FILE)
        self.retention = Retention(self.index, self.root, self.config, self._free_bytes_fn)
        self._recover()

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None

    # -- one event ---------------------------------------------------------------------------

    def write(self, job: EvidenceJob) -> EvidenceRecord:
        assert self.index is not None and self.retention is not None, "open() first"
        if self.index.event(job.event.event_id) is not None:
            raise AlreadyRecorded(f"event {job.event.event_id} already has committed evidence; kept as it is")
        if not job.frames:
            raise NothingToWrite(f"event {job.event.event_id}: no buffered frames around the entry")
        needed = estimate_bytes(job, self.config.clip_encoder)
        if not self.retention.make_room(needed):
            raise StorageFull(f"no room for about {needed // 1024} KiB even after deleting reviewed evidence")
        try:
            return self._write(job)
        except (OSError, sqlite3.OperationalError) as exc:
            if not _disk_full(exc):
                raise
            log.warning(
                "evidence %s: disk full while writing; freeing space and retrying", job.event.event_id
            )
        if not self.retention.make_room(2 * needed):
            raise StorageFull("disk full while writing, and nothing more may be deleted")
        try:
            return self._write(job)
        except (OSError, sqlite3.OperationalError) as exc:
            if not _disk_full(exc):
                raise
            raise StorageFull(f"disk full while writing: {exc}") from exc

    def _write(self, job: EvidenceJob) -> EvidenceRecord:
        event = job.event
        staging = EventStaging(self.root, event.event_id)
        try:
            details = self._write_content(staging, job)
            return self._seal_and_commit(staging, job, details)
        except BaseException:
            staging.discard()
            raise

    def _write_content(self, staging: EventStaging, job: EvidenceJob) -> dict[str, Any]:
        event, quality = job.event, self.config.jpeg_quality
        pictures = select_pictures(job.frames, event, self.config.inside_delay_s)
        for pic in pictures:  # the clean original, byte for byte as buffered
            staging.add(f"originals/{pic.name}.jpg", FileKind.ORIGINAL, pic.frame.jpeg)
        closeup = choose_closeup(job.frames, event.track_id, event.entry_frame)
        closeup_info = None
        panels = [self._panel(p, event.track_id) for p in pictures]
        if closeup is not None:
            staging.add("closeup.jpg", FileKind.CLOSEUP, _jpeg(closeup.crop, quality))
            closeup_info = {
                "path": "closeup.jpg",
                "frame_index": closeup.frame.frame_index,
                "t": round(closeup.frame.t, 3),
                "box": [round(v, 1) for v in closeup.box],
            }
            panels.append(self._closeup_panel(closeup, event.track_id))
        sheet, placed = compose_sheet(
            panels, self._info_lines(job, pictures), self.config.blur_bystanders, font=self._sheet_text[1]
        )
        staging.add("sheet.jpg", FileKind.SHEET, _jpeg(sheet, quality))
        return {
            "pictures": [self._picture_info(p) for p in pictures],
            "closeup": closeup_info,
            "sheet": {
                "path": "sheet.jpg",
                "width": sheet.shape[1],
                "height": sheet.shape[0],
                "bystanders_blurred": self.config.blur_bystanders,
                "panels": [_placed_info(p) for p in placed],
            },
            "clip": self._write_clip(staging, job),
            "signal_at_entry": _signals_at_entry(pictures),
            "partial": job.partial_reason or None,
        }

    def _write_clip(self, staging: EventStaging, job: EvidenceJob) -> dict[str, Any] | None:
        try:
            made = encode_clip(job.frames, staging.path, self.config.clip_encoder, self.config.clip_max_width)
        except (RuntimeError, cv2.error) as exc:
            log.error("evidence %s: no clip: %s", job.event.event_id, exc)
            return {"error": str(exc)}
        if made is None:
            return None
        tmp, info = made
        staging.adopt(tmp, info.filename, FileKind.CLIP)
        return info.to_dict()

    def _seal_and_commit(
        self, staging: EventStaging, job: EvidenceJob, details: dict[str, Any]
    ) -> EvidenceRecord:
        # A box with several cameras has a writer per camera over one evidence root: the chain's
        # head, the commit journal and the index commit are taken one writer at a time.
        with commit_lock(self.root):
            return self._seal_and_commit_locked(staging, job, details)

    def _seal_and_commit_locked(
        self, staging: EventStaging, job: EvidenceJob, details: dict[str, Any]
    ) -> EvidenceRecord:
        assert self.index is not None
        event = job.event
        seq, prev = self.index.head()
        seq += 1
        folder = event_folder(event.entry_utc, event.event_id)
        content = list(staging.files)
        window = (job.frames[0].t, job.frames[-1].t)
        manifest = build_manifest(
            sequence=seq,
            previous_sha256=prev,
            folder=folder,
            event=event,
            device=self.device,
            files=[f.to_dict() for f in content],
            details=details,
            changes=[c for c in job.signal_changes if c.t <= window[1]],
            clock=self.clock().to_dict(),
            created_utc=time.time(),
        )
        data = manifest_bytes(manifest)
        staging.add(MANIFEST_NAME, FileKind.MANIFEST, data)
        staging.add(SIGNATURE_NAME, FileKind.SIGNATURE, self.key.sign(data))
        record = EvidenceRecord(event.event_id, folder, seq, sha256_hex(data), tuple(staging.files))
        meta = _event_meta(job)
        journal = self.root / STAGING_DIR / JOURNAL
        write_atomic(journal, json.dumps({"record": record.to_dict(), "prev": prev, "meta": meta}).encode())
        final = staging.commit(folder)
        try:
            self.index.commit_event(record, prev, meta)
        except Exception:
            os.rename(final, staging.path)  # not in the index, so not evidence: take it back out
            journal.unlink(missing_ok=True)
            raise
        journal.unlink()
        return record

    # -- sheet text ----------------------------------------------------------------------------

    def _clock_text(self, utc: float) -> str:
        return local_time(utc, self.device.timezone).split(" ")[1]

    @property
    def _sheet_text(self) -> tuple[SheetText, str | None]:
        return sheet_text(self.config.language)

    def _panel(self, pic: Picture, track_id: int) -> Panel:
        label = self._sheet_text[0].pictures[pic.name]
        caption = f"{label}  {self._clock_text(pic.frame.utc)}  #{pic.frame.frame_index}"
        return Panel(pic.name, caption, decode(pic.frame), pic.violator, pic.frame.other_boxes(track_id))

    def _closeup_panel(self, closeup: Closeup, track_id: int) -> Panel:
        """The close-up on the sheet: whole crop outlined, other people's heads in it blurred."""
        x0, y0 = closeup.origin
        others = closeup.frame.other_boxes(track_id) - np.array([x0, y0, x0, y0], np.float32)
        h, w = closeup.crop.shape[:2]
        outline = (0.0, 0.0, float(w - 1), float(h - 1))
        caption = f"{self._sheet_text[0].closeup}  {self._clock_text(closeup.frame.utc)}"
        return Panel("closeup", caption, closeup.crop, outline, others)

    def _info_lines(self, job: EvidenceJob, pictures: list[Picture]) -> list[str]:
        e, d, words = job.event, self.device, self._sheet_text[0]
        since = words.since_unknown if e.since_dont_walk_s is None else f"{e.since_dont_walk_s:.1f} s"
        clock = self.clock()
        sync = (
            words.synced
            if clock.synchronised
            else (words.not_synced if clock.synchronised is False else words.clock_unknown)
        )
        if clock.offset_s is not None:
            sync += words.offset.format(ms=clock.offset_s * 1000)
        model = d.model_id + (
            f" ({d.model_sha256[:12]})" if d.model_sha256 and d.model_sha256[:12] not in d.model_id else ""
        )
        state = words.signal_states.get(e.signal_state.value, e.signal_state.value)
        return [
            f"{d.site_name} — {d.location}" if d.location else d.site_name,
            words.ids.format(
                site=d.site_id, device=d.device_id, crosswalk=e.crosswalk_id, origin=e.from_curb, target=e.to_curb
            ),
            words.entry.format(time=local_time(e.entry_utc, d.timezone), track=e.track_id),
            words.signal.format(group=e.signal_group, state=state, since=since),
            words.event.format(event=e.event_id),
            words.software.format(version=d.software_version, model=model, sync=sync),
        ]

    def _picture_info(self, pic: Picture) -> dict[str, Any]:
        return {
            "name": pic.name,
            "path": f"originals/{pic.name}.jpg",
            "frame_index": pic.frame.frame_index,
            "t": round(pic.frame.t, 3),
            "utc": round(pic.frame.utc, 3),
            "violator_box": None if pic.violator is None else [round(v, 1) for v in pic.violator],
            # every tracked person in the picture (violator included): what a public view must blur
            "person_boxes": [[round(float(v), 1) for v in box] for box in pic.frame.boxes],
        }

    # -- crash recovery --------------------------------------------------------------------------

    def _recover(self) -> None:
        assert self.index is not None
        staging_root = self.root / STAGING_DIR
        journal = staging_root / JOURNAL
        if journal.exists():
            self._finish_interrupted_commit(journal)
        if staging_root.exists():
            for leftover in staging_root.iterdir():
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                    self.index.append_audit(
                        leftover.name,
                        "discarded",
                        "recorder",
                        "incomplete evidence from an interrupted write",
                    )
                    log.warning(
                        "discarded incomplete evidence %s left by an interrupted write", leftover.name
                    )
                elif leftover.name.startswith("."):
                    leftover.unlink(missing_ok=True)

    def _finish_interrupted_commit(self, journal: Path) -> None:
        assert self.index is not None
        data = json.loads(journal.read_text())
        rec = data["record"]
        record = EvidenceRecord(
            rec["event_id"],
            rec["folder"],
            rec["sequence"],
            rec["manifest_sha256"],
            tuple(EvidenceFile(f["path"], FileKind(f["kind"]), f["size"], f["sha256"]) for f in rec["files"]),
        )
        final, staged = self.root / record.folder, self.root / STAGING_DIR / record.event_id
        if not final.exists() and staged.exists():
            staged.parent.mkdir(parents=True, exist_ok=True)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged, final)
        if (
            final.exists()
            and self.index.event(record.event_id) is None
            and self.index.head()[1] == data["prev"]
        ):
            self.index.commit_event(record, data["prev"], data["meta"])
            log.warning("evidence %s: finished a commit interrupted by a crash", record.event_id)
        journal.unlink()


def _placed_info(p: PlacedPanel) -> dict[str, Any]:
    return {
        "name": p.name,
        "rect": list(p.rect),
        "violator_box": None if p.violator is None else list(p.violator),
    }


def _signals_at_entry(pictures: list[Picture]) -> dict[str, Any]:
    entry = next((p for p in pictures if p.name == "2_entry"), None)
    if entry is None:
        return {}
    return {
        g: {
            "state": r.state.value,
            "since": None if r.since is None else round(r.since, 3),
            "reason": r.reason,
        }
        for g, r in entry.frame.signals.items()
    }


def _event_meta(job: EvidenceJob) -> dict[str, Any]:
    e = job.event
    return {
        "entry_utc": e.entry_utc,
        "site_id": e.site_id,
        "crosswalk_id": e.crosswalk_id,
        "track_id": e.track_id,
        "direction": e.direction,
        "since_dont_walk_s": e.since_dont_walk_s,
        "partial": int(bool(job.partial_reason)),
    }
