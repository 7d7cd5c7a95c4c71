"""The running pipeline's figures in the dashboard's terms (``LiveReadings``), built from its parts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from edge.enforcement import SuspendableSignals
from edge.observers import device_detail
from edge.web.context import DeviceView, GroupSignal, LiveReadings, SourceView, StorageView


def group_signals(signals: SuspendableSignals, groups: Iterable[str], t: float, utc: float) -> dict[str, GroupSignal]:
    """Each group's state at frame time ``t`` (the real one, even while the operator has switched off)."""
    health = {s.name: s for s in signals.statuses()}
    feeders = signals.groups_by_source()
    out = {}
    for group in groups:
        reading = signals.observed_state_at(group, t)
        since_utc = None if reading.since is None else utc - (t - reading.since)
        sources = [
            SourceView(name, health[name].health.value, health[name].detail)
            for name, fed in feeders.items()
            if group in fed and name in health
        ]
        out[group] = GroupSignal(group, reading.state.value, since_utc, reading.reason, sources)
    return out


def device_views(health: Mapping[str, Any]) -> list[DeviceView]:
    """``actuators.base.DeviceHealth`` by name, as the dashboard lists them."""
    return [DeviceView(name, d.type, d.state.value, device_detail(d)) for name, d in sorted(health.items())]


def read_live(
    signals: SuspendableSignals,
    groups: Iterable[str],
    frame_clock: tuple[float, float] | None,
    detect_ms: float | None,
    devices: Mapping[str, Any],
    outbox_depth: int | None,
    storage: tuple[int, float] | None,
    min_free_mb: float,
) -> LiveReadings:
    """``frame_clock`` is (t, UTC) of the last processed frame; None before the first one."""
    states = {} if frame_clock is None else group_signals(signals, groups, *frame_clock)
    disk = None if storage is None else StorageView(storage[0], storage[1], int(min_free_mb * 1024 * 1024))
    return LiveReadings(states, detect_ms, device_views(devices), outbox_depth, disk)
