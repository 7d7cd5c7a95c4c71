"""The evaluation report: figures per event kind, each miss and false record, tracking quality."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from edge.evaluation.groundtruth import ExpectedEvent
from edge.evaluation.matching import MatchResult, PassResult
from edge.evaluation.tracking import TrackingMetrics
from edge.events import CrossingEvent, EventType


@dataclass(frozen=True)
class KindScore:
    """Capture rate (recall) and valid rate (precision) for one event kind."""

    expected: int
    reported: int
    hits: int
    misses: int
    false_records: int
    ambiguous: int
    capture_rate: float | None
    valid_rate: float | None
    mean_abs_dt_s: float | None

    @classmethod
    def of(cls, result: MatchResult) -> KindScore:
        dts = [abs(p.dt) for p in result.hits]
        return cls(
            expected=result.expected,
            reported=result.reported,
            hits=len(result.hits),
            misses=len(result.misses),
            false_records=len(result.false_records),
            ambiguous=len(result.ambiguous),
            capture_rate=result.capture_rate,
            valid_rate=result.valid_rate,
            mean_abs_dt_s=round(sum(dts) / len(dts), 3) if dts else None,
        )

    @classmethod
    def pooled(cls, scores: Sequence[KindScore]) -> KindScore:
        """The counts summed and the rates taken of the sums (each entry weighs the same)."""
        hits, expected, reported = (sum(getattr(s, k) for s in scores) for k in ("hits", "expected", "reported"))
        timed = [(s.mean_abs_dt_s, s.hits) for s in scores if s.mean_abs_dt_s is not None]
        return cls(
            expected=expected,
            reported=reported,
            hits=hits,
            misses=sum(s.misses for s in scores),
            false_records=sum(s.false_records for s in scores),
            ambiguous=sum(s.ambiguous for s in scores),
            capture_rate=hits / expected if expected else None,
            valid_rate=hits / reported if reported else None,
            mean_abs_dt_s=round(sum(dt * n for dt, n in timed) / hits, 3) if timed and hits else None,
        )


@dataclass(frozen=True)
class SilentPass:
    """A rider or along-the-road pass that produced records (it must produce none)."""

    kind: str
    crosswalk_id: str
    entry_t: float
    note: str
    records: list[str]  # "crossing track 4 t=3.40s"

    @classmethod
    def of(cls, result: PassResult) -> SilentPass:
        records = [f"{r.type.value} track {r.track_id} t={r.entry_t:.2f}s" for r in result.records]
        e = result.expected
        return cls(e.kind.value, e.crosswalk_id, round(e.entry_t, 3), e.note, records)


@dataclass(frozen=True)
class PassScore:
    """Passes that must produce nothing (riders, along the road), and how many produced a record."""

    passes: int = 0
    with_record: int = 0

    @classmethod
    def of(cls, results: Sequence[PassResult]) -> PassScore:
        return cls(len(results), sum(1 for r in results if r.records))

    @classmethod
    def pooled(cls, scores: Sequence[PassScore]) -> PassScore:
        return cls(sum(s.passes for s in scores), sum(s.with_record for s in scores))


class Outcome(str, Enum):
    MISS = "miss"  # expected, not recorded
    FALSE_RECORD = "false record"  # recorded, not expected

    @property
    def banner(self) -> str:
        """The word drawn on pictures."""
        return "MISSED" if self is Outcome.MISS else "FALSE"


@dataclass
class Finding:
    """A miss (expected, not recorded) or a false record (recorded, not expected)."""

    outcome: Outcome
    kind: EventType
    crosswalk_id: str
    direction: str
    entry_t: float
    entry_frame: int
    track_id: int | None
    box: tuple[float, float, float, float] | None
    foot_point: tuple[float, float] | None
    note: str = ""
    thumbnail: str | None = None

    @classmethod
    def missed(cls, kind: EventType, event: ExpectedEvent) -> Finding:
        return cls(
            Outcome.MISS,
            kind,
            event.crosswalk_id,
            event.direction,
            event.entry_t,
            event.entry_frame,
            event.track_id,
            event.box,
            event.foot_point,
            event.note,
        )

    @classmethod
    def false_record(cls, kind: EventType, event: CrossingEvent) -> Finding:
        return cls(
            Outcome.FALSE_RECORD,
            kind,
            event.crosswalk_id,
            event.direction,
            event.entry_t,
            event.entry_frame,
            event.track_id,
            event.entry_box,
            event.foot_point,
            event.reason,
        )

    @property
    def slug(self) -> str:
        outcome = "miss" if self.outcome is Outcome.MISS else "false"
        track = f"-t{self.track_id}" if self.track_id is not None else ""
        return f"{self.kind.value}-{outcome}-f{self.entry_frame:05d}{track}"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["outcome"], out["kind"] = self.outcome.value, self.kind.value
        out["entry_t"] = round(self.entry_t, 3)
        for key in ("box", "foot_point"):
            if out[key] is not None:
                out[key] = [round(v, 1) for v in out[key]]
        return out


@dataclass(frozen=True)
class FalseWarning:
    """A violation recorded for someone whose labelled entry was allowed (WALK or CLEARANCE)."""

    recorded_entry_t: float
    true_entry_t: float
    true_signal_state: str
    track_id: int


CLEAN = "clean"  # the variant name of the footage as recorded
POOLED = "POOLED"


@dataclass
class EvalReport:
    """One case (or sub-case ``<case>@<timeline>``) of one picture variant, or a pool of them.

    ``timeline`` is the alternate timeline's name (None: the case's own); ``variant`` says
    which picture the perception saw (``clean``, or a corruption such as ``low_light:3``).
    Tracking figures belong to the perception run, so only the case's own report has them.
    """

    case: str
    video: str
    model: str
    frames: int
    fps: float
    tolerance_s: float
    ground_truth: str
    violations: KindScore
    crossings: KindScore
    findings: list[Finding] = field(default_factory=list)
    false_warnings: list[FalseWarning] = field(default_factory=list)
    tracking: TrackingMetrics | None = None
    passes: PassScore = field(default_factory=PassScore)
    silent_passes: list[SilentPass] = field(default_factory=list)
    timeline: str | None = None
    variant: str = CLEAN

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "timeline": self.timeline,
            "variant": self.variant,
            "video": self.video,
            "model": self.model,
            "frames": self.frames,
            "fps": self.fps,
            "tolerance_s": self.tolerance_s,
            "ground_truth": self.ground_truth,
            "violations": asdict(self.violations),
            "crossings": asdict(self.crossings),
            "false_warnings": [asdict(w) for w in self.false_warnings],
            "passes": asdict(self.passes),
            "silent_passes_with_records": [asdict(p) for p in self.silent_passes],
            "tracking": self.tracking.to_dict() if self.tracking else None,
            "findings": [f.to_dict() for f in self.findings],
        }

    def describe(self) -> str:
        """The readable form: the summary table, then every miss and false record."""
        return format_table([self]) + "\n\n" + self.findings_text()

    def findings_text(self) -> str:
        lines = []
        for f in self.findings:
            who = f" track {f.track_id}" if f.track_id is not None else ""
            thumb = f"  [{f.thumbnail}]" if f.thumbnail else ""
            note = f"  ({f.note})" if f.note else ""
            lines.append(
                f"{f.outcome.value:<12} {f.kind.value:<9} t={f.entry_t:6.2f}s frame {f.entry_frame:<5} "
                f"{f.crosswalk_id} {f.direction}{who}{note}{thumb}"
            )
        for w in self.false_warnings:
            lines.append(
                f"false warning track {w.track_id}: recorded entry t={w.recorded_entry_t:.2f}s, "
                f"labelled entry t={w.true_entry_t:.2f}s on {w.true_signal_state}"
            )
        for p in self.silent_passes:
            note = f"  ({p.note})" if p.note else ""
            lines.append(f"{p.kind} pass t={p.entry_t:6.2f}s {p.crosswalk_id} recorded: {'; '.join(p.records)}{note}")
        return "\n".join(lines) or "no misses, no false records"


def pool(reports: Sequence[EvalReport], label: str = POOLED) -> list[EvalReport]:
    """One pooled report per variant: every case and timeline's entries counted together.

    Rates are taken of the summed counts, so each labelled entry weighs the same whichever
    clip or timeline it comes from; tracking is pooled over the clips that have track labels.
    """
    variants = list(dict.fromkeys(r.variant for r in reports))
    return [_pool([r for r in reports if r.variant == v], label, v) for v in variants]


def _pool(reports: Sequence[EvalReport], label: str, variant: str) -> EvalReport:
    tracked = [r.tracking for r in reports if r.tracking is not None]
    return EvalReport(
        case=label,
        video="",
        model=", ".join(dict.fromkeys(r.model for r in reports)),
        frames=sum(r.frames for r in reports if r.timeline is None),
        fps=0.0,
        tolerance_s=max((r.tolerance_s for r in reports), default=0.0),
        ground_truth=", ".join(dict.fromkeys(r.ground_truth for r in reports)),
        violations=KindScore.pooled([r.violations for r in reports]),
        crossings=KindScore.pooled([r.crossings for r in reports]),
        false_warnings=[w for r in reports for w in r.false_warnings],
        tracking=TrackingMetrics.pooled(tracked) if tracked else None,
        passes=PassScore.pooled([r.passes for r in reports]),
        variant=variant,
    )


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def format_table(reports: Sequence[EvalReport], label: str = "case") -> str:
    """One row per report: rates with their counts, false warnings, passes, tracking figures, speed.

    ``silent`` is passes that must produce nothing (riders, along the road): with a record / all.
    The variant column appears once any report is of a corrupted picture.
    """
    variants = any(r.variant != CLEAN for r in reports)
    variant = f" {'variant':<14}" if variants else ""
    header = (
        f"{label:<32}{variant} {'viol. capture':>15} {'viol. valid':>13} {'cross. capture':>15} "
        f"{'cross. valid':>13} {'false warn':>10} {'silent':>7} {'MOTA':>6} {'IDF1':>6} {'IDsw':>5} {'fps':>6}"
    )
    rows = [header, "-" * len(header)]
    for r in reports:
        v, c, t = r.violations, r.crossings, r.tracking
        variant = f" {r.variant[:14]:<14}" if variants else ""
        rows.append(
            f"{r.case[:32]:<32}{variant} "
            f"{_rate(v.capture_rate, v.hits, v.expected):>15} {_rate(v.valid_rate, v.hits, v.reported):>13} "
            f"{_rate(c.capture_rate, c.hits, c.expected):>15} {_rate(c.valid_rate, c.hits, c.reported):>13} "
            f"{len(r.false_warnings):>10} {f'{r.passes.with_record}/{r.passes.passes}':>7} "
            f"{(f'{t.mota:.3f}' if t else '-'):>6} {(f'{t.idf1:.3f}' if t else '-'):>6} "
            f"{(str(t.id_switches) if t else '-'):>5} {(f'{r.fps:.1f}' if r.fps else '-'):>6}"
        )
    return "\n".join(rows)


def _rate(value: float | None, numerator: int, denominator: int) -> str:
    return f"{percent(value)} {numerator}/{denominator}"
