"""The labelled evaluation cases (``sites/eval/cases.yaml``): what the gate and benchmark run.

Site, timeline and hand-label paths are relative to the cases file; video and track-label
paths are relative to the shared data folder (``$CROSSGUARD_SHARED_DATA``, else
``../shared/data`` beside the repository), which is never copied into the repository.
A case may list further signal ``timelines``: each is scored as the sub-case
``<case>@<name>`` on the same perception run of the clip.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from detection.base import Detector
from detection.registry import build_detector
from edge.config import ConfigError, load_site
from edge.config.base import StrictModel
from edge.config.load import line_of, read_yaml
from edge.config.site import SiteConfig
from edge.evaluation.groundtruth import GroundTruthError
from edge.evaluation.runner import EvalInputs, TimelineCase
from edge.signal.timeline_file import TimelineError, load_timeline

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CASES = REPO / "sites" / "eval" / "cases.yaml"


NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"


class TimelineConfig(StrictModel):
    name: str = Field(..., min_length=1, pattern=NAME_PATTERN, description="Sub-case name: reported as <case>@<name>")
    signal: str = Field(..., description="Signal timeline (CSV or JSON), relative to the cases file")


class CaseConfig(StrictModel):
    name: str = Field(..., min_length=1, pattern=NAME_PATTERN, description="Case name used in reports")
    video: str = Field(..., description="Video, relative to the shared data folder")
    site: str = Field(..., description="Site file, relative to the cases file")
    tracks: str | None = Field(None, description="MOTChallenge person tracks, relative to the shared data folder")
    expected: str | None = Field(None, description="Hand-written expected crossings CSV, relative to the cases file")
    signal: str | None = Field(None, description="Signal timeline replacing the site's sources, relative to the file")
    start_time: str | None = Field(None, description="ISO time of the first frame, for ISO timelines")
    tolerance_s: float = Field(1.0, gt=0, le=10, description="Largest entry-time distance of a match, seconds")
    max_frames: int | None = Field(None, gt=0, description="Replay and score only the first N frames")
    timelines: list[TimelineConfig] = Field(default_factory=list, description="Further signal timelines to score")


class CasesFile(StrictModel):
    cases: list[CaseConfig] = Field(..., min_length=1)


@dataclass(frozen=True)
class EvalCase:
    inputs: EvalInputs
    site_path: Path

    @property
    def name(self) -> str:
        return self.inputs.name


def default_data_dir() -> Path:
    env = os.environ.get("CROSSGUARD_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def load_cases(path: str | Path = DEFAULT_CASES, data_dir: Path | None = None) -> list[EvalCase]:
    """Read and resolve the cases file; a bad file raises GroundTruthError naming the line and key.

    Every alternate timeline is parsed here, so a bad one fails before anything slow runs.
    """
    path = Path(path)
    data_dir = data_dir or default_data_dir()
    try:
        doc = read_yaml(path)
        parsed = CasesFile.model_validate(doc)
    except ConfigError as exc:
        raise GroundTruthError(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _error(path, doc, tuple(first["loc"]), first["msg"]) from None
    _check_unique(path, doc, parsed)
    base = path.parent
    return [
        EvalCase(
            EvalInputs(
                name=c.name,
                video=data_dir / c.video,
                tracks=data_dir / c.tracks if c.tracks else None,
                expected=base / c.expected if c.expected else None,
                signal=base / c.signal if c.signal else None,
                start_time=c.start_time,
                tolerance_s=c.tolerance_s,
                max_frames=c.max_frames,
                timelines=tuple(_timeline(path, doc, i, j, t, c.start_time) for j, t in enumerate(c.timelines)),
            ),
            base / c.site,
        )
        for i, c in enumerate(parsed.cases)
    ]


def _error(path: Path, doc: Any, loc: tuple[Any, ...], message: str) -> GroundTruthError:
    line = line_of(doc, loc)
    where = f"{path}:{line}" if line else str(path)
    return GroundTruthError(f"{where}: {'.'.join(str(p) for p in loc)}: {message}")


def _check_unique(path: Path, doc: Any, parsed: CasesFile) -> None:
    seen: set[str] = set()
    for i, case in enumerate(parsed.cases):
        if case.name in seen:
            raise _error(path, doc, ("cases", i, "name"), f"case '{case.name}' is given twice")
        seen.add(case.name)
        names: set[str] = set()
        for j, timeline in enumerate(case.timelines):
            if timeline.name in names:
                where = ("cases", i, "timelines", j, "name")
                raise _error(path, doc, where, f"timeline '{timeline.name}' is given twice in case '{case.name}'")
            names.add(timeline.name)


def _timeline(path: Path, doc: Any, i: int, j: int, config: TimelineConfig, start: str | None) -> TimelineCase:
    signal = path.parent / config.signal
    try:
        load_timeline(signal, start)
    except TimelineError as exc:
        raise _error(path, doc, ("cases", i, "timelines", j, "signal"), str(exc)) from None
    return TimelineCase(config.name, signal)


def load_case_site(case: EvalCase, data_dir: Path | None = None) -> SiteConfig:
    """The case's site, with its model found in the shared models folder if its own path is absent.

    Site files name models relative to a checkout at ``<root>/<repo>``; a checkout elsewhere
    (a second worktree, CI) still finds the same model by file name.
    """
    site = load_site(case.site_path)
    model = site.detector.model
    shared = (data_dir or default_data_dir()) / "models" / model.name
    if not model.exists() and shared.exists():
        log.info("%s: model %s not found; using %s", case.site_path, model, shared)
        site = site.model_copy(update={"detector": site.detector.model_copy(update={"model": shared})})
    return site


class SharedDetectors:
    """One detector session per distinct detector setting, shared by every case that uses it.

    Loading a model costs more than a short clip takes to run; a detector keeps no state
    between frames (tracking and gating live in the pipeline each replay builds).
    """

    def __init__(self) -> None:
        self._sessions: dict[str, Detector] = {}

    def for_site(self, site: SiteConfig) -> Detector:
        key = site.detector.model_dump_json()
        if key not in self._sessions:
            self._sessions[key] = build_detector(site.detector)
        return self._sessions[key]
