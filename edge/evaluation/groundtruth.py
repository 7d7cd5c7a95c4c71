"""Ground truth for evaluation: what *should* have been recorded on a clip.

Two forms. MOTChallenge person tracks are turned into expected crossings and violations by
running the very same ``DecisionCore`` on the labelled boxes with the same signal timeline,
so the rules are tested once (in tests/edge/test_rules.py) and evaluation measures only the
perception stack. Clips without track labels get a hand-written CSV of expected entries.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, replace
from enum import Enum
from itertools import pairwise
from pathlib import Path

import numpy as np

from detection.types import PERSON_CLASS_ID, Detections
from edge.config.crosswalk import CrosswalkConfig
from edge.config.site import SiteConfig
from edge.evaluation.decisions import TrackedFrame, decide_on_tracks
from edge.events import CrossingEvent, EventType
from edge.rules import judge_entry
from edge.signal.hub import SignalHub
from edge.signal.source import FrameClock
from edge.signal.types import SignalState


class GroundTruthError(ValueError):
    """A label file that cannot be used; the message names the file, line and problem."""


class PassKind(str, Enum):
    """Who a hand-labelled row is. Only pedestrians cross; the others must produce no record."""

    PEDESTRIAN = "pedestrian"
    RIDER = "rider"  # on a bicycle, motorcycle or scooter, through a crosswalk
    ALONG = "along"  # a person (or rider) moving along the road through a crosswalk, not across it


@dataclass(frozen=True)
class ExpectedEvent:
    """One crossing (or violation) that happened, as the labels say.

    ``violation`` is whether it must be recorded as a violation; ``signal_state`` is what
    the person's signal group showed at the entry instant (for the false-warning count).
    ``box`` (source pixels) and ``foot_point`` locate the person for thumbnails when known.
    """

    crosswalk_id: str
    direction: str
    entry_t: float
    entry_frame: int
    violation: bool
    signal_state: SignalState
    track_id: int | None = None
    box: tuple[float, float, float, float] | None = None
    foot_point: tuple[float, float] | None = None
    required: bool = True
    note: str = ""
    kind: PassKind = PassKind.PEDESTRIAN
    ambiguous_verdict: bool = False  # the crossing is certain, whether it is a violation is not

    @property
    def type(self) -> EventType:
        return EventType.VIOLATION if self.violation else EventType.CROSSING

    @property
    def must_be_silent(self) -> bool:
        """A rider or along-the-road pass: no crossing and no violation may be recorded for it."""
        return self.kind is not PassKind.PEDESTRIAN


@dataclass(frozen=True)
class MotTracks:
    """Labelled person boxes per frame; frame keys are 0-based video frame indices."""

    path: Path
    frames: dict[int, Detections]

    @property
    def frame_count(self) -> int:
        return max(self.frames) + 1 if self.frames else 0

    def at(self, index: int) -> Detections:
        return self.frames.get(index, _NO_TRACKS)


_NO_TRACKS = Detections.empty().with_tracker_ids(np.zeros(0, np.int64))


def load_mot(path: str | Path) -> MotTracks:
    """Read ``frame,id,x,y,w,h,conf,...`` (frame 1 = first decoded frame); rows with conf 0 are ignored."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: track label file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot read: {exc}") from None
    rows: dict[int, list[tuple[int, float, float, float, float]]] = defaultdict(list)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        fields = line.split(",")
        try:
            frame, track_id = int(float(fields[0])), int(float(fields[1]))
            x, y, w, h, conf = (float(v) for v in fields[2:7])
        except (ValueError, IndexError):
            raise GroundTruthError(f"{path}:{number}: expected frame,id,x,y,w,h,conf,... numbers") from None
        if frame < 1 or w <= 0 or h <= 0:
            raise GroundTruthError(f"{path}:{number}: frame must be >= 1 and the box must have a size")
        if conf > 0:
            rows[frame - 1].append((track_id, x, y, x + w, y + h))
    if not rows:
        raise GroundTruthError(f"{path}: no labelled boxes")
    return MotTracks(path, {index: _detections(boxes) for index, boxes in sorted(rows.items())})


def _detections(rows: list[tuple[int, float, float, float, float]]) -> Detections:
    return Detections.from_lists(
        [list(r[1:]) for r in rows], [1.0] * len(rows), [PERSON_CLASS_ID] * len(rows), [r[0] for r in rows]
    )


def expected_from_tracks(
    site: SiteConfig, tracks: MotTracks, signals: SignalHub, fps: float, width: int, height: int, frames: int
) -> list[ExpectedEvent]:
    """Run the decision core on the labelled tracks frame by frame, as the live path would."""
    labelled = (TrackedFrame(i, i / fps, i / fps, tracks.at(i)) for i in range(frames))
    return expected_from_events(decide_on_tracks(site, labelled, signals, width, height))


