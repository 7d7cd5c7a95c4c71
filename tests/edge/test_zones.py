"""Zone geometry and debounced membership."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.zones import CrosswalkGeometry, Zone, ZoneMembership, points_in_polygon
from tests.builders import make_site

coord = st.floats(min_value=0, max_value=1000, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    polygon=st.lists(st.tuples(coord, coord), min_size=3, max_size=8),
    points=st.lists(st.tuples(coord, coord), min_size=1, max_size=20),
)
def test_points_in_polygon_agrees_with_opencv(polygon, points) -> None:  # type: ignore[no-untyped-def]
    poly = np.array(polygon, np.float64)
    pts = np.array(points, np.float64)
    ours = points_in_polygon(pts, poly)
    contour = poly.astype(np.float32).reshape(-1, 1, 2)
    for (x, y), inside in zip(pts, ours, strict=True):
        distance = cv2.pointPolygonTest(contour, (float(x), float(y)), True)
        if abs(distance) > 1e-3:  # points on an edge may fall either way
            assert inside == (distance > 0)


def test_classify_and_depth() -> None:
    geo = CrosswalkGeometry.from_config(make_site().crosswalks[0], 1000, 1000)
    points = np.array([[500, 300], [500, 500], [500, 700], [50, 50]], float)
    assert geo.classify(points).tolist() == [Zone.CURB_A, Zone.CROSSWALK, Zone.CURB_B, Zone.OUTSIDE]
    assert geo.depth(points[:3]).tolist() == [-0.5, 0.5, 1.5]
    assert geo.depth_px == 200


def test_classify_scales_with_resolution() -> None:
    cw = make_site().crosswalks[0]
    small = CrosswalkGeometry.from_config(cw, 100, 100)
    assert small.classify(np.array([[50.0, 50.0]])).tolist() == [Zone.CROSSWALK]


@settings(max_examples=200, deadline=None)
@given(inertia=st.integers(1, 6), zones=st.lists(st.sampled_from(list(Zone)), min_size=1, max_size=60))
def test_membership_switches_only_after_inertia_consecutive_frames(inertia: int, zones: list[Zone]) -> None:
    member = ZoneMembership(inertia)
    for frame, raw in enumerate(zones):
        switch = member.observe(raw, frame, frame / 10, (0.0, 0.0), (0.0, 0.0, 0.0, 0.0))
        if switch is not None:
            run = zones[switch.frame : frame + 1]
            assert run == [raw] * inertia  # exactly `inertia` identical frames, starting at the reported frame
            assert switch.current == raw and member.zone == raw


def test_membership_reports_the_first_frame_of_the_run() -> None:
    member = ZoneMembership(3)
    zones = [Zone.CURB_A] * 3 + [Zone.CROSSWALK] * 3
    seen = [member.observe(z, i, i * 0.1, (i, 0.0), (0, 0, 0, 0)) for i, z in enumerate(zones)]
    switch = seen[-1]
    assert switch is not None and switch.previous is Zone.CURB_A and switch.frame == 3 and switch.point == (3, 0.0)
