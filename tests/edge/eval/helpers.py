"""Builders for evaluation tests: recorded events and expectations from a few numbers."""

from __future__ import annotations

from edge.evaluation.groundtruth import ExpectedEvent, PassKind
from edge.events import CrossingEvent, EventType
from edge.signal.types import SignalState


def recorded(
    entry_t: float,
    direction: str = "north->south",
    *,
    track: int = 1,
    crosswalk: str = "cw1",
    point: tuple[float, float] = (500.0, 500.0),
    violation: bool = False,
    state: SignalState = SignalState.WALK,
    fps: float = 10.0,
) -> CrossingEvent:
    """A decided event as the decision core would emit it."""
    origin, target = direction.split("->")
    frame = round(entry_t * fps)
    return CrossingEvent(
        event_id=f"{track}-{frame}-{violation}",
        type=EventType.VIOLATION if violation else EventType.CROSSING,
        site_id="test-site",
        camera_id="cam1",
        crosswalk_id=crosswalk,
        signal_group="p1",
        track_id=track,
        direction=direction,
        from_curb=origin,
        to_curb=target,
        entry_frame=frame,
        entry_t=entry_t,
        entry_utc=entry_t,
        decided_frame=frame + 5,
        decided_t=entry_t + 0.5,
        decided_utc=entry_t + 0.5,
        signal_state=state,
        signal_since_t=0.0,
        since_dont_walk_s=None,
        enforced=True,
        entry_observed=True,
        reason="test",
        foot_point=point,
        box=(point[0] - 20, point[1] - 100, point[0] + 20, point[1]),
        score=0.9,
        entry_box=(point[0] - 20, point[1] - 100, point[0] + 20, point[1]),
    )


def expected(
    entry_t: float,
    direction: str = "north->south",
    *,
    crosswalk: str = "cw1",
    violation: bool = False,
    required: bool = True,
    point: tuple[float, float] | None = None,
    state: SignalState = SignalState.WALK,
    fps: float = 10.0,
    kind: PassKind = PassKind.PEDESTRIAN,
) -> ExpectedEvent:
    return ExpectedEvent(
        crosswalk_id=crosswalk,
        direction=direction,
        entry_t=entry_t,
        entry_frame=round(entry_t * fps),
        violation=violation,
        signal_state=state,
        foot_point=point,
        required=required,
        kind=kind,
    )