def expected_from_events(events: list[CrossingEvent]) -> list[ExpectedEvent]:
    """One expected entry per decided crossing, marked as a violation when one was decided for it."""
    violations = {(e.track_id, e.crosswalk_id, e.entry_frame) for e in events if e.type is EventType.VIOLATION}
    return [
        ExpectedEvent(
            crosswalk_id=e.crosswalk_id,
            direction=e.direction,
            entry_t=e.entry_t,
            entry_frame=e.entry_frame,
            violation=(e.track_id, e.crosswalk_id, e.entry_frame) in violations,
            signal_state=e.signal_state,
            track_id=e.track_id,
            box=e.entry_box,
            foot_point=e.foot_point,
        )
        for e in events
        if e.type is EventType.CROSSING
    ]


HAND_COLUMNS = ("entry_t", "crosswalk", "direction", "violation")


def load_expected(
    path: str | Path, site: SiteConfig, signals: SignalHub, fps: float, frames: int = 0
) -> list[ExpectedEvent]:
    """Read a hand-written CSV of expected entries (``#`` lines are comments).

    Columns: ``entry_t`` (seconds from the first frame), ``crosswalk``, ``direction``
    (``from->to`` curb names) and ``violation`` (yes/no, the labeller's verdict under the
    clip's timeline); optional ``frame``, ``x``, ``y`` (foot point in pixels), ``required``
    (no = an ambiguous case: a record of it is neither a hit nor a false record, and
    missing it is not a miss), ``kind`` (pedestrian, the default; rider; along: a pass that
    must produce no record, with violation=no and direction optional) and ``note``.
    A pedestrian's verdict is checked against the site's rules at the labelled instant, so
    a changed timeline or grace period cannot leave stale labels silently. ``frames`` is the
    clip's length; the signal hub is stepped through it frame by frame, as a replay steps it.
    """
    path = Path(path)
    rows = _csv_rows(path)
    expected = [_hand_row(path, line, row, site, fps) for line, row in rows]
    _step_through(signals, fps, max(frames, *(round(e.entry_t * fps) + 1 for e in expected), 1))
    checked = [_checked(path, line, e, site, signals) for (line, _), e in zip(rows, expected, strict=True)]
    return sorted(checked, key=lambda e: e.entry_t)


def labels_under_timeline(
    labels: list[ExpectedEvent], site: SiteConfig, signals: SignalHub, fps: float, frames: int, tolerance_s: float
) -> list[ExpectedEvent]:
    """The hand labels of a clip under another signal timeline (``signals`` holds it).

    Each pedestrian's verdict is recomputed by the same rules the labels were checked by, and
    entries near a phase change get an ambiguous verdict (``ambiguous_near_changes``). Riders and
    along-the-road passes must produce nothing under any timeline, so they are kept as they are.
    """
    _step_through(signals, fps, max(frames, *(e.entry_frame + 1 for e in labels), 1))
    out = []
    for label in labels:
        if not label.must_be_silent:
            crosswalk = _crosswalk("hand labels", site, label.crosswalk_id)
            reading = signals.state_at(crosswalk.signal_group, label.entry_t)
            verdict = judge_entry(crosswalk.rules, reading, label.entry_t, entry_observed=label.entry_frame > 0)
            label = replace(label, violation=verdict.violation, signal_state=reading.state)
        out.append(label)
    return ambiguous_near_changes(out, site, signals, tolerance_s)


def ambiguous_near_changes(
    expected: list[ExpectedEvent], site: SiteConfig, signals: SignalHub, tolerance_s: float
) -> list[ExpectedEvent]:
    """Entries within ``tolerance_s`` of a phase change or of the end of the grace period get an ambiguous verdict.

    A record matched within the tolerance may lie on the other side of the change, where the
    verdict differs; so a violation recorded for such an entry is neither a hit nor a false
    record, and its absence is no miss. The crossing itself is still expected.
    Passes that must produce nothing are kept as they are.
    """
    by_id = {c.id: c for c in site.crosswalks}
    return [
        replace(e, ambiguous_verdict=True)
        if not e.must_be_silent and near_phase_change(signals, by_id[e.crosswalk_id], e.entry_t, tolerance_s)
        else e
        for e in expected
    ]


def near_phase_change(signals: SignalHub, crosswalk: CrosswalkConfig, t: float, tolerance_s: float) -> bool:
    """Whether ``t`` lies within ``tolerance_s`` of a change of the crosswalk's signal or of a grace end."""
    changes = signals.history.changes(crosswalk.signal_group)
    edges = [b.t for a, b in pairwise(changes) if a.state is not b.state]
    edges += [c.t + crosswalk.rules.grace_s for c in changes if c.state is SignalState.DONT_WALK]
    return any(abs(t - edge) <= tolerance_s for edge in edges)


