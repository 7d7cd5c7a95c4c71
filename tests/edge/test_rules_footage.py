"""The decision core on real people: MOTChallenge ground-truth tracks of real footage.

The labelled boxes are fed to the same ``DecisionCore`` the live path runs, arranged as a
tracker or a person would arrange them: a walk played back is a real person walking back
across; ids swapped where two paths cross; a track lost while its person turns on the curb.
Every scene is under DON'T WALK throughout, so every observed crossing is a violation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.config.load import read_yaml
from edge.config.site import SiteConfig
from edge.evaluation.groundtruth import load_mot
from edge.events import CrossingEvent
from edge.rules import DecisionCore
from edge.signal.timeline import SignalHistory
from edge.signal.types import SignalChange, SignalState
from edge.zones import CrosswalkGeometry, Zone
from tests.builders import site_dict, tracks
from tests.conftest import REPO, require_shared

FPS = 25.0
Box = tuple[float, float, float, float]
CAMPUS = ("labels/TUD-Campus_gt.txt", 640, 480)  # people walk across the picture, mostly left to right
STADTMITTE = ("labels/TUD-Stadtmitte_gt.txt", 640, 480)
TOWNCENTRE = ("labels/towncentre_excerpt_f001-126_gt.txt", 1920, 1080)  # a shopping street, seen from above


def walks(label: str) -> dict[int, list[Box]]:
    """Each labelled person's boxes, frame by frame."""
    mot = load_mot(require_shared(label))
    boxes: dict[int, list[Box]] = defaultdict(list)
    for index in range(mot.frame_count):
        frame = mot.at(index)
        for track_id, box in zip(frame.tracker_id.tolist(), frame.xyxy.tolist(), strict=True):
            boxes[track_id].append(tuple(box))  # type: ignore[arg-type]
    return dict(boxes)


def eval_site(name: str) -> SiteConfig:
    """The crosswalks of an evaluation site (sites/eval/<name>), detector and signal left out."""
    crosswalks = json.loads(json.dumps(read_yaml(REPO / "sites" / "eval" / name / "site.yaml")["crosswalks"]))
    return SiteConfig.model_validate(site_dict(crosswalks=crosswalks))


Band = tuple[tuple[float, float], tuple[float, float], float, float]  # centre, axis (curb A → B), depth, span


def band(width: int, height: int, spec: Band, curb: float | None = None) -> dict:  # type: ignore[type-arg]
    """A crosswalk ``depth`` px long along ``axis`` and ``span`` px wide, with a curb at each end."""
    centre, axis, depth, span = spec
    u = np.asarray(axis, float) / np.hypot(*axis)
    v = np.array([-u[1], u[0]])
    c = np.asarray(centre, float)

    def rect(mid: np.ndarray, half_depth: float) -> list[list[float]]:
        corners = [mid - half_depth * u - span / 2 * v, mid + half_depth * u - span / 2 * v]
        corners += [mid + half_depth * u + span / 2 * v, mid - half_depth * u + span / 2 * v]
        return [[round(min(max(x / width, 0.0), 1.0), 4), round(min(max(y / height, 0.0), 1.0), 4)] for x, y in corners]

    curb = curb or depth / 4
    return {
        "polygon": rect(c, depth / 2),
        "curbs": [
            {"name": "a", "polygon": rect(c - (depth + curb) / 2 * u, curb / 2)},
            {"name": "b", "polygon": rect(c + (depth + curb) / 2 * u, curb / 2)},
        ],
    }


def drawn_site(width: int, height: int, bands: list[Band], turned: bool = False) -> SiteConfig:
    """Crosswalks drawn as bands; ``turned``: the same areas with the curbs on their long sides."""
    crosswalks = []
    for i, (centre, (ux, uy), depth, span) in enumerate(bands):
        shape = band(width, height, (centre, (-uy, ux), span, depth), curb=depth / 2) if turned else None
        shape = shape or band(width, height, (centre, (ux, uy), depth, span))
        crosswalks.append({"id": f"cw{i}", "signal_group": "p1", **shape})
    return SiteConfig.model_validate(site_dict(crosswalks=crosswalks))


