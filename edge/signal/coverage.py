"""Which signal groups the configured sources can report, and the crosswalks none of them covers.

A crosswalk whose group no source reports is ``UNKNOWN`` for ever: never enforced, and nothing
else says so. Only what can be known is flagged: a feed without a group map (or a timeline file
that cannot be read here) may report any group, so while one is configured nothing is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config.signal import (
    FeedSettings,
    FixedTimeSourceConfig,
    SignalConfig,
    TimelineSourceConfig,
    VisionSourceConfig,
)
from edge.config.site import SiteConfig
from edge.signal.timeline_file import TimelineError, load_timeline


@dataclass(frozen=True)
class GroupProblem:
    """Crosswalk ``index``'s group is never reported; ``blocking`` is False when no source is set up."""

    index: int
    message: str
    blocking: bool

    @property
    def loc(self) -> tuple[str | int, ...]:
        return ("crosswalks", self.index, "signal_group")

    @property
    def key(self) -> str:
        return f"crosswalks[{self.index}].signal_group"

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def source_groups(source: Any, site_dir: Path | None = None) -> set[str] | None:
    """The groups one configured source can report; None when it may report any group."""
    if isinstance(source, VisionSourceConfig):
        return {head.group for head in source.heads}
    if isinstance(source, FixedTimeSourceConfig):
        return {group for plan in source.plans.values() for group in plan.groups}
    if isinstance(source, FeedSettings):
        return set(source.groups.values()) or None  # without a map the feed's own ids are our names
    if isinstance(source, TimelineSourceConfig):
        path = source.path
        if not path.is_absolute():
            if site_dir is None:
                return None
            path = site_dir / path
        try:
            return {change.group for change in load_timeline(path, source.start_time)}
        except (TimelineError, ValueError):
            return None  # reported when the source is built; here it could give any group
    return None


def group_problems(site: SiteConfig, site_dir: Path | None = None) -> list[GroupProblem]:
    """One problem per crosswalk whose ``signal_group`` no configured source can report."""
    signal: SignalConfig = site.signal
    if not signal.sources:
        return [
            GroupProblem(
                i,
                f"no signal source is configured, so group '{cw.signal_group}' is always UNKNOWN"
                " (fine for a replay given --signal; a running box never enforces it)",
                blocking=False,
            )
            for i, cw in enumerate(site.crosswalks)
        ]
    known: set[str] = set()
    for source in signal.sources:
        groups = source_groups(source, site_dir)
        if groups is None:
            return []
        known |= groups
    return [
        GroupProblem(
            i,
            f"no signal source reports group '{cw.signal_group}' (they report: {', '.join(sorted(known))});"
            " this crosswalk would never be enforced",
            blocking=True,
        )
        for i, cw in enumerate(site.crosswalks)
        if cw.signal_group not in known
    ]
