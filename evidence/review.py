"""The review API the web UI calls: the queue of new evidence, decisions with reasons, the audit trail.

Every read of an evidence file through ``open_file`` and every decision is appended to the audit log.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evidence.index import EvidenceIndex
from evidence.manifest import MANIFEST_NAME
from evidence.storage import INDEX_FILE
from evidence.types import ReviewState


class ReviewError(Exception):
    """A request the review desk refuses; the message says why."""


@dataclass(frozen=True)
class ReviewItem:
    event_id: str
    sequence: int
    folder: str
    entry_utc: float
    state: ReviewState
    crosswalk_id: str
    direction: str
    since_dont_walk_s: float | None
    files: tuple[str, ...]  # relative paths still on disk

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the web UI."""
        out = asdict(self)
        out["state"] = self.state.value
        out["files"] = list(self.files)
        return out


class ReviewDesk:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.index = EvidenceIndex(root / INDEX_FILE)

    def close(self) -> None:
        self.index.close()

    def queue(
        self, state: ReviewState = ReviewState.NEW, limit: int = 100, offset: int = 0
    ) -> list[ReviewItem]:
        """Events in ``state``, oldest first (the order a reviewer should work through them)."""
        rows = list(
            self.index.db.query(
                "SELECT * FROM events WHERE review_state=? ORDER BY seq LIMIT ? OFFSET ?",
                [state.value, limit, offset],
            )
        )
        return [self._item(r) for r in rows]

    def _item(self, r: dict[str, Any]) -> ReviewItem:
        live = tuple(f.relpath for f in self.index.files(r["event_id"], live_only=True))
        return ReviewItem(
            r["event_id"],
            r["seq"],
            r["folder"],
            r["entry_utc"],
            ReviewState(r["review_state"]),
            r["crosswalk_id"],
            r["direction"],
            r["since_dont_walk_s"],
            live,
        )

    def set_state(self, event_id: str, state: ReviewState, reviewer: str, reason: str = "") -> None:
        """Confirm or reject; a reviewer name is always needed and a rejection needs a reason.

        A decision on an event already decided is audited as a change, ``review-changed:<from>-><to>``,
        so the trail shows the earlier decision was overturned (or repeated) and by whom.
        """
        if not reviewer.strip():
            raise ReviewError("a reviewer name is required")
        if state is ReviewState.NEW:
            raise ReviewError("evidence cannot be sent back to 'new'; confirm or reject it")
        if state is ReviewState.REJECTED and not reason.strip():
            raise ReviewError("rejecting evidence needs a reason")
        row = self.index.event(event_id)
        if row is None:
            raise ReviewError(f"event {event_id} is not in the evidence index")
        before = ReviewState(row.review_state)
        action = None if before is ReviewState.NEW else f"review-changed:{before.value}->{state.value}"
        self.index.set_review(event_id, state, reviewer.strip(), reason.strip(), action)

    def manifest(self, event_id: str, actor: str) -> dict[str, Any]:
        return json.loads(self.open_file(event_id, MANIFEST_NAME, actor).read_bytes())

    def open_file(self, event_id: str, relpath: str, actor: str) -> Path:
        """Path of one evidence file, after logging who asked for it."""
        row = self.index.event(event_id)
        if row is None:
            raise ReviewError(f"event {event_id} is not in the evidence index")
        folder = (self.root / row.folder).resolve()
        path = (folder / relpath).resolve()
        if folder not in path.parents:
            raise ReviewError(f"{relpath}: not a file of event {event_id}")
        if not path.is_file():
            raise ReviewError(
                f"{relpath}: not stored for event {event_id} (deleted by retention or never written)"
            )
        self.index.append_audit(event_id, "viewed", actor, relpath)
        return path

    def audit(self, event_id: str | None = None) -> list[dict[str, Any]]:
        return self.index.audit(event_id)

    def unwritten(self) -> list[dict[str, Any]]:
        """Evidence the recorder could not store (storage alarm), newest first."""
        return list(self.index.db.query("SELECT * FROM unwritten ORDER BY id DESC"))
