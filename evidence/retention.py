"""Retention and quota: delete reviewed evidence in a safe order, never unreviewed evidence, and never evidence
the traffic centre has not confirmed when the box uploads to one."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from edge.config.evidence import EvidenceConfig
from evidence.index import EventRow, EvidenceIndex, FileRow
from evidence.storage import free_bytes
from evidence.types import PURGEABLE_KINDS, FileKind, ReviewState

log = logging.getLogger(__name__)
DAY_S = 86400.0
MB = 1024 * 1024

# Deletion tiers under space pressure, in order: what costs least to lose goes first.
# Each tier is (SQL filter on events, kinds of file deleted). Events in state NEW never appear.
_PRESSURE_TIERS: list[tuple[str, tuple[FileKind, ...]]] = [
    ("review_state='rejected'", (FileKind.CLIP, FileKind.ORIGINAL)),
    ("review_state='confirmed' AND exported_utc IS NOT NULL", PURGEABLE_KINDS),
    ("review_state='rejected'", (FileKind.SHEET, FileKind.CLOSEUP)),
]


class Retention:
    def __init__(
        self,
        index: EvidenceIndex,
        root: Path,
        config: EvidenceConfig,
        free_bytes_fn: Callable[[Path], int] = free_bytes,
        require_centre: bool | None = None,
    ) -> None:
        """``require_centre`` (default: when the box uploads to a centre): delete only what the centre confirmed."""
        self.index = index
        self.require_centre = config.upload.enabled if require_centre is None else require_centre
        self.root = root
        self.config = config
        self._free_bytes = free_bytes_fn

    # -- space -----------------------------------------------------------------------------

    def shortfall(self, needed: int) -> int:
        """Bytes that must be freed before ``needed`` more bytes may be written (0: there is room)."""
        short_disk = int(self.config.min_free_mb * MB) + needed - self._free_bytes(self.root)
        short_budget = 0
        if self.config.budget_mb > 0:
            short_budget = self.index.stored_bytes() + needed - int(self.config.budget_mb * MB)
        return max(0, short_disk, short_budget)

    def make_room(self, needed: int) -> bool:
        """Delete reviewed evidence tier by tier, oldest first, until ``needed`` bytes fit."""
        if self.shortfall(needed) == 0:
            return True
        for where, kinds in _PRESSURE_TIERS:
            for event in self.index.events(where + self._centre_clause):  # sequence order: oldest first
                self._purge(event, kinds, "space needed for new evidence")
                if self.shortfall(needed) == 0:
                    return True
        return self.shortfall(needed) == 0

    # -- age -------------------------------------------------------------------------------

    def purge_expired(self, now: float | None = None) -> int:
        """Delete content of reviewed events older than their state's retention; returns files deleted."""
        now = time.time() if now is None else now
        days = self.config.retention_days
        deleted = 0
        for state, keep_days in (
            (ReviewState.CONFIRMED, days.confirmed),
            (ReviewState.REJECTED, days.rejected),
        ):
            cutoff = now - keep_days * DAY_S
            where = "review_state=? AND committed_utc < ?" + self._centre_clause
            for event in self.index.events(where, [state.value, cutoff]):
                deleted += self._purge(
                    event, PURGEABLE_KINDS, f"retention: {state.value} for {keep_days} days"
                )
        return deleted

    @property
    def _centre_clause(self) -> str:
        return " AND centre_confirmed_utc IS NOT NULL" if self.require_centre else ""

    def _purge(self, event: EventRow, kinds: tuple[FileKind, ...], reason: str) -> int:
        if event.review_state is ReviewState.NEW:  # the one rule that must never break
            raise AssertionError(f"refusing to delete unreviewed evidence {event.event_id}")
        if self.require_centre and event.centre_confirmed_utc is None:  # nor this one: the only copy
            raise AssertionError(f"refusing to delete evidence {event.event_id} the centre has not confirmed")
        victims = [f for f in self.index.files(event.event_id, live_only=True) if f.kind in kinds]
        deleted: list[FileRow] = []
        for f in victims:
            path = self.root / event.folder / f.relpath
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot delete %s: %s", path, exc)
                continue
            deleted.append(f)
        if deleted:
            self.index.mark_deleted(deleted, reason)
            log.info("evidence %s: deleted %d file(s) (%s)", event.event_id, len(deleted), reason)
        return len(deleted)
