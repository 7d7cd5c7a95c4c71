"""Evidence review for police: the queue, one violation's files, confirm/reject with a reason, the audit.

The evidence package may be absent on a box (or not yet installed); then these pages say
so with 503 instead of failing. Every file view and decision is written to the audit log
by the review desk itself.
"""

from __future__ import annotations

import importlib
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from edge.web.app import WebState, web_state
from edge.web.auth import current_session
from edge.web.context import jsonable
from edge.web.i18n import Text
from edge.web.routes.table import Routes

router = Routes()
_DESK_LOCK = threading.Lock()
State = Annotated[WebState, Depends(web_state)]
ERRORS: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 422: {}, 503: {}}


class Decision(str, Enum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ReasonCode(str, Enum):
    CLEAR_VIOLATION = "clear-violation"
    NOT_A_PERSON = "not-a-person"
    WRONG_SIGNAL = "wrong-signal"
    EMERGENCY = "emergency-or-exempt"
    POOR_IMAGE = "poor-image"
    ZONE_ERROR = "zone-error"
    OTHER = "other"


# The reasons that fit each decision: a confirmation says the violation is clear, a rejection says why not.
FITTING_REASONS: dict[Decision, tuple[ReasonCode, ...]] = {
    Decision.CONFIRMED: (ReasonCode.CLEAR_VIOLATION,),
    Decision.REJECTED: tuple(r for r in ReasonCode if r is not ReasonCode.CLEAR_VIOLATION),
}


class ReviewRequest(BaseModel):
    state: Decision
    reason: ReasonCode
    note: str = Field("", max_length=500)

    def refusal(self, current: str) -> str | None:
        """Why this decision cannot be recorded on an event now in review state ``current``; None when it can."""
        note = self.note.strip()
        if self.reason not in FITTING_REASONS[self.state]:
            fitting = ", ".join(r.value for r in FITTING_REASONS[self.state])
            return Text(
                "reason '{reason}' does not fit '{state}'; choose one of: {fitting}",
                reason=self.reason.value, state=self.state.value, fitting=fitting,
            )  # fmt: skip
        if self.reason is ReasonCode.OTHER and not note:
            return Text("reason 'other' needs a note saying what it is")
        if current != "new" and not note:
            return Text(
                "this event was already {state}; changing or repeating a decision needs a note saying why",
                state=current,
            )
        return None


@dataclass
class Desk:
    """An open ``evidence.review.ReviewDesk`` and the ``ReviewState`` enum it speaks."""

    desk: Any
    states: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.desk, name)


@contextmanager
def review_desk(state: WebState) -> Iterator[Desk]:
    """An open review desk over the evidence root, or 503 when this box has none."""
    root = state.context.evidence_root
    try:
        review = importlib.import_module("evidence.review")
        types = importlib.import_module("evidence.types")
    except ImportError:
        review = types = None
    if review is None or root is None or not root.is_dir():
        raise HTTPException(503, Text("evidence review is not available on this box"))
    # One desk at a time: a detail page fetches several files at once, and each view writes
    # an audit row; parallel writers on one SQLite file would fail with "database is locked".
    with _DESK_LOCK:
        desk = review.ReviewDesk(root)
        try:
            yield Desk(desk, types.ReviewState)
        except review.ReviewError as exc:
            raise HTTPException(404 if "not in the evidence index" in str(exc) else 422, str(exc)) from None
        finally:
            desk.close()


def _states(desk: Desk, wanted: str | None) -> list[Any]:
    return [s for s in desk.states if wanted in (None, "", s.value)]


def parse_day(text: str | None) -> date | None:
    """A filter's ``YYYY-MM-DD``; an empty box means any day. Raises 422 naming the bad value."""
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(422, Text("day '{day}' is not a date (YYYY-MM-DD)", day=text)) from None


def _items(
    desk: Desk, state: str | None, crosswalk: str | None, day: date | None, zone: ZoneInfo | None = None
) -> list[dict[str, Any]]:
    """The events in ``state``, newest first; ``day`` is a local day of ``zone`` (the site's)."""
    items = []
    for review_state in _states(desk, state):
        items += [jsonable(i) for i in desk.queue(review_state, limit=10_000)]
    if crosswalk:
        items = [i for i in items if i.get("crosswalk_id") == crosswalk]
    if day is not None:
        zone = zone or ZoneInfo("UTC")
        items = [i for i in items if datetime.fromtimestamp(i["entry_utc"], zone).date() == day]
    return sorted(items, key=lambda i: i.get("entry_utc", 0), reverse=True)


def _find(desk: Desk, event_id: str) -> dict[str, Any]:
    for item in _items(desk, None, None, None):
        if item["event_id"] == event_id:
            return item
    raise HTTPException(404, Text("event {event} is not in the evidence index", event=event_id))


PAGE_SIZE = 25  # queue rows per page
PICTURE_NAMES = {"1_curb": "at the curb", "2_entry": "entering", "3_inside": "inside"}


