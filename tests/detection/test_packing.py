"""Several cameras in one inference: the layout, the way back to each frame, and real detections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

from detection.lowlight import LowLightDetector
from detection.packing import GAP_PX, PAD_VALUE, Placement, Request, compose, detect_packed, pack, split
from detection.region import Region
from detection.registry import build_detector
from detection.types import Detections
from edge.config import load_site
from edge.config.detector import DetectorConfig
from edge.config.service import PerformanceConfig
from edge.evaluation.corruptions import Corruption, corrupt, frame_rng
from edge.gating import GatedDetector
from tests.conftest import require_shared
from tests.edge.service.sites import CLIP, MODEL, write_site


def boxes(placements: list[Placement]) -> list[tuple[int, int, int, int]]:
    return [(p.x, p.y, p.x + p.width, p.y + p.height) for p in placements]


def overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize(
    ("sizes", "canvases", "why"),
    [
        ([(584, 234), (584, 234)], [2], "two demo-camera zone regions share one input"),
        ([(584, 234)] * 4, [2, 2], "four cameras: two inferences instead of four"),
        ([(640, 640), (300, 200)], [1, 1], "a full square tile leaves no room"),
        ([(300, 200)] * 4, [4], "four small tiles on two shelves"),
        ([(640, 352), (640, 352)], [1, 1], "two whole wide frames do not fit with a gap between"),
        ([(600, 300), (200, 300), (300, 150)], [3], "tallest first; the others share the second shelf"),
    ],
)
def test_pack(sizes, canvases, why) -> None:  # type: ignore[no-untyped-def]
    layout = pack(sizes, 640)
    assert [len(c) for c in layout] == canvases, why
    assert sorted(p.index for c in layout for p in c) == list(range(len(sizes)))  # each tile exactly once
    for placements in layout:
        for p in placements:
            assert (p.width, p.height) == sizes[p.index]  # never resized by the layout
            assert p.x >= 0 and p.y >= 0 and p.x + p.width <= 640 and p.y + p.height <= 640
        placed = boxes(placements)
        grown = [(x0 - GAP_PX // 2, y0 - GAP_PX // 2, x1 + GAP_PX // 2, y1 + GAP_PX // 2) for x0, y0, x1, y1 in placed]
        assert not any(overlaps(a, b) for i, a in enumerate(grown) for b in grown[i + 1 :]), (
            "tiles at least a gap apart"
        )


def test_spare_room_is_shared_around_the_tiles() -> None:
    (placements,) = pack([(584, 234), (584, 234)], 640)
    top, bottom = sorted(placements, key=lambda p: p.y)
    assert top.y == pytest.approx(640 - (bottom.y + bottom.height), abs=1)  # as much grey above as below
    assert bottom.y - (top.y + top.height) == pytest.approx(top.y + GAP_PX, abs=1)  # and between, beyond the gap
    assert top.x == pytest.approx((640 - 584) / 2, abs=1)


def test_a_tile_larger_than_the_canvas_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"tile 1 of 700x100 does not fit a 640x640 canvas"):
        pack([(100, 100), (700, 100)], 640)


def test_boxes_go_back_to_the_tile_of_their_centre_and_to_frame_pixels() -> None:
    frame = np.zeros((400, 800, 3), np.uint8)
    region = Region(100, 50, 700, 350, 800, 400)  # 600x300 of an 800x400 frame, at half scale: 300x150
    requests = [Request(frame, region, 0.5), Request(frame, None, 0.25)]  # the second: a whole frame, 200x100
    placements = [Placement(0, 10, 10, 300, 150), Placement(1, 10, 200, 200, 100)]
    found = Detections(
        xyxy=np.array(
            [
                [60, 60, 110, 140],  # in tile 0: crop (100, 100)-(200, 260), frame (200, 150)-(300, 310)
                [20, 210, 60, 290],  # in tile 1: frame (40, 40)-(200, 360)
                [290, 100, 330, 155],  # centre in tile 0, right side spills over: clipped, then cut by the crop edge
                [400, 400, 450, 450],  # in no tile
            ],
            np.float32,
        ),
        confidence=np.array([0.9, 0.8, 0.7, 0.6], np.float32),
        class_id=np.zeros(4, np.int32),
    )
    out = split(found, requests, placements)
    np.testing.assert_allclose(out[0].xyxy, [[200, 150, 300, 310]])
    np.testing.assert_allclose(out[1].xyxy, [[40, 40, 200, 360]])
    np.testing.assert_allclose(out[0].confidence, [0.9])


def test_compose_puts_each_crop_at_its_place_on_grey() -> None:
    frame = np.full((100, 200, 3), 7, np.uint8)
    requests = [Request(frame, Region(0, 20, 200, 100, 200, 100), 1.0), Request(frame, None, 0.5)]
    canvas = compose(requests, [Placement(0, 5, 5, 200, 80), Placement(1, 5, 100, 100, 50)], 320)
    assert (canvas[5:85, 5:205] == 7).all() and (canvas[100:150, 5:105] == 7).all()
    assert (canvas[90:95] == PAD_VALUE).all() and (canvas[200:] == PAD_VALUE).all()


def frames(count: int) -> list[np.ndarray]:
    video = cv2.VideoCapture(str(require_shared(CLIP)))
    pictures = []
    while len(pictures) < count:
        ok, image = video.read()
        if not ok:
            break
        pictures.append(image)
    video.release()
    return pictures


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0, y0 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x1, y1 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a, area_b = np.prod(a[:, 2:] - a[:, :2], axis=1), np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def found_share(reference: list[Detections], other: list[Detections]) -> tuple[int, int]:
    """People of ``reference`` (score ≥ 0.3) that ``other`` also found (any score, IoU ≥ 0.5)."""
    people = found = 0
    for ref, got in zip(reference, other, strict=True):
        ref = ref[(ref.class_id == 0) & (ref.confidence >= 0.3)]
        got = got[got.class_id == 0]
        people += len(ref)
        if len(ref) and len(got):
            found += int((iou(ref.xyxy, got.xyxy).max(axis=1) >= 0.5).sum())
    return people, found


def test_packed_detection_finds_the_people_a_camera_alone_finds_on_real_frames(tmp_path) -> None:
    site = load_site(write_site(tmp_path))  # the demo site with the shared clip and default model
    detector = build_detector(site.detector)
    alone, east, west = (GatedDetector(detector, PerformanceConfig(), site) for _ in range(3))
    pictures = frames(143)[::4]
    pairs = list(zip(pictures, pictures[len(pictures) // 2 :] + pictures[: len(pictures) // 2], strict=True))
    packed, solo = [], []
    for a, b in pairs:  # two cameras, two different moments of the crossing
        requests = [east.plan(a, packed=True), west.plan(b, packed=True)]
        assert all(isinstance(r, Request) for r in requests)
        packed.append(detect_packed(detector, requests, alone.model_size)[0])  # type: ignore[arg-type]
        region = east.region
        assert region is not None and region.y0 > 0  # only the zones' part of the picture is sent
        seen = alone.detect(a)
        solo.append(seen[seen.xyxy[:, 1] >= region.y0] if len(seen) else seen)  # people inside that part
    people, found = found_share(solo, packed)
    assert people > 60
    assert found >= 0.95 * people, f"packed found {found} of the {people} people found alone"
    people, found = found_share(packed, solo)
    assert found >= 0.95 * people, f"alone found {found} of the {people} people found packed"


def test_a_dark_and_a_daylight_camera_packed_together_are_each_treated_as_alone() -> None:
    """Darkness is judged per camera picture, never on the shared canvas, whose grey would brighten a
    dark picture; dark and daylight pictures go to separate inferences."""
    detector = build_detector(DetectorConfig(model=str(require_shared(MODEL)), confidence=0.1))
    assert isinstance(detector, LowLightDetector)
    day = frames(100)[90]
    dark = corrupt(day, Corruption.LOW_LIGHT, 3, frame_rng("packing", "low_light:3", 90))
    assert detector.is_dark(dark) and not detector.is_dark(day)
    whole = [Request(day, None, 1.0), Request(dark, None, 1.0)]
    counter = Counting(detector)
    packed = detect_packed(counter, whole, 640)
    assert counter.darkness == [False, True]  # one inference each, each with its own treatment
    for request, found in zip(whole, packed, strict=True):
        alone = detector.detect(request.image)
        people, matched = found_share([alone], [found])
        assert people and matched == people


def test_canvases_detected_at_the_same_time_find_exactly_what_one_session_finds_in_turn() -> None:
    """Four cameras fill two canvases; with a second session on a second thread both canvases run
    at once (``performance.parallel_canvases``) and every camera gets the very same detections."""
    site_detector = DetectorConfig(model=str(require_shared(MODEL)))
    first, second = build_detector(site_detector), build_detector(site_detector)
    pictures = frames(143)[::12]
    threads: set[str] = set()

    class Noting(LowLightDetector):
        def detect(self, image_bgr: np.ndarray, dark: bool | None = None) -> Detections:
            threads.add(threading.current_thread().name)
            return super().detect(image_bgr, dark)

    assert isinstance(second, LowLightDetector)
    spare = Noting(second.inner, second.confidence, second.settings)
    region = Region(28, 100, 612, 334, 640, 352)  # the demo site's zones, 584x234: two to a canvas
    with ThreadPoolExecutor(1, thread_name_prefix="lane") as lanes:
        for k in range(len(pictures) - 3):
            requests = [Request(pictures[k + i], region, 1.0) for i in range(4)]
            assert len(pack([r.tile_size(640) for r in requests], 640)) == 2
            in_turn = detect_packed(first, requests, 640)
            at_once = detect_packed(first, requests, 640, [spare], lanes)
            for a, b in zip(in_turn, at_once, strict=True):
                assert np.array_equal(a.xyxy, b.xyxy) and np.array_equal(a.confidence, b.confidence)
    assert any(name.startswith("lane") for name in threads)  # the second canvas ran on the other thread


class Counting(LowLightDetector):
    """The low-light detector, noting the darkness each inference was run with."""

    def __init__(self, inner: LowLightDetector) -> None:
        super().__init__(inner.inner, inner.confidence, inner.settings)
        self.darkness: list[bool] = []

    def detect(self, image_bgr: np.ndarray, dark: bool | None = None) -> Detections:
        found = super().detect(image_bgr, dark)
        self.darkness.append(self.last_dark)
        return found
