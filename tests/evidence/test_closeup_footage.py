"""The close-up on real footage where two people overlap at the violator's entry.

TUD-Stadtmitte (a pedestrian precinct, 25 fps) with its MOTChallenge ground-truth boxes as the
tracks: person 9 walks in step with another person, so their boxes overlap from frame 74 to 115
and again from 122 to 146, with a short clear view in between. A violation by person 9 entering at
frame 125 (overlapped) goes through the real recorder; its close-up must come from the view
nearest the entry where no other person's box overlaps person 9's.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from detection.types import Detections
from edge.evaluation.groundtruth import load_mot
from evidence.manifest import MANIFEST_NAME
from evidence.recorder import EvidenceRecorder
from evidence.select import CLEAR_OVERLAP, covered_fraction
from tests.conftest import require_shared
from tests.evidence.builders import SIGNAL_CHANGES, START_UTC, make_event, make_site, read_frames, signal_states

FPS = 25.0
VIOLATOR = 9
ENTRY = 125
FIRST = 70  # the frames before are not needed: the recorder is fed from here


def _clip() -> list[np.ndarray]:
    frames = read_frames("video/TUD-Stadtmitte.mp4")
    assert len(frames) == 179
    return frames


def _covered(boxes: np.ndarray, ids: list[int], track: int) -> float | None:
    """How much of ``track``'s box the most overlapping other person covers; None when not in the frame."""
    if track not in ids:
        return None
    k = ids.index(track)
    return covered_fraction(tuple(boxes[k]), np.delete(boxes, k, axis=0))


def test_the_closeup_is_the_nearest_view_nobody_overlaps(tmp_path: Path) -> None:
    mot = load_mot(require_shared("labels/TUD-Stadtmitte_gt.txt"))
    frames = _clip()
    truth = [mot.at(i) for i in range(len(frames))]
    covered = [_covered(t.xyxy, t.tracker_id.tolist(), VIOLATOR) for t in truth]
    assert covered[ENTRY] is not None and covered[ENTRY] > 0.2  # two people overlap at the entry

    t_of = lambda i: i / FPS  # noqa: E731
    entry_box = tuple(float(v) for v in truth[ENTRY].xyxy[truth[ENTRY].tracker_id.tolist().index(VIOLATOR)])
    event = replace(
        make_event(), track_id=VIOLATOR, entry_frame=ENTRY, entry_t=t_of(ENTRY), entry_utc=START_UTC + t_of(ENTRY),
        decided_frame=ENTRY + 6, decided_t=t_of(ENTRY + 6), decided_utc=START_UTC + t_of(ENTRY + 6),
        box=entry_box, entry_box=entry_box, foot_point=((entry_box[0] + entry_box[2]) / 2, entry_box[3]),
    )  # fmt: skip
    root = tmp_path / "root"
    recorder = EvidenceRecorder.from_config(make_site(root), "ground-truth", "c0ffee", keep_every_frame=True)
    fed = range(FIRST, len(frames))  # both overlaps and the clear views around them
    for i in fed:
        image = frames[i]
        tracks = Detections.from_lists(
            truth[i].xyxy.tolist(), [0.9] * len(truth[i]), [0] * len(truth[i]), truth[i].tracker_id.tolist()
        )
        recorder.on_frame(i, t_of(i), START_UTC + t_of(i), image, tracks, signal_states(i))
        if i == ENTRY + 6:
            recorder.on_violation(event, SIGNAL_CHANGES)
    recorder.wait_buffered()
    assert recorder.close(60.0)
    (record,) = recorder.records()
    closeup = json.loads((root / record.folder / MANIFEST_NAME).read_bytes())["closeup"]

    chosen = closeup["frame_index"]
    assert covered[chosen] == 0.0, (chosen, covered[chosen])  # nobody's box touches the violator's
    k = truth[chosen].tracker_id.tolist().index(VIOLATOR)
    assert closeup["box"] == pytest.approx(truth[chosen].xyxy[k].tolist(), abs=0.06)
    clear = [i for i in fed if covered[i] is not None and covered[i] <= CLEAR_OVERLAP]
    nearest = min(abs(i - ENTRY) for i in clear)
    assert abs(chosen - ENTRY) == nearest and chosen < ENTRY  # the clear view just before the overlap
    assert all(covered[i] > CLEAR_OVERLAP for i in range(chosen + 1, ENTRY + 1))
