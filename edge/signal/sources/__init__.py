"""Signal sources, one module each, registered by ``type`` key."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from edge.signal.source import SignalSource

SOURCES: dict[str, type[SignalSource]] = {}

# Source key → module registering it; imported on first use so a box without, say, an MQTT
# feed never loads paho.
SOURCE_MODULES = {
    "timeline": "edge.signal.sources.timeline",
    "vision": "edge.signal.sources.vision",
    "mqtt": "edge.signal.sources.mqtt",
    "recorded_feed": "edge.signal.sources.recorded_feed",
    "http_push": "edge.signal.sources.http_push",
    "fixed_time": "edge.signal.sources.fixed_time",
}


def register(key: str) -> Callable[[type[SignalSource]], type[SignalSource]]:
    def add(cls: type[SignalSource]) -> type[SignalSource]:
        cls.key = key
        SOURCES[key] = cls
        return cls

    return add


def source_class(key: str) -> type[SignalSource]:
    if key not in SOURCES:
        if key not in SOURCE_MODULES:
            raise KeyError(f"unknown signal source type '{key}'; known: {', '.join(SOURCE_MODULES)}")
        importlib.import_module(SOURCE_MODULES[key])
    return SOURCES[key]


def build_source(config: Any) -> SignalSource:
    """Build the source for one ``signal.sources[]`` entry."""
    return source_class(config.type).from_config(config)  # type: ignore[attr-defined]