class Scene:
    """Frames of (track id, box) rows, built person by person."""

    def __init__(self) -> None:
        self.frames: dict[int, list[tuple[int, Box]]] = defaultdict(list)

    def add(self, track_id: int, boxes: list[Box], start: int = 0) -> int:
        """Show ``boxes`` under ``track_id`` from frame ``start``; return the frame after the last."""
        for k, box in enumerate(boxes):
            self.frames[start + k].append((track_id, box))
        return start + len(boxes)

    def play(self, site: SiteConfig, width: int, height: int) -> list[CrossingEvent]:
        """Run the decision core over the scene under DON'T WALK; return every decided event."""
        red = SignalHistory(
            [SignalChange(-60.0, group, SignalState.DONT_WALK) for group in {c.signal_group for c in site.crosswalks}]
        )
        core = DecisionCore(site, width, height)
        events: list[CrossingEvent] = []
        for index in range(max(self.frames) + 1):
            rows = [[*box, 1.0, track_id] for track_id, box in self.frames.get(index, [])]
            events += core.update(index, index / FPS, index / FPS, tracks(*rows), red)
        return events + core.flush(index, index / FPS, index / FPS, red)


def whole(label: str) -> Scene:
    """Every labelled person as labelled."""
    scene = Scene()
    mot = load_mot(require_shared(label))
    for index in range(mot.frame_count):
        frame = mot.at(index)
        for track_id, box in zip(frame.tracker_id.tolist(), frame.xyxy.tolist(), strict=True):
            scene.frames[index].append((track_id, tuple(box)))  # type: ignore[arg-type]
    return scene


def summary(events: list[CrossingEvent]) -> list[tuple[int, str, str]]:
    return [(e.track_id, e.type.value, e.direction) for e in events]


def foot(box: Box) -> np.ndarray:
    return np.array([[(box[0] + box[2]) / 2, box[3]]])


# A second crossing on red is a second violation.


@pytest.mark.parametrize(
    ("plan", "expected"),
    [
        pytest.param(["there", "back"], ["left->right", "right->left"], id="walks-back-at-once"),
        pytest.param(["there", "wait 10", "back"], ["left->right", "right->left"], id="walks-back-10s-later"),
        pytest.param(
            ["there", "back", "wait 40", "there"], ["left->right", "right->left", "left->right"], id="again-40s-later"
        ),
    ],
)
def test_each_crossing_on_red_is_its_own_violation(plan: list[str], expected: list[str]) -> None:
    label, width, height = CAMPUS
    there = walks(label)[3]  # person 3 walks from left of the left curb to right of the right one
    boxes: list[Box] = []
    for step in plan:
        if step.startswith("wait"):
            boxes += [boxes[-1]] * int(float(step.split()[1]) * FPS)  # stands on the pavement, still tracked
        else:
            boxes += there if step == "there" else there[::-1]
    scene = Scene()
    scene.add(3, boxes)
    events = scene.play(eval_site("tud-campus"), width, height)
    assert summary(events) == [(3, kind, d) for d in expected for kind in ("crossing", "violation")]
    assert all(e.enforced and e.entry_observed for e in events)


def test_hesitating_at_the_curb_edge_is_one_crossing() -> None:
    # TUD-Stadtmitte person 6 steps 18 px into the crosswalk from the right, stands, steps back
    # 2 px onto the curb and in again 3.6 s after the first entry: one hesitation, one crossing.
    label, width, height = STADTMITTE
    events = whole(label).play(eval_site("tud-stadtmitte"), width, height)
    six = [s for s in summary(events) if s[0] == 6]
    assert six == [(6, "crossing", "right->left"), (6, "violation", "right->left")]
    # Everyone else who crosses is recorded once; person 4 is first seen inside (not enforced).
    assert sorted(summary(events)) == sorted(
        [(4, "crossing", "left->right")]
        + [(i, kind, d) for i, d in ((2, "left->right"), (6, "right->left"), (7, "right->left"), (9, "right->left"))
           for kind in ("crossing", "violation")]
    )


# A different person who gets a violator's id is judged on their own crossing.


def test_an_id_swapped_where_paths_cross_keeps_the_other_persons_violation() -> None:
    label, width, height = CAMPUS
    people = walks(label)
    # Persons 2 (walking left, after crossing) and 7 (walking right, before crossing) pass each
    # other left of the left curb at frame 37 (0-based 36); there the tracker swaps their ids.
    swap = 36
    scene = Scene()
    scene.add(2, people[2][:swap])
    scene.add(7, people[2][swap:], swap)
    scene.add(7, people[7][: swap - 23], 23)
    scene.add(2, people[7][swap - 23 :], swap)
    events = scene.play(eval_site("tud-campus"), width, height)
    own = [s for s in summary(events) if s[0] == 2]
    assert own == [
        (2, "crossing", "right->left"),  # person 2
        (2, "violation", "right->left"),
        (2, "crossing", "left->right"),  # person 7, under person 2's id
        (2, "violation", "left->right"),
    ]


