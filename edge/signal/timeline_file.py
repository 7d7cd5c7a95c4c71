"""Reading a signal timeline file: CSV or JSON rows of (t, group, state)."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime
from pathlib import Path

from edge.signal.source import SignalSourceError
from edge.signal.types import SignalChange, SignalState


class TimelineError(SignalSourceError):
    """A timeline file that cannot be used; the message names the file, row and problem."""


def _parse_time(raw: object, start: datetime | None, where: str) -> float:
    """Seconds from the first frame; negative is a change before the first frame, honoured as such."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return _finite(float(raw), raw, where)
    text = str(raw).strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return _finite(seconds, text, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise TimelineError(f"{where}: time '{text}' is neither seconds nor an ISO time") from None
    if start is None:
        raise TimelineError(f"{where}: ISO time '{text}' needs the video's start time (--start-time)")
    if (moment.tzinfo is None) != (start.tzinfo is None):
        raise TimelineError(f"{where}: ISO time '{text}' and the start time must both have or lack a UTC offset")
    return (moment - start).total_seconds()


def _finite(t: float, raw: object, where: str) -> float:
    if not math.isfinite(t):  # NaN compares false with every time: the row would hide or skip changes
        raise TimelineError(f"{where}: time '{raw}' is not a finite number of seconds")
    return t


def _rows(path: Path) -> list[tuple[str, dict[str, object]]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TimelineError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        if isinstance(data, dict):
            data = data.get("changes")
        if not isinstance(data, list):
            raise TimelineError(f'{path}: expected a list of {{t, group, state}} objects (or {{"changes": [...]}})')
        return [(f"{path}: item {i}", row) for i, row in enumerate(data)]
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or not {"t", "group", "state"} <= {f.strip() for f in reader.fieldnames}:
        raise TimelineError(f"{path}: CSV header must name the columns t, group, state")
    return [(f"{path}: row {i + 2}", {k.strip(): v for k, v in row.items() if k}) for i, row in enumerate(reader)]


def load_timeline(path: str | Path, start_time: str | None = None) -> list[SignalChange]:
    """Parse a timeline into changes sorted by time; every bad row is a TimelineError.

    Rows may come in any order; times must be finite and unique per group. A negative time is
    a change before the first frame: DON'T WALK from t=-30 is 30 s old at the first frame.
    """
    path = Path(path)
    try:
        rows = _rows(path)
    except FileNotFoundError:
        raise TimelineError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TimelineError(f"{path}: cannot read: {exc}") from None
    start = datetime.fromisoformat(start_time) if start_time else None
    changes = []
    seen: dict[tuple[str, float], str] = {}  # (group, t) → where it was first given
    for where, row in rows:
        if not isinstance(row, dict) or not {"t", "group", "state"} <= set(row):
            raise TimelineError(f"{where}: needs t, group and state")
        group = str(row["group"]).strip()
        if not group:
            raise TimelineError(f"{where}: empty group")
        try:
            state = SignalState.parse(str(row["state"]))
        except ValueError as exc:
            raise TimelineError(f"{where}: {exc}") from None
        t = _parse_time(row["t"], start, where)
        if (group, t) in seen:  # two states at one instant: which one holds would depend on row order
            raise TimelineError(f"{where}: group '{group}' already changes at t={t:g} ({seen[group, t]})")
        seen[group, t] = where.rsplit(": ", 1)[-1]
        changes.append(SignalChange(t, group, state, source="timeline"))
    if not changes:
        raise TimelineError(f"{path}: no state changes")
    return sorted(changes, key=lambda c: c.t)
