"""Real frames from the shared crosswalk clip, hand-picked boxes for two people, and events built by hand.

The boxes were picked by eye on the clip (keyframes, linearly interpolated between them), so these
tests depend on no detector or tracker. Track 7 is the woman in dark clothes who walks up from the
bottom edge and steps off the yellow curb onto the crosswalk at about frame 70; track 3 is the man
in the light coat walking behind her, a bystander whose head the sheet must blur.
"""

from __future__ import annotations

import time
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from detection.types import Detections
from edge.config.site import SiteConfig
from edge.events import CrossingEvent, EventType, event_id
from edge.signal.types import SignalChange, SignalReading, SignalState
from evidence.recorder import EvidenceRecorder
from tests.conftest import require_shared

CLIP = "video/crosswalk_elevated_fixed.mp4"
FPS = 11.028  # the clip's frame rate
START_UTC = 1_763_900_000.0  # wall-clock time of frame 0 in these tests
VIOLATOR = 7
BYSTANDER = 3
ENTRY_FRAME = 70
DONT_WALK_FROM_T = 2.0  # the signal turned DON'T WALK at t=2 s, well before the entry

KEYFRAMES: dict[int, dict[int, tuple[float, float, float, float]]] = {
    VIOLATOR: {
        25: (216, 334, 239, 352),
        40: (248, 290, 291, 352),
        55: (311, 264, 348, 352),
        70: (369, 241, 403, 313),
        80: (405, 232, 435, 305),
        89: (437, 226, 462, 299),
        98: (462, 223, 497, 291),
        110: (505, 216, 533, 281),
    },
    BYSTANDER: {
        62: (258, 300, 293, 352),
        70: (265, 292, 300, 352),
        76: (290, 280, 322, 352),
        86: (318, 264, 355, 350),
        98: (355, 247, 387, 325),
        107: (381, 230, 410, 305),
    },
}


@lru_cache(maxsize=1)
def clip_frames() -> tuple[np.ndarray, ...]:
    """Every frame of the shared clip (143 frames of 640x352), read once per test session."""
    frames = read_frames(CLIP)
    assert len(frames) > 120, f"{CLIP}: only {len(frames)} frames decoded"
    return tuple(frames)


def read_frames(name: str) -> list[np.ndarray]:
    """Every frame of a shared clip (its path in the shared data folder)."""
    cap = cv2.VideoCapture(str(require_shared(name)))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def box_at(track: int, frame: int) -> tuple[float, float, float, float] | None:
    keys = sorted(KEYFRAMES[track])
    if frame < keys[0] or frame > keys[-1]:
        return None
    lo = max(k for k in keys if k <= frame)
    hi = min(k for k in keys if k >= frame)
    if lo == hi:
        return KEYFRAMES[track][lo]
    a = (frame - lo) / (hi - lo)
    b0, b1 = np.asarray(KEYFRAMES[track][lo]), np.asarray(KEYFRAMES[track][hi])
    return tuple(float(v) for v in (1 - a) * b0 + a * b1)  # type: ignore[return-value]


def tracks_at(frame: int) -> Detections:
    boxes, ids = [], []
    for track in KEYFRAMES:
        box = box_at(track, frame)
        if box is not None:
            boxes.append(list(box))
            ids.append(track)
    return Detections.from_lists(boxes, [0.9] * len(boxes), [0] * len(boxes), ids)


def t_of(frame: int) -> float:
    return frame / FPS


def signal_states(frame: int) -> dict[str, SignalReading]:
    if t_of(frame) < DONT_WALK_FROM_T:
        return {"p1": SignalReading(SignalState.WALK, 0.0)}
    return {"p1": SignalReading(SignalState.DONT_WALK, DONT_WALK_FROM_T)}


SIGNAL_CHANGES = [
    SignalChange(0.0, "p1", SignalState.WALK, "test"),
    SignalChange(2.0, "p1", SignalState.DONT_WALK, "test"),
]


def make_event(
    entry_frame: int = ENTRY_FRAME, track: int = VIOLATOR, decided_after: int = 6, offset: int = 0
) -> CrossingEvent:
    """A violation by ``track`` entering at clip frame ``entry_frame``; ``offset`` frames are added to
    every index and time, as when the clip is played again later in the same run."""
    entry_t = t_of(offset + entry_frame)
    entry_utc = START_UTC + entry_t
    decided = entry_frame + decided_after
    box = box_at(track, decided) or (0.0, 0.0, 1.0, 1.0)
    entry_box = box_at(track, entry_frame) or (0.0, 0.0, 1.0, 1.0)
    return CrossingEvent(
        event_id=event_id("site-a", "cam1", "xw1", EventType.VIOLATION, entry_utc, track),
        type=EventType.VIOLATION,
        site_id="site-a",
        camera_id="cam1",
        crosswalk_id="xw1",
        signal_group="p1",
        track_id=track,
        direction="south->north",
        from_curb="south",
        to_curb="north",
        entry_frame=offset + entry_frame,
        entry_t=entry_t,
        entry_utc=entry_utc,
        decided_frame=offset + decided,
        decided_t=t_of(offset + decided),
        decided_utc=START_UTC + t_of(offset + decided),
        signal_state=SignalState.DONT_WALK,
        signal_since_t=DONT_WALK_FROM_T,
        since_dont_walk_s=entry_t - DONT_WALK_FROM_T,
        enforced=True,
        entry_observed=True,
        reason="entered on DONT_WALK",
        foot_point=((box[0] + box[2]) / 2, box[3]),
        box=box,
        score=0.9,
        entry_box=entry_box,
    )


def make_site(root: Path, **evidence: object) -> SiteConfig:
    return SiteConfig.model_validate(
        {
            "site": {
                "id": "site-a",
                "name": "Campus Drive crossing",
                "location": "Campus Dr & Library Walk",
                "timezone": "America/Chicago",
                "device_id": "edge-0042",
            },
            "crosswalks": [
                {
                    "id": "xw1",
                    "signal_group": "p1",
                    "polygon": [[0.45, 0.6], [0.95, 0.5], [0.98, 0.62], [0.5, 0.78]],
                    "curbs": [
                        {"name": "south", "polygon": [[0.3, 0.75], [0.6, 0.7], [0.6, 1.0], [0.3, 1.0]]},
                        {"name": "north", "polygon": [[0.7, 0.4], [0.99, 0.38], [0.99, 0.5], [0.7, 0.5]]},
                    ],
                }
            ],
            "evidence": {"root": str(root), "min_free_mb": 0, **evidence},
        }
    )


def feed(
    recorder: EvidenceRecorder,
    frames: range,
    events: dict[int, CrossingEvent],
    offset: int = 0,
    pace_s: float = 0.0,
) -> None:
    """Run clip frames through the recorder as the pipeline does; ``events`` maps the clip frame at
    which a violation is decided to the event. ``offset`` shifts indices and times (a replayed pass)."""
    clip = clip_frames()
    for i in frames:
        n = offset + i
        recorder.on_frame(n, t_of(n), START_UTC + t_of(n), clip[i], tracks_at(i), signal_states(n))
        if i in events:
            recorder.on_violation(events[i], SIGNAL_CHANGES)
        if pace_s:
            time.sleep(pace_s)  # a camera's frame interval, so the writer thread gets its share
    recorder.wait_buffered()  # encoding runs on its own thread: let it catch up before callers look
