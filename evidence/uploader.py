"""Store and forward of evidence to the traffic centre: every committed violation, until the centre confirms it.

The evidence index is the outbox: events without ``centre_confirmed_utc`` are uploaded oldest first (manifest
and signature, then each file the centre does not hold yet, then a confirm), so an interrupted upload
resumes where it stopped and a repeated one changes nothing. The centre's confirmation is recorded in the
index (audited); only then, and once reviewed, may retention delete the files. The same thread pulls the
centre's review decisions into the index. A centre that cannot be reached is retried every ``interval_s``;
an event the centre refuses (a modified file, say) stays on the box, logged with the centre's reason.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edge.config.evidence import EvidenceConfig
from evidence.index import EventRow, EvidenceIndex
from evidence.manifest import MANIFEST_NAME, SIGNATURE_NAME
from evidence.types import ReviewState

log = logging.getLogger(__name__)
INDEX_FILE = "index.sqlite"


class CentreUnreachable(Exception):
    """No answer, or the centre cannot store now (5xx): try again later."""


class EvidenceUploader:
    def __init__(self, root: Path, url: str, token: str, interval_s: float = 5.0, ca_file: Path | None = None,
                 timeout_s: float = 60.0) -> None:  # fmt: skip
        self.root = Path(root)
        self.url = url.rstrip("/")
        self._token = token
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self._ssl = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._decisions_since = 0.0
        self.uploaded = 0  # events confirmed by the centre since start
        self.refused: dict[str, str] = {}  # event id → the centre's reason, for the status page
        self.last_error = ""

    @classmethod
    def from_config(cls, config: EvidenceConfig) -> EvidenceUploader:
        """From ``evidence.upload``; the token from its file or environment variable, or a clear error."""
        up = config.upload
        if up.token_file is not None:
            try:
                token = up.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"evidence.upload.token_file: {up.token_file}: {exc.strerror or exc}") from None
        else:
            token = os.environ.get(up.token_env, "").strip()
        if not token:
            where = up.token_file or f"${up.token_env}"
            raise ValueError(f"evidence.upload: no box token in {where} (crossguard center boxes add prints one)")
        return cls(config.root, up.url, token, up.interval_s, up.ca_file)

    # -- thread ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="evidence-uploader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # never let one pass end the thread
                log.exception("evidence upload pass failed")
            self._stop.wait(self.interval_s)

    # -- one pass --------------------------------------------------------------------------------------------
    def run_once(self) -> int:
        """Upload what the centre has not confirmed, then pull decisions; the number confirmed in this pass."""
        index = EvidenceIndex(self.root / INDEX_FILE)
        confirmed = 0
        try:
            for event in index.awaiting_centre():
                if self._stop.is_set():
                    break
                try:
                    if self._upload(index, event):
                        confirmed += 1
                except CentreUnreachable as exc:
                    if str(exc) != self.last_error:
                        log.warning("evidence upload: centre %s unreachable (%s); evidence stays on the box",
                                    self.url, exc)  # fmt: skip
                    self.last_error = str(exc)
                    return confirmed
            self._pull_decisions(index)
            self.last_error = ""
        except CentreUnreachable as exc:
            self.last_error = str(exc)
        finally:
            index.close()
        return confirmed

    def _upload(self, index: EvidenceIndex, event: EventRow) -> bool:
        base = f"/api/v1/evidence/{quote(event.event_id)}"
        folder = self.root / event.folder
        try:
            state = self._call("GET", base)
            if not state["confirmed"]:
                if not state["manifest"]:
                    signature = (folder / SIGNATURE_NAME).read_bytes().hex()
                    self._call("PUT", f"{base}/manifest", (folder / MANIFEST_NAME).read_bytes(),
                               {"X-Signature": signature})  # fmt: skip
                held = state["files"]
                for f in index.files(event.event_id, live_only=True):
                    if f.relpath not in (MANIFEST_NAME, SIGNATURE_NAME) and held.get(f.relpath) != f.sha256:
                        self._call("PUT", f"{base}/files/{quote(f.relpath)}", (folder / f.relpath).read_bytes())
                purged = [f.relpath for f in index.files(event.event_id) if f.deleted_utc is not None]
                self._call("POST", f"{base}/confirm", json.dumps({"purged": purged}).encode(),
                           {"Content-Type": "application/json"})  # fmt: skip
        except _Refused as exc:
            if self.refused.get(event.event_id) != str(exc):
                log.error("evidence %s: the centre refused it: %s (kept on the box)", event.event_id, exc)
            self.refused[event.event_id] = str(exc)
            return False
        except OSError as exc:  # a file of the event cannot be read: the centre will not confirm it
            self.refused[event.event_id] = f"cannot read: {exc}"
            log.error("evidence %s: cannot be uploaded: %s", event.event_id, exc)
            return False
        index.mark_centre_confirmed(event.event_id, f"confirmed by {self.url}")
        self.refused.pop(event.event_id, None)
        self.uploaded += 1
        return True

    def _pull_decisions(self, index: EvidenceIndex) -> None:
        """Apply the centre's review decisions to events still unreviewed on the box (the box's own win)."""
        answer = self._call("GET", f"/api/v1/decisions?since={self._decisions_since!r}")
        for d in answer["decisions"]:
            row = index.event(d["event_id"])
            if row is not None and row.review_state is ReviewState.NEW and d["state"] != ReviewState.NEW.value:
                index.set_review(d["event_id"], ReviewState(d["state"]), f"{d['reviewer']} (centre)", d["reason"])
            self._decisions_since = max(self._decisions_since, float(d["reviewed_utc"]))

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        headers = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            context = self._ssl if self.url.startswith("https:") else None
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=context) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            reason = _error_text(exc)
            if exc.code >= 500 or exc.code == 401:  # a centre that cannot store, or a token not (yet) registered
                raise CentreUnreachable(f"HTTP {exc.code}: {reason}") from None
            raise _Refused(f"HTTP {exc.code}: {reason}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise CentreUnreachable(str(getattr(exc, "reason", exc))) from None


class _Refused(Exception):
    """The centre answered 4xx for this event: retried next pass, but the next event goes first."""


def _error_text(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error", exc.reason))
    except (ValueError, AttributeError, OSError):
        return str(exc.reason)
