"""Ground truth: MOTChallenge tracks through the decision core, and hand-written labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_site
from edge.config.signal import TimelineSourceConfig
from edge.evaluation.groundtruth import (
    GroundTruthError,
    PassKind,
    expected_from_tracks,
    labels_under_timeline,
    load_expected,
    load_mot,
)
from edge.signal.hub import SignalHub
from edge.signal.sources import build_source
from edge.signal.types import SignalState
from edge.video import VideoFile
from tests.conftest import REPO, require_shared

EVAL_SITES = REPO / "sites" / "eval"
DEMO_SITE = REPO / "sites" / "demo" / "site.yaml"
DEMO_LABELS = EVAL_SITES / "demo-crosswalk" / "expected.csv"


def _hub(site) -> SignalHub:  # type: ignore[no-untyped-def]
    return SignalHub.from_config(site.signal)


def test_mot_file_is_read_per_zero_based_frame() -> None:
    tracks = load_mot(require_shared("labels/TUD-Stadtmitte_gt.txt"))
    assert tracks.frame_count == 179
    assert sum(len(d) for d in tracks.frames.values()) == 1156
    first = tracks.at(0)
    # Line 1 of the file: "1,1,88,99,61.08,218.56,...": frame 1 is index 0, boxes become x1 y1 x2 y2.
    row = first.tracker_id.tolist().index(1)
    assert first.xyxy[row].tolist() == pytest.approx([88, 99, 149.08, 317.56], abs=0.01)
    assert len(tracks.at(10_000)) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,1,10,10,5,5,1\nx,2,3\n", ":2: expected frame,id,x,y,w,h,conf"),
        ("0,1,10,10,5,5,1\n", ":1: frame must be >= 1"),
        ("1,1,10,10,0,5,1\n", ":1: frame must be >= 1 and the box must have a size"),
        ("\n", "no labelled boxes"),
    ],
)
def test_bad_mot_file_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(text)
    with pytest.raises(GroundTruthError, match=message):
        load_mot(path)


def test_missing_mot_file() -> None:
    with pytest.raises(GroundTruthError, match="track label file not found"):
        load_mot("/nonexistent/gt.txt")


@pytest.mark.parametrize(
    ("case", "entries"),
    [
        # (track, direction, entry frame, signal state, violation): the crossings the labelled
        # people make through the evaluation zones, checked by eye on the drawn trajectories.
        (
            "TUD-Stadtmitte",
            [
                (4, "left->right", 0, SignalState.WALK, False),  # already in the zone at frame 0
                (2, "left->right", 29, SignalState.WALK, False),
                (6, "right->left", 62, SignalState.CLEARANCE, False),
                (7, "right->left", 66, SignalState.CLEARANCE, False),
                (9, "right->left", 133, SignalState.DONT_WALK, True),
                (6, "right->left", 153, SignalState.DONT_WALK, True),  # turned back, then crossed again
            ],
        ),
        (
            "TUD-Campus",
            [
                (2, "right->left", 3, SignalState.WALK, False),
                (4, "left->right", 4, SignalState.WALK, False),
                (3, "left->right", 16, SignalState.CLEARANCE, False),
                (5, "left->right", 20, SignalState.CLEARANCE, False),
                (7, "left->right", 56, SignalState.DONT_WALK, True),
            ],
        ),
    ],
)
def test_expected_events_from_labelled_tracks(case: str, entries: list[tuple]) -> None:  # type: ignore[type-arg]
    site = load_site(EVAL_SITES / case.lower() / "site.yaml")
    video = VideoFile(require_shared(f"video/{case}.mp4"))
    video.close()
    tracks = load_mot(require_shared(f"labels/{case}_gt.txt"))
    events = expected_from_tracks(site, tracks, _hub(site), video.fps, video.width, video.height, video.frame_count)
    got = sorted((e.track_id, e.direction, e.entry_frame, e.signal_state, e.violation) for e in events)
    assert got == sorted(entries)
    assert all(e.box is not None and e.foot_point is not None for e in events)


def test_demo_hand_labels_agree_with_the_demo_timeline() -> None:
    site = load_site(DEMO_SITE)
    labels = load_expected(DEMO_LABELS, site, _hub(site), fps=11.028)
    assert len(labels) == 5
    assert [e.violation for e in labels] == [False, False, False, True, True]
    assert [e.required for e in labels] == [True, False, True, True, True]
    assert labels[2].signal_state is SignalState.CLEARANCE and labels[2].direction == "far->near"
    assert labels[3].entry_frame == 96 and labels[3].foot_point == (470.0, 290.0)


HEADER = "entry_t,crosswalk,direction,violation\n"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("8.7,cw-main,near->far,no\n", r":2: labelled violation=no but the rules say 'entered 3.70 s into DONT_WALK'"),
        ("1.0,cw-main,near->far,yes\n", ":2: labelled violation=yes but the rules say 'entered on WALK'"),
        ("1.0,cw-other,near->far,no\n", ":2: crosswalk 'cw-other' is not in the site file"),
        ("1.0,cw-main,north->south,no\n", ":2: direction 'north->south' is not near->far or far->near"),
        ("1.0,cw-main,near->far,maybe\n", ":2: violation and required must be yes or no"),
        ("soon,cw-main,near->far,no\n", ":2: entry_t, frame, x and y must be numbers"),
        ("1.0,cw-main\n", ":2: every pedestrian row needs entry_t, crosswalk, direction, violation"),
        ("-1.0,cw-main,near->far,no\n", ":2: entry_t must not be negative"),
    ],
)
def test_bad_hand_label_names_the_line(tmp_path: Path, rows: str, message: str) -> None:
    site = load_site(DEMO_SITE)
    path = tmp_path / "expected.csv"
    path.write_text(HEADER + rows)
    with pytest.raises(GroundTruthError, match=message):
        load_expected(path, site, _hub(site), fps=11.0)


def test_hand_label_header_must_name_the_columns(tmp_path: Path) -> None:
    site = load_site(DEMO_SITE)
    path = tmp_path / "expected.csv"
    path.write_text("# comment\nentry_t,crosswalk\n1.0,cw-main\n")
    with pytest.raises(GroundTruthError, match=":2: header lacks column"):
        load_expected(path, site, _hub(site), fps=11.0)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("2.0,cw-main,,no,bicycle\n", ":2: kind 'bicycle' is not one of pedestrian, rider, along"),
        ("2.0,cw-main,,yes,rider\n", ":2: a rider pass must have violation=no: it must produce no record"),
        ("2.0,,,no,along\n", ":2: every along row needs entry_t, crosswalk, violation"),
        ("2.0,cw-main,,no,pedestrian\n", ":2: every pedestrian row needs entry_t, crosswalk, direction, violation"),
        ("2.0,cw-main,across,no,rider\n", ":2: direction 'across' is not near->far or far->near"),
        # At the first frame the entry was not seen happen, so the rules do not enforce it.
        ("0.0,cw-main,near->far,yes,\n", ":2: labelled violation=yes but the rules say 'not enforced: entry"),
    ],
)
def test_bad_pass_row_names_the_line(tmp_path: Path, rows: str, message: str) -> None:
    site = load_site(DEMO_SITE)
    path = tmp_path / "expected.csv"
    path.write_text(HEADER.strip() + ",kind\n" + rows)
    with pytest.raises(GroundTruthError, match=message):
        load_expected(path, site, _hub(site), fps=11.0)


def test_rider_and_along_rows_are_passes_that_must_stay_silent(tmp_path: Path) -> None:
    site = load_site(DEMO_SITE)
    path = tmp_path / "expected.csv"
    # On DON'T WALK (from 5 s): a rider and a walker along the road need no verdict and no direction.
    path.write_text(HEADER.strip() + ",kind\n9.0,cw-main,,no,rider\n11.0,cw-main,far->near,no,along\n")
    labels = load_expected(path, site, _hub(site), fps=11.0)
    assert [(e.kind, e.direction, e.must_be_silent, e.signal_state) for e in labels] == [
        (PassKind.RIDER, "", True, SignalState.DONT_WALK),
        (PassKind.ALONG, "far->near", True, SignalState.DONT_WALK),
    ]


def _timeline(tmp_path: Path, text: str) -> SignalHub:
    path = tmp_path / "timeline.csv"
    path.write_text("t,group,state\n" + text)
    return SignalHub.from_config(load_site(DEMO_SITE).signal, [build_source(TimelineSourceConfig(path=path))])


@pytest.mark.parametrize(
    ("timeline", "verdicts", "ambiguous"),
    [
        # The demo labels (entries at 0.0, 0.0 (ambiguous), 4.26, 8.70, 10.34 s; grace 1.0 s) under other plans.
        pytest.param(
            "-60,ped-main,DONT_WALK\n",
            [False, False, True, True, True],
            [False] * 5,
            id="all don't walk: entries at the first frame were not seen, so not enforced",
        ),
        pytest.param(
            "-60,ped-main,DONT_WALK\n6.5,ped-main,WALK\n",
            [False, False, True, False, False],
            [False] * 5,
            id="walk from 6.5 s",
        ),
        pytest.param(
            "0,ped-main,WALK\n7.0,ped-main,DONT_WALK\n",
            [False, False, False, True, True],
            [False, False, False, True, False],
            id="grace ends at 8.0 s: the 8.70 s entry is ambiguous",
        ),
        pytest.param(
            "0,ped-main,WALK\n3.5,ped-main,CLEARANCE\n",
            [False, False, False, False, False],
            [False, False, True, False, False],
            id="a change 0.76 s from the 4.26 s entry makes it ambiguous, whatever the verdict",
        ),
    ],
)
def test_hand_labels_under_another_timeline(tmp_path: Path, timeline: str, verdicts, ambiguous) -> None:  # type: ignore[no-untyped-def]
    site = load_site(DEMO_SITE)
    labels = load_expected(DEMO_LABELS, site, _hub(site), fps=11.028)
    relabelled = labels_under_timeline(labels, site, _timeline(tmp_path, timeline), 11.028, 143, tolerance_s=1.0)
    assert [e.violation for e in relabelled] == verdicts
    assert [e.ambiguous_verdict for e in relabelled] == ambiguous
    assert [e.required for e in relabelled] == [e.required for e in labels]  # the crossings stay as labelled
    assert [(e.entry_t, e.direction, e.note) for e in relabelled] == [(e.entry_t, e.direction, e.note) for e in labels]


def test_passes_stay_silent_under_every_timeline(tmp_path: Path) -> None:
    site = load_site(DEMO_SITE)
    path = tmp_path / "expected.csv"
    path.write_text(HEADER.strip() + ",kind\n9.0,cw-main,,no,rider\n")
    labels = load_expected(path, site, _hub(site), fps=11.0)
    relabelled = labels_under_timeline(labels, site, _timeline(tmp_path, "-60,ped-main,DONT_WALK\n"), 11.0, 143, 1.0)
    assert relabelled == labels