def test_a_person_taken_for_a_lost_tracks_continuation_keeps_their_violation() -> None:
    label, width, height = CAMPUS
    people = walks(label)
    # Person 2 crosses on red and walks out at the left edge; one second later person 7 walks in
    # there, 15 px from where person 2 was last seen: the core takes 7 for 2 under a new id.
    scene = Scene()
    end = scene.add(2, people[2])
    scene.add(7, people[7], end + round(FPS))
    assert np.hypot(*(foot(people[2][-1]) - foot(people[7][0]))[0]) < 0.06 * np.hypot(width, height)
    events = scene.play(eval_site("tud-campus"), width, height)
    assert summary(events) == [
        (2, "crossing", "right->left"),
        (2, "violation", "right->left"),
        (7, "crossing", "left->right"),
        (7, "violation", "left->right"),
    ]


# Turning back on the curb: found again just inside, the entry is still the curb's.


def entry_index(site: SiteConfig, width: int, height: int, boxes: list[Box]) -> int:
    geo = CrosswalkGeometry.from_config(site.crosswalks[0], width, height)
    zones = geo.classify(np.concatenate([foot(b) for b in boxes]))
    return int(np.flatnonzero(zones == Zone.CROSSWALK)[0])


def test_turning_back_on_the_curb_and_found_inside_is_an_observed_entry() -> None:
    label, width, height = STADTMITTE
    site = eval_site("tud-stadtmitte")
    there = walks(label)[2]  # person 2 walks from the left curb across to the right
    first_in = entry_index(site, width, height, there)
    turn = first_in - 4  # on the left curb, a step before the edge
    scene = Scene()
    # Up to the edge, a second's walk back along the way they came, then back towards the edge:
    # the tracker loses them as they turn and finds them again on their first step inside.
    end = scene.add(2, there[:turn] + there[turn - round(FPS) : turn][::-1])
    lost_at = there[turn - round(FPS)]
    gap = round(FPS) - 4  # the walk back to the edge, unseen
    scene.add(12, there[first_in:], end + gap)
    assert np.hypot(*(foot(lost_at) - foot(there[first_in]))[0]) > 0.06 * np.hypot(width, height)  # no id switch
    events = scene.play(site, width, height)
    assert summary(events) == [(12, "crossing", "left->right"), (12, "violation", "left->right")]
    assert events[0].entry_observed and events[0].enforced


def test_finishing_a_crossing_is_never_taken_for_an_entry() -> None:
    label, width, height = STADTMITTE
    site = eval_site("tud-stadtmitte")
    people = walks(label)
    # Person 7 crosses right to left; a track is lost on the left curb as 7 comes near it, and 7
    # is first seen (new id) just inside, walking onto that curb: no entry, no crossing.
    towards = people[7]
    geo = CrosswalkGeometry.from_config(site.crosswalks[0], width, height)
    inside = entry_index(site, width, height, towards)
    near_left = next(i for i in range(inside, len(towards)) if geo.depth(foot(towards[i]))[0] < 0.1)
    scene = Scene()
    scene.add(2, people[2][: entry_index(site, width, height, people[2]) - 4])  # someone lost on the left curb
    scene.add(17, towards[near_left:], near_left)
    assert scene.play(site, width, height) == []


# A pass along the road through a crosswalk is no crossing.


@pytest.mark.parametrize(
    ("footage", "bands", "passes"),
    [
        pytest.param(
            CAMPUS,
            # People walk left to right; the road is drawn along their way, the crosswalk across it.
            [((275, 395), (0, 1), 130, 80)],
            5,
            id="tud-campus",
        ),
        pytest.param(
            TOWNCENTRE,
            # Four crosswalks across the street where people walk along it (street perspective).
            [
                ((800, 650), (0.8, 0.6), 500, 200),
                ((900, 330), (0.47, 0.88), 400, 150),
                ((1690, 850), (1, 0), 300, 150),
                ((1080, 800), (0.82, 0.58), 300, 150),
            ],
            7,
            id="towncentre",
        ),
    ],
)
def test_passes_along_the_road_are_no_crossings(footage: tuple[str, int, int], bands: list[Band], passes: int) -> None:
    label, width, height = footage
    site = drawn_site(width, height, bands)
    scene = whole(label)
    frames_inside: dict[int, int] = defaultdict(int)
    for cw in site.crosswalks:
        geo = CrosswalkGeometry.from_config(cw, width, height)
        for rows in scene.frames.values():
            zones = geo.classify(np.concatenate([foot(box) for _, box in rows]))
            for (track_id, _), zone in zip(rows, zones, strict=True):
                frames_inside[track_id] += zone == Zone.CROSSWALK
    inside = {track_id for track_id, n in frames_inside.items() if n >= 5}
    assert len(inside) == passes  # the people walking through the crosswalks along the road (5 frames or more)
    assert scene.play(site, width, height) == []
    # Turned a quarter, the same areas lie across these people's way: they cross them.
    crossed = {e.track_id for e in scene.play(drawn_site(width, height, bands, turned=True), width, height)}
    assert crossed >= inside