@router.get("/evidence", name="evidence_queue", include_in_schema=False)
def evidence_queue(
    request: Request,
    state: State,
    review_state: str = "new",
    crosswalk: str = "",
    day: str = "",
    sort: str = "newest",
    page: Annotated[int, Query(ge=1, le=10**5)] = 1,
) -> Response:
    filters = {"review_state": review_state, "crosswalk": crosswalk, "day": day, "sort": sort}
    zone = state.site_zone()
    values: dict[str, Any] = {"filters": filters, "zone": zone.key, "page": page, "pages": 1, "total": 0}
    try:
        wanted = parse_day(day)
    except HTTPException as exc:  # a bad day is said on the page, beside the filter, not as raw JSON
        return state.render(request, "evidence.html", 422, items=[], error=exc.detail, **values)
    with review_desk(state) as desk:
        items = _items(desk, review_state, crosswalk, wanted, zone)
    if sort == "oldest":
        items.reverse()
    values |= {"total": len(items), "pages": max(1, -(-len(items) // PAGE_SIZE))}
    shown = items[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return state.render(request, "evidence.html", items=shown, error="", **values)


@dataclass(frozen=True)
class Shot:
    """One picture of the event on the review page: its file, what it shows and when (UTC)."""

    path: str
    label: str
    utc: float | None


def _shots(state: WebState, item: dict[str, Any]) -> list[Shot]:
    """Pictures 1-3 in time order and the close-up, with their times from the manifest.

    The manifest is read from the event folder directly: its times label the pictures, and the
    pictures' own views are audited when the browser fetches them.
    """
    root = state.context.evidence_root
    try:
        manifest = json.loads((root / item["folder"] / "manifest.json").read_bytes()) if root else {}
    except (OSError, ValueError):
        manifest = {}
    files = set(item["files"])
    pictures = [p for p in manifest.get("pictures") or [] if isinstance(p, dict) and p.get("path") in files]
    shots = [Shot(p["path"], PICTURE_NAMES.get(p.get("name", ""), p.get("name", "")), p.get("utc")) for p in pictures]
    closeup = manifest.get("closeup") if isinstance(manifest.get("closeup"), dict) else None
    if closeup and closeup.get("path") in files:
        offsets = [p["utc"] - p["t"] for p in pictures if isinstance(p.get("utc"), float) and "t" in p]
        utc = closeup["t"] + offsets[0] if offsets and isinstance(closeup.get("t"), float) else None
        shots.append(Shot(closeup["path"], "close-up", utc))
    if not shots:  # an event without a readable manifest: its pictures as stored
        shots = [Shot(f, f, None) for f in sorted(files) if f.endswith((".jpg", ".png")) and f != "sheet.jpg"]
    # Pictures 1-3 in time order, then the close-up (its frame is one of theirs or between them).
    return sorted(shots, key=lambda shot: (shot.label == "close-up", shot.utc is None, shot.utc or 0.0))


def _neighbours(desk: Desk, event_id: str) -> dict[str, str | None]:
    """The events before and after this one in the queue (newest first), and the next one still undecided."""
    ids = [(i["event_id"], i["state"]) for i in _items(desk, None, None, None)]
    at = next(n for n, (ident, _) in enumerate(ids) if ident == event_id)
    later_new = [ident for ident, st in ids[at + 1 :] + ids[:at] if st == "new"]
    return {
        "previous": ids[at - 1][0] if at > 0 else None,
        "next": ids[at + 1][0] if at + 1 < len(ids) else None,
        "next_undecided": later_new[0] if later_new else None,
    }


@router.get("/evidence/{event_id}", name="evidence_detail", include_in_schema=False)
def evidence_detail(event_id: str, request: Request, state: State) -> Response:
    with review_desk(state) as desk:
        item = _find(desk, event_id)
        audit = [jsonable(a) for a in desk.audit(event_id)]
        neighbours = _neighbours(desk, event_id)
    try:
        integrity = api_evidence_integrity(event_id, state)
    except HTTPException as exc:  # no key on this box: the page still works, the status says why
        integrity = {"status": "unknown", "problems": [str(exc.detail)]}
    decisions = [a for a in audit if a.get("action") != "viewed"]  # file views are folded away on the page
    shots = _shots(state, item)
    shown = {s.path for s in shots} | {"sheet.jpg"}
    return state.render(
        request,
        "evidence_detail.html",
        item=item,
        shots=shots,
        clip=next((f for f in item["files"] if f.endswith(".mp4")), None),
        poster=next((s.path for s in shots if "entry" in s.path), shots[0].path if shots else None),
        others=[f for f in item["files"] if f not in shown and not f.endswith(".mp4")],
        neighbours=neighbours,
        audit=decisions,
        views=[a for a in audit if a.get("action") == "viewed"],
        integrity=integrity,
        fitting={d.value: [r.value for r in FITTING_REASONS[d]] for d in Decision},
        zone=state.site_zone().key,
    )


@router.get("/api/evidence", name="api_evidence_queue", responses=ERRORS)
def api_evidence_queue(
    state: State,
    review_state: Annotated[str | None, Query(max_length=16)] = "new",
    crosswalk: Annotated[str | None, Query(max_length=64)] = None,
    day: Annotated[str | None, Query(max_length=10, description="YYYY-MM-DD, the site's local day; empty: any")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**6)] = 0,
) -> list[dict[str, Any]]:
    """Violations newest first, filtered by review state, crosswalk and the site's local day."""
    wanted = parse_day(day)
    with review_desk(state) as desk:
        return _items(desk, review_state, crosswalk, wanted, state.site_zone())[offset : offset + limit]


@router.get("/api/evidence/{event_id}", name="api_evidence_item", responses=ERRORS)
def api_evidence_item(event_id: str, state: State) -> dict[str, Any]:
    with review_desk(state) as desk:
        return _find(desk, event_id)


@router.get(
    "/api/evidence/{event_id}/files/{relpath:path}",
    name="api_evidence_file",
    response_class=FileResponse,
    responses=ERRORS,
)
def api_evidence_file(event_id: str, relpath: str, request: Request, state: State) -> FileResponse:
    """One evidence file (sheet, original, close-up, clip, manifest); the view is audited."""
    with review_desk(state) as desk:
        path = desk.open_file(event_id, relpath, current_session(request).user.name)
    return FileResponse(path)


def _public_key_pem(state: WebState) -> bytes:
    """The device's public key: as configured, else where the recorder writes it by default."""
    path = state.context.evidence_public_key
    if path is None and state.context.evidence_root is not None:
        signing = importlib.import_module("evidence.signing")
        path = signing.public_path(state.context.evidence_root / "keys" / "device_ed25519.pem")
    if path is None or not path.is_file():
        raise HTTPException(503, f"{path}: the device's public key is not available on this box")
    return path.read_bytes()


@router.get("/api/evidence/{event_id}/integrity", name="api_evidence_integrity", responses=ERRORS)
def api_evidence_integrity(event_id: str, state: State) -> dict[str, Any]:
    """Check the event's files, manifest signature and chain link: ``verified`` or ``problem`` with reasons."""
    with review_desk(state) as desk:
        _find(desk, event_id)
        signing = importlib.import_module("evidence.signing")
        verify = importlib.import_module("evidence.verify")
        verifier = verify.Verifier(state.context.evidence_root, signing.load_public_bytes(_public_key_pem(state)))
        try:
            report = verifier.verify_event(event_id)
        finally:
            verifier.close()
    problems = [str(p) for p in report.problems]
    return {"status": "verified" if report.ok else "problem", "problems": problems}


@router.get(
    "/api/evidence/{event_id}/bundle.zip",
    name="api_evidence_export",
    response_class=FileResponse,
    responses={**ERRORS, 200: {"content": {"application/zip": {}}}},
)
def api_evidence_export(event_id: str, request: Request, state: State) -> FileResponse:
    """The export bundle (files, manifest, signature, public key); the export is audited."""
    with review_desk(state) as desk:  # answers 503 first on a box without the evidence package
        _find(desk, event_id)
        export = importlib.import_module("evidence.export")
        out = Path(tempfile.mkdtemp(prefix="cg-export-")) / f"{event_id}.zip"
        try:
            export.export_event(
                state.context.evidence_root, event_id, out, _public_key_pem(state), current_session(request).user.name
            )
        except export.ExportError as exc:
            shutil.rmtree(out.parent, ignore_errors=True)
            raise HTTPException(422, str(exc)) from None
    cleanup = BackgroundTask(shutil.rmtree, out.parent, ignore_errors=True)
    return FileResponse(out, media_type="application/zip", filename=out.name, background=cleanup)


@router.post("/api/evidence/{event_id}/review", name="api_evidence_review", responses=ERRORS)
def api_evidence_review(event_id: str, body: ReviewRequest, request: Request, state: State) -> dict[str, Any]:
    """Confirm or reject with a reason that fits the decision; a decided event changes only with a note.

    The decision is audited; a change of an earlier decision is audited as a change (from → to).
    """
    with review_desk(state) as desk:
        current = _find(desk, event_id)["state"]
        refusal = body.refusal(current)
        if refusal:
            raise HTTPException(422, refusal)
        target = next(s for s in _states(desk, body.state.value))
        reason = body.reason.value + (f": {body.note.strip()}" if body.note.strip() else "")
        desk.set_state(event_id, target, current_session(request).user.name, reason)
        return _find(desk, event_id)


@router.get("/api/evidence/{event_id}/audit", name="api_evidence_audit", responses=ERRORS)
def api_evidence_audit(event_id: str, state: State) -> list[Any]:
    with review_desk(state) as desk:
        return [jsonable(a) for a in desk.audit(event_id)]
