"""Pictures of what went wrong: a thumbnail per miss and false record, and an annotated video.

Both come from a second pass over the clip after scoring (only then is it known what was
missed). The annotated video draws each frame as ``crossguard replay --annotate`` does,
from the tracks the run kept, and marks misses and false records around their entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from detection.types import Detections
from edge.annotate import Annotator
from edge.config.site import SiteConfig
from edge.evaluation.report import EvalReport, Finding, Outcome
from edge.pipeline import Frame, FrameResult
from edge.video import VideoFile, VideoWriter

if TYPE_CHECKING:
    from edge.evaluation.runner import FrameRecord

ANNOTATED_FILE = "annotated.mp4"
THUMB_DIR = "thumbs"
THUMB_HEIGHT = 192  # pixels of the square picture; a caption line goes below it
CAPTION_HEIGHT = 20
MARK_HOLD_S = 2.0  # keep a finding marked this long after its entry
MISS_COLOUR = (0, 165, 255)  # orange: someone the system did not record
FALSE_COLOUR = (255, 0, 255)  # magenta: a record nobody earned
_NO_TRACKS = Detections.empty().with_tracker_ids(np.zeros(0, np.int64))


def render_findings(
    site: SiteConfig,
    video_path: Path,
    report: EvalReport,
    records: list[FrameRecord],
    out: Path,
    thumbnails: bool,
    annotate: bool,
    transform: Callable[[Frame], Frame] | None = None,
) -> None:
    """Write thumbnails (setting each finding's ``thumbnail``) and/or ``annotated.mp4``.

    ``transform`` is the run's corruption: the pictures show the frames the detector saw.
    """
    annotator = Annotator(site)
    by_frame: dict[int, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_frame[finding.entry_frame].append(finding)
    if thumbnails and report.findings:
        (out / THUMB_DIR).mkdir(parents=True, exist_ok=True)
    video = VideoFile(video_path)
    writer: VideoWriter | None = None
    hold = round(MARK_HOLD_S * video.fps)
    try:
        for frame in video:
            if frame.index >= report.frames:
                break
            if transform is not None and (annotate or frame.index in by_frame):
                frame = transform(frame)
            record = records[frame.index] if frame.index < len(records) else None
            picture = annotator.draw(_result(frame, record))
            if thumbnails:
                for finding in by_frame.get(frame.index, []):
                    finding.thumbnail = _save_thumbnail(picture, finding, out)
            if annotate:
                active = [f for f in report.findings if f.entry_frame <= frame.index <= f.entry_frame + hold]
                _mark(picture, active)
                if writer is None:
                    writer = VideoWriter(out / ANNOTATED_FILE, video.fps, picture.shape[1], picture.shape[0])
                writer.write(picture)
    finally:
        video.close()
        if writer is not None:
            writer.close()


def _result(frame: Frame, record: FrameRecord | None) -> FrameResult:
    tracks = record.tracks if record else _NO_TRACKS
    readings = record.readings if record else {}
    events = record.events if record else []
    return FrameResult(frame, tracks, tracks, events, [], readings, {})


def _box_of(finding: Finding, width: int, height: int) -> tuple[int, int, int, int]:
    """The finding's box, or one of a person's size around a labelled foot point, or the whole frame."""
    if finding.box is not None and finding.box[2] > finding.box[0]:
        x1, y1, x2, y2 = finding.box
    elif finding.foot_point is not None:
        fx, fy = finding.foot_point
        size = 0.15 * height
        x1, y1, x2, y2 = fx - size / 4, fy - size, fx + size / 4, fy
    else:
        return 0, 0, width, height
    return int(x1), int(y1), int(x2), int(y2)


def _mark(picture: np.ndarray, findings: list[Finding]) -> None:
    height, width = picture.shape[:2]
    labels_at: dict[tuple[int, int, int, int], int] = defaultdict(int)  # a violation and its crossing share a box
    for finding in findings:
        colour = MISS_COLOUR if finding.outcome is Outcome.MISS else FALSE_COLOUR
        box = x1, y1, x2, y2 = _box_of(finding, width, height)
        cv2.rectangle(picture, (x1 - 3, y1 - 3), (x2 + 3, y2 + 3), colour, 2)
        label = f"{finding.outcome.banner} {finding.kind.value}"
        y = min(y2 + 14 + 14 * labels_at[box], height - 4)
        labels_at[box] += 1
        cv2.putText(picture, label, (x1, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1)


def _save_thumbnail(picture: np.ndarray, finding: Finding, out: Path) -> str:
    """A square crop around the person (three box heights, at least 160 px) with a caption below."""
    height, width = picture.shape[:2]
    marked = picture.copy()
    _mark(marked, [finding])
    x1, y1, x2, y2 = _box_of(finding, width, height)
    side = min(max(3 * (y2 - y1), 160), width, height)
    cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
    left = min(max(cx - side // 2, 0), width - side)
    top = min(max(cy - side // 2, 0), height - side)
    crop = cv2.resize(marked[top : top + side, left : left + side], (THUMB_HEIGHT, THUMB_HEIGHT))
    caption = np.zeros((CAPTION_HEIGHT, THUMB_HEIGHT, 3), np.uint8)
    text = f"{finding.outcome.banner} {finding.kind.value} t={finding.entry_t:.2f}s"
    cv2.putText(caption, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
    relative = f"{THUMB_DIR}/{finding.slug}.png"
    cv2.imwrite(str(out / relative), np.vstack([crop, caption]))
    return relative
