"""The public warning screen at the crossing: one full-screen page and its stream, no login.

A kiosk browser on an HDMI screen at the crossing opens ``/screen``; the page polls
``/api/screen`` every second: the signal state per crosswalk, the live warning while someone has
just stepped in on red, today's latest violations and today's counts. The pictures
(``/api/screen/picture/<id>``) are only of those violations, the entry frame shrunk to
``picture_width`` with every person on it blurred (``blur``, on by default; off only where the law
allows showing people): the boxes of all tracked people the evidence manifest stores for that picture,
or the whole picture when the evidence predates them. Nothing else is served without login:
``web.screen.enabled: false`` (the default) answers 404 on all three.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from fastapi import Depends, HTTPException, Request
from fastapi.responses import Response

from edge.config import ConfigError, load_site
from edge.config.screen import ScreenConfig
from edge.events import EventType
from edge.web.app import WebState, web_state
from edge.web.dashboard import JournalEvent, day_span, journal_days, local_day
from edge.web.routes.overview import _journal
from edge.web.routes.table import Routes

log = logging.getLogger(__name__)
router = Routes()
State = Annotated[WebState, Depends(web_state)]

TEXTS = {
    "en": {
        "title": "Pedestrian signal", "walk": "WALK", "clearance": "FINISH CROSSING", "dont_walk": "DON'T WALK",
        "unknown": "—", "warning": "Red light - please step back to the curb", "quiet": "Please wait for green",
        "recent": "Recent red-light crossings", "today": "Today: {crossings} people crossed, {violations} on red",
        "none": "No red-light crossings today",
    },
    "zh-CN": {
        "title": "行人信号", "walk": "请通行", "clearance": "请尽快通过", "dont_walk": "禁止通行",
        "unknown": "—", "warning": "红灯，请退回路边", "quiet": "请等待绿灯",
        "recent": "最近闯红灯", "today": "今日：{crossings} 人通过，{violations} 人闯红灯",
        "none": "今日无闯红灯",
    },
}  # fmt: skip
SIGNAL_KEYS = {"WALK": "walk", "CLEARANCE": "clearance", "DONT_WALK": "dont_walk"}


def _screen(state: WebState) -> ScreenConfig:
    screen = state.config.screen
    if not screen.enabled:
        raise HTTPException(404, "Not Found")
    return screen


def _today(state: WebState, zone: ZoneInfo, now: float) -> list[JournalEvent]:
    journal = _journal(state)
    if journal is None:
        return []
    day = local_day(now, zone)
    start, end = day_span(day, zone)
    seen: dict[str, JournalEvent] = {}
    for event in journal.events(journal_days(day, zone)):
        if start <= event.entry_utc < end:
            seen.setdefault(event.event_id, event)
    return sorted(seen.values(), key=lambda e: e.entry_utc)


def _signals(state: WebState, groups: dict[str, str], texts: dict[str, str]) -> list[dict[str, str]]:
    live = {}
    if state.context.live is not None:
        try:
            live = state.context.live().signals
        except Exception:  # read from another thread than the frame loop's: never fail the screen
            log.exception("screen: live readings failed")
    out = []
    for crosswalk, group in groups.items():
        reading = live.get(group)
        key = SIGNAL_KEYS.get(reading.state if reading is not None else "", "unknown")
        out.append({"crosswalk": crosswalk, "state": key, "text": texts[key]})
    return out


@router.get("/screen", name="screen", include_in_schema=False)
def screen(request: Request, state: State) -> Response:
    cfg = _screen(state)
    texts = TEXTS[cfg.language]
    return state.render(request, "screen.html", texts=texts, language=cfg.language)


@router.get("/api/screen", name="api_screen", include_in_schema=False)
def api_screen(state: State) -> dict[str, Any]:
    cfg = _screen(state)
    try:
        site = load_site(state.context.site_path)
    except ConfigError:
        raise HTTPException(503, "the site file cannot be read") from None
    texts, zone, now = TEXTS[cfg.language], ZoneInfo(site.site.timezone), time.time()
    events = _today(state, zone, now)
    violations = [e for e in events if e.type is EventType.VIOLATION]
    crossings = sum(e.type is EventType.CROSSING for e in events)
    warning = bool(violations) and now - violations[-1].entry_utc <= cfg.warning_s
    recent = violations[-cfg.recent :] if cfg.recent else []
    return {
        "signals": _signals(state, {c.id: c.signal_group for c in site.crosswalks}, texts),
        "warning": texts["warning"] if warning else "",
        "today": texts["today"].format(crossings=crossings, violations=len(violations)),
        "recent": [_shown(e, zone) for e in reversed(recent)],
    }


def _shown(event: JournalEvent, zone: ZoneInfo) -> dict[str, str]:
    when = datetime.fromtimestamp(event.entry_utc, zone).strftime("%H:%M:%S")
    return {"id": event.event_id, "crosswalk": event.crosswalk_id, "time": when,
            "picture": f"/api/screen/picture/{event.event_id}"}  # fmt: skip


@router.get("/api/screen/picture/{event_id}", name="api_screen_picture", include_in_schema=False,
            responses={200: {"content": {"image/jpeg": {}}}, 404: {}})  # fmt: skip
def api_screen_picture(event_id: str, state: State) -> Response:
    """Only one of today's shown violations; never any other evidence file."""
    cfg = _screen(state)
    root = state.context.evidence_root
    try:
        site = load_site(state.context.site_path)
    except ConfigError:
        raise HTTPException(503, "the site file cannot be read") from None
    zone = ZoneInfo(site.site.timezone)
    shown = [e for e in _today(state, zone, time.time()) if e.type is EventType.VIOLATION][-max(cfg.recent, 1) :]
    event = next((e for e in shown if e.event_id == event_id), None)
    if event is None or root is None:
        raise HTTPException(404, "Not Found")
    folder = Path(root) / datetime.fromtimestamp(event.entry_utc, timezone.utc).strftime("%Y/%m/%d") / event.event_id
    picture = public_picture(folder, cfg)
    if picture is None:
        raise HTTPException(404, "Not Found")
    return Response(picture, media_type="image/jpeg")


