"""Controller feed messages (SPaT-style JSON or the simple form) → per-group states. Pure.

Two shapes are accepted, alone or as a JSON list of them:

* simple: ``{"group": "p1", "state": "DONT_WALK", "ts": 1763900000.5}``; ``state`` is one of our
  states (or an alias such as ``red``) or a J2735 MovementPhaseState number/name;
* SPaT-style: ``{"ts": ..., "states": [{"signalGroup": 2, "eventState": 6}, ...]}``, or J2735's
  nesting ``{"intersections": [{"states": [{"signalGroup": 2, "state-time-speed": [{"eventState":
  "protected-Movement-Allowed"}]}]}]}``.

``ts`` (or ``timestamp``) is UTC: epoch seconds, epoch milliseconds, or an ISO time with offset;
without one the receive time is used.

What is parsed is bounded before parsing: a payload longer than ``max_bytes`` or nested deeper
than ``MAX_DEPTH`` is rejected unread (a deeply nested array would otherwise exhaust the parser's
recursion), and a message carrying more than ``max_items`` group states is rejected whole.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.signal.types import SignalState

# SAE J2735 MovementPhaseState → pedestrian state. The standard speaks of vehicle movements; for a
# pedestrian signal group "movement allowed" is WALK, "clearance" is flashing DON'T WALK.
J2735_STATES: dict[int, tuple[str, SignalState]] = {
    0: ("unavailable", SignalState.UNKNOWN),
    1: ("dark", SignalState.UNKNOWN),
    2: ("stop-Then-Proceed", SignalState.DONT_WALK),
    3: ("stop-And-Remain", SignalState.DONT_WALK),
    4: ("pre-Movement", SignalState.DONT_WALK),
    5: ("permissive-Movement-Allowed", SignalState.WALK),
    6: ("protected-Movement-Allowed", SignalState.WALK),
    7: ("permissive-clearance", SignalState.CLEARANCE),
    8: ("protected-clearance", SignalState.CLEARANCE),
    9: ("caution-Conflicting-Traffic", SignalState.UNKNOWN),
}
_J2735_BY_NAME = {name.lower().replace("-", "").replace("_", ""): n for n, (name, _) in J2735_STATES.items()}

_MS_EPOCH_THRESHOLD = 1e11  # epoch seconds stay below this until the year 5138; milliseconds are above
MAX_DEPTH = 16  # the deepest accepted form (a list of J2735 intersections) nests 7 levels
DEFAULT_MAX_BYTES = 65536
DEFAULT_MAX_ITEMS = 64
# Runs of ordinary characters, an escape pair, or one character that matters for nesting: linear time.
_NESTING_TOKEN = re.compile(r'[^"\\\[\]{}]+|\\.?|["\[\]{}]', re.DOTALL)


class FeedMessageError(ValueError):
    """A message that cannot be used; the text says what is wrong with it."""


@dataclass(frozen=True)
class FeedItem:
    group_id: str
    state: SignalState
    utc: float | None  # None: the message carried no time
    raw_state: str


def parse_state(raw: Any) -> SignalState:
    """Our state names and aliases, or a J2735 MovementPhaseState number or name."""
    if isinstance(raw, bool):
        raise FeedMessageError(f"state {raw!r} is not a state")
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        number = int(raw)
        if number not in J2735_STATES:
            raise FeedMessageError(f"J2735 eventState {number} is outside 0..9")
        return J2735_STATES[number][1]
    if not isinstance(raw, str):
        raise FeedMessageError(f"state {raw!r} is neither a name nor a J2735 number")
    j2735 = _J2735_BY_NAME.get(raw.strip().lower().replace("-", "").replace("_", ""))
    if j2735 is not None:
        return J2735_STATES[j2735][1]
    try:
        return SignalState.parse(raw)
    except ValueError as exc:
        raise FeedMessageError(str(exc)) from None


def parse_time(raw: Any) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
        if not math.isfinite(value) or value < 0:
            raise FeedMessageError(f"time {raw!r} is not a UTC epoch time")
        return value / 1000.0 if value > _MS_EPOCH_THRESHOLD else value
    if isinstance(raw, str):
        try:
            moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise FeedMessageError(f"time '{raw}' is neither epoch seconds nor an ISO time") from None
        if moment.tzinfo is None:
            raise FeedMessageError(f"ISO time '{raw}' needs a UTC offset")
        return moment.timestamp()
    raise FeedMessageError(f"time {raw!r} is neither epoch seconds nor an ISO time")


def _group_id(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int)) or str(raw).strip() == "":
        raise FeedMessageError(f"group {raw!r} is not a signal-group id")
    return str(raw).strip()


def _spat_state(entry: dict[str, Any]) -> Any:
    if "eventState" in entry:
        return entry["eventState"]
    timing = entry.get("state-time-speed") or entry.get("stateTimeSpeed")
    if isinstance(timing, list) and timing and isinstance(timing[0], dict) and "eventState" in timing[0]:
        return timing[0]["eventState"]  # the first entry is the current state
    raise FeedMessageError("SPaT state entry has no eventState")


def _items_of(message: Any, outer_ts: Any) -> list[FeedItem]:
    if not isinstance(message, dict):
        raise FeedMessageError(f"expected a JSON object, got {type(message).__name__}")
    ts = message.get("ts", message.get("timestamp", outer_ts))
    if "group" in message or "state" in message:
        if "group" not in message or "state" not in message:
            raise FeedMessageError("simple message needs both 'group' and 'state'")
        return [
            FeedItem(
                _group_id(message["group"]),
                parse_state(message["state"]),
                parse_time(ts),
                str(message["state"]),
            )
        ]
    if "intersections" in message:
        intersections = message["intersections"]
        if not isinstance(intersections, list):
            raise FeedMessageError("'intersections' must be a list")
        return [item for i in intersections for item in _items_of(i, ts)]
    states = message.get("states")
    if not isinstance(states, list):
        raise FeedMessageError("message has neither 'group'/'state' nor a 'states' list")
    items = []
    for entry in states:
        if not isinstance(entry, dict) or "signalGroup" not in entry:
            raise FeedMessageError("SPaT state entry needs 'signalGroup'")
        raw = _spat_state(entry)
        items.append(FeedItem(_group_id(entry["signalGroup"]), parse_state(raw), parse_time(ts), str(raw)))
    return items


class OversizedMessage(FeedMessageError):
    """A message beyond the size, nesting or group-count bounds; rejected before (or instead of) parsing."""


def check_nesting(text: str, limit: int = MAX_DEPTH) -> None:
    """OversizedMessage when JSON arrays/objects in ``text`` nest deeper than ``limit`` (strings skipped)."""
    depth, in_string = 0, False
    for match in _NESTING_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) != 1:
            continue
        elif token in "[{":
            depth += 1
            if depth > limit:
                raise OversizedMessage(f"JSON nests deeper than {limit} levels")
        elif token in "]}":
            depth -= 1


def parse_message(
    payload: bytes | str | Any, max_bytes: int = DEFAULT_MAX_BYTES, max_items: int = DEFAULT_MAX_ITEMS
) -> list[FeedItem]:
    """All group states in one payload; FeedMessageError if any part of it is unusable or out of bounds."""
    if isinstance(payload, (bytes, bytearray)):
        if len(payload) > max_bytes:
            raise OversizedMessage(f"message is {len(payload)} bytes; at most {max_bytes}")
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise FeedMessageError("payload is not UTF-8 text") from None
    if isinstance(payload, str):
        if len(payload) > max_bytes:
            raise OversizedMessage(f"message is {len(payload)} characters; at most {max_bytes}")
        check_nesting(payload)
        try:
            payload = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise FeedMessageError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
        except ValueError as exc:  # an integer beyond Python's 4300 digits
            raise FeedMessageError(f"not valid JSON: {exc}") from None
    messages = payload if isinstance(payload, list) else [payload]
    items = [item for m in messages for item in _items_of(m, None)]
    if not items:
        raise FeedMessageError("message carries no signal-group state")
    if len(items) > max_items:
        raise OversizedMessage(f"message carries {len(items)} group states; at most {max_items}")
    return items
