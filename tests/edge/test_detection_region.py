"""Detection on the zones' region of a 1080p frame: far people are seen surely, and their entries recorded.

Real footage with its own labels: the Oxford Town Centre excerpt (1920x1080) and the far crossing
drawn on it in sites/eval/towncentre-far (people there are 126-192 px tall; the whole frame
reaches the 640 px model three times smaller, the 749 px square detection region 1.17 times).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from detection.base import Detector
from detection.registry import build_detector
from detection.types import Detections
from edge.annotate import REGION_COLOUR, Annotator
from edge.config import load_site
from edge.config.service import PerformanceConfig
from edge.config.site import SiteConfig
from edge.evaluation.groundtruth import load_mot
from edge.gating import GatedDetector, zone_polygons
from edge.pipeline import Frame, FrameResult, Pipeline
from edge.signal.hub import SignalHub
from edge.video import VideoFile
from tests.conftest import REPO, require_shared, shared_data_dir

SITE = REPO / "sites" / "eval" / "towncentre-far" / "site.yaml"
CLIP = "video/towncentre_excerpt_f001-126.mp4"
LABELS = "labels/towncentre_excerpt_f001-126_gt.txt"
MODEL = "models/yolov8n_int8_640.onnx"
SAMPLED = range(5, 126, 5)  # every 5th labelled frame (0-based; labels start at index 5)


def far_site(folder: Path, crop: bool = True) -> Path:
    """The far-crossing site with the shared model found wherever the shared data lives."""
    require_shared(MODEL)
    text = SITE.read_text(encoding="utf-8").replace("../../../../shared/data", str(shared_data_dir()))
    text = text.replace("path: timeline.csv", f"path: {SITE.parent / 'timeline.csv'}")
    if not crop:
        text = text.replace("detector:\n", "detector:\n  crop: {enabled: false}\n")
    path = folder / ("site.yaml" if crop else "site-whole-frame.yaml")
    path.write_text(text, encoding="utf-8")
    return path


def in_zones(site: SiteConfig, points: np.ndarray, width: int, height: int) -> np.ndarray:
    inside = np.zeros(len(points), bool)
    for polygon in zone_polygons(site):
        contour = (np.asarray(polygon) * [width, height]).astype(np.float32)
        inside |= np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) >= 0 for x, y in points])
    return inside


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` with every box in ``b``."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda d: (d[:, 2] - d[:, 0]) * (d[:, 3] - d[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def best_scores(site: SiteConfig, detector: Detector) -> np.ndarray:
    """For each labelled person standing in the zones (sampled frames), the best score of a box on them."""
    labels = load_mot(require_shared(LABELS))
    gate = GatedDetector(detector, PerformanceConfig(), site)
    scores: list[float] = []
    video = VideoFile(require_shared(CLIP))
    for frame in video:
        if frame.index not in SAMPLED:
            continue
        height, width = frame.image.shape[:2]
        truth = labels.at(frame.index)
        truth = truth[in_zones(site, truth.foot_points(), width, height)]
        found = gate.detect(frame.image)
        if not len(found):
            scores += [0.0] * len(truth)
            continue
        on_person = iou(truth.xyxy, found.xyxy) >= 0.5
        scores += np.where(on_person, found.confidence[None, :], 0.0).max(axis=1, initial=0.0).tolist()
    video.close()
    return np.asarray(scores)


def test_far_people_are_surely_detected_on_the_region_and_less_on_the_whole_frame(tmp_path: Path) -> None:
    with_region = load_site(far_site(tmp_path))
    detector = build_detector(with_region.detector)
    on_region = best_scores(with_region, detector)
    on_whole_frame = best_scores(load_site(far_site(tmp_path, crop=False)), detector)
    assert len(on_region) == len(on_whole_frame) >= 50
    # The scores the tracker needs: to be matched first, and to start a track at all.
    # Measured (71 people): 66 and 65 on the region, 60 and 48 on the whole frame.
    for sure in (with_region.tracker.high_threshold, with_region.tracker.new_track_threshold):
        seen_on_region, seen_on_whole = int((on_region >= sure).sum()), int((on_whole_frame >= sure).sum())
        assert seen_on_region >= 0.9 * len(on_region), (sure, seen_on_region)
        assert seen_on_region > seen_on_whole, (sure, seen_on_region, seen_on_whole)
    assert float(np.mean(on_region)) > float(np.mean(on_whole_frame))


def test_far_curb_entry_on_a_1080p_frame_is_recorded_through_the_replay(tmp_path: Path) -> None:
    """The labelled entries (from the people's own tracks) are all recorded, the far-curb one included."""
    out = tmp_path / "eval"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "eval",
            str(require_shared(CLIP)),
            "--site",
            str(far_site(tmp_path)),
            "--tracks",
            str(require_shared(LABELS)),
            "--out",
            str(out),
            "--no-thumbnails",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["violations"]["expected"] == 4  # people 4, 5, 14 near->far, 17 far->near
    assert report["violations"]["capture_rate"] == 1.0 and report["violations"]["valid_rate"] == 1.0
    events = [json.loads(line) for line in (out / "replay" / "events.jsonl").read_text().splitlines()]
    far_entries = [e for e in events if e["type"] == "violation" and e["direction"] == "far->near"]
    assert len(far_entries) == 1 and far_entries[0]["foot_point"][1] < 0.2 * 1080  # the far curb, high in the frame


class ShapeRecorder(Detector):
    """The real detector, noting the size of each picture it is given."""

    key = "shapes"

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.input_size = getattr(inner, "input_size", None)
        self.shapes: list[tuple[int, int]] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def detect(self, image_bgr: np.ndarray) -> Detections:
        self.shapes.append(image_bgr.shape[:2])
        return self.inner.detect(image_bgr)


def frames(count: int) -> list[Frame]:
    video = VideoFile(require_shared(CLIP))
    taken = list(itertools.islice(video, count))
    video.close()
    return taken


def gated_pipeline(site: SiteConfig) -> tuple[Pipeline, GatedDetector, ShapeRecorder]:
    recorder = ShapeRecorder(build_detector(site.detector))
    gate = GatedDetector(recorder, site.service.performance, site)
    pipeline = Pipeline(site, gate, SignalHub([]))
    gate.attach(pipeline.tracker)
    return pipeline, gate, recorder


def test_zones_edited_live_move_the_detection_region(tmp_path: Path) -> None:
    site = load_site(far_site(tmp_path))
    pipeline, _, recorder = gated_pipeline(site)
    first, second = frames(2)
    result = pipeline.process(first)
    assert result.region is not None and recorder.shapes[-1] == (result.region.height, result.region.width)
    assert result.region.height < 1080 and result.region.width < 1920
    # The operator moves the crossing to the bottom right of the picture.
    data = site.model_dump()
    crosswalk, shift = data["crosswalks"][0], np.array([0.35, 0.6])
    for zone in [crosswalk, *crosswalk["curbs"]]:
        zone["polygon"] = (np.asarray(zone["polygon"]) + shift).clip(0, 1).tolist()
    pipeline.apply_zones(SiteConfig.model_validate(data))
    after = pipeline.process(second)
    assert after.region is not None and after.region != result.region
    assert after.region.y1 == 1080 and after.region.x1 == 1920  # follows the zones to the corner
    pipeline.close()


def test_a_whole_frame_pass_every_nth_detected_frame(tmp_path: Path) -> None:
    site = load_site(far_site(tmp_path))
    crop = site.detector.crop.model_copy(update={"full_frame_every": 3})
    site = site.model_copy(update={"detector": site.detector.model_copy(update={"crop": crop})})
    pipeline, _, recorder = gated_pipeline(site)
    regions = [pipeline.process(frame).region for frame in frames(6)]
    pipeline.close()
    assert [r is None for r in regions] == [False, False, True, False, False, True]
    assert [s == (1080, 1920) for s in recorder.shapes] == [False, False, True, False, False, True]


def test_the_annotated_picture_shows_the_detection_region(tmp_path: Path) -> None:
    site = load_site(far_site(tmp_path))
    pipeline, _, _ = gated_pipeline(site)
    (frame,) = frames(1)
    result = pipeline.process(frame)
    pipeline.close()
    assert result.region is not None
    black = Frame(frame.index, frame.t, frame.utc, np.zeros_like(frame.image))
    nobody = Detections.empty()
    drawn = Annotator(site).draw(FrameResult(black, nobody, nobody, [], [], {}, {}, result.region))
    region = result.region
    mid_y = (region.y0 + region.y1) // 2
    assert tuple(drawn[mid_y, region.x0]) == REGION_COLOUR  # the left edge of the rectangle
    assert not drawn[mid_y, region.x0 - 5].any()  # and nothing drawn just outside it