# Unchanged: one crossing, however the tracker or the crowd breaks it up.


@pytest.mark.parametrize("break_up", ["feet-hidden", "id-switch"])
def test_a_crossing_broken_up_mid_way_is_one_violation(break_up: str) -> None:
    label, width, height = STADTMITTE
    scene = whole(label)
    # Person 9 crosses right to left from frame 133; from frame 150 the tracker breaks it up.
    for index in range(148, 179):
        rows = scene.frames[index]
        for k, (track_id, box) in enumerate(rows):
            if track_id != 9:
                continue
            if break_up == "feet-hidden" and index < 158:
                # Someone in front hides the legs: the box shrinks to the upper body, its bottom
                # (the foot point) leaves the crosswalk for ten frames.
                rows[k] = (9, (box[0], box[1], box[2], box[3] - 0.4 * (box[3] - box[1])))
            elif break_up == "id-switch":
                rows[k] = (90, box)
        if break_up == "id-switch" and index < 150:
            scene.frames[index] = [r for r in rows if r[0] != 90]  # lost for two frames
    site = eval_site("tud-stadtmitte")
    if break_up == "feet-hidden":
        geo = CrosswalkGeometry.from_config(site.crosswalks[0], width, height)
        hidden = [box for index in range(150, 158) for track_id, box in scene.frames[index] if track_id == 9]
        assert set(geo.classify(np.concatenate([foot(b) for b in hidden])).tolist()) == {Zone.OUTSIDE}
    events = scene.play(site, width, height)
    nine = [s for s in summary(events) if s[0] in (9, 90)]
    assert nine == [(9, "crossing", "right->left"), (9, "violation", "right->left")]
    assert summary(events) == summary(whole(label).play(site, width, height))  # the same records as unbroken


# The whole stack on real frames: a clip played forward then backward is every person in it
# walking back the way they came.


@pytest.mark.slow
def test_replayed_walk_back_on_red_is_a_second_violation_per_person(tmp_path: Path) -> None:
    from tests.edge.test_replay import read_events, replay

    capture = cv2.VideoCapture(str(require_shared("video/TUD-Campus.mp4")))
    frames = []
    while (frame := capture.read()[1]) is not None:
        frames.append(frame)
    capture.release()
    clip = tmp_path / "there-and-back.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (640, 480))
    for frame in frames + frames[::-1]:
        writer.write(frame)
    writer.release()
    model = require_shared("models/yolov8n_int8_640.onnx")
    site = tmp_path / "site.yaml"
    text = (REPO / "sites" / "eval" / "tud-campus" / "site.yaml").read_text()
    site.write_text(text.replace("../../../../shared/data/models/yolov8n_int8_640.onnx", str(model)))
    red = tmp_path / "red.csv"
    red.write_text("t,group,state\n-60,walkway,DONT_WALK\n")
    out = tmp_path / "out"
    result = replay(clip, out, site=site, signal=red)
    assert result.returncode == 0, result.stderr
    events = read_events(out)
    violations = [e for e in events if e["type"] == "violation"]
    # Under DON'T WALK every crossing is a violation, the second one of a track too. Five people
    # cross (3, 4, 5 and 7 to the right, 2 to the left) and walk back; the tracker hands person
    # 2's id to person 7 where their paths cross, which must not silence person 7.
    assert len(violations) == sum(e["type"] == "crossing" for e in events) >= 9
    there = {e["track_id"] for e in violations if e["entry_t"] < len(frames) / FPS}
    back = {e["track_id"] for e in violations if e["entry_t"] >= len(frames) / FPS}
    assert len(there) >= 4 and len(back) >= 4
    directions = defaultdict(set)
    for e in violations:
        directions[e["track_id"]].add(e["direction"])
    twice = [t for t in there & back if directions[t] == {"left->right", "right->left"}]
    assert len(twice) >= 3  # the same track walking back on red: its second violation