def _csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GroundTruthError(f"{path}: expected-crossings file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"{path}: cannot read: {exc}") from None
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.startswith("#")]
    if not numbered:
        raise GroundTruthError(f"{path}: no header line")
    reader = csv.DictReader([line for _, line in numbered], skipinitialspace=True)
    missing = [c for c in HAND_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise GroundTruthError(f"{path}:{numbered[0][0]}: header lacks column(s) {', '.join(missing)}")
    return [(numbered[i + 1][0], row) for i, row in enumerate(reader)]


def _step_through(signals: SignalHub, fps: float, frames: int) -> None:
    """Poll the hub at every frame time, so it holds what a replay of the clip would have seen."""
    for index in range(frames):
        t = index / fps
        signals.update(FrameClock(t, t))


def _hand_row(path: Path, line: int, row: dict[str, str], site: SiteConfig, fps: float) -> ExpectedEvent:
    where = f"{path}:{line}"
    kind = _pass_kind(where, row.get("kind"))
    needed = HAND_COLUMNS if kind is PassKind.PEDESTRIAN else tuple(c for c in HAND_COLUMNS if c != "direction")
    if any(not (row.get(c) or "").strip() for c in needed):
        raise GroundTruthError(f"{where}: every {kind.value} row needs {', '.join(needed)}")
    try:
        entry_t = float(row["entry_t"])
        frame = int(row["frame"]) if row.get("frame") else round(entry_t * fps)
        point = (float(row["x"]), float(row["y"])) if row.get("x") and row.get("y") else None
    except ValueError:
        raise GroundTruthError(f"{where}: entry_t, frame, x and y must be numbers") from None
    if entry_t < 0:
        raise GroundTruthError(f"{where}: entry_t must not be negative")
    crosswalk = _crosswalk(where, site, row["crosswalk"].strip())
    direction = (row.get("direction") or "").strip()
    ends = [c.name for c in crosswalk.curbs]
    if direction and direction not in (f"{ends[0]}->{ends[1]}", f"{ends[1]}->{ends[0]}"):
        raise GroundTruthError(f"{where}: direction '{direction}' is not {ends[0]}->{ends[1]} or {ends[1]}->{ends[0]}")
    violation = _yes_no(where, row["violation"])
    if violation and kind is not PassKind.PEDESTRIAN:
        raise GroundTruthError(f"{where}: a {kind.value} pass must have violation=no: it must produce no record")
    return ExpectedEvent(
        crosswalk.id,
        direction,
        entry_t,
        frame,
        violation,
        SignalState.UNKNOWN,  # filled in by _checked once the signal history is known
        foot_point=point,
        required=_yes_no(where, row.get("required") or "yes"),
        note=(row.get("note") or "").strip(),
        kind=kind,
    )


def _checked(path: Path, line: int, label: ExpectedEvent, site: SiteConfig, signals: SignalHub) -> ExpectedEvent:
    """The label with its signal state, after checking a pedestrian's verdict against the site's rules.

    An entry at the first frame was not seen happen, so the rules do not enforce it.
    """
    crosswalk = _crosswalk(f"{path}:{line}", site, label.crosswalk_id)
    reading = signals.state_at(crosswalk.signal_group, label.entry_t)
    verdict = judge_entry(crosswalk.rules, reading, label.entry_t, entry_observed=label.entry_frame > 0)
    if not label.must_be_silent and verdict.violation != label.violation:
        raise GroundTruthError(
            f"{path}:{line}: labelled violation={'yes' if label.violation else 'no'} but the rules say "
            f"'{verdict.reason}' at t={label.entry_t:.2f} s; fix the label or the timeline"
        )
    return replace(label, signal_state=reading.state)


def _pass_kind(where: str, text: str | None) -> PassKind:
    value = (text or "").strip().lower() or PassKind.PEDESTRIAN.value
    try:
        return PassKind(value)
    except ValueError:
        known = ", ".join(k.value for k in PassKind)
        raise GroundTruthError(f"{where}: kind '{text}' is not one of {known}") from None


def _crosswalk(where: str, site: SiteConfig, crosswalk_id: str) -> CrosswalkConfig:
    for crosswalk in site.crosswalks:
        if crosswalk.id == crosswalk_id:
            return crosswalk
    known = ", ".join(c.id for c in site.crosswalks)
    raise GroundTruthError(f"{where}: crosswalk '{crosswalk_id}' is not in the site file (known: {known})")


def _yes_no(where: str, text: str) -> bool:
    value = (text or "").strip().lower()
    if value in ("yes", "y", "true", "1"):
        return True
    if value in ("no", "n", "false", "0"):
        return False
    raise GroundTruthError(f"{where}: violation and required must be yes or no, not '{text}'")