def public_picture(folder: Path, cfg: ScreenConfig) -> bytes | None:
    """The entry frame, shrunk, with every person in it blurred beyond recognition (unless ``blur`` is off)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        image = cv2.imread(str(folder / "originals" / "2_entry.jpg"))
    except (OSError, ValueError):
        return None
    if image is None:
        return None
    if cfg.blur:
        image = blur_people(image, people_in_entry(manifest))
    scale = cfg.picture_width / image.shape[1]
    if scale < 1:
        image = cv2.resize(image, (cfg.picture_width, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
    return jpeg.tobytes() if ok else None


def people_in_entry(manifest: dict[str, Any]) -> list[list[float]] | None:
    """Every person's box on the entry picture as the evidence stored it (the violator's included);
    None when the evidence predates stored person boxes, so nobody's place is known."""
    entry = next((p for p in manifest.get("pictures") or [] if p.get("name") == "2_entry"), None)
    if entry is None or entry.get("person_boxes") is None:
        return None
    event = manifest.get("event", {})
    violator = entry.get("violator_box") or event.get("entry_box") or event.get("box")
    return [*entry["person_boxes"], *([violator] if violator else [])]


def blur_people(image: np.ndarray, boxes: list[list[float]] | None) -> np.ndarray:
    """Blur each person's box; with no known boxes blur the whole picture rather than show someone."""
    if boxes is None:
        return cv2.GaussianBlur(image, (0, 0), 12)
    out = image.copy()
    for box in boxes:
        if box and len(box) == 4:
            blur_box(out, box)
    return out


def blur_box(image: np.ndarray, box: list[float], margin: float = 0.15) -> None:
    """Blur the person's box (grown by ``margin`` on each side) in place so face and body cannot be recognised."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, int(x1 - dx)), max(0, int(y1 - dy))
    right, bottom = min(width, int(x2 + dx) + 1), min(height, int(y2 + dy) + 1)
    if right <= left or bottom <= top:
        return
    region = image[top:bottom, left:right]
    # pixelate, then smooth: no detail of the face or clothes survives, the person's place stays visible
    cells = (max(1, (right - left) // 12), max(1, (bottom - top) // 12))
    small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
    image[top:bottom, left:right] = cv2.GaussianBlur(
        cv2.resize(small, (right - left, bottom - top), interpolation=cv2.INTER_LINEAR), (0, 0), 4
    )
