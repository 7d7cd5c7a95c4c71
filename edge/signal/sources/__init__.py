"""Signal sources, one module each, registered by ``type`` key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.signal.source import SignalSource

SOURCES: dict[str, type[SignalSource]] = {}


def register(key: str) -> Callable[[type[SignalSource]], type[SignalSource]]:
    def add(cls: type[SignalSource]) -> type[SignalSource]:
        cls.key = key
        SOURCES[key] = cls
        return cls

    return add


def build_source(config: Any) -> SignalSource:
    """Build the source for one ``signal.sources[]`` entry."""
    from edge.signal.sources import timeline  # noqa: F401 - registers itself

    return SOURCES[config.type].from_config(config)  # type: ignore[attr-defined]
